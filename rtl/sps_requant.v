// sps_requant.v -- one lane of the output stage's requantisation (docs/ARCHITECTURE.md section 6):
//   raw mode:     out = v
//   requant mode: t = v * M; if sh > 0: t = (t + 2^(sh-1)) >>> sh; if relu: t = max(t, 0);
//                 out = clamp(t, -128, 127), sign-extended to 32 bits
// v is int32 (acc + bias), M uint16, sh 0..63. Exact with 50-bit arithmetic: |v * M| < 2^47, so
// for sh >= 49 the result is 0 (and for sh = 48 the 50-bit sum gives 0 as well).
// One multiplier (sps_mul: a MULT18X18D with its own registers), used twice per value: v's low
// half (unsigned) times M, then its high half (signed) times M; so in requant mode a lane takes a
// value at most every other cycle (the output stage drains at half rate). Every stage is one
// operation between registers:
//   R0 operands (lo x M enters the multiplier)   R1 hi x M enters   R2 lo x M out   R3 hi x M out,
//   product = hi*M*2^16 + lo*M   R4 + 2^(sh-1)
//   R5 >>> 8*sh[5:3]   R6 >>> sh[2:0] (and the top bits' OR / AND)   R7 ReLU, clamp
// Latency: requant mode 9 cycles (in_valid -> out_valid); raw mode 2 cycles.
`default_nettype none
module sps_requant (
    input  wire               clk,
    input  wire               rst,
    input  wire               in_valid,
    input  wire signed [31:0] v,
    input  wire [15:0]        mult,
    input  wire [5:0]         shift,
    input  wire               requant,
    input  wire               relu,
    output reg                out_valid,
    output reg  [31:0]        out
);
    localparam QW = 50;                             // product + rounding term, signed

    // ---- raw mode: two registers ---------------------------------------------------------------
    reg               raw_v1;
    reg signed [31:0] raw1;
    always @(posedge clk) begin
        raw_v1 <= !rst && in_valid && !requant;
        raw1   <= v;
    end

    // ---- requant mode --------------------------------------------------------------------------
    // valid and the per-value controls travel with the value: bit k of vld is stage Rk
    reg  [7:0]        vld;
    reg  [5:0]        sh [1:5];
    reg  [6:1]        rl, zero;                     // ReLU; sh >= 49 (result 0)
    reg signed [15:0] v_hi0;
    reg  [15:0]       m0;
    reg  [5:0]        sh0;
    reg               rl0;
    wire signed [33:0] prod;                        // the multiplier's output register
    reg  [31:0]       p_lo;                         // lo x M, kept while hi x M is formed
    reg signed [QW-1:0] p3, q4, x5, x6;
    reg  [7:0]        res7;

    // the multiplier takes v's low half with the value, its high half (kept in R0) a cycle later
    // (selected by in_valid alone: in raw mode the products are not used)
    wire               take  = in_valid && requant;
    wire signed [16:0] mul_a = in_valid ? $signed({1'b0, v[15:0]}) : {v_hi0[15], v_hi0};
    wire signed [16:0] mul_b = in_valid ? $signed({1'b0, mult}) : $signed({1'b0, m0});
    sps_mul #(.AW(17), .BW(17)) u_mul (.clk(clk), .rst(rst), .a(mul_a), .b(mul_b), .p(prod));
    reg  [QW-1:0]      rnd3;                        // 2^(sh-1) (0 for sh = 0), formed a stage early
    // R7: saturation from the bits above the result's sign, x6[QW-2:7]. Those from bit 15 up are
    // x5's from bit 15 up (shifted by sh[2:0] <= 7; the bits shifted in are copies of the sign, the
    // bits shifted out land in x6[14:7]), so their OR and AND are formed in R6 from x5
    reg                hi_or6, hi_and6;                          // |x5[QW-2:15], &x5[QW-2:15]
    wire               neg6  = x6[QW-1];
    wire               over  = !neg6 && (hi_or6 || (|x6[14:7]));   // > 127
    wire               under = neg6 && !(hi_and6 && (&x6[14:7])); // < -128

    // only the valid bits are reset; the data registers need no reset
    always @(posedge clk) begin
        vld <= rst ? 8'd0 : {vld[6:0], take};
    end
    always @(posedge clk) begin
        // R0: the operands
        if (take) begin
            v_hi0 <= v[31:16]; m0 <= mult; sh0 <= shift; rl0 <= relu;
        end
        // R1 / R2: the two products leave the multiplier; the low one is kept
        p_lo <= prod[31:0];
        sh[1] <= sh0; rl[1] <= rl0; zero[1] <= (sh0 >= 6'd49);
        sh[2] <= sh[1]; rl[2] <= rl[1]; zero[2] <= zero[1];
        // R3: the 48-bit product
        p3 <= ($signed({{(QW-34){prod[33]}}, prod}) <<< 16) + $signed({{(QW-32){1'b0}}, p_lo});
        sh[3] <= sh[2]; rl[3] <= rl[2]; zero[3] <= zero[2];
        rnd3 <= (sh[2] == 6'd0) ? {QW{1'b0}} : ({{(QW-1){1'b0}}, 1'b1} << (sh[2] - 6'd1));
        // R4: rounding term
        q4 <= p3 + $signed(rnd3);
        sh[4] <= sh[3]; rl[4] <= rl[3]; zero[4] <= zero[3];
        // R5, R6: the shift, by 8s then by 1s
        x5 <= q4 >>> {sh[4][5:3], 3'b000};
        sh[5] <= sh[4]; rl[5] <= rl[4]; zero[5] <= zero[4];
        x6 <= x5 >>> sh[5][2:0];
        hi_or6 <= |x5[QW-2:15]; hi_and6 <= &x5[QW-2:15];
        rl[6] <= rl[5]; zero[6] <= zero[5];
        // R7: ReLU and clamp
        if (zero[6] || (rl[6] && neg6))  res7 <= 8'd0;
        else if (over)                    res7 <= 8'd127;
        else if (under)                   res7 <= 8'h80;
        else                              res7 <= x6[7:0];
    end

    // the output register: raw values after 2 cycles, requantised ones after 9 (the mode is fixed
    // for a program, so the two never meet)
    always @(posedge clk) begin
        out_valid <= !rst && (raw_v1 || vld[7]);
        out       <= vld[7] ? {{24{res7[7]}}, res7} : raw1;
    end
endmodule
`default_nettype wire
