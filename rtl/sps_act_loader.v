// sps_act_loader.v -- writes the activation stream (AXI4-Stream, LANES int8 per beat) into the
// activation buffer. Beat order: for k (buffer block): for y: for x: byte l = the block's channel
// l at (y, x). A buffer block is one image of one channel block: with BATCH images, block
// k = cb*BATCH + b holds image b of channels cb*LANES .. cb*LANES + LANES-1 (the stream's order
// for cb: for b: for y: for x), so the loader needs only their number n_blk = ceil(C/LANES)*BATCH.
// Address: sub-bank 3*(y mod 3)+(x mod 3), word k*HW3 + (y div 3)*W3 + (x div 3), all kept with
// incremental counters (no division). Expects exactly n_blk*h*w beats after `start`; TLAST must
// be on the last one and only there, otherwise `err` is set: a TLAST before the last beat ends the
// packet (no beat after it is taken), a last beat without TLAST is still the last.
// Latency: a beat is written in the cycle it is accepted; `busy` falls after the last beat.
`default_nettype none
`include "sps_widths.vh"
module sps_act_loader #(
    parameter LANES     = 8,       // activation lanes: int8 activations per buffer word and per beat
    parameter ACT_DEPTH = 1024,    // words per activation sub-bank
    parameter DIM_BITS  = 10,      // bits of a height or width (H, W, HOUT, WOUT)
    localparam AW       = `SPS_AW  // activation buffer address bits
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 start,
    input  wire [AW:0]          n_blk,       // buffer blocks (<= ACT_DEPTH, checked by sps_ctrl)
    input  wire [DIM_BITS-1:0]  h,
    input  wire [DIM_BITS-1:0]  w,
    input  wire [AW-1:0]        w3,          // addresses are < ACT_DEPTH (checked by sps_ctrl)
    input  wire [AW-1:0]        hw3,
    input  wire [LANES*8-1:0]   s_tdata,
    input  wire                 s_tvalid,
    input  wire                 s_tlast,
    output wire                 s_tready,
    output wire                 we,
    output wire [3:0]           wsub,
    output wire [AW-1:0]        waddr,
    output wire [LANES*8-1:0]   wdata,
    output reg                  busy,
    output reg                  err,
    output wire                 stall
);
    reg [DIM_BITS-1:0] x, y;                    // position of the next beat in its channel block
    reg [1:0]          x_mod3, y_mod3;          // its sub-bank
    reg [AW-1:0]       x_div3;                  // word offset within the row
    reg [AW-1:0]       row_addr, cblk_addr;     // word address of the row, of the buffer block
    reg [AW:0]         cblk;                    // buffer block

    // the next beat ends its row / its block's rows / the last block: flags kept beside the
    // counters (set from the limits minus 2, registered while the layer's descriptor is static)
    reg                last_x, last_y, last_c;
    reg [DIM_BITS-1:0] w_m2, h_m2;
    reg [AW:0]         c_m2;
    reg                w_one, h_one, c_one;
    localparam [DIM_BITS-1:0] D_ONE = 1, D_TWO = 2;
    localparam [AW:0]         C_ONE = 1, C_TWO = 2;
    always @(posedge clk) begin
        w_m2  <= w - D_TWO;     h_m2  <= h - D_TWO;     c_m2  <= n_blk - C_TWO;
        w_one <= (w == D_ONE);  h_one <= (h == D_ONE);  c_one <= (n_blk == C_ONE);
    end
    wire last   = last_x && last_y && last_c;

    assign s_tready = busy;
    assign we       = busy && s_tvalid;
    assign wsub     = {1'b0, y_mod3, 1'b0} + {2'b00, y_mod3} + {2'b00, x_mod3};   // 3*(y mod 3) + (x mod 3)
    assign waddr    = row_addr + x_div3;
    assign wdata    = s_tdata;
    assign stall    = busy && !s_tvalid;

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0; err <= 1'b0;
            x <= 0; y <= 0; x_mod3 <= 0; y_mod3 <= 0; x_div3 <= 0; row_addr <= 0; cblk_addr <= 0; cblk <= 0;
            last_x <= 1'b0; last_y <= 1'b0; last_c <= 1'b0;
        end else if (start) begin
            busy <= 1'b1; err <= 1'b0;
            x <= 0; y <= 0; x_mod3 <= 0; y_mod3 <= 0; x_div3 <= 0; row_addr <= 0; cblk_addr <= 0; cblk <= 0;
            last_x <= w_one; last_y <= h_one; last_c <= c_one;
        end else if (we) begin
            if (s_tlast != last) err <= 1'b1;
            if (s_tlast) busy <= 1'b0;               // early or not, TLAST ends the packet
            if (last_x) begin
                x <= 0; x_mod3 <= 0; x_div3 <= 0;
                last_x <= w_one;
                if (last_y) begin
                    y <= 0; y_mod3 <= 0;
                    last_y <= h_one;
                    last_c <= (cblk == c_m2);
                    cblk <= cblk + 1'b1;
                    cblk_addr <= cblk_addr + hw3;
                    row_addr <= cblk_addr + hw3;
                    if (last_c) busy <= 1'b0;
                end else begin
                    y <= y + 1'b1;
                    last_y <= (y == h_m2);
                    if (y_mod3 == 2'd2) begin
                        y_mod3 <= 0;
                        row_addr <= row_addr + w3;
                    end else begin
                        y_mod3 <= y_mod3 + 1'b1;
                    end
                end
            end else begin
                x <= x + 1'b1;
                last_x <= (x == w_m2);
                if (x_mod3 == 2'd2) begin
                    x_mod3 <= 0;
                    x_div3 <= x_div3 + 1'b1;
                end else begin
                    x_mod3 <= x_mod3 + 1'b1;
                end
            end
        end
    end
endmodule
`default_nettype wire
