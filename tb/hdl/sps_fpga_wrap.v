// sps_fpga_wrap.v -- out-of-context wrapper for FPGA place-and-route measurements (`sps fpga`),
// testbench-side: not part of the design. sps_top has several hundred port bits, more than a
// package has pins; here every input is a register of a serial-in shift register (one data pin)
// and every output is registered and folded into one pin through a two-stage registered XOR tree,
// so the tools keep all of sps_top's logic, every sps_top port is a register-to-register path,
// and the pin count does not limit anything. Parameters as sps_top's.
`default_nettype none
`include "sps_config.vh"
module sps_fpga_wrap #(
    parameter ROWS           = `SPS_ROWS,           // array rows (PEs per column); LANES must divide it
    parameter COLS           = `SPS_COLS,           // array columns: output channels per tile
    parameter LANES          = `SPS_LANES,          // activation lanes: int8 activations per buffer word and per beat
    parameter ACT_DEPTH      = `SPS_ACT_DEPTH,      // words per activation sub-bank
    parameter ACC_DEPTH      = `SPS_ACC_DEPTH,      // words per accumulator bank: output pixels
    parameter PMAX           = `SPS_PMAX,           // largest pattern period P the pattern table holds
    parameter DIM_BITS       = `SPS_DIM_BITS,       // bits of a height or width (H, W, HOUT, WOUT)
    parameter CH_BITS        = `SPS_CH_BITS,        // bits of a channel count (C, F_g)
    parameter OUT_FIFO_DEPTH = `SPS_OUT_FIFO_DEPTH, // result FIFO entries (beats), >= 8
    parameter MACS_PER_DSP   = `SPS_MACS_PER_DSP    // int8 MACs per array multiplier: 1 or 2
) (
    input  wire clk,
    input  wire rst_pin,
    input  wire sin,
    output reg  sout
);
    // sps_top's inputs, in one vector
    localparam NI = 12 + 3 + 1 + 32 + 4 + 1 + 1 + 12 + 3 + 1 + 1   // AXI4-Lite
                  + LANES*8 + 2 + COLS*8 + 2 + 1;                 // streams, result ready
    // its outputs
    localparam NO = 1 + 1 + 2 + 1 + 1 + 32 + 2 + 1                  // AXI4-Lite
                  + 1 + 1 + COLS*32 + 1 + 1 + 1 + 1;               // stream readies, results, busy, done
    localparam NC = (NO + 15) / 16;                                 // XOR chunks of 16 bits

    reg rst_meta, rst;
    always @(posedge clk) begin
        rst_meta <= rst_pin;
        rst      <= rst_meta;
    end

    reg [NI-1:0] shift, in_q;
    always @(posedge clk) begin
        shift <= {shift[NI-2:0], sin};
        in_q  <= shift;
    end

    wire [NO-1:0] out;
    sps_top #(.ROWS(ROWS), .COLS(COLS), .LANES(LANES), .ACT_DEPTH(ACT_DEPTH), .ACC_DEPTH(ACC_DEPTH),
              .PMAX(PMAX), .DIM_BITS(DIM_BITS), .CH_BITS(CH_BITS), .OUT_FIFO_DEPTH(OUT_FIFO_DEPTH),
              .MACS_PER_DSP(MACS_PER_DSP)) u_top (
        .clk(clk), .rst(rst),
        .s_axil_awaddr(in_q[11:0]), .s_axil_awprot(in_q[14:12]), .s_axil_awvalid(in_q[15]),
        .s_axil_wdata(in_q[47:16]), .s_axil_wstrb(in_q[51:48]), .s_axil_wvalid(in_q[52]),
        .s_axil_bready(in_q[53]), .s_axil_araddr(in_q[65:54]), .s_axil_arprot(in_q[68:66]),
        .s_axil_arvalid(in_q[69]), .s_axil_rready(in_q[70]),
        .s_axis_act_tdata(in_q[71 +: LANES*8]), .s_axis_act_tvalid(in_q[71 + LANES*8]),
        .s_axis_act_tlast(in_q[72 + LANES*8]),
        .s_axis_wgt_tdata(in_q[73 + LANES*8 +: COLS*8]), .s_axis_wgt_tvalid(in_q[73 + LANES*8 + COLS*8]),
        .s_axis_wgt_tlast(in_q[74 + LANES*8 + COLS*8]), .m_axis_res_tready(in_q[75 + LANES*8 + COLS*8]),
        .s_axil_awready(out[0]), .s_axil_wready(out[1]), .s_axil_bresp(out[3:2]), .s_axil_bvalid(out[4]),
        .s_axil_arready(out[5]), .s_axil_rdata(out[37:6]), .s_axil_rresp(out[39:38]), .s_axil_rvalid(out[40]),
        .s_axis_act_tready(out[41]), .s_axis_wgt_tready(out[42]), .m_axis_res_tdata(out[43 +: COLS*32]),
        .m_axis_res_tvalid(out[43 + COLS*32]), .m_axis_res_tlast(out[44 + COLS*32]),
        .busy(out[45 + COLS*32]), .done(out[46 + COLS*32]));

    reg [NO-1:0]      out_q;
    reg [NC-1:0]      chunk_x;
    wire [NC*16-1:0]  out_ext = {{(NC*16 - NO){1'b0}}, out_q};
    integer k;
    always @(posedge clk) begin
        out_q <= out;
        for (k = 0; k < NC; k = k + 1)
            chunk_x[k] <= ^out_ext[k*16 +: 16];
        sout <= ^chunk_x;
    end
endmodule
`default_nettype wire
