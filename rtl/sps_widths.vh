// sps_widths.vh -- the widths derived from the array parameters, each defined once (as a macro).
// Included at the top of a file, before its module (an include guard: macros are global); a
// module binds the ones it uses to localparams of its parameter port list, e.g.
//     localparam PW = `SPS_PW    // bits of a phase / pattern index
// Each macro reads the including module's parameter of the name it states.
`ifndef SPS_WIDTHS_VH
`define SPS_WIDTHS_VH
// bits of an index 0..n-1 (at least 1)
`define SPS_INDEX_W(n)  (((n) > 1) ? $clog2(n) : 1)
// bits of a count 0..n
`define SPS_COUNT_W(n)  $clog2((n) + 1)
// bits of an array row index (ROWS)
`define SPS_RW          `SPS_INDEX_W(ROWS)
// bits of a lane (activation bank) index (LANES)
`define SPS_LW          `SPS_INDEX_W(LANES)
// bits of a phase / pattern index (PMAX)
`define SPS_PW          `SPS_INDEX_W(PMAX)
// bits of an activation buffer word address (ACT_DEPTH)
`define SPS_AW          `SPS_INDEX_W(ACT_DEPTH)
// bits of a pixel index, an accumulator word address (ACC_DEPTH)
`define SPS_PXW         `SPS_INDEX_W(ACC_DEPTH)
// bits of a batch size, a count 0..ACC_DEPTH of images (ACC_DEPTH: a pass's pixels, B*HOUT*WOUT)
`define SPS_BW          `SPS_COUNT_W(ACC_DEPTH)
// bits of a partial sum inside the array: a column of ROWS int8 x int8 products (ROWS)
`define SPS_PSW         (16 + `SPS_RW)
`endif
