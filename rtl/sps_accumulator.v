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
    clk, rst, psum_in, sb_valid, sb_p, sb_first, sb_bank, sb_lastpx, sb_lastrt, sb_lastpass,
    drain_re, drain_bank, drain_addr, drain_data, done_valid, done_bank, done_last
);
    localparam PXW = (ACC_DEPTH > 1) ? $clog2(ACC_DEPTH) : 1; // bits of a pixel index

    input  wire                clk;
    input  wire                rst;
    input  wire [COLS*32-1:0]  psum_in;
    input  wire                sb_valid;
    input  wire [PXW-1:0]      sb_p;
    input  wire                sb_first;
    input  wire                sb_bank;
    input  wire                sb_lastpx;
    input  wire                sb_lastrt;
    input  wire                sb_lastpass;
    // drain read port
    input  wire                drain_re;
    input  wire                drain_bank;
    input  wire [PXW-1:0]      drain_addr;
    output wire [COLS*32-1:0]  drain_data;
    // completion
    output reg                 done_valid;
    output reg                 done_bank;
    output reg                 done_last;

    localparam SBW = PXW + 6;
    wire [SBW-1:0] sb_in = {sb_p, sb_first, sb_bank, sb_lastpx, sb_lastrt, sb_lastpass, sb_valid};

    // the sideband moves right with the psums: col_sb[j + 1] is column j's, j + 1 cycles late
    wire [SBW-1:0] col_sb [0:COLS];
    assign col_sb[0] = sb_in;

    reg drain_bank_d;
    always @(posedge clk) drain_bank_d <= drain_bank;

    wire [COLS-1:0] lastB_px, lastB_rt, lastB_pass, bankB_w, vB_w;

    genvar j;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : g_col
            sps_delay #(.WIDTH(SBW), .DEPTH(1)) u_sb (
                .clk(clk), .rst(rst), .d(col_sb[j]), .q(col_sb[j+1]));

            // stage A: sideband and psum of column j
            wire [SBW-1:0] a     = col_sb[j+1];
            wire           vA    = a[0];
            wire [PXW-1:0] pA    = a[SBW-1 -: PXW];
            wire           bankA = a[4];

            // stage B registers
            reg                vB, firstB, bankB, lpxB, lrtB, lpassB;
            reg [PXW-1:0]      pB;
            reg signed [31:0]  psB;
            // forwarding of the previous write
            reg                fv;
            reg                fbank;
            reg [PXW-1:0]      faddr;
            reg signed [31:0]  fdata;

            wire [31:0] q0, q1;
            wire        rd0_drain = drain_re && !drain_bank;
            wire        rd1_drain = drain_re &&  drain_bank;
            wire signed [31:0] qB  = bankB ? q1 : q0;
            wire signed [31:0] old = (fv && fbank == bankB && faddr == pB) ? fdata : qB;
            wire signed [31:0] sum = firstB ? psB : old + psB;

            sps_ram #(.WIDTH(32), .DEPTH(ACC_DEPTH)) u_bank0 (
                .clk(clk), .we(vB && !bankB), .waddr(pB), .wdata(sum),
                .re(rd0_drain || (vA && !bankA)), .raddr(rd0_drain ? drain_addr : pA), .rdata(q0));
            sps_ram #(.WIDTH(32), .DEPTH(ACC_DEPTH)) u_bank1 (
                .clk(clk), .we(vB && bankB), .waddr(pB), .wdata(sum),
                .re(rd1_drain || (vA && bankA)), .raddr(rd1_drain ? drain_addr : pA), .rdata(q1));

            always @(posedge clk) begin
                if (rst) begin
                    vB <= 1'b0; firstB <= 1'b0; bankB <= 1'b0; lpxB <= 1'b0; lrtB <= 1'b0;
                    lpassB <= 1'b0; pB <= {PXW{1'b0}}; psB <= 32'sd0;
                    fv <= 1'b0; fbank <= 1'b0; faddr <= {PXW{1'b0}}; fdata <= 32'sd0;
                end else begin
                    vB <= vA; firstB <= a[SBW-PXW-1]; bankB <= bankA; lpxB <= a[3]; lrtB <= a[2];
                    lpassB <= a[1]; pB <= pA; psB <= psum_in[j*32 +: 32];   // read here, not via a net
                    fv <= vB; fbank <= bankB; faddr <= pB; fdata <= sum;
                end
            end

            assign drain_data[j*32 +: 32] = drain_bank_d ? q1 : q0;
            assign vB_w[j] = vB; assign lastB_px[j] = lpxB; assign lastB_rt[j] = lrtB;
            assign lastB_pass[j] = lpassB; assign bankB_w[j] = bankB;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            done_valid <= 1'b0; done_bank <= 1'b0; done_last <= 1'b0;
        end else begin
            done_valid <= vB_w[COLS-1] && lastB_px[COLS-1] && lastB_rt[COLS-1];
            done_bank  <= bankB_w[COLS-1];
            done_last  <= lastB_pass[COLS-1];
        end
    end
endmodule
`default_nettype wire
