// sps_tb_sink.v -- testbench only: an AXI4-Stream sink writing every accepted beat to a memory.
// TREADY is low while `pause` is high (or the memory is full). While `load` is high at a clock edge
// the sink restarts empty; while `dump` is high the `count` words received are written to the
// text file FILE ($writememh, one word per line). `lasts` counts the beats with TLAST, `last_at`
// is the index of the most recent one; `idle` counts the cycles since the last beat accepted
// (saturating at 255); `overflow` is set if a beat arrived with the memory full. Pulse `load` only
// while the stream is idle (TREADY is low during it, so no beat is lost).
`default_nettype none
module sps_tb_sink #(
    parameter W    = 256,          // TDATA bits
    parameter AW   = 14,           // memory: 2^AW beats
    parameter FILE = "sink.hex"    // the file `dump` writes
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          load,
    input  wire          dump,
    input  wire          pause,
    input  wire [W-1:0]  tdata,
    input  wire          tvalid,
    input  wire          tlast,
    output wire          tready,
    output reg  [AW:0]   count,
    output reg  [AW:0]   lasts,
    output reg  [AW:0]   last_at,
    output reg  [7:0]    idle,
    output reg           overflow
);
    reg [W-1:0] mem [0:(1 << AW) - 1];
    wire full = count[AW];

    assign tready = !pause && !full && !rst && !load;

    always @(posedge clk) begin
        if (rst || load) begin
            count <= 0; lasts <= 0; last_at <= 0; overflow <= 1'b0; idle <= 8'd0;
        end else if (tvalid && tready) begin
            idle <= 8'd0;
            mem[count[AW-1:0]] <= tdata;
            count <= count + 1'b1;
            if (tlast) begin
                lasts   <= lasts + 1'b1;
                last_at <= count;
            end
        end else begin
            if (tvalid && full) overflow <= 1'b1;
            if (idle != 8'hff) idle <= idle + 8'd1;
        end
    end

    always @(posedge clk)
        if (dump && count != 0) $writememh(FILE, mem, 0, count - 1);
endmodule
`default_nettype wire
