// sps_window_gen.v -- window generator: for one pass, walks the output pixels in raster order, one
// per cycle, and produces for every activation bank the 3x3 input window of that pixel.
// Window origin (top-left) = (oy*S - PAD_TOP, ox*S - PAD_LEFT). Sub-bank (ym, xm) of bank b holds
// exactly one element of the window; its address comes from incrementally kept div-3/mod-3
// counters of the origin. Positions outside the input (padding) read as 0: never stored.
// Bank b reads the channel block  base_chaddr + (b < base_bank ? HW3 : 0)  (see the walker).
// A new pass can start in the cycle after the previous pass's last pixel (no bubble).
// pass_end pulses (with the pass's tag) one cycle after a pass's last pixel was issued: the
// indexing unit reads that pass's slot for the last time in the next cycle and array row 0 in the
// one after, which is when the weight loader's first write into the released slot can land.
// Latency: window of a pixel issued in cycle t is on `win` in cycle t+2 (RAM read + rotation).
`default_nettype none
module sps_window_gen #(
    parameter LANES     = 8,
    parameter ACT_DEPTH = 1024,
    parameter ACC_DEPTH = 1024,
    parameter DIM_BITS  = 10,
    parameter XW        = 24,    // word-address bits (addresses wrap mod 2**XW; the low AW address the RAM)
    parameter SBW       = 8      // sideband bits carried with every pixel of the pass
) (
    clk, rst, h, w, hout, wout, stride2, pad_top, pad_left, w3, hw3, start, base_bank, base_chaddr,
    tag, sb, can_start, issue, pass_end, pass_end_tag, rd_en, rd_addr, rd_data, win_valid, win_tag,
    win_last, win_pixel, win_sb, win
);
    localparam AW  = (ACT_DEPTH > 1) ? $clog2(ACT_DEPTH) : 1; // activation buffer address bits
    localparam LW  = (LANES > 1) ? $clog2(LANES) : 1;        // bits of a bank (lane) index
    localparam PXW = (ACC_DEPTH > 1) ? $clog2(ACC_DEPTH) : 1; // bits of a pixel index

    input  wire                  clk;
    input  wire                  rst;
    input  wire [DIM_BITS-1:0]   h;
    input  wire [DIM_BITS-1:0]   w;
    input  wire [DIM_BITS-1:0]   hout;
    input  wire [DIM_BITS-1:0]   wout;
    input  wire                  stride2;
    input  wire [1:0]            pad_top;
    input  wire [1:0]            pad_left;
    input  wire [XW-1:0]         w3;
    input  wire [XW-1:0]         hw3;
    // pass start
    input  wire                  start;
    input  wire [LW-1:0]         base_bank;
    input  wire [XW-1:0]         base_chaddr;
    input  wire                  tag;
    input  wire [SBW-1:0]        sb;
    output wire                  can_start;
    output wire                  issue;
    output wire                  pass_end;
    output wire                  pass_end_tag;
    // activation buffer read port
    output wire                  rd_en;
    output reg  [LANES*9*AW-1:0] rd_addr;
    input  wire [LANES*9*8-1:0]  rd_data;
    // windows
    output reg                   win_valid;
    output reg                   win_tag;
    output reg                   win_last;
    output reg  [PXW-1:0]        win_pixel;
    output reg  [SBW-1:0]        win_sb;
    output reg  [LANES*9*8-1:0]  win;

    localparam SW = DIM_BITS + 3;    // signed coordinate width
    localparam signed [SW-1:0] ONE = 1;
    localparam [XW-1:0]        ONE_XW = 1;

    // ---- F0: pixel counters ----------------------------------------------------------------
    reg                  active;            // a pass is issuing pixels
    reg  [PXW-1:0]       pixel;             // index of the pixel issued now (raster order)
    reg  [DIM_BITS-1:0]  ox, oy;
    reg  signed [SW-1:0] x0d, y0d;          // origin div 3 (floor)
    reg  [1:0]           x0m, y0m;          // origin mod 3
    reg  [XW-1:0]        rowbase;           // y0d * W3 (two's complement)
    reg  [LW-1:0]        pass_base_bank;    // the running pass's start inputs
    reg  [XW-1:0]        pass_base_chaddr;
    reg                  pass_tag;
    reg  [SBW-1:0]       pass_sb;

    wire last_x  = (ox == wout - 1'b1);
    wire last_px = active && last_x && (oy == hout - 1'b1);
    assign can_start = !active || last_px;
    assign issue     = active;
    assign rd_en     = active;

    wire [1:0]            s_step = stride2 ? 2'd2 : 2'd1;
    // origin reset values for padding 0..2: -pad = 3*d + m
    wire signed [SW-1:0]  x0d_init = (pad_left == 2'd0) ? {SW{1'b0}} : {SW{1'b1}};
    wire [1:0]            x0m_init = (pad_left == 2'd0) ? 2'd0 : (pad_left == 2'd1) ? 2'd2 : 2'd1;
    wire signed [SW-1:0]  y0d_init = (pad_top == 2'd0) ? {SW{1'b0}} : {SW{1'b1}};
    wire [1:0]            y0m_init = (pad_top == 2'd0) ? 2'd0 : (pad_top == 2'd1) ? 2'd2 : 2'd1;
    wire [2:0]            x_sum = {1'b0, x0m} + {1'b0, s_step};
    wire [2:0]            y_sum = {1'b0, y0m} + {1'b0, s_step};

    always @(posedge clk) begin
        if (rst) begin
            active <= 1'b0; pixel <= 0; ox <= 0; oy <= 0;
            x0d <= 0; y0d <= 0; x0m <= 0; y0m <= 0; rowbase <= 0;
            pass_base_bank <= 0; pass_base_chaddr <= 0; pass_tag <= 1'b0; pass_sb <= 0;
        end else if (start && can_start) begin
            active <= 1'b1; pixel <= 0; ox <= 0; oy <= 0;
            x0d <= x0d_init; x0m <= x0m_init;
            y0d <= y0d_init; y0m <= y0m_init;
            rowbase <= (pad_top == 2'd0) ? {XW{1'b0}} : (~w3 + 1'b1);
            pass_base_bank <= base_bank; pass_base_chaddr <= base_chaddr; pass_tag <= tag; pass_sb <= sb;
        end else if (active) begin
            if (last_px) begin
                active <= 1'b0;
            end else begin
                pixel <= pixel + 1'b1;
                if (last_x) begin
                    ox <= 0;
                    x0d <= x0d_init; x0m <= x0m_init;
                    oy <= oy + 1'b1;
                    if (y_sum >= 3'd3) begin
                        y0m <= y_sum[1:0] + 2'd1;   // (y_sum - 3) mod 4
                        y0d <= y0d + ONE;
                        rowbase <= rowbase + w3;
                    end else begin
                        y0m <= y_sum[1:0];
                    end
                end else begin
                    ox <= ox + 1'b1;
                    if (x_sum >= 3'd3) begin
                        x0m <= x_sum[1:0] + 2'd1;   // (x_sum - 3) mod 4
                        x0d <= x0d + ONE;
                    end else begin
                        x0m <= x_sum[1:0];
                    end
                end
            end
        end
    end

    // ---- F0 -> RAM addresses, validity of each sub-bank row / column ------------------------
    wire [2:0] row_in, col_in;             // sub-bank row / column k lies inside the input (else padding)
    genvar k;
    generate
        for (k = 0; k < 3; k = k + 1) begin : g_valid
            localparam [1:0] K = k;
            // input row / column of sub-bank row / column k: 3*(origin div 3 + (k < origin mod 3)) + k
            wire signed [SW+1:0] yr = {{2{y0d[SW-1]}}, y0d} + $signed({{(SW+1){1'b0}}, (K < y0m)});
            wire signed [SW+1:0] xr = {{2{x0d[SW-1]}}, x0d} + $signed({{(SW+1){1'b0}}, (K < x0m)});
            wire signed [SW+1:0] yy = (yr <<< 1) + yr + $signed({{SW{1'b0}}, K});
            wire signed [SW+1:0] xx = (xr <<< 1) + xr + $signed({{SW{1'b0}}, K});
            assign row_in[k] = !yr[SW+1] && (yy < $signed({5'b00000, h}));
            assign col_in[k] = !xr[SW+1] && (xx < $signed({5'b00000, w}));
        end
    endgenerate

    // Addresses wrap modulo 2**XW; only the low AW bits address the RAM. Sub-bank (ym, xm) of a bank
    // reads rowbase + x0d (+ W3 if ym < y0m) (+ 1 if xm < x0m) of the bank's channel block, which
    // is pass_base_chaddr for banks b >= pass_base_bank, pass_base_chaddr + HW3 for the others. One
    // combinational process builds the whole bus (not one continuous assignment per slice): Icarus
    // then updates it once per input change instead of re-propagating the bus once per slice.
    /* verilator lint_off UNUSEDSIGNAL */
    reg [XW-1:0]   ad_base, ad_row, ad_a;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [9*AW-1:0] ad_lo, ad_hi;           // the 9 sub-bank addresses in the block / the next one
    integer ab, aym, axm;
    always @(*) begin
        ad_base = pass_base_chaddr + rowbase + {{(XW-SW){x0d[SW-1]}}, x0d};
        for (aym = 0; aym < 3; aym = aym + 1) begin
            ad_row = ad_base + ((aym < y0m) ? w3 : {XW{1'b0}});
            for (axm = 0; axm < 3; axm = axm + 1) begin
                ad_a = ad_row + ((axm < x0m) ? ONE_XW : {XW{1'b0}});
                ad_lo[(aym*3 + axm)*AW +: AW] = ad_a[AW-1:0];
                ad_a = ad_a + hw3;
                ad_hi[(aym*3 + axm)*AW +: AW] = ad_a[AW-1:0];
            end
        end
        for (ab = 0; ab < LANES; ab = ab + 1)
            rd_addr[ab*9*AW +: 9*AW] = (ab < pass_base_bank) ? ad_hi : ad_lo;
    end

    // ---- F1: RAM data + registered geometry; rotate into canonical window order ------------
    reg           f1_valid, f1_tag, f1_last;
    reg [PXW-1:0] f1_pixel;
    reg [SBW-1:0] f1_sb;
    reg [1:0]     f1_x0m, f1_y0m;
    reg [2:0]     f1_row_in, f1_col_in;
    always @(posedge clk) begin
        if (rst) begin
            f1_valid <= 1'b0; f1_tag <= 1'b0; f1_last <= 1'b0; f1_pixel <= 0; f1_sb <= 0;
            f1_x0m <= 0; f1_y0m <= 0; f1_row_in <= 0; f1_col_in <= 0;
        end else begin
            f1_valid <= active; f1_tag <= pass_tag; f1_last <= last_px; f1_pixel <= pixel; f1_sb <= pass_sb;
            f1_x0m <= x0m; f1_y0m <= y0m; f1_row_in <= row_in; f1_col_in <= col_in;
        end
    end

    assign pass_end     = f1_valid && f1_last;
    assign pass_end_tag = f1_tag;

    // Rotation of bank b's nine RAM words into canonical window order: window element (dy, dx) is
    // sub-bank (yk, xk) = ((y0m + dy) mod 3, (x0m + dx) mod 3); rows / columns outside the input
    // read as 0. Evaluated inside the F2 register's clocked process (a function of F1 state and
    // the RAM outputs), so the simulator computes it once per cycle rather than on every RAM word.
    function [LANES*9*8-1:0] rotate;
        input [LANES*9*8-1:0] d;
        input [1:0]           ym0, xm0;
        input [2:0]           vyv, vxv;
        integer rb, rdy, rdx;
        reg [2:0] ys, xs;
        reg [1:0] yk, xk;
        reg [3:0] sub;
        begin
            rotate = {LANES*9*8{1'b0}};
            for (rdy = 0; rdy < 3; rdy = rdy + 1) begin
                ys = {1'b0, ym0} + rdy[2:0];
                yk = (ys >= 3'd3) ? ys[1:0] + 2'd1 : ys[1:0];   // (ys - 3) mod 4 == ys + 1
                for (rdx = 0; rdx < 3; rdx = rdx + 1) begin
                    xs = {1'b0, xm0} + rdx[2:0];
                    xk = (xs >= 3'd3) ? xs[1:0] + 2'd1 : xs[1:0];
                    sub = {2'b00, yk} * 4'd3 + {2'b00, xk};
                    if (vyv[yk] && vxv[xk])
                        for (rb = 0; rb < LANES; rb = rb + 1)
                            rotate[(rb*9 + rdy*3 + rdx)*8 +: 8] = d[(rb*9)*8 + sub*8 +: 8];
                end
            end
        end
    endfunction

    always @(posedge clk) begin
        if (rst) begin
            win_valid <= 1'b0; win_tag <= 1'b0; win_last <= 1'b0; win_pixel <= 0; win_sb <= 0; win <= 0;
        end else begin
            win_valid <= f1_valid; win_tag <= f1_tag; win_last <= f1_last; win_pixel <= f1_pixel; win_sb <= f1_sb;
            win <= rotate(rd_data, f1_y0m, f1_x0m, f1_row_in, f1_col_in);
        end
    end
endmodule
`default_nettype wire
