// sps_tb_debug.v -- testbench only: transaction monitors at sps_top's block boundaries, for
// `sps debug` (tb/env/debug.py reads what they write). Compiled and instantiated only in the debug
// build (tb/hdl/sps_tb.v under `ifdef SPS_DEBUG, tb.env.runner with SPS_DEBUG=1): the regular
// build has no monitor and costs nothing. sps_tb.v connects the ports to sps_top's internal nets
// by hierarchical reference. One line per transaction, "kind,cycle,fields..." (decimal), into the
// file given by +sps_debug_file=PATH (default sps_debug.csv in the run directory):
//   G,cycle                        a band starts (sps_ctrl's go)
//   S,cycle,pixel,pass_sb          a pixel's sideband as row ROWS-1 gets its activation
//                                  (row r's activation of that pixel came ROWS-1-r cycles earlier)
//   A,cycle,row,tag,act            an activation entering array row r (signed byte)
//   Q,cycle,pixel,pass_sb          a pixel's sideband leaving the array (column j's psum of that
//                                  pixel leaves 1 + j cycles later)
//   P,cycle,col,psum               a partial sum leaving array column j (signed)
//   W,cycle,col,bank,pixel,value   an accumulator write (stage D)
//   V,cycle,v0,...,v(COLS-1)       a result word before requantisation (acc + bias, per column)
//   R,cycle,r0,...,r(COLS-1)       a result beat taken from m_axis_res (per column)
// pass_sb: bit 0 bank, 1 first row tile, 2 last row tile, 3 last pass (rtl/sps_sideband.vh).
`default_nettype none
`include "sps_widths.vh"
module sps_tb_debug #(
    parameter ROWS      = 8,
    parameter COLS      = 8,
    parameter ACC_DEPTH = 1024,
    localparam PXW      = `SPS_PXW,
    `include "sps_sideband.vh"
) (
    input wire                  clk,
    input wire                  rst,
    input wire [31:0]           cycle,
    input wire                  go,
    input wire                  done,
    // index select -> array
    input wire [ROWS-1:0]       row_valid,
    input wire [ROWS-1:0]       row_tag,
    input wire [ROWS*8-1:0]     row_a,
    input wire                  in_sb_valid,
    input wire [SB_PIX_W-1:0]   in_sb,
    // array -> accumulator
    input wire [COLS-1:0]       col_valid,
    input wire [COLS*32-1:0]    psum,
    input wire                  out_sb_valid,
    input wire [SB_PIX_W-1:0]   out_sb,
    // accumulator writes
    input wire [COLS-1:0]       acc_we,
    input wire [COLS-1:0]       acc_bank,
    input wire [COLS*PXW-1:0]   acc_pixel,
    input wire [COLS*32-1:0]    acc_value,
    // output stage: acc + bias, before requantisation
    input wire                  v_valid,
    input wire [COLS*32-1:0]    v,
    // result stream beats taken
    input wire                  res_valid,
    input wire [COLS*32-1:0]    res
);
    integer fd, r, j;
    reg signed [7:0]  a8;       // a field, sized and signed, for %d
    reg signed [31:0] v32;
    reg [1023:0] path;
    initial begin
        if (!$value$plusargs("sps_debug_file=%s", path)) path = "sps_debug.csv";
        fd = $fopen(path, "w");
    end
    // one record of COLS signed 32-bit words: KIND,cycle,word 0,word 1,...
    task automatic write_words(input [7:0] kind, input [COLS*32-1:0] words);
        integer k;
        reg signed [31:0] w32;
        begin
            $fwrite(fd, "%s,%0d", kind, cycle);
            for (k = 0; k < COLS; k = k + 1) begin
                w32 = words[k*32 +: 32];
                $fwrite(fd, ",%0d", w32);
            end
            $fwrite(fd, "\n");
        end
    endtask

    always @(posedge clk) begin
        if (!rst) begin
            if (go) $fwrite(fd, "G,%0d\n", cycle);
            if (in_sb_valid)
                $fwrite(fd, "S,%0d,%0d,%0d\n", cycle, in_sb[SB_PIX_PIXEL +: PXW], in_sb[SB_PIX_PASS +: SB_PASS_W]);
            for (r = 0; r < ROWS; r = r + 1)
                if (row_valid[r]) begin
                    a8 = row_a[r*8 +: 8];
                    $fwrite(fd, "A,%0d,%0d,%0d,%0d\n", cycle, r, row_tag[r], a8);
                end
            if (out_sb_valid)
                $fwrite(fd, "Q,%0d,%0d,%0d\n", cycle, out_sb[SB_PIX_PIXEL +: PXW], out_sb[SB_PIX_PASS +: SB_PASS_W]);
            for (j = 0; j < COLS; j = j + 1)
                if (col_valid[j]) begin
                    v32 = psum[j*32 +: 32];
                    $fwrite(fd, "P,%0d,%0d,%0d\n", cycle, j, v32);
                end
            for (j = 0; j < COLS; j = j + 1)
                if (acc_we[j]) begin
                    v32 = acc_value[j*32 +: 32];
                    $fwrite(fd, "W,%0d,%0d,%0d,%0d,%0d\n", cycle, j, acc_bank[j], acc_pixel[j*PXW +: PXW], v32);
                end
            if (v_valid) write_words("V", v);
            if (res_valid) write_words("R", res);
            if (done) $fflush(fd);
        end
    end
endmodule
`default_nettype wire
