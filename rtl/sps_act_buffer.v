// sps_act_buffer.v -- on-chip activation buffer: LANES channel banks x 9 spatial sub-banks.
// Pixel (y, x) of channel c lives in bank c mod LANES, sub-bank s = 3*(y mod 3) + (x mod 3), so
// any 3x3 window of a channel touches each sub-bank exactly once: the window generator reads a
// whole window per bank per cycle. Each sub-bank is an sps_ram (ACT_DEPTH x int8).
// Write: one beat = one (y, x) position for all LANES banks (sub-bank wsub, address waddr).
// Read: every (bank, sub-bank) has its own address. Latency: 1 cycle.
module sps_act_buffer #(
    parameter LANES     = 8,
    parameter ACT_DEPTH = 1024,
    parameter AW        = 10
) (
    input  wire                  clk,
    input  wire                  we,
    input  wire [3:0]            wsub,
    input  wire [AW-1:0]         waddr,
    input  wire [LANES*8-1:0]    wdata,
    input  wire                  re,
    input  wire [LANES*9*AW-1:0] raddr,
    output wire [LANES*9*8-1:0]  rdata
);
    genvar b, s;
    generate
        for (b = 0; b < LANES; b = b + 1) begin : g_bank
            for (s = 0; s < 9; s = s + 1) begin : g_sub
                localparam [3:0] SI = s;
                sps_ram #(.WIDTH(8), .DEPTH(ACT_DEPTH), .AW(AW)) u_ram (
                    .clk(clk),
                    .we(we && (wsub == SI)), .waddr(waddr), .wdata(wdata[b*8 +: 8]),
                    .re(re), .raddr(raddr[(b*9+s)*AW +: AW]), .rdata(rdata[(b*9+s)*8 +: 8])
                );
            end
        end
    endgenerate
endmodule
