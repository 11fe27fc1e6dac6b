// sps_pe_pair.v -- two processing elements of the weight-stationary SPS array (columns 2k and 2k+1
// of a row) that share one multiplier: two int8 x int8 products out of one signed 18x18 multiply
// (the packing of Langhammer et al., "Extracting INT8 Multipliers from INT18 Multipliers", FPL 2019).
// Each column keeps two int8 weights (double buffer) selected by the activation's tag, as sps_pe.
// The arithmetic, for the activation a and the selected weights w0 (column 2k), w1 (column 2k+1):
//   x  = w0 + w1 * 2^9                 18 bits signed, formed when the weights are written
//   O  = x * a = P0 + P1 * 2^9         one MULT18X18D (P0 = a * w0, P1 = a * w1, 16 bits each)
//   t  = P1 mod 2^7 = (w1 mod 2^7)(a mod 2^7) mod 2^7    a 7x7 truncated product in LUTs
//   U  = O + (64 - t) * 2^9 = (P0 + 2^15) + K * 2^16,  K = (P1 - t) / 2^7 in [-127, 128]
// since P0 + 2^15 lies in [0, 2^16): P0 = U[15:0] - 2^15 = {~U[15], U[14:0]} and P1 = {U[24:16], t},
// both separated before they are accumulated (no guard bits). The truncated product is written as
// shifted adds, not `*`, so that synthesis keeps it in LUTs and carry chains (a DSP otherwise).
// Register stages (T = the cycle a_in, a_tag are at the input):
//   T    activation to column 2k+1 (a_*_m) and on (a_*_q, T + 1); x of the tag's slot and a into the
//        DSP's input registers; a mod 2^7 and w1 mod 2^7 of the tag's slot registered
//   T+1  O in the DSP (its output register); t and 64 - t registered
//   T+2  U = O + (64 - t) * 2^9 (16-bit add on bits 24:9), t kept
//   T+3  psum_in0 + P0, psum_in1 + P1
// Latency: the activation reaches column 2k+1's position (a_*_m) 1 cycle after the input and
// leaves (a_*_q) 2 cycles after it, as through two sps_pe; both partial sums of an activation that
// arrives in cycle T leave in cycle T + 4 (psum_in0/1 are added in cycle T + 3): one cycle more
// than sps_pe, and column 2k+1 one cycle ahead of where an sps_pe would put it (the array delays
// it at the bottom). A weight write in cycle k is visible to the activations of cycle k + 1 on,
// for both columns (sps_array writes them in the same cycle).
`default_nettype none
module sps_pe_pair #(
    parameter PSW = 19                    // partial-sum width
) (
    input  wire                  clk,
    input  wire                  rst,
    // weight write (from the weight loader): both columns' weights of one slot
    input  wire                  wr_en,
    input  wire                  wr_slot,
    input  wire signed [7:0]     wr_w0,   // column 2k
    input  wire signed [7:0]     wr_w1,   // column 2k+1
    // activation from the left, partial sums from above
    input  wire                  a_valid,
    input  wire                  a_tag,
    input  wire signed [7:0]     a_in,
    input  wire signed [PSW-1:0] psum_in0,
    input  wire signed [PSW-1:0] psum_in1,
    // the activation at column 2k+1's position (1 cycle) and to the right (2 cycles)
    output reg                   a_valid_m,
    output reg                   a_tag_m,
    output reg  signed [7:0]     a_m,
    output reg                   a_valid_q,
    output reg                   a_tag_q,
    output reg  signed [7:0]     a_q,
    // partial sums below
    output reg  signed [PSW-1:0] psum_q0,
    output reg  signed [PSW-1:0] psum_q1
);
    // per slot: the packed operand x and w1 mod 2^7
    reg signed [17:0] x0, x1;
    reg        [6:0]  l0, l1;
    always @(posedge clk) begin
        if (rst) begin
            x0 <= 18'sd0; x1 <= 18'sd0; l0 <= 7'd0; l1 <= 7'd0;
        end else if (wr_en) begin
            if (wr_slot) begin
                x1 <= {wr_w1[7], wr_w1, 9'd0} + {{10{wr_w0[7]}}, wr_w0};
                l1 <= wr_w1[6:0];
            end else begin
                x0 <= {wr_w1[7], wr_w1, 9'd0} + {{10{wr_w0[7]}}, wr_w0};
                l0 <= wr_w1[6:0];
            end
        end
    end

    // T: the multiply (O from cycle T + 2) and the correction's operands
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [25:0] o;                 // |O| < 2^23: bit 25 is a copy of bit 24
    /* verilator lint_on UNUSEDSIGNAL */
    sps_mul #(.AW(8), .BW(18)) u_mul (.clk(clk), .rst(rst), .a(a_in), .b(a_tag ? x1 : x0), .p(o));
    reg [6:0] a7, l7;
    always @(posedge clk) begin
        if (rst) begin
            a7 <= 7'd0; l7 <= 7'd0;
        end else begin
            a7 <= a_in[6:0];
            l7 <= a_tag ? l1 : l0;
        end
    end

    // T+1: t = a7 * l7 mod 2^7 as shifted adds (row i: l7 << i where a7[i], only the bits below 2^7)
    reg [6:0] t_sum;
    integer i;
    always @(*) begin
        t_sum = 7'd0;
        for (i = 0; i < 7; i = i + 1)
            t_sum = t_sum + (a7[i] ? (l7 << i) : 7'd0);
    end
    reg       [6:0] t1, t2;
    reg signed [7:0] c1;                  // 64 - t, in [-63, 64]
    always @(posedge clk) begin
        if (rst) begin
            t1 <= 7'd0; c1 <= 8'sd0;
        end else begin
            t1 <= t_sum;
            c1 <= 8'sd64 - $signed({1'b0, t_sum});
        end
    end

    // T+2: U's bits 24:9 (bits 8:0 are O's)
    reg [15:0] u_hi;
    reg [8:0]  u_lo;
    always @(posedge clk) begin
        if (rst) begin
            u_hi <= 16'd0; u_lo <= 9'd0; t2 <= 7'd0;
        end else begin
            u_hi <= o[24:9] + {{8{c1[7]}}, c1};
            u_lo <= o[8:0];
            t2   <= t1;
        end
    end

    // T+3: the two products, separated, into the two partial sums
    wire signed [15:0] p0 = {~u_hi[6], u_hi[5:0], u_lo};
    wire signed [15:0] p1 = {u_hi[15:7], t2};
    always @(posedge clk) begin
        if (rst) begin
            a_valid_m <= 1'b0; a_tag_m <= 1'b0; a_m <= 8'sd0;
            a_valid_q <= 1'b0; a_tag_q <= 1'b0; a_q <= 8'sd0;
            psum_q0   <= {PSW{1'b0}};
            psum_q1   <= {PSW{1'b0}};
        end else begin
            a_valid_m <= a_valid;   a_tag_m <= a_tag;   a_m <= a_in;
            a_valid_q <= a_valid_m; a_tag_q <= a_tag_m; a_q <= a_m;
            psum_q0   <= psum_in0 + {{(PSW-16){p0[15]}}, p0};
            psum_q1   <= psum_in1 + {{(PSW-16){p1[15]}}, p1};
        end
    end
endmodule
`default_nettype wire
