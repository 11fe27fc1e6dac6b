// sps_output_stage.v -- drains finished accumulator banks into the result stream.
// Per bank it holds the column tile's header (bias int32, multiplier uint16, shift per column),
// written by the weight loader. When the accumulator reports a bank done, the drain reads it one
// pixel per cycle (all COLS columns at once; every other cycle in requant mode, where each
// sps_requant lane uses its multiplier twice per value), adds the bias, optionally requantises,
// and pushes one beat per pixel into the result FIFO. Reads are issued only when the FIFO has
// room for everything in flight, so nothing is dropped under any backpressure. The bank is freed
// once its last pixel is read; its header may be rewritten from 3 cycles after bank_free_valid
// (the last pixel reads its bias 2 cycles after it, its multiplier and shift 3 cycles after; in
// sps_top the controller clears the bank's busy bit, the weight loader claims it and writes the
// first header beat through a register: 3 cycles). TLAST marks the last beat of the program.
// Latency: from a drain read to m_axis 7 cycles (raw) or 14 (requant): pushed into the FIFO a cycle
// before (proved in formal/sps_output_stage_props.sv).
`default_nettype none
`include "sps_widths.vh"
module sps_output_stage #(
    parameter COLS           = 8,        // array columns: output channels per tile
    parameter ACC_DEPTH      = 1024,     // words per accumulator bank: output pixels
    parameter OUT_FIFO_DEPTH = 8,        // result FIFO entries (beats), >= 8
    localparam PXW           = `SPS_PXW  // bits of a pixel index
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                start,         // clears state for a new program
    input  wire [PXW:0]        npix,
    input  wire                requant,
    input  wire                relu,
    // header write
    input  wire                hdr_wr_en,
    input  wire                hdr_wr_bank,
    input  wire [2:0]          hdr_wr_beat,
    input  wire [COLS*8-1:0]   hdr_wr_data,
    // bank done (from the accumulator)
    input  wire                done_valid,
    input  wire                done_bank,
    input  wire                done_last,
    // accumulator read port
    output wire                drain_re,      // a read of drain_addr in drain_bank this cycle
    output wire                drain_active,  // a drain of drain_bank is under way (a register)
    output wire                drain_bank,
    output wire [PXW-1:0]      drain_addr,
    input  wire [COLS*32-1:0]  drain_data,
    output reg                 bank_free_valid,
    output reg                 bank_free_id,
    // result stream
    output wire [COLS*32-1:0]  m_tdata,
    output wire                m_tvalid,
    output wire                m_tlast,
    input  wire                m_tready
);
    localparam FCW = `SPS_COUNT_W(OUT_FIFO_DEPTH);   // bits of the result FIFO's count

    // ---- headers --------------------------------------------------------------------------
    reg [COLS*8-1:0] hdr0 [0:6];
    reg [COLS*8-1:0] hdr1 [0:6];
    always @(posedge clk) begin
        if (hdr_wr_en) begin
            if (hdr_wr_bank) hdr1[hdr_wr_beat] <= hdr_wr_data;
            else             hdr0[hdr_wr_beat] <= hdr_wr_data;
        end
    end
    wire [COLS*32-1:0] bias0 = {hdr0[3], hdr0[2], hdr0[1], hdr0[0]};
    wire [COLS*32-1:0] bias1 = {hdr1[3], hdr1[2], hdr1[1], hdr1[0]};
    wire [COLS*16-1:0] mul0  = {hdr0[5], hdr0[4]};
    wire [COLS*16-1:0] mul1  = {hdr1[5], hdr1[4]};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [COLS*8-1:0]  shift0 = hdr0[6];       // 6 of each byte's bits are the shift
    wire [COLS*8-1:0]  shift1 = hdr1[6];
    /* verilator lint_on UNUSEDSIGNAL */

    // ---- drain sequencing -----------------------------------------------------------------
    reg [1:0]      bank_pending;           // the bank is done and not yet drained
    reg [1:0]      bank_last;              // its column tile is the program's last
    reg            cur_bank, draining;     // the bank drained (or waited for) next
    reg [PXW-1:0]  drain_px;               // pixel read next
    // FIFO entries taken: beats in the FIFO + reads in flight (<= OUT_FIFO_DEPTH), kept as one
    // counter (+1 per read, -1 per beat leaving the FIFO) so that the read decision compares a
    // register with a constant
    reg [FCW:0]    reserved;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [FCW-1:0] fifo_count;             // = reserved - reads in flight (not needed here)
    /* verilator lint_on UNUSEDSIGNAL */
    wire           push, pop;
    wire [FCW:0]   depth_w  = OUT_FIFO_DEPTH;
    // the pixel read next is the bank's last: a flag beside drain_px (from npix - 2, registered
    // while npix is static)
    reg            last_px;
    reg [PXW:0]    npix_m2;
    reg            npix_one;
    always @(posedge clk) begin
        npix_m2  <= npix - {{(PXW-1){1'b0}}, 2'd2};
        npix_one <= (npix == {{PXW{1'b0}}, 1'b1});
    end
    reg            issued_q;               // a read was issued in the previous cycle
    // requant mode: a read every other cycle (each sps_requant lane multiplies in two halves)
    wire           issue    = draining && (reserved < depth_w) && !(requant && issued_q);

    assign drain_re   = issue;
    assign drain_active = draining;
    assign drain_bank = cur_bank;
    assign drain_addr = drain_px;

    always @(posedge clk) begin
        if (rst || start) begin
            bank_pending <= 2'b00; bank_last <= 2'b00; cur_bank <= 1'b0; draining <= 1'b0;
            drain_px <= {PXW{1'b0}};
            reserved <= {(FCW+1){1'b0}}; last_px <= 1'b0; bank_free_valid <= 1'b0; bank_free_id <= 1'b0; issued_q <= 1'b0;
        end else begin
            bank_free_valid <= 1'b0;
            if (done_valid) begin
                bank_pending[done_bank] <= 1'b1;
                bank_last[done_bank]    <= done_last;
            end
            reserved <= reserved + {{FCW{1'b0}}, issue} - {{FCW{1'b0}}, pop};
            issued_q <= issue;
            if (!draining) begin
                if (bank_pending[cur_bank]) begin
                    draining <= 1'b1;
                    drain_px <= {PXW{1'b0}};
                    last_px  <= npix_one;
                end
            end else if (issue) begin
                if (last_px) begin
                    draining <= 1'b0;
                    bank_pending[cur_bank] <= 1'b0;
                    bank_free_valid <= 1'b1;
                    bank_free_id <= cur_bank;
                    cur_bank <= ~cur_bank;
                end else begin
                    drain_px <= drain_px + 1'b1;
                    last_px  <= ({1'b0, drain_px} == npix_m2);
                end
            end
        end
    end

    // ---- data path: D0 (RAM read) -> D1 (the RAMs' output) -> D1B (the words registered in the
    // accumulator) -> D2 (acc + bias) -> requant -> FIFO ---------------------------------------
    reg d0_valid, d0_bank, d0_last;
    reg d1_valid, d1_bank, d1_last;
    reg d1b_valid, d1b_last;
    reg d2_last;                      // (D1B's bank, D2's valid, bank and value: per lane, below)
    // (the data path is empty whenever a program starts -- done waits for the last beat -- so
    // only `rst` clears it: `start` reaches the drain sequencing above and nothing wide)
    always @(posedge clk) begin
        if (rst) begin
            d0_valid <= 1'b0; d0_bank <= 1'b0; d0_last <= 1'b0;
            d1_valid <= 1'b0; d1_bank <= 1'b0; d1_last <= 1'b0;
            d1b_valid <= 1'b0; d1b_last <= 1'b0;
            d2_last <= 1'b0;
        end else begin
            d0_valid <= issue; d0_bank <= cur_bank; d0_last <= last_px && bank_last[cur_bank];
            d1_valid <= d0_valid; d1_bank <= d0_bank; d1_last <= d0_last;
            d1b_valid <= d1_valid; d1b_last <= d1_last;
            d2_last <= d1b_last;
        end
    end

    /* verilator lint_off UNUSEDSIGNAL */
    wire [COLS-1:0]    lane_v;                 // all lanes are in step: lane 0 stands for all
    /* verilator lint_on UNUSEDSIGNAL */
    wire [COLS*32-1:0] lane_out;
    genvar j;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : g_lane
            // D1B's bank and D2's valid and bank, a copy per lane (kept: they select the bias and
            // the operands in front of the lane's multiplier, which would otherwise all hang on
            // one flip-flop); D2: acc + bias
            reg l_bank1b, l_valid, l_bank;
            reg [31:0] l_val;
            (* keep *) always @(posedge clk) begin
                l_bank1b <= d1_bank;
                l_valid  <= !rst && d1b_valid;
                l_bank   <= l_bank1b;
            end
            always @(posedge clk)
                l_val <= drain_data[j*32 +: 32] + (l_bank1b ? bias1[j*32 +: 32] : bias0[j*32 +: 32]);
            sps_requant u_rq (
                .clk(clk), .rst(rst), .in_valid(l_valid),
                .v(l_val),
                .mult(l_bank ? mul1[j*16 +: 16] : mul0[j*16 +: 16]),
                .shift(l_bank ? shift1[j*8 +: 6] : shift0[j*8 +: 6]),
                .requant(requant), .relu(relu),
                .out_valid(lane_v[j]), .out(lane_out[j*32 +: 32]));
        end
    endgenerate
    assign push = lane_v[0];

    // TLAST of the beat, delayed like the lanes (sps_requant: 2 cycles raw, 9 requantised)
    wire last_raw, last_rq;
    sps_delay #(.WIDTH(1), .DEPTH(2)) u_last_raw (.clk(clk), .rst(rst), .d(d2_last), .q(last_raw));
    sps_delay #(.WIDTH(1), .DEPTH(9)) u_last_rq (.clk(clk), .rst(rst), .d(d2_last), .q(last_rq));
    wire fifo_last = requant ? last_rq : last_raw;

    wire [COLS*32:0] fifo_dout;
    wire             fifo_empty;
    sps_fifo #(.WIDTH(COLS*32+1), .DEPTH(OUT_FIFO_DEPTH)) u_fifo (
        .clk(clk), .rst(rst), .push(push), .din({fifo_last, lane_out}),
        .pop(m_tready), .dout(fifo_dout), .empty(fifo_empty), .count(fifo_count));
    assign pop = m_tready && !fifo_empty;

    assign m_tvalid = !fifo_empty;
    assign m_tdata  = fifo_dout[COLS*32-1:0];
    assign m_tlast  = fifo_dout[COLS*32];
endmodule
`default_nettype wire
