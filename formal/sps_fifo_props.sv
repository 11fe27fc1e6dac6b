// sps_fifo_props.sv -- formal properties of rtl/sps_fifo.v (run by `sps formal`, README "Formal").
// The FIFO is instantiated as `dut`; every input (rst included, in any cycle after the first) is
// free. Read as an AXI-Stream sink: TVALID = !empty, TDATA = dout, TREADY = pop.
//
// Reference: f_count, the number of words a FIFO with these rules holds (a push into a full FIFO
// and a pop of an empty one are ignored; rst empties it).
// Sequence (no word dropped, duplicated or reordered): one accepted push, chosen freely by `pick`,
// is followed: its data and the number of words ahead of it. Each accepted pop takes one word off
// the front; while the word waits, it is still stored, and when nothing is ahead of it, it is the
// word on dout. Since any push may be picked, the n-th word accepted is the n-th word popped, with
// its data, for every n.
// Bounded liveness: a waiting word has at most DEPTH-1 words ahead of it and TVALID is high while
// it waits, so it is accepted on the k-th cycle with TREADY high after it was pushed, k <= DEPTH.
// Stream stability: TVALID held and TDATA unchanged while TREADY is low, unless rst.
// The white-box invariants (pointers and the picked word's memory slot) make the properties
// inductive; they name the FIFO's internals through hierconn wires (joined when the proof script
// flattens the design) and fv_taps.vh, which the runner writes for DEPTH (the memory words).
`default_nettype none
`include "sps_widths.vh"
module sps_fifo_props #(
    parameter WIDTH = 4,    // entry bits
    parameter DEPTH = 4     // entries
) (
    input wire             clk,
    input wire             rst,
    input wire             push,
    input wire [WIDTH-1:0] din,
    input wire             pop,
    input wire             pick      // follow the word pushed in this cycle
);
    localparam CW    = `SPS_COUNT_W(DEPTH);     // sps_fifo's count
    localparam PTR_W = `SPS_INDEX_W(DEPTH);     // sps_fifo's pointers

    wire [WIDTH-1:0] dout;
    wire             empty;
    wire [CW-1:0]    count;
    sps_fifo #(.WIDTH(WIDTH), .DEPTH(DEPTH)) dut (
        .clk(clk), .rst(rst), .push(push), .din(din), .pop(pop), .dout(dout), .empty(empty),
        .count(count));

    (* hierconn *) wire [PTR_W-1:0] \dut.rd_ptr ;
    (* hierconn *) wire [PTR_W-1:0] \dut.wr_ptr ;
    wire [WIDTH*DEPTH-1:0] mem_words;            // word i at [i*WIDTH +: WIDTH]
    `include "fv_taps.vh"

    reg f_init = 1'b1;                           // the first cycle: reset
    always @(posedge clk) f_init <= 1'b0;
    always @(*) if (f_init) assume(rst);

    // ---- reference occupancy ------------------------------------------------------------------
    reg  [CW-1:0] f_count;
    wire          f_push = push && (f_count != DEPTH);
    wire          f_pop  = pop && (f_count != 0);
    always @(posedge clk)
        f_count <= rst ? {CW{1'b0}} : f_count + f_push - f_pop;

    // ---- the picked word ----------------------------------------------------------------------
    reg             f_tagged = 1'b0;             // a picked word is in the FIFO
    reg [WIDTH-1:0] f_tag;                       // its data
    reg [CW-1:0]    f_ahead;                     // words in front of it
    always @(posedge clk) begin
        if (rst) begin
            f_tagged <= 1'b0;
        end else if (f_tagged) begin
            if (f_pop) begin
                if (f_ahead == 0) f_tagged <= 1'b0;        // it left (its data checked on dout)
                else              f_ahead <= f_ahead - 1'b1;
            end
        end else if (f_push && pick) begin
            f_tagged <= 1'b1;
            f_tag    <= din;
            f_ahead  <= f_count - f_pop;
        end
    end

    // ---- slot arithmetic (modulo DEPTH) -------------------------------------------------------
    function [PTR_W-1:0] slot(input [CW:0] i);   // i < 2*DEPTH
        slot = (i >= DEPTH) ? i - DEPTH : i;
    endfunction
    wire [PTR_W-1:0] tag_slot = slot(\dut.rd_ptr + f_ahead);
    wire [WIDTH-1:0] tag_word = mem_words[tag_slot*WIDTH +: WIDTH];

    always @(posedge clk) begin
        if (!f_init) begin
            // occupancy, flags, no overflow / underflow
            assert (count == f_count);
            assert (f_count <= DEPTH);
            assert (empty == (f_count == 0));
            // sequence and bounded liveness
            if (f_tagged) begin
                assert (f_ahead < f_count);              // still stored; <= DEPTH-1 ahead; TVALID
                if (f_ahead == 0) assert (dout == f_tag);
            end
            // white-box invariants (make the above inductive)
            assert (\dut.rd_ptr < DEPTH && \dut.wr_ptr < DEPTH);
            assert (\dut.wr_ptr == slot(\dut.rd_ptr + count));
            if (f_tagged) assert (tag_word == f_tag);
        end
    end

    // ---- stream stability ---------------------------------------------------------------------
    reg             f_stalled = 1'b0;            // last cycle: TVALID && !TREADY && !rst
    reg [WIDTH-1:0] f_dout;
    always @(posedge clk) begin
        f_stalled <= !f_init && !rst && !empty && !pop;
        f_dout    <= dout;
    end
    always @(*) if (f_stalled) assert (!empty && dout == f_dout);

    // ---- reachability (cover mode) ------------------------------------------------------------
    reg f_far = 1'b0;                            // the picked word had DEPTH-1 words ahead
    always @(posedge clk) begin
        if (rst || !f_tagged) f_far <= 1'b0;
        if (!rst && !f_tagged && f_push && pick && f_count - f_pop == DEPTH - 1) f_far <= 1'b1;
    end
    always @(*) begin
        if (!f_init && !rst) begin
            cover (f_count == DEPTH && push && pop);                  // full, both requested
            cover (f_tagged && f_far && f_ahead == 0 && f_pop);       // it reached the front
        end
    end
endmodule
`default_nettype wire
