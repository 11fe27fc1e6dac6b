// sps_fifo.v -- synchronous first-word-fall-through FIFO. `count` is the number of stored words.
// Pushing when full or popping when empty is ignored (callers use `count` to avoid it).
// Latency: a pushed word is visible on dout the next cycle.
`default_nettype none
module sps_fifo #(
    parameter WIDTH = 32,
    parameter DEPTH = 8
) (
    clk, rst, push, din, pop, dout, empty, count
);
    localparam CW = $clog2(DEPTH + 1);                  // bits of `count` (0..DEPTH)
    localparam PA = (DEPTH > 1) ? $clog2(DEPTH) : 1;    // pointer bits

    input  wire             clk;
    input  wire             rst;
    input  wire             push;
    input  wire [WIDTH-1:0] din;
    input  wire             pop;
    output wire [WIDTH-1:0] dout;
    output wire             empty;
    output reg  [CW-1:0]    count;

    reg [WIDTH-1:0] mem [0:DEPTH-1];
    reg [PA-1:0]    rp, wp;
    wire [CW-1:0]   depth_w = DEPTH;
    localparam integer LASTI = DEPTH - 1;
    localparam [PA-1:0] LAST = LASTI[PA-1:0];
    wire do_push = push && (count != depth_w);
    wire do_pop  = pop && (count != {CW{1'b0}});

    assign empty = (count == {CW{1'b0}});
    assign dout  = mem[rp];

    always @(posedge clk) begin
        if (do_push) mem[wp] <= din;
    end
    always @(posedge clk) begin
        if (rst) begin
            rp <= {PA{1'b0}}; wp <= {PA{1'b0}}; count <= {CW{1'b0}};
        end else begin
            if (do_push) wp <= (wp == LAST) ? {PA{1'b0}} : wp + 1'b1;
            if (do_pop)  rp <= (rp == LAST) ? {PA{1'b0}} : rp + 1'b1;
            count <= count + {{(CW-1){1'b0}}, do_push} - {{(CW-1){1'b0}}, do_pop};
        end
    end
endmodule
`default_nettype wire
