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
// Register stages (T = the cycle a_in, a_tag are at the input), each at most a LUT and a carry
// chain or two short ones:
//   T    activation to column 2k+1 (a_*_m) and on (a_*_q, T + 1); x of the tag's slot and a into the
//        DSP's input registers; the 7x7 truncated product's partial products (a LUT4 a bit, the
//        slot select included) summed in three groups of rows
//   T+1  O in the DSP (its output register); t = the three groups' sum (7 bits)
//   T+2  U = O + (64 - t) * 2^9: one 16-bit carry chain on bits 24:9 (64 - t is wiring and a carry in)
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

    // T: the multiply (O from cycle T + 2); the correction's partial products (a[i] and w1 mod 2^7
    // of the tag's slot: one LUT4 a bit) summed in three groups, only the bits below 2^7:
    // rows 0-1 (bits 6:0), rows 2-3 (bits 6:2), rows 4-6 (bits 6:4)
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [25:0] o;                 // |O| < 2^23: bit 25 is a copy of bit 24
    /* verilator lint_on UNUSEDSIGNAL */
    sps_mul #(.AW(8), .BW(18)) u_mul (.clk(clk), .rst(rst), .a(a_in), .b(a_tag ? x1 : x0), .p(o));
    wire [6:0] l = a_tag ? l1 : l0;
    wire [6:0] pp0 = a_in[0] ? l : 7'd0;
    wire [5:0] pp1 = a_in[1] ? l[5:0] : 6'd0;
    wire [4:0] pp2 = a_in[2] ? l[4:0] : 5'd0;
    wire [3:0] pp3 = a_in[3] ? l[3:0] : 4'd0;
    wire [2:0] pp4 = a_in[4] ? l[2:0] : 3'd0;
    wire [1:0] pp5 = a_in[5] ? l[1:0] : 2'd0;
    wire       pp6 = a_in[6] & l[0];
    reg [6:0] s01;                        // rows 0-1
    reg [4:0] s23;                        // rows 2-3, bits 6:2
    reg [2:0] s46;                        // rows 4-6, bits 6:4
    always @(posedge clk) begin
        if (rst) begin
            s01 <= 7'd0; s23 <= 5'd0; s46 <= 3'd0;
        end else begin
            s01 <= pp0 + {pp1, 1'b0};
            s23 <= pp2 + {pp3, 1'b0};
            s46 <= pp4 + {pp5, 1'b0} + {pp6, 2'b00};
        end
    end

    // T+1: t = (w1 mod 2^7)(a mod 2^7) mod 2^7
    reg [6:0] t1, t2;
    always @(posedge clk) begin
        if (rst) t1 <= 7'd0;
        else     t1 <= s01 + {s23, 2'b00} + {s46, 4'b0000};
    end

    // T+2: U's bits 24:9 (bits 8:0 are O's): U = O + (64 - t) * 2^9, where
    // 64 - t = {t[6], t[6], ~t[5:0]} + 1 (8 bits): wiring, and the + 1 a carry into the adder
    // (a 1 appended below both operands), so the stage is one carry chain
    wire [15:0] c_m1 = {{10{t1[6]}}, ~t1[5:0]};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [16:0] u_sum = {o[24:9], 1'b1} + {c_m1, 1'b1};     // bit 0 is the carry's carrier
    /* verilator lint_on UNUSEDSIGNAL */
    reg [15:0] u_hi;
    reg [8:0]  u_lo;
    always @(posedge clk) begin
        if (rst) begin
            u_hi <= 16'd0; u_lo <= 9'd0; t2 <= 7'd0;
        end else begin
            u_hi <= u_sum[16:1];
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
