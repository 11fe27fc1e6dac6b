// sps_accumulator.v -- accumulator buffer: per array column, two banks (ping-pong by column tile)
// of ACC_DEPTH int32 words, one per output pixel. A pixel's partial sum from the bottom of column j
// is added to the word (or written, on the first row tile) in a 5-stage read-modify-write, one
// operation per stage so that no path runs from a block RAM's output through logic:
//   A  RAM read of the pixel's word          B  the RAMs' read registers
//   B2 the RAMs' output registers (sps_ram OUT_REG: on ECP5 the block RAM's own, whose clock to
//      data is short; without it ~5.8 ns); forwarding matched
//   C  word of the pixel's bank (or a forwarded sum) + psum
//   D  RAM write; the sum also kept for forwarding
// The RAM read of a pixel misses the writes of the four pixels ahead of it (written in the
// cycle of the read or later); their sums are forwarded (the newest matching one wins, matched
// on bank and pixel a stage early), so back-to-back passes over a single pixel are exact and
// the RAMs need no read-during-write behaviour (no_rw_check in sps_ram).
// The other bank is read by the output stage (drain) at the same time; drain_data is the bank's
// word from the same registers (w0 / w1), selected after them.
// The pixel's sideband comes (from the array) one cycle ahead of column 0's psum and follows the
// psums right, one column per cycle. When column COLS-1 writes the last pixel of the last row
// tile of a column tile, the bank is done (weight slots are released earlier, by the window
// generator).
// Latency: word written 4 cycles after the psum leaves the array; done 1 cycle later; drain
// data 3 cycles after the read of drain_addr. The RAMs read every cycle; a bank's read address
// is the drain's while a drain of that bank is under way (drain_active, a register), so no path
// runs from the output stage's read decision to the block RAMs.
`default_nettype none
`include "sps_widths.vh"
module sps_accumulator #(
    parameter COLS      = 8,         // array columns: output channels per tile
    parameter ACC_DEPTH = 1024,      // words per accumulator bank: output pixels
    localparam PXW      = `SPS_PXW,  // bits of a pixel index
    `include "sps_sideband.vh"
) (
    input  wire                clk,
    input  wire                rst,
    input  wire [COLS*32-1:0]  psum_in,
    input  wire                sb_valid,
    input  wire [SB_PIX_W-1:0] sb,            // pixel sideband (rtl/sps_sideband.vh)
    // drain read port
    input  wire                drain_active,
    input  wire                drain_bank,
    input  wire [PXW-1:0]      drain_addr,
    output wire [COLS*32-1:0]  drain_data,
    // completion
    output reg                 done_valid,
    output reg                 done_bank,
    output reg                 done_last
);
    // the sideband and its valid bit move right with the psums: col_sb[j + 1] is column j's,
    // j + 1 cycles after it entered
    localparam COL_SB_W = SB_PIX_W + 1, COL_SB_VALID = SB_PIX_W;
    wire [COL_SB_W-1:0] col_sb [0:COLS];
    assign col_sb[0] = {sb_valid, sb};

    wire drain_bank_2;                                 // the drain's bank, 2 cycles late (the
    sps_delay #(.WIDTH(1), .DEPTH(2)) u_drain_bank (  // third cycle: a copy per column, below)
        .clk(clk), .rst(1'b0), .d(drain_bank), .q(drain_bank_2));

    // stage D of every column (only column COLS-1's decide that a bank is done)
    wire [COLS-1:0] col_d_valid, col_d_bank, col_d_last_px, col_d_last_rt, col_d_last_pass;

    genvar j;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : g_col
            sps_delay #(.WIDTH(COL_SB_W), .DEPTH(1)) u_sb (
                .clk(clk), .rst(rst), .d(col_sb[j]), .q(col_sb[j+1]));

            // stage A: sideband and psum of column j; the RAM read of the pixel's word
            wire [COL_SB_W-1:0] a_sb    = col_sb[j+1];
            wire                a_valid = a_sb[COL_SB_VALID];
            wire [PXW-1:0]      a_pixel = a_sb[SB_PIX_PIXEL +: PXW];
            wire                a_bank  = a_sb[SB_PIX_BANK];

            // per stage: valid, first row tile, bank, last pixel / row tile / pass, pixel
            reg               b_valid, b_first, b_bank, b_last_px, b_last_rt, b_last_pass;
            reg               b2_valid, b2_first, b2_bank, b2_last_px, b2_last_rt, b2_last_pass;
            reg               c_valid, c_first, c_bank, c_last_px, c_last_rt, c_last_pass;
            reg               d_valid, d_bank, d_last_px, d_last_rt, d_last_pass;
            reg               e_valid, e_bank, f_valid, f_bank;
            reg [PXW-1:0]     b_pixel, b2_pixel, c_pixel, d_pixel, e_pixel, f_pixel;
            reg signed [31:0] b_psum, b2_psum, c_psum, d_sum, e_sum, f_sum, g_sum;
            reg signed [31:0] w0, w1;                     // the same a cycle later
            reg               c_hit_d, c_hit_e, c_hit_f, c_hit_g; // forward from D / E / F / G in C

            wire [31:0] q0, q1;
            wire        rd0_drain = drain_active && !drain_bank;
            wire        rd1_drain = drain_active &&  drain_bank;
            wire signed [31:0] c_old = c_hit_d ? d_sum : c_hit_e ? e_sum : c_hit_f ? f_sum :
                                       c_hit_g ? g_sum : c_bank ? w1 : w0;
            wire signed [31:0] c_sum = (c_first ? 32'sd0 : c_old) + c_psum;

            sps_ram #(.WIDTH(32), .DEPTH(ACC_DEPTH), .OUT_REG(1)) u_bank0 (
                .clk(clk), .we(d_valid && !d_bank), .waddr(d_pixel), .wdata(d_sum),
                .re(1'b1), .raddr(rd0_drain ? drain_addr : a_pixel), .rdata(q0));
            sps_ram #(.WIDTH(32), .DEPTH(ACC_DEPTH), .OUT_REG(1)) u_bank1 (
                .clk(clk), .we(d_valid && d_bank), .waddr(d_pixel), .wdata(d_sum),
                .re(1'b1), .raddr(rd1_drain ? drain_addr : a_pixel), .rdata(q1));

            // valid bits are reset; the data registers need none
            always @(posedge clk) begin
                if (rst) begin
                    b_valid <= 1'b0; b2_valid <= 1'b0; c_valid <= 1'b0; d_valid <= 1'b0;
                    e_valid <= 1'b0; f_valid <= 1'b0;
                end else begin
                    b_valid <= a_valid; b2_valid <= b_valid; c_valid <= b2_valid; d_valid <= c_valid;
                    e_valid <= d_valid; f_valid <= e_valid;
                end
            end
            always @(posedge clk) begin
                // A -> B
                b_first <= a_sb[SB_PIX_FIRST_RT]; b_bank <= a_bank;
                b_last_px <= a_sb[SB_PIX_LAST_PX]; b_last_rt <= a_sb[SB_PIX_LAST_RT];
                b_last_pass <= a_sb[SB_PIX_LAST_PASS]; b_pixel <= a_pixel;
                b_psum <= psum_in[j*32 +: 32];   // read here, not via a net
                // B -> B2 (the words in the RAMs' output registers)
                b2_first <= b_first; b2_bank <= b_bank; b2_last_px <= b_last_px;
                b2_last_rt <= b_last_rt; b2_last_pass <= b_last_pass; b2_pixel <= b_pixel; b2_psum <= b_psum;
                // B2 -> C: the words; which of the sums ahead will be newer than the pixel's
                c_first <= b2_first; c_bank <= b2_bank; c_last_px <= b2_last_px;
                c_last_rt <= b2_last_rt; c_last_pass <= b2_last_pass; c_pixel <= b2_pixel; c_psum <= b2_psum;
                w0 <= q0; w1 <= q1;
                c_hit_d <= c_valid && c_bank == b2_bank && c_pixel == b2_pixel;
                c_hit_e <= d_valid && d_bank == b2_bank && d_pixel == b2_pixel;
                c_hit_f <= e_valid && e_bank == b2_bank && e_pixel == b2_pixel;
                c_hit_g <= f_valid && f_bank == b2_bank && f_pixel == b2_pixel;
                // C -> D (RAM write) -> E -> F -> G (kept for forwarding)
                d_bank <= c_bank; d_last_px <= c_last_px; d_last_rt <= c_last_rt;
                d_last_pass <= c_last_pass; d_pixel <= c_pixel; d_sum <= c_sum;
                e_bank <= d_bank; e_pixel <= d_pixel; e_sum <= d_sum;
                f_bank <= e_bank; f_pixel <= e_pixel; f_sum <= e_sum;
                g_sum <= f_sum;
            end

            // drain data: the drained bank's registered word, selected by the drain's bank aligned
            // with the words (a copy per column, kept: it selects 32 bits in every column)
            reg drain_bank_w;
            (* keep *) always @(posedge clk) drain_bank_w <= drain_bank_2;
            assign drain_data[j*32 +: 32] = drain_bank_w ? w1 : w0;
            assign col_d_valid[j]     = d_valid;
            assign col_d_bank[j]      = d_bank;
            assign col_d_last_px[j]   = d_last_px;
            assign col_d_last_rt[j]   = d_last_rt;
            assign col_d_last_pass[j] = d_last_pass;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            done_valid <= 1'b0; done_bank <= 1'b0; done_last <= 1'b0;
        end else begin
            done_valid <= col_d_valid[COLS-1] && col_d_last_px[COLS-1] && col_d_last_rt[COLS-1];
            done_bank  <= col_d_bank[COLS-1];
            done_last  <= col_d_last_pass[COLS-1];
        end
    end
endmodule
`default_nettype wire
