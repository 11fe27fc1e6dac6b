// sps_pe.v -- one processing element of the weight-stationary SPS array.
// Holds two int8 weights (double buffer). Each activation carries a tag that selects the weight it
// multiplies, so the next tile's weights can be written while the current tile computes and the
// swap travels through the array as a wavefront. int8 x int8 products accumulate into int32.
// Latency: 1 cycle (activation, valid, tag and partial sum are registered).
`default_nettype none
module sps_pe (
    input  wire               clk,
    input  wire               rst,
    // weight write (from the weight loader)
    input  wire               wr_en,
    input  wire               wr_slot,
    input  wire signed [7:0]  wr_w,
    // activation from the left, partial sum from above
    input  wire               a_valid,
    input  wire               a_tag,
    input  wire signed [7:0]  a_in,
    input  wire signed [31:0] psum_in,
    // to the right / below
    output reg                a_valid_q,
    output reg                a_tag_q,
    output reg  signed [7:0]  a_q,
    output reg  signed [31:0] psum_q
);
    reg signed [7:0] w0, w1;
    wire signed [7:0]  w    = a_tag ? w1 : w0;
    wire signed [15:0] prod = w * a_in;

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
            psum_q    <= 32'sd0;
        end else begin
            a_valid_q <= a_valid;
            a_tag_q   <= a_tag;
            a_q       <= a_in;
            psum_q    <= psum_in + {{16{prod[15]}}, prod};
        end
    end
endmodule
`default_nettype wire
