// sps_act_loader.v -- writes the activation stream (AXI4-Stream, LANES int8 per beat) into the
// activation buffer. Beat order: for cb (channel block): for y: for x: byte l = X[cb*LANES+l][y][x].
// Address: sub-bank 3*(y mod 3)+(x mod 3), word cb*HW3 + (y div 3)*W3 + (x div 3), all kept with
// incremental counters (no division). Expects exactly n_cblk*h*w beats after `start`; TLAST must
// be on the last one and only there, otherwise `err` is set (the beats are still consumed).
// Latency: a beat is written in the cycle it is accepted; `busy` falls after the last beat.
`default_nettype none
module sps_act_loader #(
    parameter LANES     = 8,
    parameter ACT_DEPTH = 1024,
    parameter DIM_BITS  = 10,
    parameter CH_BITS   = 12,
    parameter XW        = 24     // word-address bits (addresses wrap mod 2**XW; the low AW address the RAM)
) (
    clk, rst, start, n_cblk, h, w, w3, hw3, s_tdata, s_tvalid, s_tlast, s_tready, we, wsub, waddr,
    wdata, busy, err, stall
);
    localparam AW  = (ACT_DEPTH > 1) ? $clog2(ACT_DEPTH) : 1; // activation buffer address bits

    input  wire                 clk;
    input  wire                 rst;
    input  wire                 start;
    input  wire [CH_BITS-1:0]   n_cblk;
    input  wire [DIM_BITS-1:0]  h;
    input  wire [DIM_BITS-1:0]  w;
    input  wire [XW-1:0]        w3;
    input  wire [XW-1:0]        hw3;
    input  wire [LANES*8-1:0]   s_tdata;
    input  wire                 s_tvalid;
    input  wire                 s_tlast;
    output wire                 s_tready;
    output wire                 we;
    output wire [3:0]           wsub;
    output wire [AW-1:0]        waddr;
    output wire [LANES*8-1:0]   wdata;
    output reg                  busy;
    output reg                  err;
    output wire                 stall;

    reg [DIM_BITS-1:0] x, y;
    reg [1:0]          xm, ym;
    reg [XW-1:0]       xd, rowaddr, cbaddr;
    reg [CH_BITS-1:0]  cb;

    wire last_x = (x == w - 1'b1);
    wire last_y = (y == h - 1'b1);
    wire last_c = (cb == n_cblk - 1'b1);
    wire last   = last_x && last_y && last_c;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [XW-1:0] addr_full = rowaddr + xd;   // low AW bits address the RAM
    /* verilator lint_on UNUSEDSIGNAL */

    assign s_tready = busy;
    assign we       = busy && s_tvalid;
    assign wsub     = {2'b00, ym} * 4'd3 + {2'b00, xm};
    assign waddr    = addr_full[AW-1:0];
    assign wdata    = s_tdata;
    assign stall    = busy && !s_tvalid;

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0; err <= 1'b0;
            x <= 0; y <= 0; xm <= 0; ym <= 0; xd <= 0; rowaddr <= 0; cbaddr <= 0; cb <= 0;
        end else if (start) begin
            busy <= 1'b1; err <= 1'b0;
            x <= 0; y <= 0; xm <= 0; ym <= 0; xd <= 0; rowaddr <= 0; cbaddr <= 0; cb <= 0;
        end else if (we) begin
            if (s_tlast != last) err <= 1'b1;
            if (last_x) begin
                x <= 0; xm <= 0; xd <= 0;
                if (last_y) begin
                    y <= 0; ym <= 0;
                    cb <= cb + 1'b1;
                    cbaddr <= cbaddr + hw3;
                    rowaddr <= cbaddr + hw3;
                    if (last_c) busy <= 1'b0;
                end else begin
                    y <= y + 1'b1;
                    if (ym == 2'd2) begin
                        ym <= 0;
                        rowaddr <= rowaddr + w3;
                    end else begin
                        ym <= ym + 1'b1;
                    end
                end
            end else begin
                x <= x + 1'b1;
                if (xm == 2'd2) begin
                    xm <= 0;
                    xd <= xd + 1'b1;
                end else begin
                    xm <= xm + 1'b1;
                end
            end
        end
    end
endmodule
`default_nettype wire
