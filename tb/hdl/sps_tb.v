// sps_tb.v -- testbench only: the top level every sps_top simulation runs on (tb/env/top.py).
// It passes sps_top's ports through, and adds a second, fast transport for the three streams:
//   mem_mode = 0  the s_axis_act / s_axis_wgt / m_axis_res ports below drive sps_top (cocotbext-axi
//                 sources and sink in Python: protocol-level work, any stall shape);
//   mem_mode = 1  testbench memories replay the activation and weight streams and collect the
//                 results (sps_tb_source / sps_tb_sink), each stream with its own seeded stall
//                 generator (sps_tb_pause): Python is off the per-cycle path, it loads the memories
//                 from files between bands and reads the results after done.
// The AXI4-Lite port always comes from Python. Memory sizes: 2^WGT_AW, 2^ACT_AW, 2^RES_AW beats.
// The clock: with clk_ext = 0 it is generated here (period CLK_NS, first rising edge at CLK_NS/2);
// a clock driven from cocotb costs two VPI callbacks a cycle, more than half the time of a cycle
// of the 8x8 array simulated by Verilator, which builds this file with --timing for the delay.
// With clk_ext = 1 it is clk_in, driven by cocotb: the "axi" transport needs that, because
// cocotbext-axi samples handshakes right after the rising edge it awaits, which shows the values
// before the edge only for a clock changed from outside the design.
`default_nettype none
`include "sps_config.vh"
`include "sps_widths.vh"
module sps_tb #(
    parameter ROWS           = `SPS_ROWS,            // array rows (PEs per column); LANES must divide it
    parameter COLS           = `SPS_COLS,            // array columns: output channels per tile
    parameter LANES          = `SPS_LANES,           // activation lanes: int8 activations per buffer word and per beat
    parameter ACT_DEPTH      = `SPS_ACT_DEPTH,       // words per activation sub-bank
    parameter ACC_DEPTH      = `SPS_ACC_DEPTH,       // words per accumulator bank: output pixels
    parameter PMAX           = `SPS_PMAX,            // largest pattern period P the pattern table holds
    parameter DIM_BITS       = `SPS_DIM_BITS,        // bits of a height or width (H, W, HOUT, WOUT)
    parameter CH_BITS        = `SPS_CH_BITS,         // bits of a channel count (C, F_g)
    parameter OUT_FIFO_DEPTH = `SPS_OUT_FIFO_DEPTH,  // result FIFO entries (beats), >= 8
    parameter MACS_PER_DSP   = `SPS_MACS_PER_DSP,    // int8 MACs per array multiplier: 1 or 2
    parameter WGT_AW         = 19,                   // weight stream memory: 2^WGT_AW beats
    parameter ACT_AW         = 15,                   // activation stream memory: 2^ACT_AW beats
    parameter RES_AW         = 15,                   // result memory: 2^RES_AW beats
    parameter CLK_NS         = 10                    // period of the clock generated here (ns)
) (
    input  wire                 clk_ext,
    input  wire                 clk_in,
    input  wire                 rst,
    // AXI4-Lite control (to sps_top)
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
    // streams of the cocotbext-axi transport (mem_mode = 0)
    input  wire [LANES*8-1:0]   s_axis_act_tdata,
    input  wire                 s_axis_act_tvalid,
    input  wire                 s_axis_act_tlast,
    output wire                 s_axis_act_tready,
    input  wire [COLS*8-1:0]    s_axis_wgt_tdata,
    input  wire                 s_axis_wgt_tvalid,
    input  wire                 s_axis_wgt_tlast,
    output wire                 s_axis_wgt_tready,
    output wire [COLS*32-1:0]   m_axis_res_tdata,
    output wire                 m_axis_res_tvalid,
    output wire                 m_axis_res_tlast,
    input  wire                 m_axis_res_tready,
    output wire                 busy,
    output wire                 done,
    // the memory transport (mem_mode = 1)
    input  wire                 mem_mode,
    input  wire                 mem_load,       // high for a cycle: load sps_tb_{act,wgt}.bin, empty the sink
    input  wire                 mem_dump,       // high for a cycle: write the results to sps_tb_res.hex
    input  wire [ACT_AW:0]      act_beats,
    input  wire [WGT_AW:0]      wgt_beats,
    input  wire [ACT_AW:0]      act_last_at,    // the beat with TLAST: beats - 1, or (fault
    input  wire [WGT_AW:0]      wgt_last_at,    // injection) earlier, or >= beats for none
    input  wire [31:0]          act_seed,
    input  wire [16:0]          act_enter,
    input  wire [16:0]          act_leave,
    input  wire [31:0]          wgt_seed,
    input  wire [16:0]          wgt_enter,
    input  wire [16:0]          wgt_leave,
    input  wire [31:0]          res_seed,
    input  wire [16:0]          res_enter,
    input  wire [16:0]          res_leave,
    output wire [ACT_AW:0]      act_left,
    output wire [WGT_AW:0]      wgt_left,
    output wire                 act_load_err,
    output wire                 wgt_load_err,
    output wire [RES_AW:0]      res_count,
    output wire [RES_AW:0]      res_lasts,
    output wire [RES_AW:0]      res_last_at,
    output wire [7:0]           res_idle,
    output wire                 res_overflow,
    output reg                  res_fifo_full,  // sps_top's result FIFO was full since the last load
    // protocol checkers (sps_tb_axis_check) on sps_top's ports, whichever transport drives them:
    // channel 0 act, 1 wgt, 2 res, 3 AW, 4 W, 5 B, 6 AR, 7 R; per channel its kind (2 bits) and
    // the cycle since reset of its first violation (32 bits)
    output wire [7:0]           proto_err,
    output wire [15:0]          proto_kind,
    output wire [255:0]         proto_cycle
);
    reg  clk_gen = 1'b0;
    initial forever #(CLK_NS / 2) clk_gen = !clk_gen;
    wire clk = clk_ext ? clk_in : clk_gen;

    wire act_pause, wgt_pause, res_pause;
    sps_tb_pause u_act_pause (.clk(clk), .rst(rst), .load(mem_load), .seed(act_seed), .enter(act_enter),
                              .leave(act_leave), .pause(act_pause));
    sps_tb_pause u_wgt_pause (.clk(clk), .rst(rst), .load(mem_load), .seed(wgt_seed), .enter(wgt_enter),
                              .leave(wgt_leave), .pause(wgt_pause));
    sps_tb_pause u_res_pause (.clk(clk), .rst(rst), .load(mem_load), .seed(res_seed), .enter(res_enter),
                              .leave(res_leave), .pause(res_pause));

    wire [LANES*8-1:0]  ma_tdata;
    wire                ma_tvalid, ma_tlast;
    wire [COLS*8-1:0]   mw_tdata;
    wire                mw_tvalid, mw_tlast;
    wire                ms_tready;
    wire                act_tready, wgt_tready, res_tvalid, res_tlast;
    wire [COLS*32-1:0]  res_tdata;

    // the streams as sps_top sees them
    wire [LANES*8-1:0]  top_act_tdata  = mem_mode ? ma_tdata  : s_axis_act_tdata;
    wire                top_act_tvalid = mem_mode ? ma_tvalid : s_axis_act_tvalid;
    wire                top_act_tlast  = mem_mode ? ma_tlast  : s_axis_act_tlast;
    wire [COLS*8-1:0]   top_wgt_tdata  = mem_mode ? mw_tdata  : s_axis_wgt_tdata;
    wire                top_wgt_tvalid = mem_mode ? mw_tvalid : s_axis_wgt_tvalid;
    wire                top_wgt_tlast  = mem_mode ? mw_tlast  : s_axis_wgt_tlast;
    wire                top_res_tready = mem_mode ? ms_tready : m_axis_res_tready;

    sps_tb_source #(.W(LANES * 8), .AW(ACT_AW), .FILE("sps_tb_act.bin")) u_act_src (
        .clk(clk), .rst(rst), .load(mem_load), .beats(act_beats), .pause(act_pause), .last_at(act_last_at),
        .tdata(ma_tdata), .tvalid(ma_tvalid), .tlast(ma_tlast), .tready(act_tready && mem_mode),
        .left(act_left), .load_err(act_load_err));
    sps_tb_source #(.W(COLS * 8), .AW(WGT_AW), .FILE("sps_tb_wgt.bin")) u_wgt_src (
        .clk(clk), .rst(rst), .load(mem_load), .beats(wgt_beats), .pause(wgt_pause), .last_at(wgt_last_at),
        .tdata(mw_tdata), .tvalid(mw_tvalid), .tlast(mw_tlast), .tready(wgt_tready && mem_mode),
        .left(wgt_left), .load_err(wgt_load_err));
    sps_tb_sink #(.W(COLS * 32), .AW(RES_AW), .FILE("sps_tb_res.hex")) u_res_sink (
        .clk(clk), .rst(rst), .load(mem_load), .dump(mem_dump), .pause(res_pause),
        .tdata(res_tdata), .tvalid(res_tvalid && mem_mode), .tlast(res_tlast), .tready(ms_tready),
        .count(res_count), .lasts(res_lasts), .last_at(res_last_at), .idle(res_idle), .overflow(res_overflow));

    assign s_axis_act_tready = act_tready && !mem_mode;
    assign s_axis_wgt_tready = wgt_tready && !mem_mode;
    assign m_axis_res_tdata  = res_tdata;
    assign m_axis_res_tvalid = res_tvalid && !mem_mode;
    assign m_axis_res_tlast  = res_tlast;

    sps_top #(
        .ROWS(ROWS), .COLS(COLS), .LANES(LANES), .ACT_DEPTH(ACT_DEPTH), .ACC_DEPTH(ACC_DEPTH),
        .PMAX(PMAX), .DIM_BITS(DIM_BITS), .CH_BITS(CH_BITS), .OUT_FIFO_DEPTH(OUT_FIFO_DEPTH),
        .MACS_PER_DSP(MACS_PER_DSP)
    ) u_top (
        .clk(clk), .rst(rst),
        .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot), .s_axil_awvalid(s_axil_awvalid),
        .s_axil_awready(s_axil_awready), .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
        .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready), .s_axil_bresp(s_axil_bresp),
        .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready), .s_axil_araddr(s_axil_araddr),
        .s_axil_arprot(s_axil_arprot), .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
        .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
        .s_axil_rready(s_axil_rready),
        .s_axis_act_tdata(top_act_tdata), .s_axis_act_tvalid(top_act_tvalid),
        .s_axis_act_tlast(top_act_tlast), .s_axis_act_tready(act_tready),
        .s_axis_wgt_tdata(top_wgt_tdata), .s_axis_wgt_tvalid(top_wgt_tvalid),
        .s_axis_wgt_tlast(top_wgt_tlast), .s_axis_wgt_tready(wgt_tready),
        .m_axis_res_tdata(res_tdata), .m_axis_res_tvalid(res_tvalid), .m_axis_res_tlast(res_tlast),
        .m_axis_res_tready(top_res_tready),
        .busy(busy), .done(done));

    // ---- protocol checkers --------------------------------------------------------------------
    // functional coverage: the result FIFO full (OUT_FIFO_DEPTH beats), since the last load or reset
    localparam FCW = `SPS_COUNT_W(OUT_FIFO_DEPTH);
    localparam [FCW-1:0] FIFO_FULL = OUT_FIFO_DEPTH;
    always @(posedge clk)
        if (rst || mem_load) res_fifo_full <= 1'b0;
        else if (u_top.u_out.u_fifo.count == FIFO_FULL) res_fifo_full <= 1'b1;

    // a stream may be withdrawn when its source restarts (a memory load) or when sps_top's soft
    // abort resets its data path (the result stream)
    wire flush = u_top.dp_rst;
    reg [31:0] cycle;
    always @(posedge clk) cycle <= rst ? 32'd0 : cycle + 32'd1;

    sps_tb_axis_check #(.W(LANES * 8 + 1)) u_chk_act (.clk(clk), .rst(rst), .restart(mem_load), .cycle(cycle),
        .valid(top_act_tvalid), .ready(act_tready), .payload({top_act_tlast, top_act_tdata}),
        .err(proto_err[0]), .err_kind(proto_kind[1:0]), .err_cycle(proto_cycle[31:0]));
    sps_tb_axis_check #(.W(COLS * 8 + 1)) u_chk_wgt (.clk(clk), .rst(rst), .restart(mem_load), .cycle(cycle),
        .valid(top_wgt_tvalid), .ready(wgt_tready), .payload({top_wgt_tlast, top_wgt_tdata}),
        .err(proto_err[1]), .err_kind(proto_kind[3:2]), .err_cycle(proto_cycle[63:32]));
    sps_tb_axis_check #(.W(COLS * 32 + 1)) u_chk_res (.clk(clk), .rst(rst), .restart(flush), .cycle(cycle),
        .valid(res_tvalid), .ready(top_res_tready), .payload({res_tlast, res_tdata}),
        .err(proto_err[2]), .err_kind(proto_kind[5:4]), .err_cycle(proto_cycle[95:64]));
    sps_tb_axis_check #(.W(15)) u_chk_aw (.clk(clk), .rst(rst), .restart(1'b0), .cycle(cycle),
        .valid(s_axil_awvalid), .ready(s_axil_awready), .payload({s_axil_awprot, s_axil_awaddr}),
        .err(proto_err[3]), .err_kind(proto_kind[7:6]), .err_cycle(proto_cycle[127:96]));
    sps_tb_axis_check #(.W(36)) u_chk_w (.clk(clk), .rst(rst), .restart(1'b0), .cycle(cycle),
        .valid(s_axil_wvalid), .ready(s_axil_wready), .payload({s_axil_wstrb, s_axil_wdata}),
        .err(proto_err[4]), .err_kind(proto_kind[9:8]), .err_cycle(proto_cycle[159:128]));
    sps_tb_axis_check #(.W(2)) u_chk_b (.clk(clk), .rst(rst), .restart(1'b0), .cycle(cycle),
        .valid(s_axil_bvalid), .ready(s_axil_bready), .payload(s_axil_bresp),
        .err(proto_err[5]), .err_kind(proto_kind[11:10]), .err_cycle(proto_cycle[191:160]));
    sps_tb_axis_check #(.W(15)) u_chk_ar (.clk(clk), .rst(rst), .restart(1'b0), .cycle(cycle),
        .valid(s_axil_arvalid), .ready(s_axil_arready), .payload({s_axil_arprot, s_axil_araddr}),
        .err(proto_err[6]), .err_kind(proto_kind[13:12]), .err_cycle(proto_cycle[223:192]));
    sps_tb_axis_check #(.W(34)) u_chk_r (.clk(clk), .rst(rst), .restart(1'b0), .cycle(cycle),
        .valid(s_axil_rvalid), .ready(s_axil_rready), .payload({s_axil_rresp, s_axil_rdata}),
        .err(proto_err[7]), .err_kind(proto_kind[15:14]), .err_cycle(proto_cycle[255:224]));

`ifdef SPS_DEBUG
    // ---- transaction monitors at the block boundaries (the debug build only: sps debug) ------
    localparam DBG_PXW = `SPS_INDEX_W(ACC_DEPTH);
    wire [COLS-1:0]         dbg_acc_we, dbg_acc_bank;
    wire [COLS*DBG_PXW-1:0] dbg_acc_pixel;
    wire [COLS*32-1:0]      dbg_acc_value, dbg_v;
    genvar dbg_j;
    generate
        for (dbg_j = 0; dbg_j < COLS; dbg_j = dbg_j + 1) begin : g_dbg
            assign dbg_acc_we[dbg_j]                        = u_top.u_acc.g_col[dbg_j].d_valid;
            assign dbg_acc_bank[dbg_j]                      = u_top.u_acc.g_col[dbg_j].d_bank;
            assign dbg_acc_pixel[dbg_j*DBG_PXW +: DBG_PXW]  = u_top.u_acc.g_col[dbg_j].d_pixel;
            assign dbg_acc_value[dbg_j*32 +: 32]            = u_top.u_acc.g_col[dbg_j].d_sum;
            assign dbg_v[dbg_j*32 +: 32]                    = u_top.u_out.g_lane[dbg_j].l_val;
        end
    endgenerate
    sps_tb_debug #(.ROWS(ROWS), .COLS(COLS), .ACC_DEPTH(ACC_DEPTH)) u_debug (
        .clk(clk), .rst(rst), .cycle(cycle), .go(u_top.go), .done(done),
        .row_valid(u_top.row_valid), .row_tag(u_top.row_tag), .row_a(u_top.row_a),
        .in_sb_valid(u_top.pix_sb_valid), .in_sb(u_top.pix_sb),
        .col_valid(u_top.col_valid), .psum(u_top.psum),
        .out_sb_valid(u_top.acc_sb_valid), .out_sb(u_top.acc_sb),
        .acc_we(dbg_acc_we), .acc_bank(dbg_acc_bank), .acc_pixel(dbg_acc_pixel), .acc_value(dbg_acc_value),
        .v_valid(u_top.u_out.g_lane[0].l_valid), .v(dbg_v),
        .res_valid(res_tvalid && top_res_tready), .res(res_tdata));
`endif
`ifdef SPS_WAVE_WINDOW
    // ---- the waves of a window of cycles only (the window build only: sps debug's FST) -------
    sps_tb_window u_window (.clk(clk), .rst(rst), .cycle(cycle));
`endif
endmodule
`default_nettype wire
