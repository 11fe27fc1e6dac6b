// sps_top.v -- Sparse Periodic Systolic (SPS) CNN accelerator, top level.
// One 3x3 convolution layer (or band of one) per start: AXI4-Lite descriptor and counters,
// AXI4-Stream activations in (LANES int8 per beat), weights in (COLS int8 per beat) and results
// out (COLS int32 per beat). Data path: act loader -> activation buffer -> window generator ->
// indexing unit (walker + per-row select + skew) -> ROWS x COLS weight-stationary PE array ->
// accumulator (ping-pong) -> output stage (bias, requant, ReLU) -> result FIFO.
// Parameters default to config/sps.json (via build/gen/sps_config.vh); see docs/ARCHITECTURE.md.
// Latency: a pixel's window reaches array row 0 four cycles after issue; its result reaches the
// accumulator ROWS + COLS + 1 cycles later (+ 1 with MACS_PER_DSP = 2); the drain adds 6 cycles to m_axis_res.
`default_nettype none
`include "sps_config.vh"
`include "sps_widths.vh"
module sps_top #(
    parameter ROWS           = `SPS_ROWS,            // array rows (PEs per column); LANES must divide it
    parameter COLS           = `SPS_COLS,            // array columns: output channels per tile
    parameter LANES          = `SPS_LANES,           // activation lanes: int8 activations per buffer word and per beat
    parameter ACT_DEPTH      = `SPS_ACT_DEPTH,       // words per activation sub-bank
    parameter ACC_DEPTH      = `SPS_ACC_DEPTH,       // words per accumulator bank: output pixels
    parameter PMAX           = `SPS_PMAX,            // largest pattern period P the pattern table holds
    parameter DIM_BITS       = `SPS_DIM_BITS,        // bits of a height or width (H, W, HOUT, WOUT)
    parameter CH_BITS        = `SPS_CH_BITS,         // bits of a channel count (C, F_g)
    parameter OUT_FIFO_DEPTH = `SPS_OUT_FIFO_DEPTH,  // result FIFO entries (beats), >= 8
    parameter MACS_PER_DSP   = `SPS_MACS_PER_DSP,    // int8 MACs per array multiplier: 1, or 2 (two columns share a DSP)
    // widths of the wires between the blocks (each block binds the ones it needs to the same macros)
    localparam RW            = `SPS_RW,              // bits of an array row index
    localparam PW            = `SPS_PW,              // bits of a phase / pattern index
    localparam AW            = `SPS_AW,              // activation buffer address bits
    localparam PXW           = `SPS_PXW,             // bits of a pixel index
    localparam BW            = `SPS_BW,              // bits of a batch size
    `include "sps_sideband.vh"
) (
    input  wire                 clk,
    input  wire                 rst,
    // AXI4-Lite control
    input  wire [11:0]          s_axil_awaddr,
    input  wire [2:0]           s_axil_awprot,
    input  wire                 s_axil_awvalid,
    output wire                 s_axil_awready,
    input  wire [31:0]          s_axil_wdata,
    input  wire [3:0]           s_axil_wstrb,
    input  wire                 s_axil_wvalid,
    output wire                 s_axil_wready,
    output wire [1:0]           s_axil_bresp,
    output wire                 s_axil_bvalid,
    input  wire                 s_axil_bready,
    input  wire [11:0]          s_axil_araddr,
    input  wire [2:0]           s_axil_arprot,
    input  wire                 s_axil_arvalid,
    output wire                 s_axil_arready,
    output wire [31:0]          s_axil_rdata,
    output wire [1:0]           s_axil_rresp,
    output wire                 s_axil_rvalid,
    input  wire                 s_axil_rready,
    // activations in
    input  wire [LANES*8-1:0]   s_axis_act_tdata,
    input  wire                 s_axis_act_tvalid,
    input  wire                 s_axis_act_tlast,
    output wire                 s_axis_act_tready,
    // weights in
    input  wire [COLS*8-1:0]    s_axis_wgt_tdata,
    input  wire                 s_axis_wgt_tvalid,
    input  wire                 s_axis_wgt_tlast,
    output wire                 s_axis_wgt_tready,
    // results out
    output wire [COLS*32-1:0]   m_axis_res_tdata,
    output wire                 m_axis_res_tvalid,
    output wire                 m_axis_res_tlast,
    input  wire                 m_axis_res_tready,
    // status
    output wire                 busy,
    output wire                 done
);
    // ---- parameter rules: those compiler/config.py enforces, so a bad set fails the build --------
    // A broken rule instantiates a module that does not exist, named after the rule: Verilator,
    // Icarus and Yosys (hierarchy -check) each stop there and print that name.
    generate
        if (ROWS < 1)           begin : g_bad_rows  SPS_CONFIG_ERROR_ROWS_must_be_positive u_bad (); end
        if (COLS < 1)           begin : g_bad_cols  SPS_CONFIG_ERROR_COLS_must_be_positive u_bad (); end
        if (LANES < 1)          begin : g_bad_lanes SPS_CONFIG_ERROR_LANES_must_be_positive u_bad (); end
        if (ACT_DEPTH < 1)      begin : g_bad_actd  SPS_CONFIG_ERROR_ACT_DEPTH_must_be_positive u_bad (); end
        if (ACC_DEPTH < 1)      begin : g_bad_accd  SPS_CONFIG_ERROR_ACC_DEPTH_must_be_positive u_bad (); end
        if (PMAX < 1)           begin : g_bad_pmax  SPS_CONFIG_ERROR_PMAX_must_be_positive u_bad (); end
        if (DIM_BITS < 1)       begin : g_bad_dimb  SPS_CONFIG_ERROR_DIM_BITS_must_be_positive u_bad (); end
        if (CH_BITS < 1)        begin : g_bad_chb   SPS_CONFIG_ERROR_CH_BITS_must_be_positive u_bad (); end
        // CFG0 holds ROWS, COLS, LANES and PMAX in 8-bit fields
        if (ROWS > 255)         begin : g_big_rows  SPS_CONFIG_ERROR_ROWS_must_be_at_most_255 u_bad (); end
        if (COLS > 255)         begin : g_big_cols  SPS_CONFIG_ERROR_COLS_must_be_at_most_255 u_bad (); end
        if (LANES > 255)        begin : g_big_lanes SPS_CONFIG_ERROR_LANES_must_be_at_most_255 u_bad (); end
        if (PMAX > 255)         begin : g_big_pmax  SPS_CONFIG_ERROR_PMAX_must_be_at_most_255 u_bad (); end
        // the walker binds array row r to activation lane r mod LANES
        if (LANES >= 1 && ROWS % LANES != 0)
                                begin : g_lanes_div SPS_CONFIG_ERROR_LANES_must_divide_ROWS u_bad (); end
        // PAT[i] at 0x030 + 4i and FG[g] at 0x030 + 4 PMAX + 4g end below BATCH at 0x0FC
        if (8 * PMAX > 'h0FC - 'h030)
                                begin : g_pmax_map  SPS_CONFIG_ERROR_PMAX_must_be_at_most_25_for_the_register_map u_bad (); end
        // the drain keeps 6 reads in flight and the FIFO holds a beat: fewer entries throttle it
        if (OUT_FIFO_DEPTH < 8) begin : g_fifo_min  SPS_CONFIG_ERROR_OUT_FIFO_DEPTH_must_be_at_least_8 u_bad (); end
        // sps_array has a PE for one MAC per multiplier and a PE pair for two
        if (MACS_PER_DSP != 1 && MACS_PER_DSP != 2)
                                begin : g_macs      SPS_CONFIG_ERROR_MACS_PER_DSP_must_be_1_or_2 u_bad (); end
    endgenerate

    // fixed design width: a tile's MAC count per pixel (word addresses are AW bits everywhere:
    // sps_ctrl checks that the layer's activations fit ACT_DEPTH words before anything starts)
    localparam MW  = 32;

    // ---- registers --------------------------------------------------------------------------
    wire [CH_BITS-1:0]      r_c;
    wire [DIM_BITS-1:0]     r_h, r_w, r_hout, r_wout;
    wire [1:0]              r_stride, r_padt, r_padl, r_mode;
    wire [PW:0]             r_npat;
    wire [9*PMAX-1:0]       r_pat;
    wire [CH_BITS*PMAX-1:0] r_fg;
    wire [BW-1:0]           r_batch;
    wire                    start, abort, err_config, err_stream, aborted, wl_err, act_err;
    wire                    dp_rst;    // the data path's reset: rst, or a soft abort's flush (sps_ctrl)
    wire [31:0]             cnt_cycles, cnt_busy, cnt_stall_act, cnt_stall_wgt, cnt_stall_res, cnt_passes;
    wire [63:0]             cnt_macs;

    sps_axil_regs #(.ROWS(ROWS), .COLS(COLS), .LANES(LANES), .PMAX(PMAX), .ACT_DEPTH(ACT_DEPTH),
                    .ACC_DEPTH(ACC_DEPTH), .DIM_BITS(DIM_BITS), .CH_BITS(CH_BITS)) u_regs (
        .clk(clk), .rst(rst),
        .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot), .s_axil_awvalid(s_axil_awvalid),
        .s_axil_awready(s_axil_awready), .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
        .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready), .s_axil_bresp(s_axil_bresp),
        .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready), .s_axil_araddr(s_axil_araddr),
        .s_axil_arprot(s_axil_arprot), .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
        .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
        .s_axil_rready(s_axil_rready),
        .c(r_c), .h(r_h), .w(r_w), .hout(r_hout), .wout(r_wout), .stride(r_stride),
        .pad_top(r_padt), .pad_left(r_padl), .mode(r_mode), .npat(r_npat), .pat(r_pat), .fg(r_fg),
        .batch(r_batch), .start(start), .abort(abort), .busy(busy), .done(done), .err_stream(err_stream),
        .err_config(err_config), .aborted(aborted),
        .cnt_cycles(cnt_cycles), .cnt_busy(cnt_busy), .cnt_macs(cnt_macs),
        .cnt_stall_act(cnt_stall_act), .cnt_stall_wgt(cnt_stall_wgt), .cnt_stall_res(cnt_stall_res),
        .cnt_passes(cnt_passes));

    // ---- control ----------------------------------------------------------------------------
    wire [AW-1:0]      w3, hw3, hw3b;
    wire [AW:0]        cbb;
    wire [PXW:0]       npixb;
    wire               go, act_busy, act_stall, wgt_stall;
    wire [1:0]         slot_full, slot_first_rt, slot_last_rt, slot_bank, slot_last_pass, bank_busy;
    wire [2*AW-1:0]    slot_base_chaddr;
    wire [2*MW-1:0]    slot_macs;
    wire               slot_free_valid, slot_free_tag;
    wire               wg_can_start, wg_issue, wg_issue_tag, wg_start, wg_tag;
    wire [AW-1:0]      wg_base_chaddr;
    wire [SB_PASS_W-1:0] wg_pass_sb;             // the pass sideband (rtl/sps_sideband.vh)
    wire               bank_claim, bank_claim_id, bank_free_valid, bank_free_id;

    sps_ctrl #(.LANES(LANES), .PMAX(PMAX), .ACT_DEPTH(ACT_DEPTH), .ACC_DEPTH(ACC_DEPTH),
               .DIM_BITS(DIM_BITS), .CH_BITS(CH_BITS), .MW(MW)) u_ctrl (
        .clk(clk), .rst(rst), .start(start), .abort(abort), .stream_err(wl_err || act_err),
        .c(r_c), .h(r_h), .w(r_w), .hout(r_hout), .wout(r_wout), .stride(r_stride),
        .pad_top(r_padt), .pad_left(r_padl), .npat(r_npat), .pat(r_pat), .fg(r_fg), .batch(r_batch),
        .w3(w3), .hw3(hw3), .hw3b(hw3b), .cbb(cbb), .npixb(npixb),
        .go(go), .act_busy(act_busy), .act_stall(act_stall), .wgt_stall(wgt_stall),
        .slot_full(slot_full), .slot_first_rt(slot_first_rt), .slot_last_rt(slot_last_rt),
        .slot_bank(slot_bank), .slot_last_pass(slot_last_pass),
        .slot_base_chaddr(slot_base_chaddr), .slot_macs(slot_macs),
        .slot_free_valid(slot_free_valid), .slot_free_tag(slot_free_tag),
        .wg_can_start(wg_can_start), .wg_issue(wg_issue), .wg_start(wg_start),
        .wg_base_chaddr(wg_base_chaddr), .wg_tag(wg_tag),
        .wg_pass_sb(wg_pass_sb),
        .bank_claim(bank_claim), .bank_claim_id(bank_claim_id),
        .bank_free_valid(bank_free_valid), .bank_free_id(bank_free_id), .bank_busy(bank_busy),
        .res_valid(m_axis_res_tvalid), .res_ready(m_axis_res_tready), .res_last(m_axis_res_tlast),
        .busy(busy), .done(done), .err_config(err_config), .err_stream(err_stream), .aborted(aborted),
        .dp_rst(dp_rst), .cnt_cycles(cnt_cycles), .cnt_busy(cnt_busy), .cnt_macs(cnt_macs),
        .cnt_stall_act(cnt_stall_act), .cnt_stall_wgt(cnt_stall_wgt), .cnt_stall_res(cnt_stall_res),
        .cnt_passes(cnt_passes));

    // ---- activations --------------------------------------------------------------------------
    wire                  ab_we;
    wire [3:0]            ab_wsub;
    wire [AW-1:0]         ab_waddr;
    wire [LANES*8-1:0]    ab_wdata;
    wire                  ab_re;
    wire [9*AW-1:0]       ab_raddr;
    wire [9*LANES*8-1:0]  ab_rdata;

    sps_act_loader #(.LANES(LANES), .ACT_DEPTH(ACT_DEPTH), .DIM_BITS(DIM_BITS)) u_actld (
        .clk(clk), .rst(dp_rst), .start(go), .n_blk(cbb), .h(r_h), .w(r_w), .w3(w3), .hw3(hw3),
        .s_tdata(s_axis_act_tdata), .s_tvalid(s_axis_act_tvalid), .s_tlast(s_axis_act_tlast),
        .s_tready(s_axis_act_tready),
        .we(ab_we), .wsub(ab_wsub), .waddr(ab_waddr), .wdata(ab_wdata),
        .busy(act_busy), .err(act_err), .stall(act_stall));

    // the activation buffer's read latency: a registered address and the block RAMs' output
    // registers (sps_act_buffer); the window generator and the indexing unit wait for it
    localparam ACT_RD_LAT = 3;
    sps_act_buffer #(.LANES(LANES), .ACT_DEPTH(ACT_DEPTH), .RD_LAT(ACT_RD_LAT)) u_actbuf (
        .clk(clk), .we(ab_we), .wsub(ab_wsub), .waddr(ab_waddr), .wdata(ab_wdata),
        .re(ab_re), .raddr(ab_raddr), .rdata(ab_rdata));

    wire                 win_valid, win_last;
    wire [PXW-1:0]       win_pixel;
    wire [SB_PASS_W-1:0] win_pass_sb;
    wire [9*LANES*8-1:0] win;
    wire [1:0]           f1_y0m, f1_x0m;
    wire [2:0]           f1_row_in, f1_col_in;

    sps_window_gen #(.LANES(LANES), .ACT_DEPTH(ACT_DEPTH), .ACC_DEPTH(ACC_DEPTH), .DIM_BITS(DIM_BITS),
                     .SBW(SB_PASS_W), .RD_LAT(ACT_RD_LAT)) u_wgen (
        .clk(clk), .rst(dp_rst), .h(r_h), .w(r_w), .hout(r_hout), .wout(r_wout),
        .stride2(r_stride == 2'd2), .pad_top(r_padt), .pad_left(r_padl), .w3(w3),
        .hw3(hw3), .batch(r_batch), .start(wg_start), .base_chaddr(wg_base_chaddr), .tag(wg_tag),
        .sb(wg_pass_sb), .can_start(wg_can_start), .issue(wg_issue), .issue_tag(wg_issue_tag),
        .pass_end(slot_free_valid), .pass_end_tag(slot_free_tag),
        .rd_en(ab_re), .rd_addr(ab_raddr), .rd_data(ab_rdata),
        .f1_y0m(f1_y0m), .f1_x0m(f1_x0m), .f1_row_in(f1_row_in), .f1_col_in(f1_col_in),
        .win_valid(win_valid), .win_last(win_last), .win_pixel(win_pixel),
        .win_sb(win_pass_sb), .win(win));

    // ---- weights and index -------------------------------------------------------------------
    wire               hdr_wr_en, hdr_wr_bank;
    wire [2:0]         hdr_wr_beat;
    wire [COLS*8-1:0]  hdr_wr_data, w_wr_data;
    wire               w_wr_en, w_wr_slot, idx_rowen;
    wire [RW-1:0]      w_wr_row;
    wire [3:0]         idx_pos;

    sps_weight_loader #(.ROWS(ROWS), .COLS(COLS), .LANES(LANES), .PMAX(PMAX), .CH_BITS(CH_BITS),
                        .ACT_DEPTH(ACT_DEPTH), .MW(MW)) u_wload (
        .clk(clk), .rst(dp_rst), .start(go), .n_ch(r_c), .pat(r_pat), .npat(r_npat), .fg(r_fg), .hw3b(hw3b),
        .s_tdata(s_axis_wgt_tdata), .s_tvalid(s_axis_wgt_tvalid), .s_tlast(s_axis_wgt_tlast),
        .s_tready(s_axis_wgt_tready),
        .bank_busy(bank_busy), .bank_claim(bank_claim), .bank_claim_id(bank_claim_id),
        .hdr_wr_en(hdr_wr_en), .hdr_wr_bank(hdr_wr_bank), .hdr_wr_beat(hdr_wr_beat), .hdr_wr_data(hdr_wr_data),
        .w_wr_en(w_wr_en), .w_wr_slot(w_wr_slot), .w_wr_row(w_wr_row), .w_wr_data(w_wr_data),
        .idx_rowen(idx_rowen), .idx_pos(idx_pos),
        .slot_free_valid(slot_free_valid), .slot_free_tag(slot_free_tag),
        .slot_full(slot_full), .slot_first_rt(slot_first_rt), .slot_last_rt(slot_last_rt),
        .slot_bank(slot_bank), .slot_last_pass(slot_last_pass),
        .slot_base_chaddr(slot_base_chaddr), .slot_macs(slot_macs),
        .err(wl_err), .stall(wgt_stall));

    // the window's pixel sideband (rtl/sps_sideband.vh), through the indexing unit to the accumulator
    reg  [SB_PIX_W-1:0] win_pix_sb;
    always @(*) begin
        win_pix_sb                           = {SB_PIX_W{1'b0}};
        win_pix_sb[SB_PIX_LAST_PX]           = win_last;
        win_pix_sb[SB_PIX_PIXEL +: PXW]      = win_pixel;
        win_pix_sb[SB_PIX_PASS +: SB_PASS_W] = win_pass_sb;
    end
    wire [ROWS-1:0]     row_valid, row_tag;
    wire [ROWS*8-1:0]   row_a;
    wire                pix_sb_valid;
    wire [SB_PIX_W-1:0] pix_sb;

    wire               i_wr_en, i_wr_slot, i_wr_rowen;
    wire [RW-1:0]      i_wr_row;
    wire [3:0]         i_wr_pos;
    sps_delay #(.WIDTH(3 + RW + 4), .DEPTH(1)) u_idx_wr_delay (
        .clk(clk), .rst(dp_rst), .d({w_wr_en, w_wr_slot, w_wr_row, idx_rowen, idx_pos}),
        .q({i_wr_en, i_wr_slot, i_wr_row, i_wr_rowen, i_wr_pos}));
    sps_index_select #(.ROWS(ROWS), .LANES(LANES), .SBW(SB_PIX_W), .RD_LAT(ACT_RD_LAT)) u_isel (
        .clk(clk), .rst(dp_rst),
        .idx_wr_en(i_wr_en), .idx_wr_slot(i_wr_slot), .idx_wr_row(i_wr_row), .idx_wr_rowen(i_wr_rowen),
        .idx_wr_pos(i_wr_pos), .issue(wg_issue), .issue_tag(wg_issue_tag),
        .f1_y0m(f1_y0m), .f1_x0m(f1_x0m), .f1_row_in(f1_row_in), .f1_col_in(f1_col_in),
        .win(win), .win_valid(win_valid), .win_sb(win_pix_sb),
        .row_valid(row_valid), .row_tag(row_tag), .row_a(row_a), .sb_valid(pix_sb_valid), .sb_out(pix_sb));

    // ---- array, accumulator, output ------------------------------------------------------------
    /* verilator lint_off UNUSEDSIGNAL */
    wire [COLS-1:0]    col_valid, col_tag;     // the sideband carries the same information
    /* verilator lint_on UNUSEDSIGNAL */
    wire [COLS*32-1:0] psum;

    // weight writes reach the array WGT_WR_DELAY cycles after the loader's beat: a slot's weights
    // are then rewritten behind the last pixel of its pass even when the weight loader starts on
    // the slot in the cycle after that pixel was issued (the pixel meets array row r
    // ACT_RD_LAT + 3 + r cycles after its issue; docs/ARCHITECTURE.md section 7). The index write is delayed by one cycle
    // (a register between the walker and the indexing unit's slot registers): the indexing unit
    // reads a slot's kernel positions when a pixel is issued, the old pass's last issue is before
    // the slot's rewrite starts, and a new pass's first issue comes 2 cycles after the write of
    // its tile's last row at the earliest.
    localparam WGT_WR_DELAY = ACT_RD_LAT + 2;
    wire               a_wr_en, a_wr_slot;
    wire [RW-1:0]      a_wr_row;
    wire [COLS*8-1:0]  a_wr_data;
    sps_delay #(.WIDTH(2 + RW + COLS*8), .DEPTH(WGT_WR_DELAY)) u_wgt_wr_delay (
        .clk(clk), .rst(dp_rst), .d({w_wr_en, w_wr_slot, w_wr_row, w_wr_data}),
        .q({a_wr_en, a_wr_slot, a_wr_row, a_wr_data}));

    wire                acc_sb_valid;
    wire [SB_PIX_W-1:0] acc_sb;
    sps_array #(.ROWS(ROWS), .COLS(COLS), .SBW(SB_PIX_W + 1), .MACS_PER_DSP(MACS_PER_DSP)) u_array (
        .clk(clk), .rst(dp_rst), .wr_en(a_wr_en), .wr_slot(a_wr_slot), .wr_row(a_wr_row), .wr_data(a_wr_data),
        .sb_in({pix_sb_valid, pix_sb}), .sb_out({acc_sb_valid, acc_sb}),
        .row_valid(row_valid), .row_tag(row_tag), .row_a(row_a),
        .valid_out(col_valid), .tag_out(col_tag), .psum_out(psum));

    wire               drain_active, drain_bank, done_valid, done_bank, done_last;
    /* verilator lint_off UNUSEDSIGNAL */
    wire               drain_re;      // the read itself: the accumulator's RAMs read every cycle
    /* verilator lint_on UNUSEDSIGNAL */
    wire [PXW-1:0]     drain_addr;
    wire [COLS*32-1:0] drain_data;

    sps_accumulator #(.COLS(COLS), .ACC_DEPTH(ACC_DEPTH)) u_acc (
        .clk(clk), .rst(dp_rst), .psum_in(psum),
        .sb_valid(acc_sb_valid), .sb(acc_sb),
        .drain_active(drain_active), .drain_bank(drain_bank), .drain_addr(drain_addr), .drain_data(drain_data),
        .done_valid(done_valid), .done_bank(done_bank), .done_last(done_last));

    sps_output_stage #(.COLS(COLS), .ACC_DEPTH(ACC_DEPTH), .OUT_FIFO_DEPTH(OUT_FIFO_DEPTH)) u_out (
        .clk(clk), .rst(dp_rst), .start(go), .npix(npixb), .requant(r_mode[0]), .relu(r_mode[1]),
        .hdr_wr_en(hdr_wr_en), .hdr_wr_bank(hdr_wr_bank), .hdr_wr_beat(hdr_wr_beat), .hdr_wr_data(hdr_wr_data),
        .done_valid(done_valid), .done_bank(done_bank), .done_last(done_last),
        .drain_re(drain_re), .drain_active(drain_active), .drain_bank(drain_bank), .drain_addr(drain_addr),
        .drain_data(drain_data), .bank_free_valid(bank_free_valid), .bank_free_id(bank_free_id),
        .m_tdata(m_axis_res_tdata), .m_tvalid(m_axis_res_tvalid), .m_tlast(m_axis_res_tlast),
        .m_tready(m_axis_res_tready));
endmodule
`default_nettype wire
