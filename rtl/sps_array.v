// sps_array.v -- ROWS x COLS weight-stationary systolic array of sps_pe (MACS_PER_DSP = 1: one
// multiplier per PE) or of sps_pe_pair (MACS_PER_DSP = 2: columns 2k and 2k+1 share one multiplier;
// an odd last column is a pair whose second half is left unconnected and trimmed by synthesis).
// Row r's activation enters at column 0 (already skewed by r cycles by the indexing unit) and moves
// right one PE per cycle; partial sums start at 0 in row 0 and move down one PE per cycle.
// Column j's result for an activation entering row 0 at cycle t appears on psum_out[j] at
// t + ROWS + j + PE_SUM_LAT, PE_SUM_LAT = 2 (sps_pe) or 3 (sps_pe_pair), the cycles by which a PE
// adds its product after the activation arrives; valid_out[j] marks the result, tag_out[j] is its
// weight-buffer tag. A pair's two columns both use the activation in column 2k's cycle; column
// 2k+1's sums are delayed one cycle at the bottom so that the columns stay one cycle apart.
// Partial sums are PSW = 16 + clog2(ROWS) bits inside the array (ROWS int8 x int8 products cannot
// overflow them), sign-extended to 32 at the bottom.
// Weights: wr_row selects an array row; wr_data holds COLS int8 weights (byte j -> column j);
// wr_slot selects which of the two weight buffers is written. The write travels along the row with
// the same skew as the activations that use them: column j is written J = j (MACS_PER_DSP = 1) or
// J = j - j mod 2 (pairs: with column 2k) cycles after the write cycle, so a write of row r in cycle k
// reaches PE (r, j) at the edge ending cycle k + J (visible from k + J + 1), and the activation that
// enters row r in cycle s uses it in cycle s + J.
// Hence a slot row may be rewritten as soon as the last activation using it has entered the row
// (cycle k >= that entry cycle), not only after it has left the last column.
// Latency: ROWS + j + PE_SUM_LAT cycles from row-0 entry to column j's output; J cycles of write skew.
`default_nettype none
`include "sps_widths.vh"
module sps_array #(
    parameter ROWS         = 8,       // array rows (PEs per column); LANES must divide it
    parameter COLS         = 8,       // array columns: output channels per tile
    parameter SBW          = 1,       // pixel sideband carried beside the array
    parameter MACS_PER_DSP = 1,       // int8 MACs per multiplier: 1 (sps_pe) or 2 (sps_pe_pair)
    localparam RW          = `SPS_RW  // bits of an array row index
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 wr_en,
    input  wire                 wr_slot,
    input  wire [RW-1:0]        wr_row,
    input  wire [COLS*8-1:0]    wr_data,
    input  wire [ROWS-1:0]      row_valid,
    input  wire [ROWS-1:0]      row_tag,
    input  wire [ROWS*8-1:0]    row_a,
    output wire [COLS-1:0]      valid_out,
    output wire [COLS-1:0]      tag_out,
    output wire [COLS*32-1:0]   psum_out,
    // a pixel's sideband, given when its activation enters row ROWS-1 (column 0), leaves
    // PE_SUM_LAT cycles later: one cycle before column 0's psum of the pixel
    input  wire [SBW-1:0]       sb_in,
    output wire [SBW-1:0]       sb_out
);
    localparam PSW = `SPS_PSW;     // partial sums inside the array
    localparam PACK = (MACS_PER_DSP == 2);
    localparam PE_SUM_LAT = PACK ? 3 : 2;   // cycles by which a PE's psum trails its activation

    sps_delay #(.WIDTH(SBW), .DEPTH(PE_SUM_LAT)) u_sb_align (.clk(clk), .rst(rst), .d(sb_in), .q(sb_out));

    // nets between PEs: horizontal (activation) index r*(COLS+1)+j, vertical (psum) j*(ROWS+1)+r.
    // Arrays of nets, one word per PE port, rather than flat buses sliced per PE: an event-driven
    // simulator (Icarus) re-propagates a bus driven in many parts whole to every reader on every
    // part change, which is quadratic in the array size.
    wire        act_valid [0:(COLS+1)*ROWS-1];   // per link: valid, weight-slot tag, activation
    wire        act_tag   [0:(COLS+1)*ROWS-1];
    wire [7:0]  act_data  [0:(COLS+1)*ROWS-1];
    wire [PSW-1:0] psum   [0:(ROWS+1)*COLS-1];   // partial sums
    // per-column (skewed) weight write port
    wire          col_wr_en   [0:COLS-1];
    wire          col_wr_slot [0:COLS-1];
    wire [RW-1:0] col_wr_row  [0:COLS-1];
    wire [7:0]    col_wr_data [0:COLS-1];

    genvar r, j;
    generate
        for (r = 0; r < ROWS; r = r + 1) begin : g_row_in
            assign act_valid[r*(COLS+1)] = row_valid[r];
            assign act_tag[r*(COLS+1)]   = row_tag[r];
            assign act_data[r*(COLS+1)]  = row_a[r*8 +: 8];
        end
        for (j = 0; j < COLS; j = j + 1) begin : g_col_io
            wire [PSW-1:0] bottom;                 // column j's sum, PE_SUM_LAT after its last activation
            sps_delay #(.WIDTH(PSW), .DEPTH(PACK ? j % 2 : 0)) u_pair_align (
                .clk(clk), .rst(rst), .d(psum[j*(ROWS+1)+ROWS]), .q(bottom));
            assign psum[j*(ROWS+1)]     = {PSW{1'b0}};
            assign psum_out[j*32 +: 32] = {{(32-PSW){bottom[PSW-1]}}, bottom};
            // the last row's valid / tag, aligned with its psum
            sps_delay #(.WIDTH(2), .DEPTH(PE_SUM_LAT)) u_vt_align (
                .clk(clk), .rst(rst),
                .d({act_valid[(ROWS-1)*(COLS+1)+j+1], act_tag[(ROWS-1)*(COLS+1)+j+1]}),
                .q({valid_out[j], tag_out[j]}));
        end
        // column-skewed weight write port: column j sees the write j cycles late (a delay line per
        // column into arrays of nets, no shared bus driven in slices)
        for (j = 0; j < COLS; j = j + 1) begin : g_wcol
            wire [RW+9:0] skewed;                  // {en, slot, row, column j's byte}, j cycles late
            sps_delay #(.WIDTH(RW + 10), .DEPTH(PACK ? j - j % 2 : j)) u_skew (
                .clk(clk), .rst(rst), .d({wr_en, wr_slot, wr_row, wr_data[j*8 +: 8]}), .q(skewed));
            assign col_wr_en[j]   = skewed[RW+9];
            assign col_wr_slot[j] = skewed[RW+8];
            assign col_wr_row[j]  = skewed[8 +: RW];
            assign col_wr_data[j] = skewed[7:0];
        end
        for (r = 0; r < ROWS; r = r + 1) begin : g_r
            localparam [RW-1:0] ROW_ID = r;
            if (!PACK) begin : g_single
                for (j = 0; j < COLS; j = j + 1) begin : g_c
                    sps_pe #(.PSW(PSW)) u_pe (
                        .clk(clk), .rst(rst),
                        .wr_en(col_wr_en[j] && (col_wr_row[j] == ROW_ID)), .wr_slot(col_wr_slot[j]),
                        .wr_w(col_wr_data[j]),
                        .a_valid(act_valid[r*(COLS+1)+j]), .a_tag(act_tag[r*(COLS+1)+j]),
                        .a_in(act_data[r*(COLS+1)+j]),
                        .psum_in(psum[j*(ROWS+1)+r]),
                        .a_valid_q(act_valid[r*(COLS+1)+j+1]), .a_tag_q(act_tag[r*(COLS+1)+j+1]),
                        .a_q(act_data[r*(COLS+1)+j+1]),
                        .psum_q(psum[j*(ROWS+1)+r+1])
                    );
                end
            end else begin : g_packed
                for (j = 0; j < COLS; j = j + 2) begin : g_c
                    if (j + 1 < COLS) begin : g_two
                        sps_pe_pair #(.PSW(PSW)) u_pe (
                            .clk(clk), .rst(rst),
                            .wr_en(col_wr_en[j] && (col_wr_row[j] == ROW_ID)), .wr_slot(col_wr_slot[j]),
                            .wr_w0(col_wr_data[j]), .wr_w1(col_wr_data[j+1]),
                            .a_valid(act_valid[r*(COLS+1)+j]), .a_tag(act_tag[r*(COLS+1)+j]),
                            .a_in(act_data[r*(COLS+1)+j]),
                            .psum_in0(psum[j*(ROWS+1)+r]), .psum_in1(psum[(j+1)*(ROWS+1)+r]),
                            .a_valid_m(act_valid[r*(COLS+1)+j+1]), .a_tag_m(act_tag[r*(COLS+1)+j+1]),
                            .a_m(act_data[r*(COLS+1)+j+1]),
                            .a_valid_q(act_valid[r*(COLS+1)+j+2]), .a_tag_q(act_tag[r*(COLS+1)+j+2]),
                            .a_q(act_data[r*(COLS+1)+j+2]),
                            .psum_q0(psum[j*(ROWS+1)+r+1]), .psum_q1(psum[(j+1)*(ROWS+1)+r+1])
                        );
                    end else begin : g_one      // odd COLS: the last column alone (w1 = 0)
                        /* verilator lint_off UNUSEDSIGNAL */
                        wire          unused_valid, unused_tag;
                        wire [7:0]    unused_a;
                        wire [PSW-1:0] unused_psum;
                        /* verilator lint_on UNUSEDSIGNAL */
                        sps_pe_pair #(.PSW(PSW)) u_pe (
                            .clk(clk), .rst(rst),
                            .wr_en(col_wr_en[j] && (col_wr_row[j] == ROW_ID)), .wr_slot(col_wr_slot[j]),
                            .wr_w0(col_wr_data[j]), .wr_w1(8'sd0),
                            .a_valid(act_valid[r*(COLS+1)+j]), .a_tag(act_tag[r*(COLS+1)+j]),
                            .a_in(act_data[r*(COLS+1)+j]),
                            .psum_in0(psum[j*(ROWS+1)+r]), .psum_in1({PSW{1'b0}}),
                            .a_valid_m(act_valid[r*(COLS+1)+j+1]), .a_tag_m(act_tag[r*(COLS+1)+j+1]),
                            .a_m(act_data[r*(COLS+1)+j+1]),
                            .a_valid_q(unused_valid), .a_tag_q(unused_tag), .a_q(unused_a),
                            .psum_q0(psum[j*(ROWS+1)+r+1]), .psum_q1(unused_psum)
                        );
                    end
                end
            end
        end
    endgenerate
endmodule
`default_nettype wire
