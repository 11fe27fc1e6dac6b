// sps_delay.v -- delay line: q is d delayed by DEPTH clock cycles (a chain of DEPTH registers of
// WIDTH bits); DEPTH = 0 is a plain wire. A synchronous reset clears every stage to 0 (tie rst
// to 0 for a line without reset). The one skew / alignment chain of the design: the array's
// column-skewed weight writes, the index write, the indexing unit's row skew and sideband alignment, the
// accumulator's sideband along the columns, the output stage's TLAST alignment.
// The stages are one register shifted as a whole in one clocked process (an event-driven
// simulator then updates one variable per cycle, not DEPTH array words).
// Latency: DEPTH cycles.
`default_nettype none
module sps_delay #(
    parameter WIDTH = 1,    // bits delayed
    parameter DEPTH = 1     // cycles of delay (0: a wire)
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] d,
    output wire [WIDTH-1:0] q
);
    generate
        if (DEPTH == 0) begin : g_wire
            assign q = d;
            wire unused_clk_rst = &{1'b0, clk, rst};     // a wire needs no clock
        end else begin : g_line
            // stage k (k = 0 is written from d) holds bits [k*WIDTH +: WIDTH]
            reg [WIDTH*DEPTH-1:0] stages;
            if (DEPTH == 1) begin : g_one
                always @(posedge clk) begin
                    if (rst) stages <= {WIDTH{1'b0}};
                    else     stages <= d;
                end
            end else begin : g_chain
                always @(posedge clk) begin
                    if (rst) stages <= {WIDTH*DEPTH{1'b0}};
                    else     stages <= {stages[WIDTH*(DEPTH-1)-1:0], d};
                end
            end
            assign q = stages[WIDTH*DEPTH-1 -: WIDTH];
        end
    endgenerate
endmodule
`default_nettype wire
