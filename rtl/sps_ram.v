// sps_ram.v -- simple dual-port RAM: one synchronous write port, one synchronous read port.
// Inferable as FPGA block RAM. Read-during-write to the same address is not defined (no_rw_check:
// no collision bypass logic in front of the block RAM): the user must not depend on it (the
// accumulator forwards in-flight sums instead).
// OUT_REG = 1 adds an output register (read latency 2): on ECP5 (`sps fpga` defines SPS_ECP5,
// DEPTH <= 1024) the DP16KD's own output register (REGMODE OUTREG), instantiated directly since
// Yosys does not infer it, so no path starts at the block RAM's slow clock-to-data (~5.8 ns
// without the register); elsewhere a register after the inferred RAM, the same behaviour.
// Latency: read data appears 1 cycle after `re` (OUT_REG = 0) or 2 cycles (OUT_REG = 1).
`default_nettype none
`include "sps_widths.vh"
module sps_ram #(
    parameter WIDTH   = 8,                   // word bits
    parameter DEPTH   = 1024,                // words
    parameter OUT_REG = 0,                   // 1: an output register (read latency 2, else 1)
    localparam AW     = `SPS_INDEX_W(DEPTH)  // address bits
) (
    input  wire             clk,
    input  wire             we,
    input  wire [AW-1:0]    waddr,
    input  wire [WIDTH-1:0] wdata,
    input  wire             re,
    input  wire [AW-1:0]    raddr,
    output wire [WIDTH-1:0] rdata
);
    generate
`ifdef SPS_ECP5
        if (OUT_REG != 0 && DEPTH <= 1024) begin : g_ebr
            // 1024 x 18 per DP16KD: write on port A, read on port B, ceil(WIDTH / 18) side by side
            localparam N = (WIDTH + 17) / 18;
            wire [18*N-1:0] wdata_x = wdata;            // zero-extended
            wire [18*N-1:0] rdata_x;
            wire [9:0]      wa10 = waddr, ra10 = raddr;
            wire [13:0]     wa = {wa10, 4'b0011};       // x18: word address in [13:4], byte enables in [1:0]
            wire [13:0]     ra = {ra10, 4'b0000};
            genvar i;
            for (i = 0; i < N; i = i + 1) begin : g_slice
                wire [17:0] wd = wdata_x[i*18 +: 18];
                wire [17:0] rd;
                assign rdata_x[i*18 +: 18] = rd;
                DP16KD #(
                    .DATA_WIDTH_A(18), .DATA_WIDTH_B(18), .REGMODE_A("NOREG"), .REGMODE_B("OUTREG"),
                    .RESETMODE("SYNC"), .ASYNC_RESET_RELEASE("SYNC"), .CSDECODE_A("0b000"),
                    .CSDECODE_B("0b000"), .WRITEMODE_A("NORMAL"), .WRITEMODE_B("NORMAL"), .GSR("DISABLED")
                ) u_ebr (
                    .DIA0(wd[0]), .DIA1(wd[1]), .DIA2(wd[2]), .DIA3(wd[3]), .DIA4(wd[4]), .DIA5(wd[5]),
                    .DIA6(wd[6]), .DIA7(wd[7]), .DIA8(wd[8]), .DIA9(wd[9]), .DIA10(wd[10]), .DIA11(wd[11]),
                    .DIA12(wd[12]), .DIA13(wd[13]), .DIA14(wd[14]), .DIA15(wd[15]), .DIA16(wd[16]), .DIA17(wd[17]),
                    .ADA0(wa[0]), .ADA1(wa[1]), .ADA2(wa[2]), .ADA3(wa[3]), .ADA4(wa[4]), .ADA5(wa[5]),
                    .ADA6(wa[6]), .ADA7(wa[7]), .ADA8(wa[8]), .ADA9(wa[9]), .ADA10(wa[10]), .ADA11(wa[11]),
                    .ADA12(wa[12]), .ADA13(wa[13]),
                    .DOB0(rd[0]), .DOB1(rd[1]), .DOB2(rd[2]), .DOB3(rd[3]), .DOB4(rd[4]), .DOB5(rd[5]),
                    .DOB6(rd[6]), .DOB7(rd[7]), .DOB8(rd[8]), .DOB9(rd[9]), .DOB10(rd[10]), .DOB11(rd[11]),
                    .DOB12(rd[12]), .DOB13(rd[13]), .DOB14(rd[14]), .DOB15(rd[15]), .DOB16(rd[16]), .DOB17(rd[17]),
                    .ADB0(ra[0]), .ADB1(ra[1]), .ADB2(ra[2]), .ADB3(ra[3]), .ADB4(ra[4]), .ADB5(ra[5]),
                    .ADB6(ra[6]), .ADB7(ra[7]), .ADB8(ra[8]), .ADB9(ra[9]), .ADB10(ra[10]), .ADB11(ra[11]),
                    .ADB12(ra[12]), .ADB13(ra[13]),
                    .CLKA(clk), .CEA(1'b1), .OCEA(1'b1), .WEA(we), .RSTA(1'b0), .CSA0(1'b0), .CSA1(1'b0), .CSA2(1'b0),
                    .CLKB(clk), .CEB(re), .OCEB(1'b1), .WEB(1'b0), .RSTB(1'b0), .CSB0(1'b0), .CSB1(1'b0), .CSB2(1'b0)
                );
            end
            assign rdata = rdata_x[WIDTH-1:0];
        end else
`endif
        begin : g_infer
            (* no_rw_check *)
            reg [WIDTH-1:0] mem [0:DEPTH-1];
            reg [WIDTH-1:0] q;
            always @(posedge clk) begin
                if (we) mem[waddr] <= wdata;
                if (re) q <= mem[raddr];
            end
            sps_delay #(.WIDTH(WIDTH), .DEPTH(OUT_REG != 0 ? 1 : 0)) u_out (   // the output register
                .clk(clk), .rst(1'b0), .d(q), .q(rdata));
        end
    endgenerate
endmodule
`default_nettype wire
