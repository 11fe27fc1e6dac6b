// sps_sideband.vh -- bit layouts of the two sidebands, defined once for producers and consumers.
// Included as the last item of a module's parameter port list (no include guard: every including
// module gets its own copy of these localparams); the list must define PXW, the pixel-index
// width, before it:
//     localparam PXW = `SPS_PXW,     // bits of a pixel index
//     `include "sps_sideband.vh"
//
// Pass sideband (SB_PASS_W bits): what the accumulator must know about a pass. sps_ctrl builds it
// from the metadata of the weight slot it starts; the window generator carries it, unchanged,
// with every pixel of the pass.
/* verilator lint_off UNUSEDPARAM */         // an includer may use only some of the fields
localparam SB_PASS_BANK      = 0,    // accumulator bank of the pass's column tile
           SB_PASS_FIRST_RT  = 1,    // first row tile of the column tile: write the sums, do not add
           SB_PASS_LAST_RT   = 2,    // last row tile: the bank is done after the pass's last pixel
           SB_PASS_LAST_PASS = 3,    // last pass of the program
           SB_PASS_W         = 4,
// Pixel sideband (SB_PIX_W bits): the pass sideband, the pixel index and a last-pixel flag.
// sps_top builds it from the window generator's outputs; the indexing unit delays it to row
// ROWS-1's entry into the array and the accumulator moves it along the columns with the psums.
           SB_PIX_LAST_PX    = 0,                      // the pass's last pixel
           SB_PIX_PIXEL      = 1,                      // pixel index (accumulator word), PXW bits
           SB_PIX_PASS       = SB_PIX_PIXEL + PXW,     // the pass sideband, SB_PASS_W bits
           SB_PIX_W          = SB_PIX_PASS + SB_PASS_W,
// the pass sideband's fields within the pixel sideband
           SB_PIX_BANK       = SB_PIX_PASS + SB_PASS_BANK,
           SB_PIX_FIRST_RT   = SB_PIX_PASS + SB_PASS_FIRST_RT,
           SB_PIX_LAST_RT    = SB_PIX_PASS + SB_PASS_LAST_RT,
           SB_PIX_LAST_PASS  = SB_PIX_PASS + SB_PASS_LAST_PASS
/* verilator lint_on UNUSEDPARAM */
