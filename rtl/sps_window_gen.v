// sps_window_gen.v -- window generator: for one pass, walks the output pixels in raster order, one
// per cycle, and produces for every activation bank the 3x3 input window of that pixel.
// Window origin (top-left) = (oy*S - PAD_TOP, ox*S - PAD_LEFT). Sub-bank (ym, xm) of bank b holds
// exactly one element of the window; its address comes from incrementally kept div-3/mod-3
// counters of the origin. Positions outside the input (padding) read as 0: never stored.
// Bank b reads the channel block  base_chaddr + (b < base_bank ? HW3 : 0)  (see the walker).
// A new pass can start in the cycle after the previous pass's last pixel (no bubble).
// Latency: window of a pixel issued in cycle t is on `win` in cycle t+2 (RAM read + rotation).
module sps_window_gen #(
    parameter LANES    = 8,
    parameter DIM_BITS = 10,
    parameter AW       = 10,
    parameter XW       = 24,
    parameter LW       = 3,     // bank index bits (derived: max(1, clog2(LANES)))
    parameter PXW      = 10,    // pixel index bits (derived: max(1, clog2(ACC_DEPTH)))
    parameter SBW      = 8      // sideband bits carried with every pixel of the pass
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
    input  wire [XW-1:0]         w3,
    input  wire [XW-1:0]         hw3,
    // pass start
    input  wire                  start,
    input  wire [LW-1:0]         base_bank,
    input  wire [XW-1:0]         base_chaddr,
    input  wire                  tag,
    input  wire [SBW-1:0]        sb,
    output wire                  can_start,
    output wire                  issue,
    // activation buffer read port
    output wire                  rd_en,
    output wire [LANES*9*AW-1:0] rd_addr,
    input  wire [LANES*9*8-1:0]  rd_data,
    // windows
    output reg                   win_valid,
    output reg                   win_tag,
    output reg                   win_last,
    output reg  [PXW-1:0]        win_p,
    output reg  [SBW-1:0]        win_sb,
    output reg  [LANES*9*8-1:0]  win
);
    localparam SW = DIM_BITS + 3;    // signed coordinate width
    localparam signed [SW-1:0] ONE = 1;

    // ---- F0: pixel counters ----------------------------------------------------------------
    reg                  act;
    reg  [PXW-1:0]       p;
    reg  [DIM_BITS-1:0]  ox, oy;
    reg  signed [SW-1:0] x0d, y0d;          // origin div 3 (floor)
    reg  [1:0]           x0m, y0m;          // origin mod 3
    reg  [XW-1:0]        rowbase;           // y0d * W3 (two's complement)
    reg  [LW-1:0]        bbank;
    reg  [XW-1:0]        bchaddr;
    reg                  ptag;
    reg  [SBW-1:0]       psb;

    wire last_x  = (ox == wout - 1'b1);
    wire last_px = act && last_x && (oy == hout - 1'b1);
    assign can_start = !act || last_px;
    assign issue     = act;
    assign rd_en     = act;

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
            act <= 1'b0; p <= 0; ox <= 0; oy <= 0;
            x0d <= 0; y0d <= 0; x0m <= 0; y0m <= 0; rowbase <= 0;
            bbank <= 0; bchaddr <= 0; ptag <= 1'b0; psb <= 0;
        end else if (start && can_start) begin
            act <= 1'b1; p <= 0; ox <= 0; oy <= 0;
            x0d <= x0d_init; x0m <= x0m_init;
            y0d <= y0d_init; y0m <= y0m_init;
            rowbase <= (pad_top == 2'd0) ? {XW{1'b0}} : (~w3 + 1'b1);
            bbank <= base_bank; bchaddr <= base_chaddr; ptag <= tag; psb <= sb;
        end else if (act) begin
            if (last_px) begin
                act <= 1'b0;
            end else begin
                p <= p + 1'b1;
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
    wire [2:0] vy, vx;
    genvar b, k, ym, xm;
    generate
        for (k = 0; k < 3; k = k + 1) begin : g_valid
            localparam [1:0] K = k;
            // input row / column of sub-bank row / column k: 3*(origin div 3 + (k < origin mod 3)) + k
            wire signed [SW+1:0] yr = {{2{y0d[SW-1]}}, y0d} + $signed({{(SW+1){1'b0}}, (K < y0m)});
            wire signed [SW+1:0] xr = {{2{x0d[SW-1]}}, x0d} + $signed({{(SW+1){1'b0}}, (K < x0m)});
            wire signed [SW+1:0] yy = (yr <<< 1) + yr + $signed({{SW{1'b0}}, K});
            wire signed [SW+1:0] xx = (xr <<< 1) + xr + $signed({{SW{1'b0}}, K});
            assign vy[k] = !yr[SW+1] && (yy < $signed({5'b00000, h}));
            assign vx[k] = !xr[SW+1] && (xx < $signed({5'b00000, w}));
        end
        for (b = 0; b < LANES; b = b + 1) begin : g_addr_b
            localparam [LW-1:0] B = b;
            // addresses wrap modulo 2**XW; only the low AW bits address the RAM
            /* verilator lint_off CMPCONST */
            wire [XW-1:0] chb = bchaddr + ((B < bbank) ? hw3 : {XW{1'b0}});
            /* verilator lint_on CMPCONST */
            for (ym = 0; ym < 3; ym = ym + 1) begin : g_ym
                localparam [1:0] YM = ym;
                wire [XW-1:0] rb = chb + rowbase + ((YM < y0m) ? w3 : {XW{1'b0}});
                for (xm = 0; xm < 3; xm = xm + 1) begin : g_xm
                    localparam [1:0] XM = xm;
                    /* verilator lint_off UNUSEDSIGNAL */
                    wire [XW-1:0] a = rb + {{(XW-SW){x0d[SW-1]}}, x0d} + {{(XW-1){1'b0}}, (XM < x0m)};
                    /* verilator lint_on UNUSEDSIGNAL */
                    assign rd_addr[(b*9 + ym*3 + xm)*AW +: AW] = a[AW-1:0];
                end
            end
        end
    endgenerate

    // ---- F1: RAM data + registered geometry; rotate into canonical window order ------------
    reg           v1, t1, l1;
    reg [PXW-1:0] p1;
    reg [SBW-1:0] sb1;
    reg [1:0]     x0m1, y0m1;
    reg [2:0]     vy1, vx1;
    always @(posedge clk) begin
        if (rst) begin
            v1 <= 1'b0; t1 <= 1'b0; l1 <= 1'b0; p1 <= 0; sb1 <= 0;
            x0m1 <= 0; y0m1 <= 0; vy1 <= 0; vx1 <= 0;
        end else begin
            v1 <= act; t1 <= ptag; l1 <= last_px; p1 <= p; sb1 <= psb;
            x0m1 <= x0m; y0m1 <= y0m; vy1 <= vy; vx1 <= vx;
        end
    end

    wire [LANES*9*8-1:0] win_d;
    genvar dy, dx;
    generate
        for (b = 0; b < LANES; b = b + 1) begin : g_rot_b
            for (dy = 0; dy < 3; dy = dy + 1) begin : g_dy
                localparam [2:0] DY = dy;
                wire [2:0] ys = {1'b0, y0m1} + DY;
                wire [1:0] yk = (ys >= 3'd3) ? ys[1:0] + 2'd1 : ys[1:0];  // (ys - 3) mod 4 == ys + 1
                for (dx = 0; dx < 3; dx = dx + 1) begin : g_dx
                    localparam [2:0] DX = dx;
                    wire [2:0] xs = {1'b0, x0m1} + DX;
                    wire [1:0] xk = (xs >= 3'd3) ? xs[1:0] + 2'd1 : xs[1:0];
                    wire [3:0] sub = {2'b00, yk} * 4'd3 + {2'b00, xk};
                    wire [7:0] d = rd_data[(b*9)*8 + sub*8 +: 8];
                    assign win_d[(b*9 + dy*3 + dx)*8 +: 8] = (vy1[yk] && vx1[xk]) ? d : 8'd0;
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            win_valid <= 1'b0; win_tag <= 1'b0; win_last <= 1'b0; win_p <= 0; win_sb <= 0; win <= 0;
        end else begin
            win_valid <= v1; win_tag <= t1; win_last <= l1; win_p <= p1; win_sb <= sb1; win <= win_d;
        end
    end
endmodule
