// sps_ram.v -- simple dual-port RAM: one synchronous write port, one synchronous read port.
// Inferable as FPGA block RAM. Read-during-write to the same address is not defined (no_rw_check:
// no collision bypass logic in front of the block RAM): the user must not depend on it (the
// accumulator forwards in-flight sums instead).
// Latency: read data appears the cycle after `re` (registered output).
`default_nettype none
module sps_ram #(
    parameter WIDTH = 8,
    parameter DEPTH = 1024
) (
    clk, we, waddr, wdata, re, raddr, rdata
);
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;     // address bits

    input  wire             clk;
    input  wire             we;
    input  wire [AW-1:0]    waddr;
    input  wire [WIDTH-1:0] wdata;
    input  wire             re;
    input  wire [AW-1:0]    raddr;
    output reg  [WIDTH-1:0] rdata;

    (* no_rw_check *)
    reg [WIDTH-1:0] mem [0:DEPTH-1];

    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) rdata <= mem[raddr];
    end
endmodule
`default_nettype wire
