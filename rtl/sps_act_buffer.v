// sps_act_buffer.v -- on-chip activation buffer: 9 spatial sub-banks, each one word of LANES int8
// (one channel per lane) per address. Pixel (y, x) of channel c = cb*LANES + l lives in lane l of
// sub-bank s = 3*(y mod 3) + (x mod 3), at the channel block's word address; so any 3x3 window
// of a channel block touches each sub-bank exactly once: the window generator reads a whole
// window of all LANES channels per cycle. All lanes of a sub-bank share its address (the walker
// binds array row r to lane r mod LANES, docs/ARCHITECTURE.md section 3), so a sub-bank is one
// ACT_DEPTH x LANES*8-bit simple dual-port RAM (synchronous write, registered read): block RAM
// used at its full width. The buffer is written only while no pass reads it (sps_ctrl starts
// passes after the activation load), so a read-during-write collision never happens and the RAMs
// carry `no_rw_check` (no collision bypass logic in front of the block RAM).
// The RAMs are written out here rather than instantiated as sps_ram so that `rdata` is one
// variable written in slices (an event-driven simulator then updates it once per cycle).
// Write: one beat = one (y, x) position for all LANES lanes (sub-bank wsub, address waddr).
// The write port is registered in front of the RAMs (the loader's enable would otherwise travel
// to 4 x 9 block RAMs across the device in the same cycle as its own logic): a write lands a
// cycle after the loader's beat, still at least a cycle before a pass's first read (sps_ctrl
// starts the passes the cycle after the loader's last beat at the earliest, the window
// generator reads a cycle after its start).
// Read: each sub-bank has its own address. RD_LAT = 1: data the cycle after the address.
// RD_LAT = 3 (sps_top): the read address is registered, and each RAM's data passes an output
// register (on ECP5 the block RAM's own, REGMODE OUTREG via sps_ram): the address then has a cycle
// to reach the 36 block RAMs, and no path starts at a block RAM's slow clock to data (~5.8 ns
// without the output register).
// Latency: RD_LAT cycles from the read address to the data.
`default_nettype none
`include "sps_widths.vh"
module sps_act_buffer #(
    parameter LANES     = 8,         // activation lanes: int8 activations per buffer word and per beat
    parameter ACT_DEPTH = 1024,      // words per activation sub-bank
    parameter RD_LAT    = 1,         // read latency: 1 or 3 cycles
    localparam AW       = `SPS_AW,   // activation buffer address bits
    localparam DW       = LANES * 8  // word: one int8 per lane
) (
    input  wire                  clk,
    input  wire                  we,
    input  wire [3:0]            wsub,
    input  wire [AW-1:0]         waddr,
    input  wire [DW-1:0]         wdata,
    input  wire                  re,
    input  wire [9*AW-1:0]       raddr,
    output wire [9*DW-1:0]       rdata
);
    reg [8:0]    we_q;                   // the write, registered: per sub-bank enables,
    reg [AW-1:0] waddr_q;                // address and data
    reg [DW-1:0] wdata_q;
    integer i;
    always @(posedge clk) begin
        for (i = 0; i < 9; i = i + 1) we_q[i] <= we && (wsub == i[3:0]);
        waddr_q <= waddr;
        wdata_q <= wdata;
    end

    // the read address (RD_LAT = 3: registered)
    wire            rd_en;
    wire [9*AW-1:0] rd_addr;
    sps_delay #(.WIDTH(1 + 9*AW), .DEPTH(RD_LAT == 3 ? 1 : 0)) u_raddr (
        .clk(clk), .rst(1'b0), .d({re, raddr}), .q({rd_en, rd_addr}));

    genvar s;
    generate
`ifdef SPS_ECP5
        if (RD_LAT == 3 && ACT_DEPTH <= 1024) begin : g_ebr
            for (s = 0; s < 9; s = s + 1) begin : g_sub
                sps_ram #(.WIDTH(DW), .DEPTH(ACT_DEPTH), .OUT_REG(1)) u_ram (
                    .clk(clk), .we(we_q[s]), .waddr(waddr_q), .wdata(wdata_q),
                    .re(rd_en), .raddr(rd_addr[s*AW +: AW]), .rdata(rdata[s*DW +: DW]));
            end
        end else
`endif
        begin : g_infer
            reg [9*DW-1:0] q;                     // the RAMs' read registers, one variable
            for (s = 0; s < 9; s = s + 1) begin : g_sub
                // written only while no pass reads it (the load precedes the passes): no
                // read-during-write collision to model, so block RAM needs no bypass logic
                (* no_rw_check *)
                reg [DW-1:0] mem [0:ACT_DEPTH-1];
                always @(posedge clk) begin
                    if (we_q[s]) mem[waddr_q] <= wdata_q;
                    if (rd_en) q[s*DW +: DW] <= mem[rd_addr[s*AW +: AW]];
                end
            end
            sps_delay #(.WIDTH(9*DW), .DEPTH(RD_LAT == 3 ? 1 : 0)) u_out (   // the output registers
                .clk(clk), .rst(1'b0), .d(q), .q(rdata));
        end
    endgenerate
endmodule
`default_nettype wire
