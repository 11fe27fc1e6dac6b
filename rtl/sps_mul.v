// sps_mul.v -- a signed multiplier with its operands and its product registered (latency 2:
// a, b captured at the edge ending cycle t, p = a * b from cycle t + 2), as every multiply that
// matters in the design is written (the PEs, the requantisation lanes). In the ECP5 flow (`sps fpga`
// reads the RTL with SPS_ECP5 defined) it is one MULT18X18D with its own input and output registers,
// which Yosys does not pack into the DSP by itself: the multiply is then register to register inside
// the DSP, with no fabric routing into or out of it on the path. Elsewhere (simulation, `make synth`,
// Yosys synth_xilinx) it is the same behaviour in plain Verilog.
`default_nettype none
module sps_mul #(
    parameter AW = 8,                     // bits of operand a, <= 18 (signed)
    parameter BW = 8                      // bits of operand b, <= 18 (signed)
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire signed [AW-1:0]     a,
    input  wire signed [BW-1:0]     b,
    output wire signed [AW+BW-1:0]  p
);
`ifdef SPS_ECP5
    wire [17:0] a_ext = {{(18-AW){a[AW-1]}}, a};
    wire [17:0] b_ext = {{(18-BW){b[BW-1]}}, b};
    wire [35:0] p_dsp;
    // only the ports used are connected (C, the shift-register and cascade inputs stay open: tying
    // them to a constant leaves nextpnr a GND net it cannot route to every DSP)
    MULT18X18D #(
        .REG_INPUTA_CLK("CLK0"), .REG_INPUTB_CLK("CLK0"), .REG_OUTPUT_CLK("CLK0"),
        .REG_INPUTA_RST("RST0"), .REG_INPUTB_RST("RST0"), .REG_OUTPUT_RST("RST0"),
        .GSR("DISABLED"), .RESETMODE("SYNC")
    ) u_dsp (
        .A0(a_ext[0]), .A1(a_ext[1]), .A2(a_ext[2]), .A3(a_ext[3]), .A4(a_ext[4]), .A5(a_ext[5]),
        .A6(a_ext[6]), .A7(a_ext[7]), .A8(a_ext[8]), .A9(a_ext[9]), .A10(a_ext[10]), .A11(a_ext[11]),
        .A12(a_ext[12]), .A13(a_ext[13]), .A14(a_ext[14]), .A15(a_ext[15]), .A16(a_ext[16]), .A17(a_ext[17]),
        .B0(b_ext[0]), .B1(b_ext[1]), .B2(b_ext[2]), .B3(b_ext[3]), .B4(b_ext[4]), .B5(b_ext[5]),
        .B6(b_ext[6]), .B7(b_ext[7]), .B8(b_ext[8]), .B9(b_ext[9]), .B10(b_ext[10]), .B11(b_ext[11]),
        .B12(b_ext[12]), .B13(b_ext[13]), .B14(b_ext[14]), .B15(b_ext[15]), .B16(b_ext[16]), .B17(b_ext[17]),
        .P0(p_dsp[0]), .P1(p_dsp[1]), .P2(p_dsp[2]), .P3(p_dsp[3]), .P4(p_dsp[4]), .P5(p_dsp[5]),
        .P6(p_dsp[6]), .P7(p_dsp[7]), .P8(p_dsp[8]), .P9(p_dsp[9]), .P10(p_dsp[10]), .P11(p_dsp[11]),
        .P12(p_dsp[12]), .P13(p_dsp[13]), .P14(p_dsp[14]), .P15(p_dsp[15]), .P16(p_dsp[16]), .P17(p_dsp[17]),
        .P18(p_dsp[18]), .P19(p_dsp[19]), .P20(p_dsp[20]), .P21(p_dsp[21]), .P22(p_dsp[22]), .P23(p_dsp[23]),
        .P24(p_dsp[24]), .P25(p_dsp[25]), .P26(p_dsp[26]), .P27(p_dsp[27]), .P28(p_dsp[28]), .P29(p_dsp[29]),
        .P30(p_dsp[30]), .P31(p_dsp[31]), .P32(p_dsp[32]), .P33(p_dsp[33]), .P34(p_dsp[34]), .P35(p_dsp[35]),
        .SIGNEDA(1'b1), .SIGNEDB(1'b1), .CLK0(clk), .CE0(1'b1), .RST0(rst)
    );
    assign p = p_dsp[AW+BW-1:0];
`else
    reg signed [AW-1:0]    a_q;
    reg signed [BW-1:0]    b_q;
    reg signed [AW+BW-1:0] p_q;
    always @(posedge clk) begin
        if (rst) begin
            a_q <= {AW{1'b0}}; b_q <= {BW{1'b0}}; p_q <= {(AW+BW){1'b0}};
        end else begin
            a_q <= a; b_q <= b; p_q <= a_q * b_q;
        end
    end
    assign p = p_q;
`endif
endmodule
`default_nettype wire
