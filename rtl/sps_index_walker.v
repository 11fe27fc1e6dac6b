// sps_index_walker.v -- the SPS indexing unit's sequencer. It stores no per-weight index: from the
// pattern table (P 9-bit masks) and the group phase g it walks the compacted reduction list
//   L_g = [(c, pos) for c in 0..C-1 for pos in PAT[(g + c) mod P]]
// one entry per `step`, telling each array row which (channel bank, kernel position) its weight
// needs. A tile never spans more than LANES channels (rows past that are disabled), see
// docs/ARCHITECTURE.md section 3 for the exact rule, which the compiler implements too.
// It also tracks the tile's channel base as (bank = c_base mod LANES, word offset of the
// channel block c_base div LANES times HW3) for the window generator.
// Latency: outputs describe the row the next `step` emits; they update the cycle after a step.
`default_nettype none
module sps_index_walker #(
    parameter LANES   = 8,
    parameter PMAX    = 8,
    parameter CH_BITS = 12,
    parameter XW      = 24     // word-address bits (channel block addresses wrap mod 2**XW)
) (
    clk, rst, pat, npat, n_ch, hw3, group_start, group, tile_start, step, row_en, row_bank, row_pos,
    base_bank, base_chaddr, group_end
);
    localparam LW  = (LANES > 1) ? $clog2(LANES) : 1;        // bits of a bank (lane) index
    localparam PW  = (PMAX > 1)  ? $clog2(PMAX)  : 1;        // bits of a phase / pattern index

    input  wire                clk;
    input  wire                rst;
    input  wire [9*PMAX-1:0]   pat;
    input  wire [PW:0]         npat;
    input  wire [CH_BITS-1:0]  n_ch;
    input  wire [XW-1:0]       hw3;
    input  wire                group_start;   // restart the walk of group `group`
    input  wire [PW-1:0]       group;
    input  wire                tile_start;    // the next step is row 0 of a new tile
    input  wire                step;          // emit one row
    output wire                row_en;
    output wire [LW-1:0]       row_bank;
    output wire [3:0]          row_pos;
    output reg  [LW-1:0]       base_bank;
    output reg  [XW-1:0]       base_chaddr;
    output wire                group_end;      // every entry of L_g has been emitted

    // the walk's state, named as in the section 3 rule
    reg [CH_BITS-1:0] c;                      // channel of the next entry
    reg [LW-1:0]      c_bank;                 // c mod LANES
    reg [XW-1:0]      chaddr;                 // (c div LANES) * HW3: word address of c's block
    reg [PW-1:0]      ph;                     // its phase: pattern PAT[ph]
    reg [3:0]         j;                      // kernel position of the next entry
    reg [LW:0]        tile_chans;             // channels advanced since the tile base

    function [3:0] lowest;                    // index of the lowest set bit (0 if none)
        input [8:0] m;
        integer i;
        begin
            lowest = 4'd0;
            for (i = 8; i >= 0; i = i - 1)
                if (m[i]) lowest = i[3:0];
        end
    endfunction

    wire [PW:0]  ph_inc   = {1'b0, ph} + 1'b1;
    wire [PW-1:0] ph_next = (ph_inc == npat) ? {PW{1'b0}} : ph_inc[PW-1:0];
    wire [8:0]   cur_mask = pat[ph*9 +: 9];
    wire [8:0]   upto_j   = 9'h1ff >> (4'd8 - j);          // bits 0..j
    wire [8:0]   above    = cur_mask & ~upto_j;
    wire [LW:0]  lanes_w  = LANES;

    assign group_end = (c >= n_ch);
    assign row_en    = !group_end && (tile_chans < lanes_w);
    assign row_bank  = c_bank;
    assign row_pos   = j;

    wire [LW:0] c_bank_inc = {1'b0, c_bank} + 1'b1;
    wire        wrap     = (c_bank_inc == lanes_w);

    always @(posedge clk) begin
        if (rst) begin
            c <= 0; c_bank <= 0; chaddr <= 0; ph <= 0; j <= 0; tile_chans <= 0;
            base_bank <= 0; base_chaddr <= 0;
        end else if (group_start) begin
            c <= 0; c_bank <= 0; chaddr <= 0; ph <= group; j <= lowest(pat[group*9 +: 9]); tile_chans <= 0;
            base_bank <= 0; base_chaddr <= 0;
        end else if (tile_start) begin
            tile_chans <= 0;
            base_bank <= c_bank;
            base_chaddr <= chaddr;
        end else if (step && row_en) begin
            if (|above) begin
                j <= lowest(above);
            end else begin
                c <= c + 1'b1;
                c_bank <= wrap ? {LW{1'b0}} : c_bank_inc[LW-1:0];
                if (wrap) chaddr <= chaddr + hw3;
                ph <= ph_next;
                j <= lowest(pat[ph_next*9 +: 9]);
                tile_chans <= tile_chans + 1'b1;
            end
        end
    end
endmodule
`default_nettype wire
