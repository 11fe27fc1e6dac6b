// sps_pe_pair_exhaustive.v -- every operand triple through sps_pe_pair (tb/blocks/test_sps_pe_pair.py
// builds it with verilator --binary): for each of the 65,536 weight pairs (w0, w1), slot 0 gets
// (w0, w1) and slot 1 (w1, w0), then the 256 activations a = -128 .. 127 follow back to back, even a
// with tag 0 and odd a with tag 1. Over all pairs that is every triple (w0, w1, a) once, through both
// slots: 2^24 activations, 2^25 products. A plain reference (`*` on the int8 operands, a 3-stage
// delay, then the partial sums of cycle T + 3) checks both partial sums of every activation, with
// random psum_in (PSW bits, wrapping) in every cycle. Prints one line:
//   RESULT checked=<products> mismatches=<n>
// after the first mismatches, each on a MISMATCH line.
`timescale 1ns/1ps
`default_nettype none
module sps_pe_pair_exhaustive;
    localparam PSW = 19;
    reg clk = 1'b0;
    always #5 clk = ~clk;

    reg                  rst = 1'b1;
    reg                  wr_en = 1'b0, wr_slot = 1'b0;
    reg signed [7:0]     wr_w0 = 8'sd0, wr_w1 = 8'sd0;
    reg                  a_valid = 1'b0, a_tag = 1'b0;
    reg signed [7:0]     a_in = 8'sd0;
    reg signed [PSW-1:0] psum_in0 = 0, psum_in1 = 0;
    wire                 a_valid_m, a_tag_m, a_valid_q, a_tag_q;
    wire signed [7:0]    a_m, a_q;
    wire signed [PSW-1:0] psum_q0, psum_q1;

    sps_pe_pair #(.PSW(PSW)) dut (
        .clk(clk), .rst(rst), .wr_en(wr_en), .wr_slot(wr_slot), .wr_w0(wr_w0), .wr_w1(wr_w1),
        .a_valid(a_valid), .a_tag(a_tag), .a_in(a_in), .psum_in0(psum_in0), .psum_in1(psum_in1),
        .a_valid_m(a_valid_m), .a_tag_m(a_tag_m), .a_m(a_m),
        .a_valid_q(a_valid_q), .a_tag_q(a_tag_q), .a_q(a_q),
        .psum_q0(psum_q0), .psum_q1(psum_q1));

    // the reference: weights as written, products of cycle T, partial sums of cycle T + 3
    reg signed [7:0]     rw0 [0:1];
    reg signed [7:0]     rw1 [0:1];
    reg                  v1 = 1'b0, v2 = 1'b0, v3 = 1'b0, v4 = 1'b0;
    reg signed [15:0]    p0_1, p1_1, p0_2, p1_2, p0_3, p1_3;
    reg signed [PSW-1:0] e0, e1;
    reg                  m1, m2, g1, g2;         // the activation chain, checked beside the sums
    reg signed [7:0]     am1, am2;
    integer              checked = 0, mismatches = 0;
    reg [31:0]           rnd = 32'h2545f491;      // psum_in: a scrambled 32-bit sequence

    always @(posedge clk) begin
        if (rst) begin
            rw0[0] <= 8'sd0; rw0[1] <= 8'sd0; rw1[0] <= 8'sd0; rw1[1] <= 8'sd0;
            v1 <= 1'b0; v2 <= 1'b0; v3 <= 1'b0; v4 <= 1'b0;
        end else begin
            if (wr_en) begin
                rw0[wr_slot] <= wr_w0;
                rw1[wr_slot] <= wr_w1;
            end
            v1 <= a_valid; p0_1 <= a_in * rw0[a_tag]; p1_1 <= a_in * rw1[a_tag];
            v2 <= v1;      p0_2 <= p0_1;              p1_2 <= p1_1;
            v3 <= v2;      p0_3 <= p0_2;              p1_3 <= p1_2;
            v4 <= v3;      e0 <= psum_in0 + {{(PSW-16){p0_3[15]}}, p0_3};
                           e1 <= psum_in1 + {{(PSW-16){p1_3[15]}}, p1_3};
            if (v4) begin
                checked = checked + 2;
                if (psum_q0 !== e0 || psum_q1 !== e1) begin
                    mismatches = mismatches + 1;
                    if (mismatches <= 5)
                        $display("MISMATCH t=%0t psum_q0=%0d expected %0d, psum_q1=%0d expected %0d",
                                 $time, psum_q0, e0, psum_q1, e1);
                end
            end
            // the activation chain: a_m one cycle, a_q two cycles after the input
            m1 <= a_valid; g1 <= a_tag; am1 <= a_in; m2 <= m1; g2 <= g1; am2 <= am1;
            if (a_valid_m !== m1 || (m1 && (a_m !== am1 || a_tag_m !== g1)) ||
                a_valid_q !== m2 || (m2 && (a_q !== am2 || a_tag_q !== g2))) begin
                mismatches = mismatches + 1;
                if (mismatches <= 5) $display("MISMATCH t=%0t activation chain", $time);
            end
        end
        rnd      <= rnd ^ (rnd << 13) ^ ((rnd ^ (rnd << 13)) >> 17) ^ ((rnd ^ (rnd << 13)) << 5) ^ ((rnd ^ (rnd << 13)) >> 12);
        psum_in0 <= rnd[PSW-1:0];
        psum_in1 <= rnd[31:32-PSW];
    end

    // the stimulus changes after the clock edge (nonblocking), as a clocked driver would
    /* verilator lint_off INITIALDLY */
    integer n, k;
    initial begin
        repeat (3) @(posedge clk);
        rst <= 1'b0;
        for (n = 0; n < 65536; n = n + 1) begin
            @(posedge clk);
            a_valid <= 1'b0;
            wr_en <= 1'b1; wr_slot <= 1'b0; wr_w0 <= n[7:0]; wr_w1 <= n[15:8];
            @(posedge clk);
            wr_slot <= 1'b1; wr_w0 <= n[15:8]; wr_w1 <= n[7:0];
            for (k = 0; k < 256; k = k + 1) begin
                @(posedge clk);
                wr_en <= 1'b0;
                a_valid <= 1'b1; a_tag <= k[0]; a_in <= k[7:0] ^ 8'h80;   // -128 + k: parity of k
            end
        end
        @(posedge clk);
        a_valid <= 1'b0;
        repeat (6) @(posedge clk);
        $display("RESULT checked=%0d mismatches=%0d", checked, mismatches);
        $finish;
    end
    /* verilator lint_on INITIALDLY */
endmodule
`default_nettype wire
