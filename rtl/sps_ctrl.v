// sps_ctrl.v -- control: on start, derives the layer geometry (H3, W3, HW3, channel blocks,
// pixels per pass) and checks the descriptor (a bad one ends at once with the config error bit);
// then loads the activations while the weight loader preloads, and runs passes: a pass starts
// when the window generator can take it (back to back with the previous one) and the next weight
// slot is full. Keeps the accumulator bank ownership (claimed by the weight loader for a column
// tile, freed by the output stage after draining), the performance counters and done.
// Latency: 2 cycles from start to the first stream ready; done the cycle after the last result.
`default_nettype none
module sps_ctrl #(
    parameter LANES     = 8,
    parameter PMAX      = 8,
    parameter ACT_DEPTH = 1024,
    parameter ACC_DEPTH = 1024,
    parameter DIM_BITS  = 10,
    parameter CH_BITS   = 12,
    parameter XW        = 24,    // word-address bits (must hold HW3: XW >= 2*DIM_BITS + 2)
    parameter MW        = 32     // MAC-count field width
) (
    clk, rst, start, c, h, w, hout, wout, stride, pad_top, pad_left, npat, pat, fg, w3, hw3, n_cblk,
    npix, go, act_busy, act_stall, wgt_stall, slot_full, slot_first_rt, slot_last_rt, slot_bank,
    slot_last_pass, slot_base_bank, slot_base_chaddr, slot_macs, slot_free_valid, slot_free_tag,
    wg_can_start, wg_issue, wg_start, wg_base_bank, wg_base_chaddr, wg_tag, wg_pass_sb, bank_claim,
    bank_claim_id, bank_free_valid, bank_free_id, bank_busy, res_valid, res_ready, res_last, busy,
    done, err_config, cnt_cycles, cnt_busy, cnt_macs, cnt_stall_act, cnt_stall_wgt, cnt_stall_res,
    cnt_passes
);
    localparam LW  = (LANES > 1) ? $clog2(LANES) : 1;        // bits of a bank (lane) index
    localparam PW  = (PMAX > 1)  ? $clog2(PMAX)  : 1;        // bits of a phase / pattern index
    localparam PXW = (ACC_DEPTH > 1) ? $clog2(ACC_DEPTH) : 1; // bits of a pixel index
    `include "sps_sideband.vh"

    input  wire                    clk;
    input  wire                    rst;
    input  wire                    start;
    // descriptor
    input  wire [CH_BITS-1:0]      c;
    input  wire [DIM_BITS-1:0]     h;
    input  wire [DIM_BITS-1:0]     w;
    input  wire [DIM_BITS-1:0]     hout;
    input  wire [DIM_BITS-1:0]     wout;
    input  wire [1:0]              stride;
    input  wire [1:0]              pad_top;
    input  wire [1:0]              pad_left;
    input  wire [PW:0]             npat;
    input  wire [9*PMAX-1:0]       pat;
    input  wire [CH_BITS*PMAX-1:0] fg;
    // derived geometry
    output reg  [XW-1:0]           w3;
    output reg  [XW-1:0]           hw3;
    output reg  [CH_BITS-1:0]      n_cblk;
    output reg  [PXW:0]            npix;
    // sub-block starts
    output wire                    go;             // pulse: act loader, weight loader, output stage
    input  wire                    act_busy;
    input  wire                    act_stall;
    input  wire                    wgt_stall;
    // weight slots (from the weight loader): full, the metadata of the tile in each; slot release
    input  wire [1:0]              slot_full;
    input  wire [1:0]              slot_first_rt;
    input  wire [1:0]              slot_last_rt;
    input  wire [1:0]              slot_bank;
    input  wire [1:0]              slot_last_pass;
    input  wire [2*LW-1:0]         slot_base_bank;
    input  wire [2*XW-1:0]         slot_base_chaddr;
    input  wire [2*MW-1:0]         slot_macs;
    input  wire                    slot_free_valid;
    input  wire                    slot_free_tag;
    // window generator
    input  wire                    wg_can_start;
    input  wire                    wg_issue;
    output wire                    wg_start;
    output wire [LW-1:0]           wg_base_bank;
    output wire [XW-1:0]           wg_base_chaddr;
    output wire                    wg_tag;
    output reg  [SB_PASS_W-1:0]    wg_pass_sb;     // the pass sideband (rtl/sps_sideband.vh)
    // accumulator banks
    input  wire                    bank_claim;
    input  wire                    bank_claim_id;
    input  wire                    bank_free_valid;
    input  wire                    bank_free_id;
    output reg  [1:0]              bank_busy;
    // results
    input  wire                    res_valid;
    input  wire                    res_ready;
    input  wire                    res_last;
    // status and counters
    output wire                    busy;
    output reg                     done;
    output reg                     err_config;
    output reg  [31:0]             cnt_cycles;
    output reg  [31:0]             cnt_busy;
    output reg  [63:0]             cnt_macs;
    output reg  [31:0]             cnt_stall_act;
    output reg  [31:0]             cnt_stall_wgt;
    output reg  [31:0]             cnt_stall_res;
    output reg  [31:0]             cnt_passes;

    localparam S_IDLE = 3'd0, S_GEOM = 3'd1, S_CHECK = 3'd2, S_LOAD = 3'd3, S_RUN = 3'd4;
    reg [2:0] state;
    assign busy = (state != S_IDLE);

    // ---- geometry and descriptor checks ---------------------------------------------------
    localparam [DIM_BITS:0] TWO = 2, THREE = 3;
    localparam [CH_BITS:0]  LANES_M1 = LANES - 1, LANES_W = LANES;
    wire [DIM_BITS:0] h3      = ({1'b0, h} + TWO) / THREE;      // ceil(H / 3)
    wire [DIM_BITS:0] w3_calc = ({1'b0, w} + TWO) / THREE;      // ceil(W / 3), registered as w3
    /* verilator lint_off UNUSEDSIGNAL */
    wire [CH_BITS:0]  n_cblk_calc = ({1'b0, c} + LANES_M1) / LANES_W;   // < 2**CH_BITS
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [2*XW-1:0]   act_words;
    reg               pat_ok, fg_any;
    integer i;
    always @(*) begin
        pat_ok = 1'b1;
        fg_any = 1'b0;
        for (i = 0; i < PMAX; i = i + 1) begin
            if (i < npat && pat[i*9 +: 9] == 9'd0) pat_ok = 1'b0;
            if (i < npat && fg[i*CH_BITS +: CH_BITS] != {CH_BITS{1'b0}}) fg_any = 1'b1;
        end
        act_words = {{XW{1'b0}}, hw3} * {{(2*XW-CH_BITS){1'b0}}, n_cblk};
    end
    wire [2*DIM_BITS-1:0] npix_full = hout * wout;
    wire [2*DIM_BITS+1:0] hw3_full  = h3 * w3_calc;
    wire cfg_ok = (stride == 2'd1 || stride == 2'd2) && pad_top != 2'd3 && pad_left != 2'd3 &&
                  npat != 0 && npat <= PMAX && pat_ok && fg_any &&
                  c != 0 && h != 0 && w != 0 && hout != 0 && wout != 0 &&
                  npix_full <= ACC_DEPTH && act_words <= ACT_DEPTH;

    assign go = (state == S_CHECK) && cfg_ok;

    // ---- pass feeder ------------------------------------------------------------------------
    reg       next_slot, all_issued;
    reg [1:0] slot_issued;
    reg [MW-1:0] pass_macs;
    wire      slot_ready = slot_full[next_slot] && !slot_issued[next_slot];
    assign wg_start       = (state == S_RUN) && wg_can_start && slot_ready && !all_issued;
    assign wg_base_bank   = slot_base_bank[next_slot*LW +: LW];
    assign wg_base_chaddr = slot_base_chaddr[next_slot*XW +: XW];
    assign wg_tag         = next_slot;
    always @(*) begin
        wg_pass_sb                    = {SB_PASS_W{1'b0}};
        wg_pass_sb[SB_PASS_BANK]      = slot_bank[next_slot];
        wg_pass_sb[SB_PASS_FIRST_RT]  = slot_first_rt[next_slot];
        wg_pass_sb[SB_PASS_LAST_RT]   = slot_last_rt[next_slot];
        wg_pass_sb[SB_PASS_LAST_PASS] = slot_last_pass[next_slot];
    end

    always @(posedge clk) begin
        if (rst) begin
            state <= S_IDLE; done <= 1'b0; err_config <= 1'b0;
            w3 <= 0; hw3 <= 0; n_cblk <= 0; npix <= 0;
            next_slot <= 1'b0; all_issued <= 1'b0; slot_issued <= 2'b00; pass_macs <= 0; bank_busy <= 2'b00;
            cnt_cycles <= 0; cnt_busy <= 0; cnt_macs <= 0; cnt_stall_act <= 0; cnt_stall_wgt <= 0;
            cnt_stall_res <= 0; cnt_passes <= 0;
        end else begin
            case (state)
                S_IDLE: if (start) begin
                    state <= S_GEOM; done <= 1'b0; err_config <= 1'b0;
                    next_slot <= 1'b0; all_issued <= 1'b0; slot_issued <= 2'b00; bank_busy <= 2'b00;
                    cnt_cycles <= 0; cnt_busy <= 0; cnt_macs <= 0; cnt_stall_act <= 0;
                    cnt_stall_wgt <= 0; cnt_stall_res <= 0; cnt_passes <= 0;
                end
                S_GEOM: begin
                    w3 <= {{(XW-DIM_BITS-1){1'b0}}, w3_calc};
                    hw3 <= {{(XW-2*DIM_BITS-2){1'b0}}, hw3_full};
                    n_cblk <= n_cblk_calc[CH_BITS-1:0];
                    npix <= npix_full[PXW:0];
                    state <= S_CHECK;
                end
                S_CHECK: begin
                    if (cfg_ok) state <= S_LOAD;
                    else begin
                        state <= S_IDLE; done <= 1'b1; err_config <= 1'b1;
                    end
                end
                S_LOAD: if (!act_busy) state <= S_RUN;
                S_RUN: if (res_valid && res_ready && res_last) begin
                    state <= S_IDLE; done <= 1'b1;
                end
                default: state <= S_IDLE;
            endcase

            if (busy) begin
                cnt_cycles <= cnt_cycles + 1'b1;
                if (wg_issue) begin
                    cnt_busy <= cnt_busy + 1'b1;
                    cnt_macs <= cnt_macs + {{(64-MW){1'b0}}, pass_macs};
                end
                if (act_stall) cnt_stall_act <= cnt_stall_act + 1'b1;
                if (state == S_RUN && !all_issued && !wg_issue && wgt_stall) cnt_stall_wgt <= cnt_stall_wgt + 1'b1;
                if (res_valid && !res_ready) cnt_stall_res <= cnt_stall_res + 1'b1;
            end

            if (wg_start) begin
                slot_issued[next_slot] <= 1'b1;
                next_slot <= ~next_slot;
                pass_macs <= slot_macs[next_slot*MW +: MW];
                if (slot_last_pass[next_slot]) all_issued <= 1'b1;
                cnt_passes <= cnt_passes + 1'b1;
            end
            if (slot_free_valid) slot_issued[slot_free_tag] <= 1'b0;

            if (bank_claim) bank_busy[bank_claim_id] <= 1'b1;
            if (bank_free_valid) bank_busy[bank_free_id] <= 1'b0;
        end
    end
endmodule
`default_nettype wire
