// sps_window_gen.v -- window generator: for one pass, walks the output pixels of BATCH images in
// the order (image b, oy, ox), one per cycle, and reads for each the 3x3 input window of all LANES
// channels of the pass's channel block in image b: sub-bank (ym, xm) of the activation buffer
// holds exactly one element of the window. Image b of the block starts HW3 words after image
// b - 1 (the block's first image at its block address); each image is padded and masked alone.
// Window origin (top-left) = (oy*S - PAD_TOP, ox*S - PAD_LEFT) = (3*y0d + y0m, 3*x0d + x0m).
// Sub-bank (ym, xm) reads word  Y[ym < y0m] + X[xm < x0m]  where the row bases Y0 / Y1 (image
// address + y0d*W3, + W3) and the column offsets X0 / X1 (x0d, x0d + 1) are counters: one 2:1
// select and one AW-bit adder in front of each RAM address, nothing else (addresses are taken
// mod 2**AW, the RAM size). The next image's row bases are kept beside them (+ HW3 per image).
// The pixel index counts 0 .. BATCH*HOUT*WOUT - 1 across the images. The words are passed on unrotated: the indexing unit picks, per array
// row, the sub-bank of its kernel position, using the origin's (y0m, x0m) and which window rows /
// columns lie inside the input (padding reads 0, never stored), given here one stage ahead.
// A new pass can start in the cycle after the previous pass's last pixel (no bubble).
// pass_end pulses (with the pass's tag) in the cycle the pass's last pixel is issued: the
// indexing unit has then read the slot's kernel positions for the last time, and the weight
// writes reach the array WGT_WR_DELAY cycles late, behind the last pixel's wavefront
// (docs/ARCHITECTURE.md section 7).
// Latency: pixel issued in cycle t: RAM address in t; geometry (f1_*) in t+RD_LAT; words (win) in
// t+RD_LAT+1, RD_LAT being the activation buffer's read latency (sps_act_buffer).
`default_nettype none
`include "sps_widths.vh"
module sps_window_gen #(
    parameter LANES     = 8,         // activation lanes: int8 activations per buffer word and per beat
    parameter ACT_DEPTH = 1024,      // words per activation sub-bank
    parameter ACC_DEPTH = 1024,      // words per accumulator bank: output pixels
    parameter DIM_BITS  = 10,        // bits of a height or width (H, W, HOUT, WOUT)
    parameter SBW       = 8,         // sideband bits carried with every pixel of the pass
    parameter RD_LAT    = 1,         // the activation buffer's read latency (address to data), >= 1
    localparam AW       = `SPS_AW,   // activation buffer address bits
    localparam PXW      = `SPS_PXW,  // bits of a pixel index
    localparam BW       = `SPS_BW,   // bits of a batch size
    localparam DW       = LANES * 8  // a RAM word: one int8 per lane
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire [DIM_BITS-1:0]   h,
    input  wire [DIM_BITS-1:0]   w,
    input  wire [DIM_BITS-1:0]   hout,
    input  wire [DIM_BITS-1:0]   wout,
    input  wire                  stride2,
    input  wire [1:0]            pad_top,
    input  wire [1:0]            pad_left,
    input  wire [AW-1:0]         w3,
    input  wire [AW-1:0]         hw3,           // an image's words: ceil(H/3) * W3
    input  wire [BW-1:0]         batch,         // images per pass (>= 1)
    // pass start
    input  wire                  start,
    input  wire [AW-1:0]         base_chaddr,   // the next pass's block word address (held until start)
    input  wire                  tag,
    input  wire [SBW-1:0]        sb,
    output wire                  can_start,
    output wire                  issue,         // a pixel is issued (F0)
    output wire                  issue_tag,     // its pass's tag
    output wire                  pass_end,
    output wire                  pass_end_tag,
    // activation buffer read port
    output wire                  rd_en,
    output reg  [9*AW-1:0]       rd_addr,
    input  wire [9*DW-1:0]       rd_data,
    // window geometry, one stage ahead of the words (F1)
    output wire [1:0]            f1_y0m,        // origin row mod 3
    output wire [1:0]            f1_x0m,        // origin column mod 3
    output wire [2:0]            f1_row_in,     // window row dy lies inside the input
    output wire [2:0]            f1_col_in,     // window column dx lies inside the input
    // the words (F2)
    output reg                   win_valid,
    output reg                   win_last,
    output reg  [PXW-1:0]        win_pixel,
    output reg  [SBW-1:0]        win_sb,
    output reg  [9*DW-1:0]       win
);
    localparam SW  = DIM_BITS + 2;                           // signed distances to the input's edge

    localparam [AW-1:0] ONE_AW = 1;

    // ---- per-layer constants (registers settle long before the first pass) --------------------
    reg  [AW-1:0]        y_off0, y_off1;    // row bases of a pass's first output row, minus its block address
    reg  [AW-1:0]        y_noff0, y_noff1;  // the same of the second image (+ HW3)
    reg  [AW-1:0]        x_init0, x_init1;  // column offsets at a row's first pixel (x0d, x0d + 1)
    reg  [1:0]           x0m_init, y0m_init; // origin mod 3 at the first column / row: -pad = 3*d + m
    reg  [1:0]           s_step;
    always @(posedge clk) begin
        y_off0   <= (pad_top == 2'd0) ? {AW{1'b0}} : (~w3 + ONE_AW);        // y0d = -1 with padding
        y_off1   <= (pad_top == 2'd0) ? w3 : {AW{1'b0}};
        x_init0  <= (pad_left == 2'd0) ? {AW{1'b0}} : {AW{1'b1}};
        x_init1  <= (pad_left == 2'd0) ? ONE_AW : {AW{1'b0}};
        x0m_init <= (pad_left == 2'd0) ? 2'd0 : (pad_left == 2'd1) ? 2'd2 : 2'd1;
        y0m_init <= (pad_top == 2'd0) ? 2'd0 : (pad_top == 2'd1) ? 2'd2 : 2'd1;
        s_step   <= stride2 ? 2'd2 : 2'd1;
        y_noff0  <= y_off0 + hw3;
        y_noff1  <= y_off1 + hw3;
    end
    // ---- F0: pixel counters -----------------------------------------------------------------
    reg                  active;            // a pass is issuing pixels
    reg  [PXW-1:0]       pixel;             // index of the pixel issued now (raster order)
    reg  [DIM_BITS-1:0]  x_left, y_left;    // output columns / rows after this one
    reg                  last_x, last_y;    // x_left == 0, y_left == 0
    reg  signed [SW-1:0] lx, ly;            // -x0, -y0: window column dx / row dy is inside iff dx >= lx
    reg  signed [SW-1:0] rx, ry;            // W - x0, H - y0: ... and dx < rx
    reg  [1:0]           x0m, y0m;          // origin mod 3
    reg  [AW-1:0]        yb0, yb1;          // row bases: image + y0d*W3, + W3
    reg  [AW-1:0]        nyb0, nyb1;        // the next image's row bases at its first output row
    reg  [BW-1:0]        b_left;            // images after this one
    reg                  last_b, b_one;     // b_left == 0, b_left == 1
    reg  [AW-1:0]        xo0, xo1;          // column offsets: x0d, x0d + 1
    reg                  pass_tag;
    reg  [SBW-1:0]       pass_sb;

    // the pass's last pixel is issued now, and a pass can start: registered from the counters'
    // next values (the start fans out to every F0 register)
    reg  last_px, can_q;
    reg  one_col, one_row, one_px;          // a row has one pixel (WOUT = 1); an image one row; one pixel
    reg  one_b, two_b;                      // BATCH = 1, 2
    wire x_one = (x_left == {{(DIM_BITS-1){1'b0}}, 1'b1});
    wire y_one = (y_left == {{(DIM_BITS-1){1'b0}}, 1'b1});
    localparam integer  B_TWO_I = (BW > 1) ? 2 : 0;          // (BATCH <= 1 with BW = 1)
    localparam [BW-1:0] B_ONE = 1, B_TWO = B_TWO_I[BW-1:0];
    wire b_two = (BW > 1) && (b_left == B_TWO);
    always @(posedge clk) begin                                          // (per layer)
        one_col <= (wout == {{(DIM_BITS-1){1'b0}}, 1'b1});
        one_row <= (hout == {{(DIM_BITS-1){1'b0}}, 1'b1});
        one_px  <= ({wout, hout} == {{(DIM_BITS-1){1'b0}}, 1'b1, {(DIM_BITS-1){1'b0}}, 1'b1});
        one_b   <= (batch == B_ONE);
        two_b   <= (BW > 1) && (batch == B_TWO);
    end
    // the pixel after this one is the pass's last: in this row, in the next row, in the next image
    wire next_last = last_x ? (last_y ? one_px && b_one : one_col && y_one && last_b)
                            : x_one && last_y && last_b;
    assign can_start = can_q;
    assign issue     = active;
    assign issue_tag = pass_tag;
    assign rd_en     = active;

    wire [2:0] x_sum = {1'b0, x0m} + {1'b0, s_step};
    wire [2:0] y_sum = {1'b0, y0m} + {1'b0, s_step};
    wire       x_carry = (x_sum >= 3'd3);              // origin column crosses into the next triple
    wire       y_carry = (y_sum >= 3'd3);
    wire signed [SW-1:0] w_s = $signed({2'b00, w}) + $signed({{(SW-2){1'b0}}, pad_left});
    wire signed [SW-1:0] h_s = $signed({2'b00, h}) + $signed({{(SW-2){1'b0}}, pad_top});
    wire signed [SW-1:0] step_s = $signed({{(SW-2){1'b0}}, s_step});
    wire signed [SW-1:0] padl_s = $signed({{(SW-2){1'b0}}, pad_left});
    wire signed [SW-1:0] padt_s = $signed({{(SW-2){1'b0}}, pad_top});

    always @(posedge clk) begin
        if (rst) begin
            last_px <= 1'b0; can_q <= 1'b1;
            active <= 1'b0; pixel <= 0; x_left <= 0; y_left <= 0; last_x <= 1'b0; last_y <= 1'b0;
            lx <= 0; ly <= 0; rx <= 0; ry <= 0; x0m <= 0; y0m <= 0;
            yb0 <= 0; yb1 <= 0; xo0 <= 0; xo1 <= 0; pass_tag <= 1'b0; pass_sb <= 0;
            nyb0 <= 0; nyb1 <= 0; b_left <= 0; last_b <= 1'b0; b_one <= 1'b0;
        end else if (start && can_start) begin
            last_px <= one_px && one_b; can_q <= one_px && one_b;
            active <= 1'b1; pixel <= 0;
            x_left <= wout - 1'b1; y_left <= hout - 1'b1;
            last_x <= one_col;
            last_y <= one_row;
            lx <= padl_s; ly <= padt_s; rx <= w_s; ry <= h_s;
            x0m <= x0m_init; y0m <= y0m_init;
            yb0 <= base_chaddr + y_off0; yb1 <= base_chaddr + y_off1; xo0 <= x_init0; xo1 <= x_init1;
            nyb0 <= base_chaddr + y_noff0; nyb1 <= base_chaddr + y_noff1;
            b_left <= batch - 1'b1; last_b <= one_b; b_one <= two_b;
            pass_tag <= tag; pass_sb <= sb;
        end else if (active) begin
            if (last_px) begin
                active <= 1'b0; last_px <= 1'b0; can_q <= 1'b1;
            end else begin
                pixel <= pixel + 1'b1;
                last_px <= next_last;
                can_q   <= next_last;
                if (last_x) begin
                    x_left <= wout - 1'b1;
                    last_x <= one_col;
                    lx <= padl_s; rx <= w_s; x0m <= x0m_init; xo0 <= x_init0; xo1 <= x_init1;
                end
                if (last_x && last_y) begin              // the next image's first row
                    y_left <= hout - 1'b1;
                    last_y <= one_row;
                    ly <= padt_s; ry <= h_s; y0m <= y0m_init;
                    yb0 <= nyb0; yb1 <= nyb1;
                    nyb0 <= nyb0 + hw3; nyb1 <= nyb1 + hw3;
                    b_left <= b_left - 1'b1;
                    last_b <= b_one;
                    b_one <= b_two;
                end else if (last_x) begin
                    y_left <= y_left - 1'b1;
                    last_y <= y_one;
                    ly <= ly - step_s; ry <= ry - step_s;
                    y0m <= y_carry ? y_sum[1:0] + 2'd1 : y_sum[1:0];     // (y_sum - 3) mod 4
                    if (y_carry) begin
                        yb0 <= yb0 + w3; yb1 <= yb1 + w3;
                    end
                end else begin
                    x_left <= x_left - 1'b1;
                    last_x <= x_one;
                    lx <= lx - step_s; rx <= rx - step_s;
                    x0m <= x_carry ? x_sum[1:0] + 2'd1 : x_sum[1:0];
                    if (x_carry) begin
                        xo0 <= xo0 + 1'b1; xo1 <= xo1 + 1'b1;
                    end
                end
            end
        end
    end

    // RAM addresses: sub-bank (ym, xm) reads Y[ym < y0m] + X[xm < x0m]. One combinational process
    // builds the whole bus (Icarus then updates it once per input change).
    integer aym, axm;
    always @(*) begin
        for (aym = 0; aym < 3; aym = aym + 1)
            for (axm = 0; axm < 3; axm = axm + 1)
                rd_addr[(aym*3 + axm)*AW +: AW] = ((aym < y0m) ? yb1 : yb0) + ((axm < x0m) ? xo1 : xo0);
    end

    // ---- F1: geometry of the window (which rows / columns lie inside the input) --------------
    reg           f1_valid, f1_last;
    reg [PXW-1:0] f1_pixel;
    reg [SBW-1:0] f1_sb;
    // inside iff not left of / above the input (only the first column / row with padding) and
    // before its right / bottom edge (dx < W - x0)
    wire [2:0] col_in, row_in;
    genvar k;
    generate
        for (k = 0; k < 3; k = k + 1) begin : g_in
            localparam signed [SW-1:0] KS = k;
            assign col_in[k] = (KS >= lx) && (rx > KS);
            assign row_in[k] = (KS >= ly) && (ry > KS);
        end
    endgenerate

    reg [1:0] g_x0m, g_y0m;
    reg [2:0] g_row_in, g_col_in;
    always @(posedge clk) begin
        if (rst) begin
            f1_valid <= 1'b0; f1_last <= 1'b0; f1_pixel <= 0; f1_sb <= 0;
            g_x0m <= 0; g_y0m <= 0; g_row_in <= 0; g_col_in <= 0;
        end else begin
            f1_valid <= active; f1_last <= last_px; f1_pixel <= pixel; f1_sb <= pass_sb;
            g_x0m <= x0m; g_y0m <= y0m; g_row_in <= row_in; g_col_in <= col_in;
        end
    end
    // the geometry and the pixel's sideband wait RD_LAT - 1 cycles for the RAM words
    wire            r_valid, r_last;
    wire [PXW-1:0]  r_pixel;
    wire [SBW-1:0]  r_sb;
    sps_delay #(.WIDTH(2 + PXW + SBW + 10), .DEPTH(RD_LAT - 1)) u_rd_wait (
        .clk(clk), .rst(rst),
        .d({f1_valid, f1_last, f1_pixel, f1_sb, g_x0m, g_y0m, g_row_in, g_col_in}),
        .q({r_valid, r_last, r_pixel, r_sb, f1_x0m, f1_y0m, f1_row_in, f1_col_in}));

    // ---- F2: the RAM words, registered ---------------------------------------------
    always @(posedge clk) begin
        if (rst) begin
            win_valid <= 1'b0; win_last <= 1'b0; win_pixel <= 0; win_sb <= 0; win <= 0;
        end else begin
            win_valid <= r_valid; win_last <= r_last; win_pixel <= r_pixel; win_sb <= r_sb;
            win <= rd_data;
        end
    end
    assign pass_end     = last_px;
    assign pass_end_tag = pass_tag;
endmodule
`default_nettype wire
