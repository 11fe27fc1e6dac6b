// A module in the Verilog subset of rtl/, for the mutator's tests (tests/test_mutate.py): signed
// and unsigned arithmetic in wider contexts, replications, part-selects, ?:, a function, a case
// on one-hot bits, a for loop, generate if / for, an attribute, an `ifdef'd-out branch.
`default_nettype none
module mutate_sample #(
    parameter W = 6,
    localparam CW = $clog2(W + 1)
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                en,
    input  wire signed [W-1:0] a,
    input  wire        [W-1:0] b,
    input  wire        [2:0]   sel,
    output reg  signed [2*W:0] acc,
    output wire        [W+1:0] mix,
    output reg         [CW-1:0] ones,
    output wire        [W-1:0] rot,
    output reg         [3:0]   state
);
    function [W-1:0] rotl;                     // rotate left by one
        input [W-1:0] v;
        rotl = {v[W-2:0], v[W-1]};
    endfunction
    wire signed [W:0] sum = a + $signed({1'b0, b[W-1:1]}), diff = a - 1;
    assign mix = (sel[0] && !sel[1]) ? {2'b01, b ^ a} : (b >>> 1) + {{(W-1){1'b0}}, sel[2], 1'b1};
    assign rot = rotl(b) & ~{W{sel[1]}};
    integer i;
    always @(*) begin
        ones = {{(CW-1){1'b0}}, sel[2]};         // sel[2]: +1 (and the block reads an input
        // besides b, so that a mutant which no longer reads b still runs at time 0 in Icarus)
        for (i = 0; i < W; i = i + 1)
            if (b[i]) ones = ones + 1'b1;
    end
    always @(posedge clk) begin
        if (rst) begin
            acc <= 0; state <= 4'd1;
        end else if (en) begin
            acc <= acc + sum * diff;
            (* parallel_case *)
            case (1'b1)
                state[0]: if (sel == 3'd5) state <= 4'b0010;
                state[1]: state <= (a < 0) ? 4'b0100 : 4'b1000;
                state[2], state[3]: begin
                    if (b >= W) state <= 4'd1;
                end
                default: state <= 4'd1;
            endcase
        end
    end
    generate
`ifdef MUTATE_SAMPLE_NEVER
        if (W > 100) begin : g_never
            assign rot = 0;
        end
`endif
        genvar g;
        for (g = 0; g < 2; g = g + 1) begin : g_unused
            wire [W-1:0] t = b << g;
        end
    endgenerate
endmodule
`default_nettype wire
