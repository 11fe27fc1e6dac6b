// sps_fifo.v -- synchronous first-word-fall-through FIFO. `count` is the number of stored words.
// Pushing when full or popping when empty is ignored (callers use `count` to avoid it).
// Latency: a pushed word is visible on dout the next cycle.
`default_nettype none
`include "sps_widths.vh"
module sps_fifo #(
    parameter WIDTH = 32,                  // entry bits
    parameter DEPTH = 8,                   // entries
    localparam CW   = `SPS_COUNT_W(DEPTH)  // bits of `count` (0..DEPTH)
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             push,
    input  wire [WIDTH-1:0] din,
    input  wire             pop,
    output wire [WIDTH-1:0] dout,
    output wire             empty,
    output reg  [CW-1:0]    count
);
    localparam PTR_W = `SPS_INDEX_W(DEPTH);     // pointer bits

    reg [WIDTH-1:0] mem [0:DEPTH-1];
    reg [PTR_W-1:0] rd_ptr, wr_ptr;
    wire [CW-1:0]   depth_w = DEPTH;
    localparam integer LAST_I = DEPTH - 1;
    localparam [PTR_W-1:0] PTR_LAST = LAST_I[PTR_W-1:0];
    wire do_push = push && (count != depth_w);
    wire do_pop  = pop && (count != {CW{1'b0}});

    assign empty = (count == {CW{1'b0}});
    assign dout  = mem[rd_ptr];

    always @(posedge clk) begin
        if (do_push) mem[wr_ptr] <= din;
    end
    always @(posedge clk) begin
        if (rst) begin
            rd_ptr <= {PTR_W{1'b0}}; wr_ptr <= {PTR_W{1'b0}}; count <= {CW{1'b0}};
        end else begin
            if (do_push) wr_ptr <= (wr_ptr == PTR_LAST) ? {PTR_W{1'b0}} : wr_ptr + 1'b1;
            if (do_pop)  rd_ptr <= (rd_ptr == PTR_LAST) ? {PTR_W{1'b0}} : rd_ptr + 1'b1;
            count <= count + {{(CW-1){1'b0}}, do_push} - {{(CW-1){1'b0}}, do_pop};
        end
    end
endmodule
`default_nettype wire
