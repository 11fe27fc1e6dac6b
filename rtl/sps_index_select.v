// sps_index_select.v -- the SPS indexing unit's data path: for every array row, picks from the
// LANES windows of the current pixel the element (bank, position) that row's weight needs, as
// told by the walker when the tile was loaded (two tile slots, selected by the pass tag), and
// skews the rows for the systolic array (row r delayed by r cycles). Disabled rows get 0.
// The sideband of the pixel comes out aligned with row ROWS-1's entry into the array.
// Latency: row r's activation leaves 1 + r cycles after its window; sideband after ROWS cycles.
`default_nettype none
module sps_index_select #(
    parameter ROWS  = 8,
    parameter LANES = 8,
    parameter SBW   = 16                  // sideband bits carried with every window
) (
    clk, rst, idx_wr_en, idx_wr_slot, idx_wr_row, idx_wr_rowen, idx_wr_bank, idx_wr_pos, win_valid,
    win_tag, win, win_sb, row_valid, row_tag, row_a, sb_valid, sb_out
);
    localparam RW  = (ROWS > 1)  ? $clog2(ROWS)  : 1;        // bits of an array row index
    localparam LW  = (LANES > 1) ? $clog2(LANES) : 1;        // bits of a bank (lane) index

    input  wire                  clk;
    input  wire                  rst;
    // index write (from the weight loader, one row per beat)
    input  wire                  idx_wr_en;
    input  wire                  idx_wr_slot;
    input  wire [RW-1:0]         idx_wr_row;
    input  wire                  idx_wr_rowen;
    input  wire [LW-1:0]         idx_wr_bank;
    input  wire [3:0]            idx_wr_pos;
    // windows
    input  wire                  win_valid;
    input  wire                  win_tag;
    input  wire [LANES*9*8-1:0]  win;
    input  wire [SBW-1:0]        win_sb;
    // to the array
    output reg  [ROWS-1:0]       row_valid;
    output reg  [ROWS-1:0]       row_tag;
    output reg  [ROWS*8-1:0]     row_a;
    output wire                  sb_valid;
    output wire [SBW-1:0]        sb_out;

    genvar r;
    generate
        for (r = 0; r < ROWS; r = r + 1) begin : g_row
            localparam [RW-1:0] RI = r;
            // the row's (enable, bank, position) for both tile slots
            reg          en0, en1;
            reg [LW-1:0] bk0, bk1;
            reg [3:0]    ps0, ps1;
            wire wr = idx_wr_en && (idx_wr_row == RI);
            always @(posedge clk) begin
                if (rst) begin
                    en0 <= 1'b0; en1 <= 1'b0;
                    bk0 <= {LW{1'b0}}; bk1 <= {LW{1'b0}}; ps0 <= 4'd0; ps1 <= 4'd0;
                end else if (wr) begin
                    if (idx_wr_slot) begin
                        en1 <= idx_wr_rowen; bk1 <= idx_wr_bank; ps1 <= idx_wr_pos;
                    end else begin
                        en0 <= idx_wr_rowen; bk0 <= idx_wr_bank; ps0 <= idx_wr_pos;
                    end
                end
            end

            wire          en_s = win_tag ? en1 : en0;
            wire [LW-1:0] bk_s = win_tag ? bk1 : bk0;
            wire [3:0]    ps_s = win_tag ? ps1 : ps0;
            wire [7:0]   a_sel = (win_valid && en_s) ? win[(bk_s*9 + ps_s)*8 +: 8] : 8'd0;

            // skew: r delay stages, then the row's slice of the output registers. The outputs are
            // registers written in slices, one clocked process per row, not nets assembled from
            // per-row pieces, which Icarus would re-propagate whole to every reader on each change.
            wire [9:0] skewed;                        // {activation, valid, tag}, r cycles late
            sps_delay #(.WIDTH(10), .DEPTH(r)) u_skew (
                .clk(clk), .rst(rst), .d({a_sel, win_valid, win_tag}), .q(skewed));
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
    wire [SBW:0] sb_aligned;                         // {valid, sideband}, ROWS cycles late
    sps_delay #(.WIDTH(SBW + 1), .DEPTH(ROWS)) u_sb_align (
        .clk(clk), .rst(rst), .d({win_valid, win_sb}), .q(sb_aligned));
    assign sb_valid = sb_aligned[SBW];
    assign sb_out   = sb_aligned[SBW-1:0];
endmodule
`default_nettype wire
