// sps_wgen_tb.v -- testbench-only top for tb/blocks/test_sps_window_gen.py: the activation buffer
// (sps_act_buffer, write port exposed) feeding the window generator (sps_window_gen), connected as
// in sps_top. Derived widths come from rtl/sps_widths.vh, as in the blocks.
`default_nettype none
`include "sps_widths.vh"
module sps_wgen_tb #(
    parameter LANES     = 8,        // activation lanes: int8 activations per buffer word and per beat
    parameter ACT_DEPTH = 1024,     // words per activation sub-bank
    parameter ACC_DEPTH = 1024,     // words per accumulator bank: output pixels
    parameter DIM_BITS  = 10,       // bits of a height or width (H, W, HOUT, WOUT)
    parameter SBW       = 4,        // sideband bits carried with every pixel of the pass
    localparam AW       = `SPS_AW,  // activation buffer address bits
    localparam PXW      = `SPS_PXW, // bits of a pixel index
    localparam BW       = `SPS_BW   // bits of a batch size
) (
    input  wire                  clk,
    input  wire                  rst,
    // activation buffer write port
    input  wire                  we,
    input  wire [3:0]            wsub,
    input  wire [AW-1:0]         waddr,
    input  wire [LANES*8-1:0]    wdata,
    // layer geometry
    input  wire [DIM_BITS-1:0]   h,
    input  wire [DIM_BITS-1:0]   w,
    input  wire [DIM_BITS-1:0]   hout,
    input  wire [DIM_BITS-1:0]   wout,
    input  wire                  stride2,
    input  wire [1:0]            pad_top,
    input  wire [1:0]            pad_left,
    input  wire [AW-1:0]         w3,
    input  wire [AW-1:0]         hw3,
    input  wire [BW-1:0]         batch,
    // pass start
    input  wire                  start,
    input  wire [AW-1:0]         base_chaddr,
    input  wire                  tag,
    input  wire [SBW-1:0]        sb,
    output wire                  can_start,
    output wire                  issue,
    output wire                  issue_tag,
    output wire                  pass_end,
    output wire                  pass_end_tag,
    // window geometry (one stage ahead of the words) and the sub-bank words
    output wire [1:0]            f1_y0m,
    output wire [1:0]            f1_x0m,
    output wire [2:0]            f1_row_in,
    output wire [2:0]            f1_col_in,
    output wire                  win_valid,
    output wire                  win_last,
    output wire [PXW-1:0]        win_pixel,
    output wire [SBW-1:0]        win_sb,
    output wire [9*LANES*8-1:0]  win
);
    wire                  re;
    wire [9*AW-1:0]       raddr;
    wire [9*LANES*8-1:0]  rdata;

    sps_act_buffer #(.LANES(LANES), .ACT_DEPTH(ACT_DEPTH)) u_buf (
        .clk(clk), .we(we), .wsub(wsub), .waddr(waddr), .wdata(wdata),
        .re(re), .raddr(raddr), .rdata(rdata));

    sps_window_gen #(.LANES(LANES), .ACT_DEPTH(ACT_DEPTH), .ACC_DEPTH(ACC_DEPTH), .DIM_BITS(DIM_BITS),
                     .SBW(SBW)) u_wgen (
        .clk(clk), .rst(rst), .h(h), .w(w), .hout(hout), .wout(wout), .stride2(stride2),
        .pad_top(pad_top), .pad_left(pad_left), .w3(w3), .hw3(hw3), .batch(batch),
        .start(start), .base_chaddr(base_chaddr), .tag(tag), .sb(sb),
        .can_start(can_start), .issue(issue), .issue_tag(issue_tag), .pass_end(pass_end),
        .pass_end_tag(pass_end_tag), .rd_en(re), .rd_addr(raddr), .rd_data(rdata),
        .f1_y0m(f1_y0m), .f1_x0m(f1_x0m), .f1_row_in(f1_row_in), .f1_col_in(f1_col_in),
        .win_valid(win_valid), .win_last(win_last), .win_pixel(win_pixel),
        .win_sb(win_sb), .win(win));
endmodule
`default_nettype wire
