// sps_weight_loader.v -- consumes the weight stream (AXI4-Stream, COLS int8 per beat) in the
// program's loop order (docs/ARCHITECTURE.md sections 4 and 5.3):
//   for each phase group g with FG[g] > 0, for each column tile:
//     7 header beats (bias, multiplier, shift) -> output stage, once that accumulator bank is free
//     for each row tile: ROWS beats -> weight slot (PE double buffer) row by row, while the index
//     walker emits the matching kernel position of each row -> indexing unit.
// A filled slot is marked full with its pass metadata; the array's feeder runs it and the window
// generator releases it right after the pass's last pixel (its rows are then rewritten behind
// the pass's wavefront: the array skews weight writes like activations). Row tiles of a group end
// when the walker has covered L_g; the walker restarts for every column tile. TLAST must mark
// exactly the program's last beat, otherwise `err` is set: a TLAST before it ends the packet (the
// loader goes idle and takes no beat after it), a last beat without TLAST is still the last.
// Latency: a tile takes ROWS beats; its finalise cycle (TEND: slot marked full) accepts the next
// tile's first beat when the next slot is free and the group goes on, so tiles stream at one
// beat per cycle; otherwise the slot wait costs a cycle after TEND.
`default_nettype none
`include "sps_widths.vh"
module sps_weight_loader #(
    parameter ROWS      = 8,        // array rows (PEs per column); LANES must divide it
    parameter COLS      = 8,        // array columns: output channels per tile
    parameter LANES     = 8,        // activation lanes: int8 activations per buffer word and per beat
    parameter PMAX      = 8,        // largest pattern period P the pattern table holds
    parameter CH_BITS   = 12,       // bits of a channel count (C, F_g)
    parameter ACT_DEPTH = 1024,     // words per activation sub-bank
    parameter MW        = 32,       // MAC-count field width
    localparam RW       = `SPS_RW,  // bits of an array row index
    localparam PW       = `SPS_PW,  // bits of a phase / pattern index
    localparam AW       = `SPS_AW   // activation buffer address bits
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   start,
    input  wire [CH_BITS-1:0]     n_ch,
    input  wire [9*PMAX-1:0]      pat,
    input  wire [PW:0]            npat,
    input  wire [CH_BITS*PMAX-1:0] fg,
    input  wire [AW-1:0]          hw3b,          // a channel block's words: HW3 * BATCH (mod 2**AW)
    // weight stream
    input  wire [COLS*8-1:0]      s_tdata,
    input  wire                   s_tvalid,
    input  wire                   s_tlast,
    output wire                   s_tready,
    // accumulator banks
    input  wire [1:0]             bank_busy,
    output wire                   bank_claim,
    output wire                   bank_claim_id,
    // header -> output stage
    output wire                   hdr_wr_en,
    output wire                   hdr_wr_bank,
    output wire [2:0]             hdr_wr_beat,
    output wire [COLS*8-1:0]      hdr_wr_data,
    // weights -> array, index -> indexing unit
    output wire                   w_wr_en,
    output wire                   w_wr_slot,
    output wire [RW-1:0]          w_wr_row,
    output wire [COLS*8-1:0]      w_wr_data,
    output wire                   idx_rowen,
    output wire [3:0]             idx_pos,
    // weight slots, bit / field s = slot s: released by the window generator; full, and the
    // metadata of the tile a full slot holds (for the pass that will run it)
    input  wire                   slot_free_valid,
    input  wire                   slot_free_tag,
    output reg  [1:0]             slot_full,
    output reg  [1:0]             slot_first_rt,     // first row tile of its column tile
    output reg  [1:0]             slot_last_rt,      // last row tile of its column tile
    output reg  [1:0]             slot_bank,         // accumulator bank of its column tile
    output reg  [1:0]             slot_last_pass,    // the program's last tile
    output reg  [2*AW-1:0]        slot_base_chaddr,  // word address of the tile's channel block
    output reg  [2*MW-1:0]        slot_macs,         // MACs per pixel (enabled rows x active columns)
    output reg                    err,
    output wire                   stall
);
    // one-hot states: a state test is one flip-flop, in the case below as well (case (1'b1) on the
    // state bits, parallel_case for synthesis: the arms are exclusive as the state is one-hot)
    localparam I_IDLE = 0, I_NEXTG = 1, I_HDRW = 2, I_HDR = 3, I_TILEW = 4, I_TILE = 5, I_TEND = 6;
    localparam [6:0] S_IDLE = 7'd1 << I_IDLE, S_NEXTG = 7'd1 << I_NEXTG, S_HDRW = 7'd1 << I_HDRW,
                     S_HDR  = 7'd1 << I_HDR,  S_TILEW = 7'd1 << I_TILEW, S_TILE = 7'd1 << I_TILE,
                     S_TEND = 7'd1 << I_TEND;

    reg [6:0]          state;
    reg [PW:0]         group;
    reg [CH_BITS-1:0]  rem;             // filters of the group not yet in a finished column tile
    reg                bank, slot, first_rt, tlast_row;
    reg [RW-1:0]       beat;            // row of the tile (S_TILE)
    reg [2:0]          hbeat;           // header beat (S_HDR)
    reg                hdr_last;        // hbeat == 6
    reg                row_last;        // beat == ROWS - 1
    localparam TMW = `SPS_COUNT_W(ROWS * COLS);
    reg [TMW-1:0]      tile_macs;       // MACs per pixel of the tile being loaded (<= ROWS * COLS)
    // registered from static or slowly changing state; each is read at least 8 cycles after its
    // inputs last changed (a group or column-tile change is followed by S_HDRW and 7 header beats)
    reg                has_later;       // a later group has filters
    reg                last_ct;         // this column tile is the group's last
    localparam CAW = `SPS_COUNT_W(COLS);
    localparam integer COLS_I = COLS;
    localparam [CAW-1:0] COLS_C = COLS_I[CAW-1:0];
    reg [CAW-1:0]      cols_act;        // its active columns (<= COLS)

    // TEND takes the next tile's first beat when the group goes on and the other slot is free;
    // tend_pre (TEND, no TLAST on the tile's last row, the other slot free) is registered a cycle
    // ahead from the next state, so that the stream handshake and the walker's step are one LUT
    wire          group_end;
    reg           tend_pre;
    wire          tend_next  = tend_pre && !group_end;
    assign s_tready = state[I_HDR] || state[I_TILE] || tend_next;
    assign stall    = s_tready && !s_tvalid;
    wire          hdr_acc    = state[I_HDR] && s_tvalid;             // the enables, each from state
    wire          tile_acc   = state[I_TILE] && s_tvalid;            // bits directly
    wire          tend_acc   = tend_next && s_tvalid;

    // walker
    wire [PW-1:0] group_idx     = group[PW-1:0];
    wire          w_group_start = hdr_acc && hdr_last;
    wire          w_step        = tile_acc || tend_acc;
    wire          row_en;
    wire [3:0]    row_pos;
    wire [AW-1:0] tile_chaddr;
    sps_index_walker #(.ROWS(ROWS), .LANES(LANES), .PMAX(PMAX), .CH_BITS(CH_BITS), .ACT_DEPTH(ACT_DEPTH)) u_walk (
        .clk(clk), .rst(rst), .pat(pat), .npat(npat), .n_ch(n_ch), .hw3b(hw3b),
        .group_start(w_group_start), .group(group_idx), .step(w_step),
        .row_en(row_en), .row_pos(row_pos), .tile_chaddr(tile_chaddr), .group_end(group_end));

    // group bookkeeping
    wire [CH_BITS-1:0] group_filters = fg[group_idx*CH_BITS +: CH_BITS];
    wire [CH_BITS-1:0] cols_w        = COLS;
    reg  [PMAX-1:0]    grp_nz;          // groups < npat with filters (static in a layer)
    reg  [PMAX-1:0]    above;           // groups after `group`
    integer k;
    always @(posedge clk) begin
        for (k = 0; k < PMAX; k = k + 1) begin
            grp_nz[k] <= (k < npat) && (fg[k*CH_BITS +: CH_BITS] != {CH_BITS{1'b0}});
            above[k]  <= (k > group);
        end
        has_later <= |(grp_nz & above);
        last_ct   <= (rem <= cols_w);
        cols_act  <= (rem <= cols_w) ? rem[CAW-1:0] : COLS_C;
    end
    wire last_pass = group_end && last_ct && !has_later;
    // S_NEXTG's tests of the group (group >= NPAT; the group has filters), registered with every
    // write of `group` (0, or group + 1) from the static grp_nz / NPAT
    reg             grp_past, grp_here;
    wire [PMAX:0]   grp_nz_ext = {1'b0, grp_nz};
    wire [PW:0]     group_idx1 = {1'b0, group_idx} + 1'b1;
    wire            past_inc   = ({1'b0, group} + 1'b1) >= {1'b0, npat};
    wire            here_inc   = grp_nz_ext[group_idx1];

    // header writes leave through a register (the output stage reads a header only when its bank
    // drains, long after; the register keeps the stream handshake off the header's clock enables)
    reg                hdr_wr_en_q, hdr_wr_bank_q;
    reg [2:0]          hdr_wr_beat_q;
    reg [COLS*8-1:0]   hdr_wr_data_q;
    always @(posedge clk) begin
        hdr_wr_en_q   <= hdr_acc && !rst;
        hdr_wr_bank_q <= bank;
        hdr_wr_beat_q <= hbeat;
        hdr_wr_data_q <= s_tdata;
    end
    assign bank_claim    = state[I_HDRW] && !bank_busy[bank];
    assign bank_claim_id = bank;
    assign hdr_wr_en     = hdr_wr_en_q;
    assign hdr_wr_bank   = hdr_wr_bank_q;
    assign hdr_wr_beat   = hdr_wr_beat_q;
    assign hdr_wr_data   = hdr_wr_data_q;
    assign w_wr_en       = w_step;
    assign w_wr_slot     = state[I_TEND] ? ~slot : slot;   // TEND's beat starts the next slot
    assign w_wr_row      = state[I_TEND] ? {RW{1'b0}} : beat;
    assign w_wr_data     = s_tdata;
    assign idx_rowen     = row_en;
    assign idx_pos       = row_pos;

    // MACs per pixel of the tile: active columns added once per enabled row (no multiplier)
    wire [TMW-1:0] macs_row = row_en ? {{(TMW-CAW){1'b0}}, cols_act} : {TMW{1'b0}};
    localparam integer ROW_LAST_I = ROWS - 1;
    localparam [RW-1:0] ROW_LAST = ROW_LAST_I[RW-1:0];

    // the slot flags' next value (a release, a start's clear, TEND's fill) and the slot filled next,
    // for tend_pre: it is set when the state enters TEND (a tile's last row), where the other slot's
    // flag is the one the TEND cycle sees
    reg  [1:0] slot_full_n;
    reg        slot_n;
    wire       to_tend = (state[I_TILE] && s_tvalid && row_last) || (ROWS == 1 && tend_acc);
    always @(*) begin
        slot_full_n = slot_full; slot_n = slot;
        if (slot_free_valid) slot_full_n[slot_free_tag] = 1'b0;
        if (state[I_IDLE] && start) begin
            slot_full_n = 2'b00; slot_n = 1'b0;
        end
        if (state[I_TEND]) begin
            slot_full_n[slot] = 1'b1; slot_n = ~slot;
        end
    end
    always @(posedge clk)
        tend_pre <= !rst && to_tend && !s_tlast && !slot_full_n[~slot_n];

    always @(posedge clk) begin
        if (rst) begin
            state <= S_IDLE; group <= 0; grp_past <= 1'b0; grp_here <= 1'b0; rem <= 0; bank <= 1'b0; slot <= 1'b0; first_rt <= 1'b0;
            tlast_row <= 1'b0; beat <= 0; hbeat <= 0; hdr_last <= 1'b0; row_last <= 1'b0;
            tile_macs <= 0; slot_full <= 2'b00; err <= 1'b0;
            slot_first_rt <= 0; slot_last_rt <= 0; slot_bank <= 0; slot_last_pass <= 0;
            slot_base_chaddr <= 0; slot_macs <= 0;
        end else begin
            if (slot_free_valid) slot_full[slot_free_tag] <= 1'b0;
            (* parallel_case *)
            case (1'b1)                   // one-hot: one state bit per arm
                state[I_IDLE]: if (start) begin
                    state <= S_NEXTG; group <= 0; bank <= 1'b0; slot <= 1'b0; slot_full <= 2'b00; err <= 1'b0;
                    grp_past <= (npat == 0); grp_here <= grp_nz[0];
                end
                state[I_NEXTG]: begin
                    if (grp_past) state <= S_IDLE;                 // no group with filters: nothing to load
                    else if (!grp_here) begin
                        group <= group + 1'b1; grp_past <= past_inc; grp_here <= here_inc;
                    end else begin
                        rem <= group_filters;
                        state <= S_HDRW;
                    end
                end
                state[I_HDRW]: if (!bank_busy[bank]) begin
                    state <= S_HDR; hbeat <= 0; hdr_last <= 1'b0;
                end
                state[I_HDR]: if (s_tvalid) begin
                    if (s_tlast) begin                   // early TLAST: the packet ends here
                        err <= 1'b1; state <= S_IDLE;
                    end else if (hdr_last) begin
                        state <= S_TILEW; first_rt <= 1'b1;
                    end else begin
                        hbeat <= hbeat + 1'b1;
                        hdr_last <= (hbeat == 3'd5);
                    end
                end
                state[I_TILEW]: if (!slot_full[slot]) begin
                    state <= S_TILE; beat <= 0; row_last <= (ROWS == 1);
                end
                state[I_TILE]: if (s_tvalid) begin
                    tile_macs <= (beat == 0 ? {TMW{1'b0}} : tile_macs) + macs_row;
                    if (row_last) begin
                        tlast_row <= s_tlast;
                        state <= S_TEND;
                    end else if (s_tlast) begin          // early TLAST: the packet ends here
                        err <= 1'b1; state <= S_IDLE;
                    end else begin
                        beat <= beat + 1'b1;
                        row_last <= (beat == ROW_LAST - 1'b1);
                    end
                end
                state[I_TEND]: begin              // the walker has seen the whole tile
                    slot_full[slot]                 <= 1'b1;
                    slot_first_rt[slot]             <= first_rt;
                    slot_last_rt[slot]              <= group_end;
                    slot_bank[slot]                 <= bank;
                    slot_last_pass[slot]            <= last_pass;
                    slot_base_chaddr[slot*AW +: AW] <= tile_chaddr;
                    slot_macs[slot*MW +: MW]        <= {{(MW-TMW){1'b0}}, tile_macs};
                    if (tlast_row != last_pass) err <= 1'b1;
                    slot <= ~slot;
                    first_rt <= 1'b0;
                    // (tend_next implies no TLAST on the last row: tested first, it keeps last_pass
                    // off the next tile's enables)
                    if (tend_next) begin
                        state <= S_TILE; beat <= 0; row_last <= (ROWS == 1);
                        if (s_tvalid) begin              // the next tile's first beat
                            tile_macs <= macs_row;
                            if (ROWS == 1) begin
                                tlast_row <= s_tlast;
                                state <= S_TEND;
                            end else if (s_tlast) begin  // early TLAST: the packet ends here
                                err <= 1'b1; state <= S_IDLE;
                            end else begin
                                beat <= 1;
                                row_last <= (ROWS == 2);
                            end
                        end
                    end else if (tlast_row && !last_pass) begin   // early TLAST on a tile's last row
                        state <= S_IDLE;
                    end else if (!group_end) begin
                        state <= S_TILEW;
                    end else begin
                        bank <= ~bank;
                        if (!last_ct) begin
                            rem <= rem - cols_w;
                            state <= S_HDRW;
                        end else if (has_later) begin
                            group <= group + 1'b1; grp_past <= past_inc; grp_here <= here_inc;
                            state <= S_NEXTG;
                        end else begin
                            state <= S_IDLE;
                        end
                    end
                end
                default: state <= S_IDLE;
            endcase
        end
    end
endmodule
`default_nettype wire
