// sps_output_stage_props.sv -- formal properties of the result stream of rtl/sps_output_stage.v
// (run by `sps formal`, README "Formal"): from a drain read (drain_re) through the bias / requant
// lanes and the result FIFO to m_tdata / m_tvalid / m_tlast.
//
// Environment: every input is free (header writes, bank-done reports, npix, relu, drain_data,
// m_tready, and rst in any cycle after the first), except two rules sps_ctrl keeps:
//   * `start` only when no read is outstanding and no drain is active (a program starts after the
//     previous one's TLAST beat was accepted), or together with rst. (A start during a drain
//     would clear `reserved` while that cycle's read still goes ahead: the read would be missing
//     from the count, and the FIFO could later overflow.)
//   * `requant` changes only when no read is outstanding, or in a reset cycle (it is a layer
//     register, written while idle).
// Outstanding reads: f_out = reads issued - beats accepted on m_axis since the last reset, kept
// from the ports alone.
//
// Properties:
//   * no overflow: no beat reaches the FIFO while it is full, so none is dropped there; f_out never
//     exceeds OUT_FIFO_DEPTH; TVALID only with a read outstanding (no beat out of nothing);
//   * a read, picked freely by `pick` (so: every read), with the count of reads ahead of it: it is
//     not on the stream before LAT cycles (LAT = 7 raw, 14 requant), from LAT cycles on TVALID is
//     high until it is accepted, and it is accepted on the (k+1)-th cycle with TREADY high from
//     then, k <= OUT_FIFO_DEPTH-1 the beats still ahead; with TREADY high since the read (and
//     fewer than LAT reads ahead of it: always so for OUT_FIFO_DEPTH <= 8), it is accepted
//     exactly LAT cycles after it. With the sequence proof of sps_fifo (the FIFO keeps the
//     order and data of what it accepts) no beat is dropped, duplicated or reordered;
//   * AXI-Stream: TVALID held and TDATA / TLAST unchanged while TREADY is low, unless rst.
// White-box invariants (the pipeline's valid bits, lane 0 standing for all lanes, and the FIFO's
// pointers, reached through hierconn wires joined when the proof script flattens the design) make
// them inductive.
`default_nettype none
`include "sps_widths.vh"
module sps_output_stage_props #(
    parameter COLS           = 2,          // array columns: int32 words per beat
    parameter ACC_DEPTH      = 16,         // words per accumulator bank: output pixels
    parameter OUT_FIFO_DEPTH = 4,          // result FIFO entries
    localparam PXW           = `SPS_PXW    // bits of a pixel index
) (
    input wire               clk,
    input wire               rst,
    input wire               start,
    input wire [PXW:0]       npix,
    input wire               requant,
    input wire               relu,
    input wire               hdr_wr_en,
    input wire               hdr_wr_bank,
    input wire [2:0]         hdr_wr_beat,
    input wire [COLS*8-1:0]  hdr_wr_data,
    input wire               done_valid,
    input wire               done_bank,
    input wire               done_last,
    input wire [COLS*32-1:0] drain_data,
    input wire               m_tready,
    input wire               pick          // follow the read issued in this cycle
);
    localparam FCW   = `SPS_COUNT_W(OUT_FIFO_DEPTH);   // the result FIFO's count
    localparam PTR_W = `SPS_INDEX_W(OUT_FIFO_DEPTH);   // the result FIFO's pointers
    localparam OW    = FCW + 1;                 // f_out, f_ahead
    localparam NST   = 13;                      // pipeline stages before the FIFO (requant mode)

    wire               drain_re, drain_active, drain_bank, bank_free_valid, bank_free_id;
    wire [PXW-1:0]     drain_addr;
    wire [COLS*32-1:0] m_tdata;
    wire               m_tvalid, m_tlast;
    sps_output_stage #(.COLS(COLS), .ACC_DEPTH(ACC_DEPTH), .OUT_FIFO_DEPTH(OUT_FIFO_DEPTH)) dut (
        .clk(clk), .rst(rst), .start(start), .npix(npix), .requant(requant), .relu(relu),
        .hdr_wr_en(hdr_wr_en), .hdr_wr_bank(hdr_wr_bank), .hdr_wr_beat(hdr_wr_beat),
        .hdr_wr_data(hdr_wr_data), .done_valid(done_valid), .done_bank(done_bank),
        .done_last(done_last), .drain_re(drain_re), .drain_active(drain_active),
        .drain_bank(drain_bank), .drain_addr(drain_addr), .drain_data(drain_data),
        .bank_free_valid(bank_free_valid), .bank_free_id(bank_free_id), .m_tdata(m_tdata),
        .m_tvalid(m_tvalid), .m_tlast(m_tlast), .m_tready(m_tready));

    // ---- internals (white-box invariants only) ------------------------------------------------
    (* hierconn *) wire             \dut.push ;
    (* hierconn *) wire [FCW-1:0]   \dut.fifo_count ;
    (* hierconn *) wire [FCW:0]     \dut.reserved ;
    (* hierconn *) wire             \dut.d0_valid ;
    (* hierconn *) wire             \dut.d1_valid ;
    (* hierconn *) wire             \dut.d1b_valid ;
    (* hierconn *) wire             \dut.g_lane[0].l_valid ;
    (* hierconn *) wire             \dut.g_lane[0].u_rq.raw_v1 ;
    (* hierconn *) wire [7:0]       \dut.g_lane[0].u_rq.vld ;
    (* hierconn *) wire             \dut.g_lane[0].u_rq.out_valid ;
    (* hierconn *) wire [PTR_W-1:0] \dut.u_fifo.rd_ptr ;
    (* hierconn *) wire [PTR_W-1:0] \dut.u_fifo.wr_ptr ;
    // stage k (1..NST) holds the beat read k cycles ago; in raw mode stages 5, 6 are raw_v1 and
    // the output register, in requant mode stages 5..12 are vld[0..7] and 13 the output register
    wire [NST:1] stage = requant
        ? {\dut.g_lane[0].u_rq.out_valid , \dut.g_lane[0].u_rq.vld , \dut.g_lane[0].l_valid ,
           \dut.d1b_valid , \dut.d1_valid , \dut.d0_valid }
        : {7'd0, \dut.g_lane[0].u_rq.out_valid , \dut.g_lane[0].u_rq.raw_v1 , \dut.g_lane[0].l_valid ,
           \dut.d1b_valid , \dut.d1_valid , \dut.d0_valid };
    wire [4:0] lat = requant ? 5'd14 : 5'd7;    // cycles from a read to its beat in the FIFO

    function [5:0] ones(input [NST:1] v, input [4:0] above);   // set bits of v above `above`
        integer k;
        begin
            ones = 6'd0;
            for (k = 1; k <= NST; k = k + 1)
                if (k > above) ones = ones + v[k];
        end
    endfunction

    // ---- environment --------------------------------------------------------------------------
    reg f_init = 1'b1;
    always @(posedge clk) f_init <= 1'b0;
    always @(*) if (f_init) assume(rst);

    wire          xfer = m_tvalid && m_tready;
    reg  [OW-1:0] f_out;                        // reads issued - beats accepted
    always @(posedge clk)
        f_out <= rst ? {OW{1'b0}} : f_out + drain_re - xfer;

    reg f_requant;
    always @(posedge clk) f_requant <= requant;
    always @(*) begin
        if (!f_init && !rst) begin
            if (f_out != 0 || drain_active) assume(!start);
            if (f_out != 0) assume(requant == f_requant);
        end
    end

    // ---- the picked read ----------------------------------------------------------------------
    reg          f_tagged = 1'b0;
    reg [4:0]    f_age;                         // cycles since the read (saturates)
    reg [OW-1:0] f_ahead;                       // reads ahead of it, not yet accepted
    reg [OW-1:0] f_ahead0;                      // reads ahead of it when it was issued
    reg          f_ready_all;                   // TREADY high in every cycle since the read
    wire         tag_xfer = f_tagged && xfer && (f_ahead == 0);
    always @(posedge clk) begin
        if (rst) begin
            f_tagged <= 1'b0;
        end else if (f_tagged) begin
            if (f_age != 5'd31) f_age <= f_age + 1'b1;
            f_ready_all <= f_ready_all && m_tready;
            if (xfer) begin
                if (f_ahead == 0) f_tagged <= 1'b0;
                else              f_ahead <= f_ahead - 1'b1;
            end
        end else if (drain_re && pick) begin
            f_tagged    <= 1'b1;
            f_age       <= 5'd1;
            f_ahead     <= f_out - xfer;
            f_ahead0    <= f_out - xfer;
            f_ready_all <= m_tready;
        end
    end

    // ---- properties ---------------------------------------------------------------------------
    // (in a reset cycle the state is about to be cleared and `requant` may change: only the
    // port-level count is checked then)
    always @(*) begin
        if (!f_init) begin
            // no beat out of nothing, never more in flight than the FIFO holds
            assert (f_out <= OUT_FIFO_DEPTH);
            if (m_tvalid) assert (f_out != 0);
        end
        if (!f_init && !rst) begin
            // no overflow
            assert (!(\dut.push && \dut.fifo_count == OUT_FIFO_DEPTH));
            // the picked read: not early, then offered until accepted, within the FIFO's depth
            if (f_tagged) begin
                assert (f_ahead < f_out);
                if (f_age < lat) assert (!tag_xfer);
                if (f_age >= lat) assert (m_tvalid && f_ahead < OUT_FIFO_DEPTH);
                if (f_ready_all && m_tready && f_ahead0 < lat && f_age == lat) assert (tag_xfer);
            end
            // white-box invariants
            assert (\dut.reserved == f_out);
            assert (f_out == \dut.fifo_count + ones(stage, 5'd0));
            assert (requant ? !\dut.g_lane[0].u_rq.raw_v1 : (\dut.g_lane[0].u_rq.vld == 8'd0));
            assert (\dut.u_fifo.rd_ptr < OUT_FIFO_DEPTH && \dut.u_fifo.wr_ptr < OUT_FIFO_DEPTH);
            assert (\dut.u_fifo.wr_ptr == ((\dut.u_fifo.rd_ptr + \dut.fifo_count ) % OUT_FIFO_DEPTH));
            if (f_tagged && f_age < lat) begin
                assert (stage[f_age]);
                assert (f_ahead == \dut.fifo_count + ones(stage, f_age));
            end
            if (f_tagged && f_age >= lat) assert (f_ahead < \dut.fifo_count );
            if (f_tagged && f_ready_all && f_ahead0 < lat && f_age <= lat) assert (f_ahead + f_age <= lat);
        end
    end

    // ---- stream stability ---------------------------------------------------------------------
    reg               f_stalled = 1'b0;         // last cycle: TVALID && !TREADY && !rst
    reg [COLS*32-1:0] f_tdata;
    reg               f_tlast;
    always @(posedge clk) begin
        f_stalled <= !f_init && !rst && m_tvalid && !m_tready;
        f_tdata   <= m_tdata;
        f_tlast   <= m_tlast;
    end
    always @(*) if (f_stalled) assert (m_tvalid && m_tdata == f_tdata && m_tlast == f_tlast);

    // ---- reachability (cover mode) ------------------------------------------------------------
    always @(*) begin
        if (!f_init && !rst) begin
            cover (\dut.fifo_count == OUT_FIFO_DEPTH && xfer && requant);   // full in requant mode
            cover (tag_xfer && !requant && f_age > lat + OUT_FIFO_DEPTH);   // a long wait, raw
        end
    end
endmodule
`default_nettype wire
