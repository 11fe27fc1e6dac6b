// sps_index_select.v -- the SPS indexing unit's data path. Array row r always reads activation
// lane r mod LANES (the compiler orders the reduction so; docs/ARCHITECTURE.md section 3): all it
// chooses is which of the 9 window elements of that lane its weight needs, so a row is a one-hot
// 9:1 select of one byte, nothing more. The walker told it the kernel position (dy, dx) of each
// row when the tile was loaded (two tile slots, selected by the pass tag). The window generator
// gives the words of the 9 activation sub-banks unrotated: element (dy, dx) of the window lies in
// sub-bank ((y0m + dy) mod 3, (x0m + dx) mod 3), and reads 0 where (dy, dx) is outside the input.
// Rows are then skewed for the systolic array (row r delayed by r cycles). Disabled rows get 0.
// Pipeline, for a pixel issued by the window generator in cycle t:
//   t    (F0)  the row's (enable, dy, dx) of the pass's slot -> cur_* (then RD_LAT - 1 cycles of
//              waiting for the activation buffer, RD_LAT its read latency: sps_window_gen)
//   t+L  (F1)  with the window geometry (f1_*): the one-hot sub-bank select -> sel   (L = RD_LAT)
//   t+L+1 (F2) with the sub-bank words (win): AND-OR of the lane's 9 bytes -> act
//   t+L+2+r    r skew stages; row r's activation is on row_a in cycle t+L+3+r.
// The sideband given with the words (F2) comes out aligned with row ROWS-1 (ROWS+1 cycles later).
`default_nettype none
`include "sps_widths.vh"
module sps_index_select #(
    parameter ROWS   = 8,         // array rows (PEs per column); LANES must divide it
    parameter LANES  = 8,         // activation lanes: int8 activations per buffer word and per beat
    parameter SBW    = 16,        // sideband bits carried with every window
    parameter RD_LAT = 1,         // the activation buffer's read latency, >= 1
    localparam RW    = `SPS_RW,   // bits of an array row index
    localparam DW    = LANES * 8  // one sub-bank word: a byte per lane
) (
    input  wire                  clk,
    input  wire                  rst,
    // index write (from the weight loader, one row per beat)
    input  wire                  idx_wr_en,
    input  wire                  idx_wr_slot,
    input  wire [RW-1:0]         idx_wr_row,
    input  wire                  idx_wr_rowen,
    input  wire [3:0]            idx_wr_pos,      // kernel position 3*dy + dx
    // F0: a pixel is issued, with its pass's slot
    input  wire                  issue,
    input  wire                  issue_tag,
    // F1: its window geometry
    input  wire [1:0]            f1_y0m,
    input  wire [1:0]            f1_x0m,
    input  wire [2:0]            f1_row_in,
    input  wire [2:0]            f1_col_in,
    // F2: the 9 sub-bank words and the pixel's sideband
    input  wire [9*DW-1:0]       win,
    input  wire                  win_valid,
    input  wire [SBW-1:0]        win_sb,
    // to the array
    output reg  [ROWS-1:0]       row_valid,
    output reg  [ROWS-1:0]       row_tag,
    output reg  [ROWS*8-1:0]     row_a,
    output wire                  sb_valid,
    output wire [SBW-1:0]        sb_out
);
    // the pixel's valid and tag, alongside the data stages (shared by all rows)
    reg s1_valid, s1_tag, s2_valid, s2_tag, s3_valid, s3_tag;
    wire w_valid, w_tag;                               // s1, RD_LAT - 1 cycles later
    sps_delay #(.WIDTH(2), .DEPTH(RD_LAT - 1)) u_s1_wait (
        .clk(clk), .rst(rst), .d({s1_valid, s1_tag}), .q({w_valid, w_tag}));
    always @(posedge clk) begin
        if (rst) begin
            s1_valid <= 1'b0; s1_tag <= 1'b0; s2_valid <= 1'b0; s2_tag <= 1'b0;
            s3_valid <= 1'b0; s3_tag <= 1'b0;
        end else begin
            s1_valid <= issue;    s1_tag <= issue_tag;
            s2_valid <= w_valid;  s2_tag <= w_tag;
            s3_valid <= s2_valid; s3_tag <= s2_tag;
        end
    end

    // kernel position -> (dy, dx), decoded once on the write
    wire [1:0] wr_dy = (idx_wr_pos >= 4'd6) ? 2'd2 : (idx_wr_pos >= 4'd3) ? 2'd1 : 2'd0;
    wire [1:0] wr_dx = (idx_wr_pos == 4'd1 || idx_wr_pos == 4'd4 || idx_wr_pos == 4'd7) ? 2'd1 :
                       (idx_wr_pos == 4'd2 || idx_wr_pos == 4'd5 || idx_wr_pos == 4'd8) ? 2'd2 : 2'd0;

    // (a + b) mod 3 == m for a, b in 0..2
    function mod3_is;
        input [1:0] a, b, m;
        reg [2:0] s;
        begin
            s = {1'b0, a} + {1'b0, b};
            mod3_is = ((s >= 3'd3) ? s - 3'd3 : s) == {1'b0, m};
        end
    endfunction

    genvar r;
    generate
        for (r = 0; r < ROWS; r = r + 1) begin : g_row
            localparam [RW-1:0] ROW_ID = r;
            localparam LANE = r % LANES;                 // the row's activation lane
            // the row's (enable, dy, dx) for both tile slots
            reg       slot0_en, slot1_en;
            reg [1:0] slot0_dy, slot1_dy, slot0_dx, slot1_dx;
            wire row_wr = idx_wr_en && (idx_wr_row == ROW_ID);
            always @(posedge clk) begin
                if (rst) begin
                    slot0_en <= 1'b0; slot1_en <= 1'b0;
                    slot0_dy <= 2'd0; slot1_dy <= 2'd0; slot0_dx <= 2'd0; slot1_dx <= 2'd0;
                end else if (row_wr) begin
                    if (idx_wr_slot) begin
                        slot1_en <= idx_wr_rowen; slot1_dy <= wr_dy; slot1_dx <= wr_dx;
                    end else begin
                        slot0_en <= idx_wr_rowen; slot0_dy <= wr_dy; slot0_dx <= wr_dx;
                    end
                end
            end

            // F0: the issued pixel's slot
            reg       cur_en;
            reg [1:0] cur_dy, cur_dx;
            always @(posedge clk) begin
                if (rst) begin
                    cur_en <= 1'b0; cur_dy <= 2'd0; cur_dx <= 2'd0;
                end else begin
                    cur_en <= issue && (issue_tag ? slot1_en : slot0_en);
                    cur_dy <= issue_tag ? slot1_dy : slot0_dy;
                    cur_dx <= issue_tag ? slot1_dx : slot0_dx;
                end
            end

            // F1: one-hot sub-bank select (all zero for a disabled row or a padding element)
            wire       w_en;                             // cur_*, RD_LAT - 1 cycles later
            wire [1:0] w_dy, w_dx;
            sps_delay #(.WIDTH(5), .DEPTH(RD_LAT - 1)) u_cur_wait (
                .clk(clk), .rst(rst), .d({cur_en, cur_dy, cur_dx}), .q({w_en, w_dy, w_dx}));
            wire       in_input = w_en && f1_row_in[w_dy] && f1_col_in[w_dx];
            reg  [8:0] sel;
            integer ym, xm;
            always @(posedge clk) begin
                if (rst) begin
                    sel <= 9'd0;
                end else begin
                    for (ym = 0; ym < 3; ym = ym + 1)
                        for (xm = 0; xm < 3; xm = xm + 1)
                            sel[ym*3 + xm] <= in_input && mod3_is(f1_y0m, w_dy, ym[1:0])
                                                     && mod3_is(f1_x0m, w_dx, xm[1:0]);
                end
            end

            // F2: the lane's byte of the selected sub-bank (AND-OR: sel is one-hot or zero)
            reg [7:0] act, act_d;
            integer k;
            always @(*) begin
                act_d = 8'd0;
                for (k = 0; k < 9; k = k + 1)
                    act_d = act_d | (win[k*DW + LANE*8 +: 8] & {8{sel[k]}});
            end
            always @(posedge clk) begin
                if (rst) act <= 8'd0;
                else     act <= act_d;
            end

            // skew: r delay stages, then the row's slice of the output registers. The outputs are
            // registers written in slices, one clocked process per row, not nets assembled from
            // per-row pieces, which Icarus would re-propagate whole to every reader on each change.
            wire [9:0] skewed;                        // {activation, valid, tag}, r cycles late
            sps_delay #(.WIDTH(10), .DEPTH(r)) u_skew (
                .clk(clk), .rst(rst), .d({act, s3_valid, s3_tag}), .q(skewed));
            always @(posedge clk) begin
                if (rst) begin
                    row_a[r*8 +: 8] <= 8'd0; row_valid[r] <= 1'b0; row_tag[r] <= 1'b0;
                end else begin
                    row_a[r*8 +: 8] <= skewed[9:2]; row_valid[r] <= skewed[1]; row_tag[r] <= skewed[0];
                end
            end
        end
    endgenerate

    // sideband: same delay as row ROWS-1
    wire [SBW:0] sb_aligned;                         // {valid, sideband}, ROWS+1 cycles late
    sps_delay #(.WIDTH(SBW + 1), .DEPTH(ROWS + 1)) u_sb_align (
        .clk(clk), .rst(rst), .d({win_valid, win_sb}), .q(sb_aligned));
    assign sb_valid = sb_aligned[SBW];
    assign sb_out   = sb_aligned[SBW-1:0];
endmodule
`default_nettype wire
