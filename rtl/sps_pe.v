// sps_pe.v -- one processing element of the weight-stationary SPS array.
// Holds two int8 weights (double buffer). Each activation carries a tag that selects the weight it
// multiplies, so the next tile's weights can be written while the current tile computes and the
// swap travels through the array as a wavefront. Three register stages, each one operation, so
// that the multiply is a DSP between registers and the add a short carry chain:
//   1  the activation (also passed right) and the weight its tag selects  } sps_mul: one MULT18X18D
//   2  their int8 x int8 product (16 bits)                                 } with its own registers
//   3  psum_in + product, PSW bits (a column of ROWS products needs 16 + clog2(ROWS))
// Latency: activation, valid and tag 1 cycle (to the right); the partial sum of an activation
// that arrives in cycle t leaves in cycle t + 3 (psum_in is added in cycle t + 2).
`default_nettype none
module sps_pe #(
    parameter PSW = 19                    // partial-sum width
) (
    input  wire                  clk,
    input  wire                  rst,
    // weight write (from the weight loader)
    input  wire                  wr_en,
    input  wire                  wr_slot,
    input  wire signed [7:0]     wr_w,
    // activation from the left, partial sum from above
    input  wire                  a_valid,
    input  wire                  a_tag,
    input  wire signed [7:0]     a_in,
    input  wire signed [PSW-1:0] psum_in,
    // to the right / below
    output reg                   a_valid_q,
    output reg                   a_tag_q,
    output reg  signed [7:0]     a_q,
    output reg  signed [PSW-1:0] psum_q
);
    reg signed [7:0]  w0, w1;
    wire signed [15:0] prod;
    sps_mul #(.AW(8), .BW(8)) u_mul (.clk(clk), .rst(rst), .a(a_in), .b(a_tag ? w1 : w0), .p(prod));
    always @(posedge clk) begin
        if (rst) begin
            w0 <= 8'sd0;
            w1 <= 8'sd0;
        end else if (wr_en) begin
            if (wr_slot) w1 <= wr_w;
            else         w0 <= wr_w;
        end
    end
    always @(posedge clk) begin
        if (rst) begin
            a_valid_q <= 1'b0;
            a_tag_q   <= 1'b0;
            a_q       <= 8'sd0;
            psum_q    <= {PSW{1'b0}};
        end else begin
            a_valid_q <= a_valid;
            a_tag_q   <= a_tag;
            a_q       <= a_in;
            psum_q    <= psum_in + {{(PSW-16){prod[15]}}, prod};
        end
    end
endmodule
`default_nettype wire
