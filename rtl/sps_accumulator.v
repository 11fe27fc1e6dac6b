// sps_accumulator.v -- accumulator buffer: per array column, two banks (ping-pong by column tile)
// of ACC_DEPTH int32 words, one per output pixel. A pixel's partial sum from the bottom of column j
// is added to the word (or written, on the first row tile) with a 2-stage read-modify-write;
// a same-address write in the previous cycle is forwarded, so back-to-back passes over a single
// pixel are exact. The other bank is read by the output stage (drain) at the same time.
// The pixel's sideband enters with row ROWS-1's activation at column 0 and follows the psums
// right, one column per cycle. When column COLS-1 writes the last pixel of the last row tile of a
// column tile, the bank is done (weight slots are released earlier, by the window generator).
// Latency: word written 2 cycles after the psum leaves the array; done 1 cycle later.
`default_nettype none
module sps_accumulator #(
    parameter COLS      = 8,
    parameter ACC_DEPTH = 1024
) (
    clk, rst, psum_in, sb_valid, sb, drain_re, drain_bank, drain_addr, drain_data, done_valid,
    done_bank, done_last
);
    localparam PXW = (ACC_DEPTH > 1) ? $clog2(ACC_DEPTH) : 1; // bits of a pixel index
    `include "sps_sideband.vh"

    input  wire                clk;
    input  wire                rst;
    input  wire [COLS*32-1:0]  psum_in;
    input  wire                sb_valid;
    input  wire [SB_PIX_W-1:0] sb;            // pixel sideband (rtl/sps_sideband.vh)
    // drain read port
    input  wire                drain_re;
    input  wire                drain_bank;
    input  wire [PXW-1:0]      drain_addr;
    output wire [COLS*32-1:0]  drain_data;
    // completion
    output reg                 done_valid;
    output reg                 done_bank;
    output reg                 done_last;

    // the sideband and its valid bit move right with the psums: col_sb[j + 1] is column j's,
    // j + 1 cycles after it entered
    localparam COL_SB_W = SB_PIX_W + 1, COL_SB_VALID = SB_PIX_W;
    wire [COL_SB_W-1:0] col_sb [0:COLS];
    assign col_sb[0] = {sb_valid, sb};

    reg drain_bank_d;
    always @(posedge clk) drain_bank_d <= drain_bank;

    // stage B of every column (only column COLS-1's decide that a bank is done)
    wire [COLS-1:0] col_b_valid, col_b_bank, col_b_last_px, col_b_last_rt, col_b_last_pass;

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

            // stage B: add (or write) and the RAM write
            reg                b_valid, b_first, b_bank, b_last_px, b_last_rt, b_last_pass;
            reg [PXW-1:0]      b_pixel;
            reg signed [31:0]  b_psum;
            // the previous cycle's write, forwarded to a read of the same word
            reg                fwd_valid;
            reg                fwd_bank;
            reg [PXW-1:0]      fwd_pixel;
            reg signed [31:0]  fwd_sum;

            wire [31:0] q0, q1;
            wire        rd0_drain = drain_re && !drain_bank;
            wire        rd1_drain = drain_re &&  drain_bank;
            wire signed [31:0] b_word = b_bank ? q1 : q0;
            wire        fwd_hit = fwd_valid && fwd_bank == b_bank && fwd_pixel == b_pixel;
            wire signed [31:0] old = fwd_hit ? fwd_sum : b_word;
            wire signed [31:0] sum = b_first ? b_psum : old + b_psum;

            sps_ram #(.WIDTH(32), .DEPTH(ACC_DEPTH)) u_bank0 (
                .clk(clk), .we(b_valid && !b_bank), .waddr(b_pixel), .wdata(sum),
                .re(rd0_drain || (a_valid && !a_bank)), .raddr(rd0_drain ? drain_addr : a_pixel), .rdata(q0));
            sps_ram #(.WIDTH(32), .DEPTH(ACC_DEPTH)) u_bank1 (
                .clk(clk), .we(b_valid && b_bank), .waddr(b_pixel), .wdata(sum),
                .re(rd1_drain || (a_valid && a_bank)), .raddr(rd1_drain ? drain_addr : a_pixel), .rdata(q1));

            always @(posedge clk) begin
                if (rst) begin
                    b_valid <= 1'b0; b_first <= 1'b0; b_bank <= 1'b0; b_last_px <= 1'b0; b_last_rt <= 1'b0;
                    b_last_pass <= 1'b0; b_pixel <= {PXW{1'b0}}; b_psum <= 32'sd0;
                    fwd_valid <= 1'b0; fwd_bank <= 1'b0; fwd_pixel <= {PXW{1'b0}}; fwd_sum <= 32'sd0;
                end else begin
                    b_valid <= a_valid; b_first <= a_sb[SB_PIX_FIRST_RT]; b_bank <= a_bank;
                    b_last_px <= a_sb[SB_PIX_LAST_PX]; b_last_rt <= a_sb[SB_PIX_LAST_RT];
                    b_last_pass <= a_sb[SB_PIX_LAST_PASS]; b_pixel <= a_pixel;
                    b_psum <= psum_in[j*32 +: 32];   // read here, not via a net
                    fwd_valid <= b_valid; fwd_bank <= b_bank; fwd_pixel <= b_pixel; fwd_sum <= sum;
                end
            end

            assign drain_data[j*32 +: 32] = drain_bank_d ? q1 : q0;
            assign col_b_valid[j]     = b_valid;
            assign col_b_bank[j]      = b_bank;
            assign col_b_last_px[j]   = b_last_px;
            assign col_b_last_rt[j]   = b_last_rt;
            assign col_b_last_pass[j] = b_last_pass;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            done_valid <= 1'b0; done_bank <= 1'b0; done_last <= 1'b0;
        end else begin
            done_valid <= col_b_valid[COLS-1] && col_b_last_px[COLS-1] && col_b_last_rt[COLS-1];
            done_bank  <= col_b_bank[COLS-1];
            done_last  <= col_b_last_pass[COLS-1];
        end
    end
endmodule
`default_nettype wire
