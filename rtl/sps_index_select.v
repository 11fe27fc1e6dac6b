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
            localparam [RW-1:0] ROW_ID = r;
            // the row's (enable, bank, position) for both tile slots
            reg          slot0_en, slot1_en;
            reg [LW-1:0] slot0_bank, slot1_bank;
            reg [3:0]    slot0_pos, slot1_pos;
            wire row_wr = idx_wr_en && (idx_wr_row == ROW_ID);
            always @(posedge clk) begin
                if (rst) begin
                    slot0_en <= 1'b0; slot1_en <= 1'b0;
                    slot0_bank <= {LW{1'b0}}; slot1_bank <= {LW{1'b0}}; slot0_pos <= 4'd0; slot1_pos <= 4'd0;
                end else if (row_wr) begin
                    if (idx_wr_slot) begin
                        slot1_en <= idx_wr_rowen; slot1_bank <= idx_wr_bank; slot1_pos <= idx_wr_pos;
                    end else begin
                        slot0_en <= idx_wr_rowen; slot0_bank <= idx_wr_bank; slot0_pos <= idx_wr_pos;
                    end
                end
            end

            // the window's slot (its tag) says which element the row takes
            wire          sel_en   = win_tag ? slot1_en : slot0_en;
            wire [LW-1:0] sel_bank = win_tag ? slot1_bank : slot0_bank;
            wire [3:0]    sel_pos  = win_tag ? slot1_pos : slot0_pos;
            wire [7:0]    sel_act  = (win_valid && sel_en) ? win[(sel_bank*9 + sel_pos)*8 +: 8] : 8'd0;

            // skew: r delay stages, then the row's slice of the output registers. The outputs are
            // registers written in slices, one clocked process per row, not nets assembled from
            // per-row pieces, which Icarus would re-propagate whole to every reader on each change.
            wire [9:0] skewed;                        // {activation, valid, tag}, r cycles late
            sps_delay #(.WIDTH(10), .DEPTH(r)) u_skew (
                .clk(clk), .rst(rst), .d({sel_act, win_valid, win_tag}), .q(skewed));
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
