// sps_act_buffer.v -- on-chip activation buffer: LANES channel banks x 9 spatial sub-banks.
// Pixel (y, x) of channel c lives in bank c mod LANES, sub-bank s = 3*(y mod 3) + (x mod 3), so
// any 3x3 window of a channel touches each sub-bank exactly once: the window generator reads a
// whole window per bank per cycle. Each sub-bank is an ACT_DEPTH x int8 simple dual-port RAM
// (the sps_ram pattern: synchronous write, registered read, old data on read-during-write).
// The RAMs are written out here rather than instantiated as sps_ram so that `rdata` is one
// variable written in slices: a wide net driven in 72 parts by instance ports costs an
// event-driven simulator (Icarus) a whole-bus re-evaluation per part change.
// Write: one beat = one (y, x) position for all LANES banks (sub-bank wsub, address waddr).
// Read: every (bank, sub-bank) has its own address. Latency: 1 cycle.
`default_nettype none
module sps_act_buffer #(
    parameter LANES     = 8,
    parameter ACT_DEPTH = 1024
) (
    clk, we, wsub, waddr, wdata, re, raddr, rdata
);
    localparam AW  = (ACT_DEPTH > 1) ? $clog2(ACT_DEPTH) : 1; // activation buffer address bits

    input  wire                  clk;
    input  wire                  we;
    input  wire [3:0]            wsub;
    input  wire [AW-1:0]         waddr;
    input  wire [LANES*8-1:0]    wdata;
    input  wire                  re;
    input  wire [LANES*9*AW-1:0] raddr;
    output reg  [LANES*9*8-1:0]  rdata;

    genvar b, s;
    generate
        for (b = 0; b < LANES; b = b + 1) begin : g_bank
            for (s = 0; s < 9; s = s + 1) begin : g_sub
                localparam [3:0] SI = s;
                reg [7:0] mem [0:ACT_DEPTH-1];
                always @(posedge clk) begin
                    if (we && (wsub == SI)) mem[waddr] <= wdata[b*8 +: 8];
                    if (re) rdata[(b*9+s)*8 +: 8] <= mem[raddr[(b*9+s)*AW +: AW]];
                end
            end
        end
    endgenerate
endmodule
`default_nettype wire
