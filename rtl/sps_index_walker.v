// sps_index_walker.v -- the SPS indexing unit's sequencer. It stores no per-weight index: from the
// pattern table (P 9-bit masks) and the group phase g it tells each array row which kernel
// position its weight needs, one row per `step`, in the order of the weight stream
// (docs/ARCHITECTURE.md section 3):
//   array row r reads activation lane l = r mod LANES; a row tile covers one channel block
//   (channels cb*LANES .. cb*LANES + LANES-1); the rows of lane l take, in row order, the next
//   set bits of PAT[(g + c) mod P] of channel c = cb*LANES + l (none for c >= C: row disabled);
//   the block gets another tile while a lane has positions left, then the next block starts.
// Per lane it keeps the mask of the positions still to take; the block's word address
// (cb * HW3B, HW3B = HW3 * BATCH: a channel block's BATCH images) is kept by adding HW3B, the
// phase by a counter mod P: no multiply, no divide.
// Timing: the mask of the row emitted next is fetched one step ahead into a register (both
// candidates: the lane's remaining mask, and PAT[phase] for a block's first row of a lane), so
// a step is a 2:1 select and a 9-bit priority encoder. Needs LANES >= 2 or a bypass (generated).
// The pattern table, npat and n_ch are static in a layer (set 4 or more cycles before the first
// group_start), and `group` is set at least 3 cycles before group_start (the loader sets it 8 or
// more cycles before): values derived from them are registered (per-pattern set-bit counts, the
// group's first masks and next phase).
// Latency: outputs describe the row the next `step` emits; they update the cycle after a step.
// tile_chaddr, group_end describe the last tile emitted (valid once its last row has stepped).
`default_nettype none
`include "sps_widths.vh"
module sps_index_walker #(
    parameter ROWS      = 8,        // array rows (PEs per column); LANES must divide it
    parameter LANES     = 8,        // activation lanes: int8 activations per buffer word and per beat
    parameter PMAX      = 8,        // largest pattern period P the pattern table holds
    parameter CH_BITS   = 12,       // bits of a channel count (C, F_g)
    parameter ACT_DEPTH = 1024,     // words per activation sub-bank
    localparam PW       = `SPS_PW,  // bits of a phase / pattern index
    localparam AW       = `SPS_AW   // activation buffer address bits
) (
    input  wire                clk,
    input  wire                rst,
    input  wire [9*PMAX-1:0]   pat,
    input  wire [PW:0]         npat,
    input  wire [CH_BITS-1:0]  n_ch,
    input  wire [AW-1:0]       hw3b,          // a channel block's words: HW3 * BATCH (mod 2**AW)
    input  wire                group_start,   // restart the walk of group `group`
    input  wire [PW-1:0]       group,
    input  wire                step,          // emit one row
    output wire                row_en,
    output wire [3:0]          row_pos,
    output reg  [AW-1:0]       tile_chaddr,   // word address of the last tile's channel block
    output reg                 group_end      // the last tile emitted was the group's last (a register:
                                              // the weight loader's stream handshake depends on it)
);
    localparam RW  = `SPS_RW;                  // bits of an array row index
    localparam LW  = `SPS_LW;                  // bits of a bank (lane) index
    localparam NW  = CH_BITS + 2;              // signed channel counts (C - block start)

    localparam integer  ROW_LAST_I  = ROWS - 1;
    localparam integer  LANE_LAST_I = LANES - 1;
    localparam integer  LANES_I     = LANES;
    localparam [RW-1:0] ROW_LAST    = ROW_LAST_I[RW-1:0];
    localparam [LW-1:0] LANE_LAST   = LANE_LAST_I[LW-1:0];
    localparam integer  LANE_ONE_I  = (LANES > 1) ? 1 : 0;
    localparam [LW-1:0] LANE_ONE    = LANE_ONE_I[LW-1:0];    // lane 1 mod LANES
    localparam [RW:0]   LANES_R     = LANES_I[RW:0];           // LANES <= ROWS
    localparam integer  ROW_LL_I    = ROWS - LANES;            // first row that is its lane's last
    localparam [RW:0]   ROW_LL      = ROW_LL_I[RW:0];
    localparam signed [NW-1:0] LANES_N  = LANES;
    localparam signed [NW-1:0] LANES2_N = 2 * LANES;

    // ---- state ----------------------------------------------------------------------------
    reg  [RW-1:0]  row;                 // row the next step emits
    reg  [LW-1:0]  lane;                // its lane: row mod LANES
    reg            blk_tile;            // this tile (rows > 0) is its block's first
    reg            more_q;              // the last finished tile left positions in its block
    reg            last_of_lane;        // row >= ROWS - LANES: the lane's last row in this tile
    reg            more_acc;            // a lane has positions left after its last row so far
    reg  [PW-1:0]  ph2;                 // the phase 2 after the one the next block-first row reads
    reg  [8:0]     pat_ph, pat_ph1;     // PAT at those two phases, and their set-bit counts
    reg  [3:0]     cnt_ph, cnt_ph1;
    reg  [LW-1:0]  lane_nx;             // the lane of the row after the next: (lane + 1) mod LANES
    reg  [8:0]     rem [0:LANES-1];     // per lane: positions not yet taken in this block
    reg  [LANES-1:0] lane_ok;           // lanes of this block with a channel < C
    reg  [LANES-1:0] lane_ok_nb;        // the same for the next block
    reg  signed [NW-1:0] left_nb;       // channels from the next block's start on (C - its first channel)
    reg            last_block;          // this block is the group's last
    reg            last_nb;             // the next block is the group's last (left_nb <= LANES)
    reg  [AW-1:0]  chaddr_nb;           // the next block's word address
    reg  [8:0]     m_pat, m_rem;        // the next row's mask: block-first (PAT) / remaining
    // set-bit counts kept beside the masks, so that "the row has a position" and "positions are
    // left after it" are flags, not a 9-bit OR behind a carry chain
    reg  [3:0]     rem_cnt [0:LANES-1]; // per lane: set bits of rem
    reg  [3:0]     m_pat_cnt, m_rem_cnt;
    reg            m_pat_nz, m_rem_nz, m_pat_ge2, m_rem_ge2;
    reg  [3:0]     pat_cnt [0:PMAX-1];  // set bits of each pattern (the table is static in a layer)
    reg            row0;                // row == 0
    reg            tile_end;            // row == ROWS - 1: the next step ends the tile
    reg            lok_nx;              // lane_ok[lane_nx]
    reg            ph_nz, ph1_nz, ph_ge2, ph1_ge2;  // cnt_ph, cnt_ph1 != 0 and >= 2
    reg            pat_nz [0:PMAX-1];   // each pattern's set-bit count != 0 and >= 2
    reg            pat_ge2 [0:PMAX-1];

    // ---- the row emitted now ---------------------------------------------------------------
    wire        new_blk_row0 = row0 && !more_q;                    // this tile starts a block
    // the row takes the block-first mask PAT (the lane's first row in this tile, row < LANES, of a
    // tile that starts its block) or the lane's remaining one: use_pat, registered from the next
    // state, and the masks' lowest set bits, registered (the row's position and enable are then a
    // 2:1 select of flip-flops)
    reg         use_pat;
    reg  [3:0]  lo_pat, lo_rem;           // lowest(m_pat), lowest(m_rem)
    reg  [3:0]  lo_ph, lo_ph1;            // lowest(pat_ph), lowest(pat_ph1)
    reg  [3:0]  pat_lo [0:PMAX-1];        // lowest set bit of each pattern (static in a layer)
    wire [8:0]  m            = use_pat ? m_pat : m_rem;
    wire [8:0]  m_rest       = m & (m - 9'd1);                    // clear the lowest set bit
    wire [3:0]  m_cnt        = use_pat ? m_pat_cnt : m_rem_cnt;
    wire [3:0]  rest_cnt     = m_cnt - {3'd0, (m_cnt != 4'd0)};   // set bits of m_rest
    wire        m_nz         = use_pat ? m_pat_nz : m_rem_nz;     // |m
    wire        rest_nz      = use_pat ? m_pat_ge2 : m_rem_ge2;   // |m_rest

    function [3:0] lowest;                    // index of the lowest set bit (0 if none)
        input [8:0] v;
        integer i;
        begin
            lowest = 4'd0;
            for (i = 8; i >= 0; i = i - 1)
                if (v[i]) lowest = i[3:0];
        end
    endfunction

    function [LANES-1:0] lanes_below;         // bit l set iff l + off < n (signed): compares
        input signed [NW-1:0] n;              // with constants, no subtraction
        input signed [NW-1:0] off;
        integer i;
        begin
            for (i = 0; i < LANES; i = i + 1)
                lanes_below[i] = (n > $signed(i[NW-1:0]) + off);
        end
    endfunction

    assign row_en    = m_nz;
    assign row_pos   = use_pat ? lo_pat : lo_rem;

    // ---- the next row's lane, phase and candidate masks --------------------------------------
    // group_end = !more_q && last_block, kept as a register: their values after this step
    wire more_next       = tile_end ? (more_acc || rest_nz) : more_q;
    wire last_block_next = new_blk_row0 ? last_nb : last_block;
    wire [RW-1:0]   row_n      = tile_end ? {RW{1'b0}} : row + 1'b1;
    wire            first_of_lane_n = tile_end || ({1'b0, row_n} < LANES_R);  // row_n < LANES
    function [PW-1:0] ph_after;               // (p + 1) mod n (n an argument: a function that
        input [PW-1:0] p;                     // reads a module signal would not wake up a
        input [PW:0]   n;                     // continuous assignment in every simulator)
        reg   [PW:0]   q;
        begin
            q = {1'b0, p} + 1'b1;
            ph_after = (q == n) ? {PW{1'b0}} : q[PW-1:0];
        end
    endfunction
    wire [8:0]      pat_n      = use_pat ? pat_ph1 : pat_ph;        // a block-first row moves on
    wire [3:0]      cnt_n      = use_pat ? cnt_ph1 : cnt_ph;
    // lanes of the block the next row belongs to: after a tile's last row that is the next block
    // (used only if the next tile starts one); this step's block-advance makes lane_ok_nb current
    wire             ok_nx;             // the next row's lane has a channel < C
    wire [LANES-1:0] ok_after_nb;       // lanes of the block after the next (left_nb - LANES)
    wire             last_after_nb;     // the block after the next is the group's last
    wire [8:0]      rem_n;
    wire [3:0]      rem_cnt_n;
    generate
        if (ROWS == 1) begin : g_one_row      // every step ends a tile (and may start a block)
            assign ok_after_nb   = lanes_below(left_nb, LANES_N);
            assign last_after_nb = (left_nb <= LANES2_N);
            wire [LANES-1:0] ok_n = new_blk_row0 ? ok_after_nb : lane_ok_nb;
            assign ok_nx = ok_n[lane_nx];
        end else begin : g_rows
            // a block advance is at least ROWS >= 2 steps after the last one: the compares of
            // left_nb can be registered
            reg [LANES-1:0] ok_after_q;
            reg             last_after_q;
            always @(posedge clk) begin
                if (group_start) begin             // left_nb becomes C
                    ok_after_q   <= lanes_below($signed({2'b00, n_ch}), LANES_N);
                    last_after_q <= ($signed({2'b00, n_ch}) <= LANES2_N);
                end else begin
                    ok_after_q   <= lanes_below(left_nb, LANES_N);
                    last_after_q <= (left_nb <= LANES2_N);
                end
            end
            assign ok_after_nb   = ok_after_q;
            assign last_after_nb = last_after_q;
            // the lane after a tile's last row is 0, after a block's first row LANE_ONE (LANES
            // divides ROWS); otherwise lane_ok[lane_nx], registered
            assign ok_nx = tile_end ? lane_ok_nb[0] : new_blk_row0 ? lane_ok_nb[LANE_ONE] : lok_nx;
        end
        if (LANES == 1) begin : g_bypass      // the next row reads the same lane: forward
            assign rem_n = m_rest;
            assign rem_cnt_n = rest_cnt;
        end else begin : g_lanes
            assign rem_n = rem[lane_nx];
            assign rem_cnt_n = rem_cnt[lane_nx];
        end
    endgenerate

    function [1:0] popcount3;
        input [2:0] v;
        popcount3 = {1'b0, v[0]} + {1'b0, v[1]} + {1'b0, v[2]};
    endfunction
    integer k;
    reg [5:0] pat_c3 [0:PMAX-1];                      // set bits per third, then their sum
    always @(posedge clk)
        for (k = 0; k < PMAX; k = k + 1) begin
            pat_c3[k]  <= {popcount3(pat[k*9+6 +: 3]), popcount3(pat[k*9+3 +: 3]), popcount3(pat[k*9 +: 3])};
            pat_cnt[k] <= {2'b00, pat_c3[k][5:4]} + {2'b00, pat_c3[k][3:2]} + {2'b00, pat_c3[k][1:0]};
            pat_nz[k]  <= (pat_c3[k] != 6'd0);
            pat_lo[k]  <= lowest(pat[k*9 +: 9]);
            pat_ge2[k] <= pat_c3[k][5] || pat_c3[k][3] || pat_c3[k][1] ||
                          (pat_c3[k][4] && pat_c3[k][2]) || (pat_c3[k][4] && pat_c3[k][0]) ||
                          (pat_c3[k][2] && pat_c3[k][0]);
        end
    reg        nch_nz;                                 // C > 0 (static in a layer)
    always @(posedge clk) nch_nz <= (n_ch != {CH_BITS{1'b0}});
    // the group's first mask, its count and the phase after it, registered from `group` (the
    // loader sets the group at least 8 cycles before group_start: header beats come between)
    reg  [8:0]    g_pat0, g_pat1;
    reg  [3:0]    g_cnt0, g_cnt1;
    reg           g_nz0, g_nz1, g_ge20, g_ge21;         // their counts != 0, >= 2
    reg  [3:0]    g_lo0, g_lo1;                         // their lowest set bits
    reg  [PW-1:0] g_ph1, g_ph2;
    always @(posedge clk) begin
        g_ph1  <= ph_after(group, npat);
        g_ph2  <= ph_after(g_ph1, npat);
        g_pat0 <= pat[group*9 +: 9];
        g_cnt0 <= pat_cnt[group];
        g_nz0  <= pat_nz[group]; g_ge20 <= pat_ge2[group]; g_lo0 <= pat_lo[group];
        g_pat1 <= pat[g_ph1*9 +: 9];                   // a cycle behind g_ph1
        g_cnt1 <= pat_cnt[g_ph1];
        g_nz1  <= pat_nz[g_ph1]; g_ge21 <= pat_ge2[g_ph1]; g_lo1 <= pat_lo[g_ph1];
    end
    wire [3:0] gs_cnt = g_cnt0 & {4{nch_nz}};
    wire [3:0] pn_cnt = cnt_n & {4{ok_nx}};
    wire       pn_nz  = ok_nx && (use_pat ? ph1_nz : ph_nz);     // pn_cnt != 0, >= 2
    wire       pn_ge2 = ok_nx && (use_pat ? ph1_ge2 : ph_ge2);
    // lane_ok[lane_nx] after a step: the lane after lane_nx, in the block the step leaves current
    function [LANES-1:0] rot1;                // bit l = bit (l + 1) mod LANES
        input [LANES-1:0] v;
        integer i;
        begin
            for (i = 0; i < LANES; i = i + 1) rot1[i] = v[(i + 1) % LANES];
        end
    endfunction
    wire [LANES-1:0] lok_step = rot1((row0 && !more_q) ? lane_ok_nb : lane_ok);

    always @(posedge clk) begin
        if (rst) begin
            row <= 0; lane <= 0; last_of_lane <= (ROW_LL == 0); blk_tile <= 1'b0;
            tile_end <= (ROWS == 1); lok_nx <= 1'b0; use_pat <= 1'b1;
            lo_pat <= 4'd0; lo_rem <= 4'd0; lo_ph <= 4'd0; lo_ph1 <= 4'd0;
            ph_nz <= 1'b0; ph1_nz <= 1'b0; ph_ge2 <= 1'b0; ph1_ge2 <= 1'b0;
            more_q <= 1'b0; more_acc <= 1'b0; ph2 <= 0;
            pat_ph <= 0; pat_ph1 <= 0; cnt_ph <= 0; cnt_ph1 <= 0; lane_nx <= LANE_ONE; lane_ok <= 0; lane_ok_nb <= 0; left_nb <= 0;
            last_block <= 1'b0; last_nb <= 1'b0;
            group_end <= 1'b0;
            chaddr_nb <= 0; tile_chaddr <= 0; m_pat <= 0; m_rem <= 0; row0 <= 1'b1;
            m_pat_cnt <= 0; m_rem_cnt <= 0; m_pat_nz <= 1'b0; m_rem_nz <= 1'b0; m_pat_ge2 <= 1'b0; m_rem_ge2 <= 1'b0;
            for (k = 0; k < LANES; k = k + 1) begin
                rem[k] <= 9'd0; rem_cnt[k] <= 4'd0;
            end
        end else if (group_start) begin
            // the group's first tile starts block 0 (a block advance, like every block start)
            row <= 0; row0 <= 1'b1; lane <= 0; last_of_lane <= (ROW_LL == 0); blk_tile <= 1'b0;
            tile_end <= (ROWS == 1); lok_nx <= lane_ok[LANE_ONE]; use_pat <= 1'b1;
            lo_ph <= g_lo0; lo_ph1 <= g_lo1; lo_pat <= g_lo0 & {4{nch_nz}}; lo_rem <= 4'd0;
            more_q <= 1'b0; more_acc <= 1'b0; ph2 <= g_ph2; lane_nx <= LANE_ONE;
            pat_ph <= g_pat0; cnt_ph <= g_cnt0; pat_ph1 <= g_pat1; cnt_ph1 <= g_cnt1;
            ph_nz <= g_nz0; ph_ge2 <= g_ge20; ph1_nz <= g_nz1; ph1_ge2 <= g_ge21;
            last_block <= 1'b0; group_end <= 1'b0;
            left_nb <= $signed({2'b00, n_ch});
            last_nb <= ($signed({2'b00, n_ch}) <= LANES_N);
            lane_ok_nb <= lanes_below($signed({2'b00, n_ch}), {NW{1'b0}});
            chaddr_nb <= {AW{1'b0}};
            m_pat <= g_pat0 & {9{nch_nz}};
            m_pat_cnt <= gs_cnt; m_pat_nz <= (gs_cnt != 4'd0); m_pat_ge2 <= (gs_cnt >= 4'd2);
            m_rem <= 9'd0;
            m_rem_cnt <= 4'd0; m_rem_nz <= 1'b0; m_rem_ge2 <= 1'b0;
        end else if (step) begin
            rem[lane] <= m_rest;
            rem_cnt[lane] <= rest_cnt;
            row <= row_n;
            row0 <= tile_end;
            tile_end <= (row_n == ROW_LAST);
            lok_nx <= lok_step[lane_nx];
            lane <= lane_nx;
            lane_nx <= (lane_nx == LANE_LAST) ? {LW{1'b0}} : lane_nx + 1'b1;
            /* verilator lint_off UNSIGNED */      // constant (true) when LANES == ROWS
            last_of_lane  <= ({1'b0, row_n} >= ROW_LL);
            /* verilator lint_on UNSIGNED */
            if (use_pat) begin
                ph2 <= ph_after(ph2, npat);
                pat_ph <= pat_ph1; cnt_ph <= cnt_ph1;
                pat_ph1 <= pat[ph2*9 +: 9]; cnt_ph1 <= pat_cnt[ph2];
                ph_nz <= ph1_nz; ph_ge2 <= ph1_ge2; ph1_nz <= pat_nz[ph2]; ph1_ge2 <= pat_ge2[ph2];
                lo_ph <= lo_ph1; lo_ph1 <= pat_lo[ph2];
            end
            group_end <= !more_next && last_block_next;
            if (tile_end) begin
                more_q <= more_acc || rest_nz;
                more_acc <= 1'b0;
            end else begin
                more_acc <= (row0 ? 1'b0 : more_acc) || (last_of_lane && rest_nz);
            end
            if (row0) begin
                blk_tile <= !more_q;
                if (!more_q) begin                                   // advance to the next block
                    tile_chaddr <= chaddr_nb;
                    chaddr_nb <= chaddr_nb + hw3b;
                    lane_ok <= lane_ok_nb;
                    lane_ok_nb <= ok_after_nb;
                    left_nb <= left_nb - LANES_N;
                    last_block <= last_nb;
                    last_nb <= last_after_nb;
                end
            end
            m_pat <= pat_n & {9{ok_nx}};
            m_pat_cnt <= pn_cnt; m_pat_nz <= pn_nz; m_pat_ge2 <= pn_ge2;
            lo_pat <= (use_pat ? lo_ph1 : lo_ph) & {4{ok_nx}};
            lo_rem <= lowest(rem_n);
            use_pat <= first_of_lane_n && (tile_end ? !more_next : (row0 ? !more_q : blk_tile));
            m_rem <= rem_n;
            m_rem_cnt <= rem_cnt_n; m_rem_nz <= (rem_cnt_n != 4'd0); m_rem_ge2 <= (rem_cnt_n >= 4'd2);
        end
    end
endmodule
`default_nettype wire
