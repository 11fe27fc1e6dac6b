// sps_ctrl.v -- control: on start, derives the layer geometry (H3, W3, HW3, channel blocks, and
// with the batch size BATCH: buffer blocks CBB = channel blocks x BATCH, pixels per pass
// NPIXB = HOUT x WOUT x BATCH, a channel block's words HW3B = HW3 x BATCH, activation words) bit-serially, with one shift-and-subtract or shift-and-add
// step per cycle (no divider, no multiplier: GEOM_CYCLES cycles, once per layer), and checks the
// descriptor (a bad one ends at once with the config error bit);
// then loads the activations while the weight loader preloads, and runs passes: a pass starts
// when the window generator can take it (back to back with the previous one) and the next weight
// slot is full. Keeps the accumulator bank ownership (claimed by the weight loader for a column
// tile, freed by the output stage after draining), the performance counters and done.
// Latency: GEOM_CYCLES + 3 cycles from start to the first stream ready (docs/ARCHITECTURE.md
// section 7); done 2 cycles after the last result (CYCLES counts up to the last result).
`default_nettype none
`include "sps_widths.vh"
module sps_ctrl #(
    parameter LANES     = 8,         // activation lanes: int8 activations per buffer word and per beat
    parameter PMAX      = 8,         // largest pattern period P the pattern table holds
    parameter ACT_DEPTH = 1024,      // words per activation sub-bank
    parameter ACC_DEPTH = 1024,      // words per accumulator bank: output pixels
    parameter DIM_BITS  = 10,        // bits of a height or width (H, W, HOUT, WOUT)
    parameter CH_BITS   = 12,        // bits of a channel count (C, F_g)
    parameter MW        = 32,        // MAC-count field width
    localparam PW       = `SPS_PW,   // bits of a phase / pattern index
    localparam AW       = `SPS_AW,   // activation buffer address bits
    localparam PXW      = `SPS_PXW,  // bits of a pixel index
    localparam BW       = `SPS_BW,   // bits of a batch size
    `include "sps_sideband.vh"
) (
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    start,
    input  wire                    abort,          // host ABORT (ignored while idle)
    input  wire                    stream_err,     // a loader saw a framing error (a level)
    // descriptor
    input  wire [CH_BITS-1:0]      c,
    input  wire [DIM_BITS-1:0]     h,
    input  wire [DIM_BITS-1:0]     w,
    input  wire [DIM_BITS-1:0]     hout,
    input  wire [DIM_BITS-1:0]     wout,
    input  wire [1:0]              stride,
    input  wire [1:0]              pad_top,
    input  wire [1:0]              pad_left,
    input  wire [PW:0]             npat,
    input  wire [9*PMAX-1:0]       pat,
    input  wire [CH_BITS*PMAX-1:0] fg,
    input  wire [BW-1:0]           batch,      // images per band (BATCH)
    // derived geometry (from go on; the values are < ACT_DEPTH / <= ACC_DEPTH once checked)
    output wire [AW-1:0]           w3,         // ceil(W / 3)
    output wire [AW-1:0]           hw3,        // ceil(H / 3) * W3: an image's words, mod 2**AW
    output reg  [AW-1:0]           hw3b,       // HW3 * BATCH: a channel block's words, mod 2**AW
    output reg  [AW:0]             cbb,        // ceil(C / LANES) * BATCH: buffer blocks of HW3 words
    output reg  [PXW:0]            npixb,      // HOUT * WOUT * BATCH: a pass's pixels
    // sub-block starts
    output wire                    go,             // pulse: act loader, weight loader, output stage
    input  wire                    act_busy,
    input  wire                    act_stall,
    input  wire                    wgt_stall,
    // weight slots (from the weight loader): full, the metadata of the tile in each; slot release
    input  wire [1:0]              slot_full,
    input  wire [1:0]              slot_first_rt,
    input  wire [1:0]              slot_last_rt,
    input  wire [1:0]              slot_bank,
    input  wire [1:0]              slot_last_pass,
    input  wire [2*AW-1:0]         slot_base_chaddr,
    input  wire [2*MW-1:0]         slot_macs,
    input  wire                    slot_free_valid,
    input  wire                    slot_free_tag,
    // window generator
    input  wire                    wg_can_start,
    input  wire                    wg_issue,
    output wire                    wg_start,
    output wire [AW-1:0]           wg_base_chaddr,
    output wire                    wg_tag,
    output reg  [SB_PASS_W-1:0]    wg_pass_sb,     // the pass sideband (rtl/sps_sideband.vh)
    // accumulator banks
    input  wire                    bank_claim,
    input  wire                    bank_claim_id,
    input  wire                    bank_free_valid,
    input  wire                    bank_free_id,
    output reg  [1:0]              bank_busy,
    // results
    input  wire                    res_valid,
    input  wire                    res_ready,
    input  wire                    res_last,
    // status and counters
    output wire                    busy,
    output reg                     done,
    output reg                     err_config,
    output reg                     err_stream,     // the layer ended on a stream framing error
    output reg                     aborted,        // the layer ended on the host's ABORT
    output reg                     dp_rst,         // the data path's reset: rst, or an abort's flush
    output reg  [31:0]             cnt_cycles,
    output reg  [31:0]             cnt_busy,
    output wire [63:0]             cnt_macs,
    output reg  [31:0]             cnt_stall_act,
    output reg  [31:0]             cnt_stall_wgt,
    output reg  [31:0]             cnt_stall_res,
    output reg  [31:0]             cnt_passes
);
    // one-hot states: a state test is one flip-flop, in the case below as well (case (1'b1) on the
    // state bits, parallel_case for synthesis: the arms are exclusive as the state is one-hot)
    localparam I_IDLE = 0, I_GEOM = 1, I_CHECK = 2, I_GO = 3, I_LOAD = 4, I_RUN = 5, I_FLUSH = 6;
    localparam [6:0] S_IDLE  = 7'd1 << I_IDLE,  S_GEOM = 7'd1 << I_GEOM, S_CHECK = 7'd1 << I_CHECK,
                     S_GO    = 7'd1 << I_GO,    S_LOAD = 7'd1 << I_LOAD, S_RUN   = 7'd1 << I_RUN,
                     S_FLUSH = 7'd1 << I_FLUSH;
    reg [6:0] state;
    reg       running;                           // state == S_RUN, as its own flip-flop
    reg       flushing;                          // state == S_FLUSH, as its own flip-flop
    reg       flush_end;                         // the flush's second (last) cycle
    reg       serr_q;                            // stream_err, registered (from the loaders)
    assign busy = !state[I_IDLE];
    // a layer is killed in any busy state but the flush: by the host, or by a framing error
    wire      kill = busy && !flushing && (abort || serr_q);
    reg       dp_rst_q;
    always @(posedge clk) begin
        serr_q   <= stream_err && busy;             // a level from the loaders: while busy only
        dp_rst_q <= rst || kill;                 // rst reaches the data path 2 cycles late and
        dp_rst   <= dp_rst_q;                    // holds it 2 cycles longer
    end

    // ---- geometry, bit-serially ----------------------------------------------------------------
    // Phase D (ND cycles): restoring division, one quotient bit per cycle, MSB first, of W+2 and
    //   H+2 by 3 and of C+LANES-1 by LANES (ceil(W/3), ceil(H/3), channel blocks); at the same
    //   time NPIX = HOUT * WOUT by shift-and-add.
    // Phase M (max(DB+1, BW) cycles): HW3 = H3 * W3 and CBB = N_CBLK * BATCH by shift-and-add.
    // Phase A (max(CH_BITS, BW, AW+1) cycles): ACT_WORDS = HW3 * CBB, NPIXB = NPIX * BATCH and
    //   HW3B = HW3 * BATCH by shift-and-add (CBB's low AW+1 bits: it is checked <= ACT_DEPTH).
    // GEOM_CYCLES = max(DB+1, CH_BITS+1) + max(DB+1, BW) + max(CH_BITS, BW, AW+1).
    localparam DB  = DIM_BITS;
    localparam NDW = ((DB + 1) > (CH_BITS + 1)) ? (DB + 1) : (CH_BITS + 1);  // dividend bits
    localparam ND  = NDW;
    localparam NM  = ((DB + 1) > BW) ? (DB + 1) : BW;
    localparam NA0 = (CH_BITS > BW) ? CH_BITS : BW;
    localparam NA  = (NA0 > AW + 1) ? NA0 : (AW + 1);
    localparam GEOM_CYCLES = ND + NM + NA;
    localparam GCW = `SPS_COUNT_W(GEOM_CYCLES);
    localparam LRW = `SPS_LW + 1;                            // remainder bits of the / LANES step
    localparam HWW = 2*DB + 2;                                // H3 * W3 bits
    localparam AWW = HWW + NA;                                // ACT_WORDS bits
    localparam integer   END_D_I = ND - 1, END_M_I = ND + NM - 1, END_A_I = GEOM_CYCLES - 1;
    localparam [GCW-1:0] END_D = END_D_I[GCW-1:0], END_M = END_M_I[GCW-1:0], END_A = END_A_I[GCW-1:0];
    localparam [LRW-1:0] LANES_R = LANES;

    reg  [GCW-1:0]   gstep;
    // the phase of the step being taken, as flags registered a cycle ahead (no compare of gstep
    // in front of the geometry registers): D, the NPIX bits of D, M and its first step, A and its
    // first step, the last step
    reg              g_d, g_np, g_m, g_m0, g_a, g_a0, g_end;
    wire [GCW-1:0]   gstep_n = gstep + 1'b1;
    reg  [NDW-1:0]   dv_w, dv_h, dv_c;          // dividends, shifted out MSB first
    reg  [1:0]       rm_w, rm_h;                // remainders mod 3
    reg  [LRW-1:0]   rm_c;                      // remainder mod LANES
    /* verilator lint_off UNUSEDSIGNAL */      // quotients fit fewer bits than the dividends
    reg  [NDW-1:0]   q_w, q_h, q_c;             // quotients, shifted in
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [DB-1:0]    mp_np;                     // NPIX multiplier bits (WOUT), LSB first
    reg  [2*DB-1:0]  mc_np;                     // NPIX multiplicand (HOUT), shifted left
    reg  [2*DB-1:0]  npix_full;
    reg  [HWW-1:0]   mc_hw, hw3_full;           // HW3 multiplicand (W3) and product
    reg  [DB:0]      mp_hw;                     // HW3 multiplier bits (H3)
    // CBB and NPIXB are kept in the bits of their outputs (AW+1, PXW+1: ACT_DEPTH and ACC_DEPTH
    // fit) with a sticky flag 'big' for a value beyond them (a partial product or a carry out of
    // the top bit), which fails the check; HW3B is needed mod 2**AW only (HW3B <= ACT_WORDS)
    reg  [AW:0]      mc_cb, cbb_t;              // CBB multiplicand (N_CBLK) and product
    reg              mc_cb_big, cbb_big;
    reg  [BW-1:0]    mp_cb;                     // CBB multiplier bits (BATCH)
    reg  [AWW-1:0]   mc_aw, act_words;          // ACT_WORDS multiplicand (HW3) and product
    reg  [NA-1:0]    mp_aw;                     // ACT_WORDS multiplier bits (CBB)
    reg  [PXW:0]     mc_nb, npixb_t;            // NPIXB multiplicand (NPIX) and product
    reg              mc_nb_big, npb_big;
    reg  [AW-1:0]    mc_hb, hw3b_t;             // HW3B multiplicand (HW3) and product, mod 2**AW
    reg  [BW-1:0]    mp_b;                      // NPIXB and HW3B multiplier bits (BATCH)
    wire [2:0]       tw_w = {rm_w, dv_w[NDW-1]}, tw_h = {rm_h, dv_h[NDW-1]};
    wire [LRW:0]     tw_c = {rm_c, dv_c[NDW-1]};
    wire             ge_w = (tw_w >= 3'd3), ge_h = (tw_h >= 3'd3), ge_c = (tw_c >= {1'b0, LANES_R});
    /* verilator lint_off UNUSEDSIGNAL */      // differences < the divisor: the top bit is 0
    wire [2:0]       sub_w = tw_w - 3'd3, sub_h = tw_h - 3'd3;
    wire [LRW:0]     sub_c = tw_c - {1'b0, LANES_R};
    /* verilator lint_on UNUSEDSIGNAL */
    localparam [NDW-1:0] TWO_D = 2, LM1_D = LANES - 1;

    /* verilator lint_off UNUSEDSIGNAL */      // the low AW bits (values < ACT_DEPTH once checked)
    wire [AW+NDW-1:0] w3_ext  = {{AW{1'b0}}, q_w};
    wire [AW+HWW-1:0] hw3_ext = {{AW{1'b0}}, hw3_full};
    wire [NA+AW:0]    cbb_mp  = {{NA{1'b0}}, cbb_t};              // CBB as NA multiplier bits
    /* verilator lint_on UNUSEDSIGNAL */
    // N_CBLK and NPIX in the bits of CBB and NPIXB, and whether they are larger
    wire [AW+CH_BITS:0]   qc_ext = {{(AW+1){1'b0}}, q_c[CH_BITS-1:0]};
    wire [PXW+2*DB:0]     np_ext = {{(PXW+1){1'b0}}, npix_full};
    wire [AW:0]           qc_lo  = qc_ext[AW:0];
    wire                  qc_big = (qc_ext[AW+CH_BITS:AW+1] != {CH_BITS{1'b0}});
    wire [PXW:0]          np_lo  = np_ext[PXW:0];
    wire                  np_big = (np_ext[PXW+2*DB:PXW+1] != {(2*DB){1'b0}});
    wire [AW+1:0]         cbb_sum = {1'b0, cbb_t} + {1'b0, mc_cb};
    wire [PXW+1:0]        npb_sum = {1'b0, npixb_t} + {1'b0, mc_nb};
    assign w3  = w3_ext[AW-1:0];
    assign hw3 = hw3_ext[AW-1:0];

    always @(posedge clk) begin
        if (state[I_IDLE]) begin
            gstep <= 0;
            g_d <= 1'b1; g_np <= (DB > 0); g_m <= 1'b0; g_m0 <= 1'b0; g_a <= 1'b0; g_a0 <= 1'b0;
            g_end <= (END_A == 0);
            dv_w <= {{(NDW-DB){1'b0}}, w} + TWO_D;
            dv_h <= {{(NDW-DB){1'b0}}, h} + TWO_D;
            dv_c <= {{(NDW-CH_BITS){1'b0}}, c} + LM1_D;
            rm_w <= 2'd0; rm_h <= 2'd0; rm_c <= {LRW{1'b0}};
            q_w <= 0; q_h <= 0; q_c <= 0;
            mp_np <= wout; mc_np <= {{DB{1'b0}}, hout}; npix_full <= 0;
        end else if (state[I_GEOM]) begin
            gstep <= gstep_n;
            g_d   <= (gstep_n <= END_D);
            g_np  <= (gstep_n < DB);
            g_m   <= (gstep_n > END_D) && (gstep_n <= END_M);
            g_m0  <= (gstep_n == END_D + 1'b1);
            g_a   <= (gstep_n > END_M);
            g_a0  <= (gstep_n == END_M + 1'b1);
            g_end <= (gstep_n == END_A);
            if (g_d) begin
                dv_w <= dv_w << 1; dv_h <= dv_h << 1; dv_c <= dv_c << 1;
                rm_w <= ge_w ? sub_w[1:0] : tw_w[1:0];
                rm_h <= ge_h ? sub_h[1:0] : tw_h[1:0];
                rm_c <= ge_c ? sub_c[LRW-1:0] : tw_c[LRW-1:0];
                q_w <= {q_w[NDW-2:0], ge_w}; q_h <= {q_h[NDW-2:0], ge_h}; q_c <= {q_c[NDW-2:0], ge_c};
                if (g_np) begin
                    if (mp_np[0]) npix_full <= npix_full + mc_np;
                    mp_np <= mp_np >> 1; mc_np <= mc_np << 1;
                end
                mc_hw <= 0; hw3_full <= 0;
            end
            if (g_m) begin
                if (g_m0) begin      // first step: load W3 and H3, N_CBLK and BATCH
                    if (q_h[0]) hw3_full <= {{(HWW-DB-1){1'b0}}, q_w[DB:0]};
                    mc_hw <= {{(HWW-DB-1){1'b0}}, q_w[DB:0]} << 1;
                    mp_hw <= q_h[DB:0] >> 1;
                    cbb_t <= batch[0] ? qc_lo : {(AW+1){1'b0}};
                    cbb_big <= batch[0] && qc_big;
                    mc_cb <= qc_lo << 1; mc_cb_big <= qc_big || qc_lo[AW];
                    mp_cb <= batch >> 1;
                end else begin
                    if (mp_hw[0]) hw3_full <= hw3_full + mc_hw;
                    mc_hw <= mc_hw << 1; mp_hw <= mp_hw >> 1;
                    if (mp_cb[0]) begin
                        cbb_t <= cbb_sum[AW:0]; cbb_big <= cbb_big || cbb_sum[AW+1] || mc_cb_big;
                    end
                    mc_cb <= mc_cb << 1; mc_cb_big <= mc_cb_big || mc_cb[AW]; mp_cb <= mp_cb >> 1;
                end
                act_words <= 0;
            end
            if (g_a) begin
                if (g_a0) begin      // first step: load HW3, CBB, NPIX and BATCH
                    if (cbb_t[0]) act_words <= {{NA{1'b0}}, hw3_full};
                    mc_aw <= {{NA{1'b0}}, hw3_full} << 1;
                    mp_aw <= cbb_mp[NA-1:0] >> 1;
                    npixb_t <= batch[0] ? np_lo : {(PXW+1){1'b0}};
                    npb_big <= batch[0] && np_big;
                    mc_nb <= np_lo << 1; mc_nb_big <= np_big || np_lo[PXW];
                    hw3b_t <= batch[0] ? hw3 : {AW{1'b0}};
                    mc_hb <= hw3 << 1;
                    mp_b  <= batch >> 1;
                end else begin
                    if (mp_aw[0]) act_words <= act_words + mc_aw;
                    mc_aw <= mc_aw << 1; mp_aw <= mp_aw >> 1;
                    if (mp_b[0]) begin
                        npixb_t <= npb_sum[PXW:0]; npb_big <= npb_big || npb_sum[PXW+1] || mc_nb_big;
                        hw3b_t  <= hw3b_t + mc_hb;
                    end
                    mc_nb <= mc_nb << 1; mc_nb_big <= mc_nb_big || mc_nb[PXW];
                    mc_hb <= mc_hb << 1; mp_b <= mp_b >> 1;
                end
            end
        end
    end

    // ---- descriptor checks (registered in S_CHECK; go in S_GO) --------------------------------
    reg cfg_ok;
    reg [PMAX-1:0] pat_in, pat_zero, fg_nz;    // per pattern: < NPAT, PAT = 0, FG != 0
    integer i;
    always @(posedge clk)
        for (i = 0; i < PMAX; i = i + 1) begin
            pat_in[i]   <= (i < npat);
            pat_zero[i] <= (pat[i*9 +: 9] == 9'd0);
            fg_nz[i]    <= (fg[i*CH_BITS +: CH_BITS] != {CH_BITS{1'b0}});
        end
    reg static_ok, pat_ok_q, fg_any_q, shape_ok, dims_ok, batch_ok;   // the checks that need no geometry,
    always @(posedge clk) begin                             // in three registered steps (the
        pat_ok_q  <= !(|(pat_in & pat_zero));               // descriptor is static from start on;
        fg_any_q  <= |(pat_in & fg_nz);                     // the geometry takes longer)
        shape_ok  <= (stride == 2'd1 || stride == 2'd2) && pad_top != 2'd3 && pad_left != 2'd3 &&
                     npat != 0 && npat <= PMAX;
        dims_ok   <= c != 0 && h != 0 && w != 0 && hout != 0 && wout != 0;
        batch_ok  <= batch != 0;
        static_ok <= pat_ok_q && fg_any_q && shape_ok && dims_ok && batch_ok;
    end
    // CBB is final after phase M: its check is registered during phase A
    reg cbb_ok;
    always @(posedge clk) begin
        cbb_ok <= !cbb_big && cbb_t <= ACT_DEPTH;
        cfg_ok <= static_ok && cbb_ok && !npb_big && npixb_t <= ACC_DEPTH && act_words <= ACT_DEPTH;
    end

    assign go = state[I_GO] && cfg_ok;
    always @(posedge clk) begin
        hw3b  <= hw3b_t;
        cbb   <= cbb_t;
        npixb <= npixb_t;
    end

    // ---- pass feeder ------------------------------------------------------------------------
    reg       next_slot, all_issued, res_done, wgt_stall_q;
    reg [1:0] slot_issued;
    // feed_ok[s]: running, not all issued, slot s is next and not issued yet; registered from the
    // feeder's next state, so that a pass start is the slot's full flag and the window
    // generator's ready, no compare or select (the start fans out to the window generator)
    reg [1:0] feed_ok;
    reg       run_n, all_issued_n, next_slot_n;
    reg [1:0] slot_issued_n;
    reg [MW-1:0] pass_macs;
    // the MAC counter in two 32-bit halves: the high half takes the low half's carry a cycle
    // later (two short carry chains instead of one of 64 bits); settled a cycle after the last add
    reg [32:0]   macs_lo;
    reg [31:0]   macs_hi;
    assign cnt_macs = {macs_hi, macs_lo[31:0]};
    assign wg_start       = wg_can_start && |(feed_ok & slot_full);
    assign wg_base_chaddr = slot_base_chaddr[next_slot*AW +: AW];
    assign wg_tag         = next_slot;
    always @(*) begin
        wg_pass_sb                    = {SB_PASS_W{1'b0}};
        wg_pass_sb[SB_PASS_BANK]      = slot_bank[next_slot];
        wg_pass_sb[SB_PASS_FIRST_RT]  = slot_first_rt[next_slot];
        wg_pass_sb[SB_PASS_LAST_RT]   = slot_last_rt[next_slot];
        wg_pass_sb[SB_PASS_LAST_PASS] = slot_last_pass[next_slot];
    end

    // the feeder's next state (running, all issued, next slot, slots issued): a start's clear,
    // the run's start and end, a kill, a pass start, a slot release, a flush's clear
    always @(*) begin
        run_n = running; all_issued_n = all_issued; next_slot_n = next_slot; slot_issued_n = slot_issued;
        if (state[I_LOAD] && !act_busy) run_n = 1'b1;
        if ((state[I_RUN] && res_done) || kill) run_n = 1'b0;
        if (wg_start) begin
            slot_issued_n[next_slot] = 1'b1;
            next_slot_n = ~next_slot;
            if (slot_last_pass[next_slot]) all_issued_n = 1'b1;
        end
        if (slot_free_valid) slot_issued_n[slot_free_tag] = 1'b0;
        if (flushing || (state[I_IDLE] && start)) begin
            all_issued_n = 1'b0; next_slot_n = 1'b0; slot_issued_n = 2'b00;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            feed_ok <= 2'b00;
            state <= S_IDLE; running <= 1'b0; flushing <= 1'b0; flush_end <= 1'b0; done <= 1'b0;
            err_config <= 1'b0;
            err_stream <= 1'b0; aborted <= 1'b0;
            next_slot <= 1'b0; all_issued <= 1'b0; slot_issued <= 2'b00; pass_macs <= 0; bank_busy <= 2'b00;
            res_done <= 1'b0; wgt_stall_q <= 1'b0;
            cnt_cycles <= 0; cnt_busy <= 0; macs_lo <= 0; macs_hi <= 0; cnt_stall_act <= 0; cnt_stall_wgt <= 0;
            cnt_stall_res <= 0; cnt_passes <= 0;
        end else begin
            // the MAC counter's carry, one cycle later: also in the cycle after the last busy one
            // (an add in a flush's last cycle); a start's clear below overrides it
            macs_hi <= macs_hi + {31'd0, macs_lo[32]};
            running <= run_n; all_issued <= all_issued_n; next_slot <= next_slot_n;
            slot_issued <= slot_issued_n;
            feed_ok <= {next_slot_n, !next_slot_n} & ~slot_issued_n & {2{run_n && !all_issued_n}};
            (* parallel_case *)
            case (1'b1)                              // one-hot: one state bit per arm
                state[I_IDLE]: if (start) begin
                    state <= S_GEOM; done <= 1'b0; err_config <= 1'b0; err_stream <= 1'b0; aborted <= 1'b0;
                    bank_busy <= 2'b00;
                    cnt_cycles <= 0; cnt_busy <= 0; macs_lo <= 0; macs_hi <= 0; cnt_stall_act <= 0;
                    cnt_stall_wgt <= 0; cnt_stall_res <= 0; cnt_passes <= 0;
                end
                state[I_GEOM]: if (g_end) state <= S_CHECK;
                state[I_CHECK]: state <= S_GO;
                state[I_GO]: begin
                    if (cfg_ok) state <= S_LOAD;
                    else begin
                        state <= S_IDLE; done <= 1'b1; err_config <= 1'b1;
                    end
                end
                state[I_LOAD]: if (!act_busy) state <= S_RUN;
                state[I_RUN]: if (res_done) begin
                    state <= S_IDLE; done <= 1'b1;
                end
                state[I_FLUSH]: begin                       // 2 cycles: dp_rst rises, the data path in reset
                    flush_end <= 1'b1;
                    if (flush_end) begin
                        state <= S_IDLE; flushing <= 1'b0; flush_end <= 1'b0; done <= 1'b1;
                    end
                end
                default: state <= S_IDLE;
            endcase
            if (kill) begin                          // overrides the case above
                state <= S_FLUSH; flushing <= 1'b1; flush_end <= 1'b0;
                done <= 1'b0; err_config <= 1'b0;    // not the end a bad descriptor or a last beat gives
                err_stream <= serr_q; aborted <= abort && !serr_q;
            end

            // the last result beat, registered (the FSM's enable stays off the result FIFO's read
            // path); the cycle after it is not counted, so CYCLES ends with the last beat
            res_done <= running && res_valid && res_ready && res_last;
            if (busy && !res_done) begin
                cnt_cycles <= cnt_cycles + 1'b1;
            end
            if (busy && wg_issue) begin
                cnt_busy <= cnt_busy + 1'b1;
                macs_lo  <= {1'b0, macs_lo[31:0]} + {{(33-MW){1'b0}}, pass_macs};
            end else begin
                macs_lo[32] <= 1'b0;                 // a carry is taken once
            end
            if (busy) begin
                if (act_stall) cnt_stall_act <= cnt_stall_act + 1'b1;
                if (res_valid && !res_ready) cnt_stall_res <= cnt_stall_res + 1'b1;
            end

            // a weight stall is counted a cycle after it (the flag keeps the loader's stream
            // handshake off the counter's carry chain); the last one lands in the IDLE cycle
            wgt_stall_q <= running && !all_issued && !wg_issue && wgt_stall;
            if (wgt_stall_q) cnt_stall_wgt <= cnt_stall_wgt + 1'b1;

            if (wg_start) begin
                pass_macs <= slot_macs[next_slot*MW +: MW];
                cnt_passes <= cnt_passes + 1'b1;
            end

            if (bank_claim) bank_busy[bank_claim_id] <= 1'b1;
            if (bank_free_valid) bank_busy[bank_free_id] <= 1'b0;

            if (flushing) begin                      // the feeder's state, as a start leaves it
                bank_busy <= 2'b00; res_done <= 1'b0;
            end
        end
    end
endmodule
`default_nettype wire
