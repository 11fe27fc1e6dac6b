// sps_tb_source.v -- testbench only: an AXI4-Stream source replaying a memory. While `load` is high
// at a clock edge, the first `beats` words of the binary file FILE (each word W/8 bytes, most
// significant byte first) are read into the memory ($fread) and the stream restarts at word 0. The
// source then offers the words in order, pausing (never while a beat is
// offered: TVALID stays high until TREADY) when `pause` is high. Output registered.
// `left` counts the words not yet accepted; `load_err` is set if the file held fewer words.
// TLAST is on word `last_at` (beats - 1 for a well-formed stream; fault injection: an earlier
// word, or >= beats for none).
// Pulse `load` only while the stream is idle (it withdraws a word on offer).
`default_nettype none
module sps_tb_source #(
    parameter W    = 64,            // TDATA bits
    parameter AW   = 16,            // memory: 2^AW beats
    parameter FILE = "source.bin"   // the file `load` reads
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          load,
    input  wire [AW:0]   beats,
    input  wire          pause,
    input  wire [AW:0]   last_at,
    output reg  [W-1:0]  tdata,
    output reg           tvalid,
    output reg           tlast,
    input  wire          tready,
    output wire [AW:0]   left,
    output reg           load_err
);
    reg [W-1:0] mem [0:(1 << AW) - 1];
    reg [AW:0]  next;                   // index of the next word to offer
    reg [AW:0]  count;                  // words loaded
    reg [AW:0]  taken;                  // words accepted
    integer     fd, got, want;

    assign left = count - taken;

    always @(posedge clk) begin
        if (load) begin             // file I/O in the simulator: blocking by nature
            /* verilator lint_off BLKSEQ */
            want = {{(31 - AW){1'b0}}, beats};
            fd = $fopen(FILE, "rb");
            got = 0;
            if (fd != 0) begin
                if (want != 0) got = $fread(mem, fd, 0, want);
                $fclose(fd);
            end
            /* verilator lint_on BLKSEQ */
            load_err <= (fd == 0) || (got != want * (W / 8));
        end
        if (rst || load) begin
            next <= 0; taken <= 0; tvalid <= 1'b0; tlast <= 1'b0;
            count <= rst ? {(AW + 1){1'b0}} : beats;
            if (rst) load_err <= 1'b0;
        end else begin
            if (tvalid && tready) taken <= taken + 1'b1;
            if (!tvalid || tready) begin
                if (next != count && !pause) begin
                    tdata  <= mem[next[AW-1:0]];
                    tlast  <= (next == last_at);
                    tvalid <= 1'b1;
                    next   <= next + 1'b1;
                end else begin
                    tvalid <= 1'b0;
                end
            end
        end
    end
endmodule
`default_nettype wire
