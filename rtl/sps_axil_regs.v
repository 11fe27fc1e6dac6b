// sps_axil_regs.v -- AXI4-Lite slave with the layer descriptor, control/status and the performance
// counters (register map: docs/ARCHITECTURE.md section 5.1). 32-bit data, byte addresses.
// A write takes AW and W together and answers on B the next cycle; a read answers on R 3 cycles
// after AR.
// Descriptor writes while the accelerator is busy are ignored (the running layer is not disturbed);
// CTRL.ABORT is the one write that acts only while busy.
// Latency: writes 1 cycle (START reaches CTRL a cycle later), reads 3 cycles.
`default_nettype none
`include "sps_widths.vh"
module sps_axil_regs #(
    parameter ROWS      = 8,       // array rows (PEs per column); LANES must divide it
    parameter COLS      = 8,       // array columns: output channels per tile
    parameter LANES     = 8,       // activation lanes: int8 activations per buffer word and per beat
    parameter PMAX      = 8,       // largest pattern period P the pattern table holds
    parameter ACT_DEPTH = 1024,    // words per activation sub-bank
    parameter ACC_DEPTH = 1024,    // words per accumulator bank: output pixels
    parameter DIM_BITS  = 10,      // bits of a height or width (H, W, HOUT, WOUT)
    parameter CH_BITS   = 12,      // bits of a channel count (C, F_g)
    localparam PW       = `SPS_PW, // bits of a phase / pattern index
    localparam BW       = `SPS_BW  // bits of a batch size (BATCH)
) (
    input  wire                    clk,
    input  wire                    rst,
    // AXI4-Lite (address bits [1:0], the protection bits and data bits above a register's width are ignored)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [11:0]             s_axil_awaddr,
    input  wire [2:0]              s_axil_awprot,
    input  wire                    s_axil_awvalid,
    output wire                    s_axil_awready,
    input  wire [31:0]             s_axil_wdata,
    input  wire [3:0]              s_axil_wstrb,
    input  wire                    s_axil_wvalid,
    output wire                    s_axil_wready,
    output wire [1:0]              s_axil_bresp,
    output reg                     s_axil_bvalid,
    input  wire                    s_axil_bready,
    input  wire [11:0]             s_axil_araddr,
    input  wire [2:0]              s_axil_arprot,
    input  wire                    s_axil_arvalid,
    output wire                    s_axil_arready,
    output reg  [31:0]             s_axil_rdata,
    output wire [1:0]              s_axil_rresp,
    output reg                     s_axil_rvalid,
    input  wire                    s_axil_rready,
    /* verilator lint_on UNUSEDSIGNAL */
    // descriptor
    output reg  [CH_BITS-1:0]      c,
    output reg  [DIM_BITS-1:0]     h,
    output reg  [DIM_BITS-1:0]     w,
    output reg  [DIM_BITS-1:0]     hout,
    output reg  [DIM_BITS-1:0]     wout,
    output reg  [1:0]              stride,
    output reg  [1:0]              pad_top,
    output reg  [1:0]              pad_left,
    output reg  [1:0]              mode,
    output reg  [PW:0]             npat,
    output reg  [BW-1:0]           batch,
    output wire [9*PMAX-1:0]       pat,
    output wire [CH_BITS*PMAX-1:0] fg,
    output wire                    start,
    output wire                    abort,
    // status and counters
    input  wire                    busy,
    input  wire                    done,
    input  wire                    err_stream,
    input  wire                    err_config,
    input  wire                    aborted,
    input  wire [31:0]             cnt_cycles,
    input  wire [31:0]             cnt_busy,
    input  wire [63:0]             cnt_macs,
    input  wire [31:0]             cnt_stall_act,
    input  wire [31:0]             cnt_stall_wgt,
    input  wire [31:0]             cnt_stall_res,
    input  wire [31:0]             cnt_passes
);
    localparam integer A_PAT = 'h030, A_FG = 'h030 + 4*PMAX;
    localparam [11:0] A_CTRL = 12'h000, A_STATUS = 12'h004, A_C = 12'h008, A_H = 12'h00C,
                      A_W = 12'h010, A_HOUT = 12'h014, A_WOUT = 12'h018, A_STRIDE = 12'h01C,
                      A_PADT = 12'h020, A_PADL = 12'h024, A_MODE = 12'h028, A_NPAT = 12'h02C,
                      A_BATCH = 12'h0FC,
                      A_CYC = 12'h100, A_BUSY = 12'h104, A_MACL = 12'h108, A_MACH = 12'h10C,
                      A_SACT = 12'h110, A_SWGT = 12'h114, A_SRES = 12'h118, A_PASS = 12'h11C,
                      A_CFG0 = 12'h180, A_CFG1 = 12'h184, A_CFG2 = 12'h188;

    localparam [7:0] ROWS8 = ROWS, COLS8 = COLS, LANES8 = LANES, PMAX8 = PMAX;
    localparam [31:0] ACT_DEPTH32 = ACT_DEPTH, ACC_DEPTH32 = ACC_DEPTH;

    reg [8:0]         pat_r [0:PMAX-1];
    reg [CH_BITS-1:0] fg_r  [0:PMAX-1];
    genvar gi;
    generate
        for (gi = 0; gi < PMAX; gi = gi + 1) begin : g_flat
            assign pat[gi*9 +: 9]             = pat_r[gi];
            assign fg[gi*CH_BITS +: CH_BITS]  = fg_r[gi];
        end
    endgenerate

    // ---- write channel --------------------------------------------------------------------
    wire do_write = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
    assign s_axil_awready = do_write;
    assign s_axil_wready  = do_write;
    assign s_axil_bresp   = 2'b00;
    wire [11:0] wr_addr = {s_axil_awaddr[11:2], 2'b00};
    wire        cfg_we = do_write && !busy && (&s_axil_wstrb);
    reg start_q, abort_q;                               // START and ABORT, registered: CTRL sees
    assign start = start_q;                             // them a cycle after the write
    assign abort = abort_q;
    always @(posedge clk) begin
        start_q <= !rst && do_write && (wr_addr == A_CTRL) && s_axil_wdata[0] && !busy;
        abort_q <= !rst && do_write && (wr_addr == A_CTRL) && s_axil_wdata[1] && busy;
    end

    integer i;
    always @(posedge clk) begin
        if (rst) begin
            s_axil_bvalid <= 1'b0;
            c <= 0; h <= 0; w <= 0; hout <= 0; wout <= 0; stride <= 2'd1; pad_top <= 0; pad_left <= 0;
            mode <= 0; npat <= 1; batch <= 1;
            for (i = 0; i < PMAX; i = i + 1) begin
                pat_r[i] <= 9'h1ff; fg_r[i] <= 0;
            end
        end else begin
            if (do_write) s_axil_bvalid <= 1'b1;
            else if (s_axil_bready) s_axil_bvalid <= 1'b0;
            if (cfg_we) begin
                case (wr_addr)
                    A_C:      c        <= s_axil_wdata[CH_BITS-1:0];
                    A_H:      h        <= s_axil_wdata[DIM_BITS-1:0];
                    A_W:      w        <= s_axil_wdata[DIM_BITS-1:0];
                    A_HOUT:   hout     <= s_axil_wdata[DIM_BITS-1:0];
                    A_WOUT:   wout     <= s_axil_wdata[DIM_BITS-1:0];
                    A_STRIDE: stride   <= s_axil_wdata[1:0];
                    A_PADT:   pad_top  <= s_axil_wdata[1:0];
                    A_PADL:   pad_left <= s_axil_wdata[1:0];
                    A_MODE:   mode     <= s_axil_wdata[1:0];
                    A_NPAT:   npat     <= s_axil_wdata[PW:0];
                    default: begin
                        for (i = 0; i < PMAX; i = i + 1) begin
                            if ({20'd0, wr_addr} == A_PAT + 4*i) pat_r[i] <= s_axil_wdata[8:0];
                            if ({20'd0, wr_addr} == A_FG + 4*i)  fg_r[i]  <= s_axil_wdata[CH_BITS-1:0];
                        end
                    end
                endcase
                // BATCH, after PAT[] and FG[] (PMAX <= 25), decoded on its own
                if (wr_addr == A_BATCH) batch <= s_axil_wdata[BW-1:0];
            end
        end
    end

    // ---- read channel ---------------------------------------------------------------------
    // reads in three registered steps (the address, decoded to one select bit per readable word;
    // the AND-OR of the selected word within the register block and within the counter block;
    // the two ORed), so no read path is more than one balanced AND-OR: R answers 3 cycles after
    // AR, one read at a time
    // block 0: STATUS .. NPAT, PAT[], FG[] (words 1 .. 11 + 2*PMAX, contiguous), BATCH (word 63, last)
    localparam NRS = 12 + 2*PMAX;
    localparam NCS = 11;                                // block 1: CYC .. PASS (words 0 .. 7), CFG0 .. CFG2 (32 ..)
    reg            rd_p1, rd_p2;                        // a read in step 1 / step 2
    reg  [NRS-1:0] rsel;                                // its word, one-hot (none: reads 0)
    reg  [NCS-1:0] csel;
    reg  [31:0]    rd_regs, rd_cnts;
    reg  [31:0]    rv_regs, rv_cnts;                    // the selected words
    assign s_axil_arready = !(rd_p1 || rd_p2 || s_axil_rvalid);
    assign s_axil_rresp   = 2'b00;
    wire [31:0] rsrc [0:NRS-1];
    wire [31:0] csrc [0:NCS-1];
    assign rsrc[0]  = {27'd0, aborted, err_config, err_stream, done, busy};
    assign rsrc[1]  = {{(32-CH_BITS){1'b0}}, c};
    assign rsrc[2]  = {{(32-DIM_BITS){1'b0}}, h};
    assign rsrc[3]  = {{(32-DIM_BITS){1'b0}}, w};
    assign rsrc[4]  = {{(32-DIM_BITS){1'b0}}, hout};
    assign rsrc[5]  = {{(32-DIM_BITS){1'b0}}, wout};
    assign rsrc[6]  = {30'd0, stride};
    assign rsrc[7]  = {30'd0, pad_top};
    assign rsrc[8]  = {30'd0, pad_left};
    assign rsrc[9]  = {30'd0, mode};
    assign rsrc[10] = {{(31-PW){1'b0}}, npat};
    generate
        for (gi = 0; gi < PMAX; gi = gi + 1) begin : g_rsrc
            assign rsrc[11 + gi]        = {23'd0, pat_r[gi]};
            assign rsrc[11 + PMAX + gi] = {{(32-CH_BITS){1'b0}}, fg_r[gi]};
        end
    endgenerate
    assign rsrc[NRS-1] = {{(32-BW){1'b0}}, batch};
    assign csrc[0]  = cnt_cycles;    assign csrc[1] = cnt_busy;
    assign csrc[2]  = cnt_macs[31:0]; assign csrc[3] = cnt_macs[63:32];
    assign csrc[4]  = cnt_stall_act; assign csrc[5] = cnt_stall_wgt;
    assign csrc[6]  = cnt_stall_res; assign csrc[7] = cnt_passes;
    assign csrc[8]  = {PMAX8, LANES8, COLS8, ROWS8};
    assign csrc[9]  = ACT_DEPTH32;   assign csrc[10] = ACC_DEPTH32;
    localparam [5:0] W_STATUS = A_STATUS[7:2];          // block 0's words are contiguous from STATUS
    localparam [5:0] W_BATCH  = A_BATCH[7:2];           // but BATCH, the block's last word
    localparam [6*NCS-1:0] W_CNT = {A_CFG2[7:2], A_CFG1[7:2], A_CFG0[7:2], A_PASS[7:2], A_SRES[7:2],
                                    A_SWGT[7:2], A_SACT[7:2], A_MACH[7:2], A_MACL[7:2], A_BUSY[7:2],
                                    A_CYC[7:2]};
    wire [3:0]  ar_blk  = s_axil_araddr[11:8];
    wire [5:0]  ar_word = s_axil_araddr[7:2];           // word within a 256-byte block
    integer     k;
    always @(*) begin
        rv_regs = 32'd0;
        for (k = 0; k < NRS; k = k + 1) rv_regs = rv_regs | (rsrc[k] & {32{rsel[k]}});
        rv_cnts = 32'd0;
        for (k = 0; k < NCS; k = k + 1) rv_cnts = rv_cnts | (csrc[k] & {32{csel[k]}});
    end
    always @(posedge clk) begin
        rd_regs <= rv_regs;
        rd_cnts <= rv_cnts;
    end
    always @(posedge clk) begin
        if (rst) begin
            rd_p1 <= 1'b0; rd_p2 <= 1'b0; s_axil_rvalid <= 1'b0; s_axil_rdata <= 32'd0;
            rsel <= {NRS{1'b0}}; csel <= {NCS{1'b0}};
        end else begin
            rd_p1 <= s_axil_arvalid && s_axil_arready;
            if (s_axil_arvalid && s_axil_arready) begin
                for (k = 0; k < NRS - 1; k = k + 1)
                    rsel[k] <= (ar_blk == 4'd0) && (ar_word == W_STATUS + k[5:0]);
                rsel[NRS-1] <= (ar_blk == 4'd0) && (ar_word == W_BATCH);
                for (k = 0; k < NCS; k = k + 1)
                    csel[k] <= (ar_blk == 4'd1) && (ar_word == W_CNT[6*k +: 6]);
            end
            rd_p2 <= rd_p1;
            if (rd_p2) begin
                s_axil_rvalid <= 1'b1;
                s_axil_rdata  <= rd_regs | rd_cnts;
            end else if (s_axil_rready) begin
                s_axil_rvalid <= 1'b0;
            end
        end
    end
endmodule
`default_nettype wire
