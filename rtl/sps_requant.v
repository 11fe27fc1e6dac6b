// sps_requant.v -- one lane of the output stage's requantisation (docs/ARCHITECTURE.md section 6):
//   raw mode:     out = v
//   requant mode: t = v * M; if sh > 0: t = (t + 2^(sh-1)) >>> sh; if relu: t = max(t, 0);
//                 out = clamp(t, -128, 127), sign-extended to 32 bits
// v is int32 (acc + bias), M uint16, sh 0..63; the product and rounding use 64-bit arithmetic.
// Latency: 2 cycles (multiply, then round/shift/clamp).
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
    reg               v1, rq1, relu1;
    reg [5:0]         sh1;
    reg signed [31:0] raw1;
    reg signed [63:0] prod1;

    always @(posedge clk) begin
        if (rst) begin
            v1 <= 1'b0; rq1 <= 1'b0; relu1 <= 1'b0; sh1 <= 6'd0; raw1 <= 32'sd0; prod1 <= 64'sd0;
        end else begin
            v1 <= in_valid; rq1 <= requant; relu1 <= relu; sh1 <= shift; raw1 <= v;
            prod1 <= {{32{v[31]}}, v} * $signed({48'd0, mult});
        end
    end

    wire signed [63:0] rnd     = (sh1 == 6'd0) ? 64'sd0 : (64'sd1 <<< (sh1 - 6'd1));
    wire signed [63:0] shifted = (prod1 + rnd) >>> sh1;
    wire signed [63:0] rl      = (relu1 && shifted < 0) ? 64'sd0 : shifted;
    wire signed [7:0]  sat     = (rl > 64'sd127) ? 8'sd127 : (rl < -64'sd128) ? -8'sd128 : rl[7:0];

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0; out <= 32'd0;
        end else begin
            out_valid <= v1;
            out <= rq1 ? {{24{sat[7]}}, sat} : raw1;
        end
    end
endmodule
`default_nettype wire
