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
    parameter LW    = 3,
    parameter RW    = 3,
    parameter SBW   = 16
) (
    input  wire                  clk,
    input  wire                  rst,
    // index write (from the weight loader, one row per beat)
    input  wire                  idx_wr_en,
    input  wire                  idx_wr_slot,
    input  wire [RW-1:0]         idx_wr_row,
    input  wire                  idx_wr_rowen,
    input  wire [LW-1:0]         idx_wr_bank,
    input  wire [3:0]            idx_wr_pos,
    // windows
    input  wire                  win_valid,
    input  wire                  win_tag,
    input  wire [LANES*9*8-1:0]  win,
    input  wire [SBW-1:0]        win_sb,
    // to the array
    output reg  [ROWS-1:0]       row_valid,
    output reg  [ROWS-1:0]       row_tag,
    output reg  [ROWS*8-1:0]     row_a,
    output wire                  sb_valid,
    output wire [SBW-1:0]        sb_out
);
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

            // stage F3 + r skew registers: chain[0] is F3, the last one is the row's output slice.
            // (The outputs are registers written in slices, not nets assembled from per-row
            // pieces, which Icarus would re-propagate whole to every reader on each piece change.)
            if (r == 0) begin : g_noskew
                always @(posedge clk) begin
                    if (rst) begin
                        row_a[r*8 +: 8] <= 8'd0; row_valid[r] <= 1'b0; row_tag[r] <= 1'b0;
                    end else begin
                        row_a[r*8 +: 8] <= a_sel; row_valid[r] <= win_valid; row_tag[r] <= win_tag;
                    end
                end
            end else begin : g_skew
                reg [7:0] ca [0:r-1];
                reg       cv [0:r-1];
                reg       ct [0:r-1];
                integer i;
                always @(posedge clk) begin
                    if (rst) begin
                        for (i = 0; i < r; i = i + 1) begin
                            ca[i] <= 8'd0; cv[i] <= 1'b0; ct[i] <= 1'b0;
                        end
                        row_a[r*8 +: 8] <= 8'd0; row_valid[r] <= 1'b0; row_tag[r] <= 1'b0;
                    end else begin
                        ca[0] <= a_sel; cv[0] <= win_valid; ct[0] <= win_tag;
                        for (i = 1; i < r; i = i + 1) begin
                            ca[i] <= ca[i-1]; cv[i] <= cv[i-1]; ct[i] <= ct[i-1];
                        end
                        row_a[r*8 +: 8] <= ca[r-1]; row_valid[r] <= cv[r-1]; row_tag[r] <= ct[r-1];
                    end
                end
            end
        end
    endgenerate

    // sideband: same delay as row ROWS-1
    reg [SBW-1:0] sbd [0:ROWS-1];
    reg           sbv [0:ROWS-1];
    integer k;
    always @(posedge clk) begin
        if (rst) begin
            for (k = 0; k < ROWS; k = k + 1) begin
                sbd[k] <= {SBW{1'b0}}; sbv[k] <= 1'b0;
            end
        end else begin
            sbd[0] <= win_sb; sbv[0] <= win_valid;
            for (k = 1; k < ROWS; k = k + 1) begin
                sbd[k] <= sbd[k-1]; sbv[k] <= sbv[k-1];
            end
        end
    end
    assign sb_out   = sbd[ROWS-1];
    assign sb_valid = sbv[ROWS-1];
endmodule
`default_nettype wire
