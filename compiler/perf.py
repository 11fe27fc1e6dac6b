"""Cycle model of one layer program: an event-level replay of the RTL controller's rules
(rtl/sps_ctrl.v, sps_weight_loader.v, sps_window_gen.v, sps_accumulator.v, sps_output_stage.v),
assuming the input streams never stall and the result sink is always ready. Times are cycles
counted from the first busy cycle (what the CYCLES counter counts). Per band:

    geometry + check          geom_cycles(cfg) + 2 cycles (bit-serial divisions and products, one
                              step per cycle, then the registered checks); act loader and weight
                              loader start together
    activation load           A = ceil(C/LANES) * B * H_band * W beats (B = the batch: images per
                              band, the BATCH register); passes may start at
                              geom_cycles(cfg) + A + 3
    weight loader             per column tile: claim the accumulator bank when the output stage
                              has drained it (HDR_WAIT, 1) + 7 header beats; per row tile: ROWS
                              beats from cycle b, finalise (TEND) at e = b + ROWS, the slot full
                              (visible) at e + 1. The first tile of a column tile waits in
                              TILE_WAIT (entered at t) until its slot is free: b = max(t, free) + 1;
                              the next tile of the group starts in the finalise cycle when its
                              slot is free by then (b = e), else b = free + 1; after the last
                              tile of a column tile the loader goes on at e + 1; every
                              phase group the loader looks at costs 1 cycle (NEXTG), empty ones
                              included; it stops after the last non-empty group
    pass i                    starts at max(slot full, previous pass start + npix, A + 3),
                              issues npix = B * Hout_band * Wout pixels, one per cycle
    slot release              the window generator frees the slot SLOT_FREE_LAT cycles after the
                              pass start + npix: the rows are rewritten behind the pass's
                              wavefront (the array skews weight writes like activations)
    column tile done          last pass start + npix + ROWS + COLS + DONE_LAT + pe_sum_lat
                              (pipeline: issue, select, skew, array (product and sum stages:
                              ArrayConfig.pe_sum_lat, 2, or 3 with two MACs per DSP), accumulate)
    drain of a column tile    starts DRAIN_LAT after it is done, npix reads (one per cycle; one
                              per DRAIN_STEP_REQUANT cycles in requant mode), at least 2 cycles
                              after the previous drain; the bank is free for its next claim 2
                              cycles after the last read
    end                       last drain read + OUT_LAT (OUT_LAT_REQUANT in requant mode:
                              registered read, bias, requant pipeline, FIFO, last beat)

Breakdown, per band and summed over bands: total = start + pass_cycles + bubbles + drain.
`start`: cycles up to and including the first pass's start (geometry, first header, first tile
load, activation load); `pass_cycles`: passes * npix (one pixel per cycle, one pass per row tile =
fold of the reduction, per column tile); `bubbles`: cycles between the first pass and the last
pass's end in which no pixel entered the array (weight slots not ready: short passes, header
waits); `drain`: from the last pixel to the last result beat -- the array pipeline (`fill` =
ROWS + COLS + DONE_LAT + pe_sum_lat, the latency of a pixel through the skewed array, which is also the array's
fill time; counted here, once per band), the last column tile's accumulator drain and OUT_LAT.
Stream lengths (no stalls or not): `act_load`, `wgt_beats` and `res_beats` are the beats each stream
carries (the energy model, compiler/energy.py, counts its actions from them). Layer: the sum over
bands. `dense_equivalent` is the same layer run dense (P = 1, every filter in
one group) on the same array; `ideal` = ceil(non-zero MACs / (ROWS*COLS)) with non-zero MACs =
kept weights (PPS mask) * Hout * Wout; `utilization` = non-zero MACs / (total x ROWS x COLS)
(utilization(), also applied to measured cycles by the sps commands).
"""
from __future__ import annotations

from compiler import regs as R
from compiler.config import ceil_div
from compiler.grouping import group_filters
from compiler.walker import tile_plan
from models.pps import PPS

START_LAT = 2          # after the geometry: CHECK, GO; loaders start in the cycle after
RUN_LAT = 3            # first cycle a pass may start = A + RUN_LAT
SLOT_FREE_LAT = 1      # weight slot free (visible to the loader) = start + npix + SLOT_FREE_LAT
DONE_LAT = 11          # column tile done = last pass start + npix + ROWS + COLS + DONE_LAT + cfg.pe_sum_lat
DRAIN_LAT = 1          # first drain read = done + DRAIN_LAT
DRAIN_GAP = 2          # between the last read of one drain and the first of the next
BANK_FREE_LAT = 2      # bank claimable = last drain read + BANK_FREE_LAT
OUT_LAT = 7            # last result beat = last drain read + OUT_LAT (raw mode)
OUT_LAT_REQUANT = 14   # the same in requant mode (sps_requant: 9 cycles instead of 2)
DRAIN_STEP_REQUANT = 2  # requant mode: one drain read every 2 cycles (one multiplier per lane, used twice)


def ideal_cycles(macs: int, cfg) -> int:
    """Cycles of `macs` MACs with every PE busy in every cycle: ceil(macs / (ROWS x COLS))."""
    return ceil_div(macs, cfg.pes)


def utilization(macs: int, cycles: int, cfg) -> float:
    """The share of PE-cycles doing a non-zero MAC: macs / (cycles x ROWS x COLS); 0.0 for 0 cycles."""
    return macs / (cycles * cfg.pes) if cycles else 0.0


def geom_cycles(cfg) -> int:
    """Cycles of rtl/sps_ctrl.v's bit-serial geometry (state GEOM): the divisions by 3 and by LANES
    (one quotient bit per cycle over the wider dividend; HOUT * WOUT beside them), H3 * W3 and
    N_CBLK * BATCH (max(DIM_BITS + 1, BW) steps, BW = the BATCH register's bits), then
    HW3 * N_CBLK * BATCH, HOUT * WOUT * BATCH and HW3 * BATCH (max(CH_BITS, BW, AW + 1) steps, AW =
    the activation buffer's address bits). 36 cycles for the defaults."""
    bw = cfg.ACC_DEPTH.bit_length()                 # a count 0..ACC_DEPTH
    aw = max(1, (cfg.ACT_DEPTH - 1).bit_length())   # an index 0..ACT_DEPTH-1
    return (max(cfg.DIM_BITS + 1, cfg.CH_BITS + 1) + max(cfg.DIM_BITS + 1, bw)
            + max(cfg.CH_BITS, bw, aw + 1))


def _plan(cfg, C: int, F: int, pps: PPS) -> list[tuple]:
    """Loader order: ('g', group) for each phase group visited, ('h',) per column tile header,
    ('t', rows_enabled, cols_active, last_row_tile) per row tile."""
    fg = [len(fl) for fl in group_filters(F, pps)]
    plan = []
    for g, n in enumerate(fg):
        plan.append(("g", g))
        if n == 0:
            continue
        tiles = tile_plan(pps.period, pps.masks, C, cfg, g)
        for ct in range(ceil_div(n, cfg.COLS)):
            cols = min(cfg.COLS, n - ct * cfg.COLS)
            plan.append(("h",))
            for t, tile in enumerate(tiles):
                plan.append(("t", sum(e is not None for e in tile), cols, t == len(tiles) - 1))
    while plan and plan[-1][0] == "g":     # the loader stops after the last non-empty group
        plan.pop()
    return plan


def _band_cycles(cfg, plan, act: int, npix: int, requant: bool) -> dict:
    rows, cols_n = cfg.ROWS, cfg.COLS
    done_lat = DONE_LAT + cfg.pe_sum_lat
    geom = geom_cycles(cfg)
    run_start = geom + act + RUN_LAT
    t = geom + START_LAT                # loader's current cycle (state entry)
    tend = None                         # the previous tile's finalise cycle, if the group goes on
    slot_free = [0, 0]                  # cycle from which the loader sees the slot free
    bank_free = [0, 0]
    slot = bank = 0
    prev_start = None
    first_start = None
    drains_end = None                   # last read cycle of the previous drain
    macs = 0
    for step in plan:
        if step[0] == "g":
            t += 1                               # NEXTG: one cycle per group looked at
        elif step[0] == "h":
            t = max(t, bank_free[bank])          # HDR_WAIT until the bank is drained
            t += 1 + R.HEADER_BEATS              # claim cycle + 7 header beats -> TILE_WAIT
            bank_free[bank] = 1 << 62            # owned until its drain ends
        else:
            _, rows_en, cols, last_rt = step
            if tend is None:                     # TILE_WAIT entered at t
                b = max(t, slot_free[slot]) + 1
            elif slot_free[slot] <= tend:        # the previous TEND takes the first beat
                b = tend
            else:                                # TEND -> TILE_WAIT until the slot is free
                b = slot_free[slot] + 1
            full = b + rows + 1                  # ROWS beats, TEND at b + ROWS, visible after
            tend = None if last_rt else b + rows
            t = b + rows + 1                     # after the last tile: the next state's entry
            s0 = max(full, run_start, prev_start + npix if prev_start is not None else 0)
            first_start = s0 if first_start is None else first_start
            prev_start = s0
            macs += rows_en * cols * npix
            slot_free[slot] = s0 + npix + SLOT_FREE_LAT
            slot ^= 1
            if last_rt:                          # column tile complete: drain its bank
                d0 = s0 + npix + rows + cols_n + done_lat + DRAIN_LAT
                if drains_end is not None:
                    d0 = max(d0, drains_end + DRAIN_GAP)
                drains_end = d0 + (npix - 1) * (DRAIN_STEP_REQUANT if requant else 1)
                bank_free[bank] = drains_end + BANK_FREE_LAT
                bank ^= 1
    end = drains_end + (OUT_LAT_REQUANT if requant else OUT_LAT)
    total = end + 1                     # cycles 0 .. end
    passes = sum(1 for p in plan if p[0] == "t")
    col_tiles = sum(1 for p in plan if p[0] == "h")
    last_end = prev_start + npix
    return {"act_load": act, "wgt_beats": col_tiles * R.HEADER_BEATS + passes * rows,
            "res_beats": col_tiles * npix, "passes": passes, "pass_cycles": passes * npix,
            "bubbles": (last_end - first_start) - passes * npix, "start": first_start + 1,
            "fill": rows + cols_n + done_lat, "drain": end - last_end, "total": total, "macs_issued": macs}


def _layer_cycles(cfg, C: int, F: int, W: int, Wout: int, bands, pps: PPS, requant: bool, batch: int = 1) -> dict:
    """bands: [(H_band, Hout_band)]; each band holds `batch` images (passes of batch x its pixels)."""
    plan = _plan(cfg, C, F, pps)
    out_bands = [_band_cycles(cfg, plan, ceil_div(C, cfg.LANES) * batch * hb * W, batch * hob * Wout, requant)
                 for hb, hob in bands]
    res = {k: sum(b[k] for b in out_bands) for k in
           ("act_load", "wgt_beats", "res_beats", "passes", "start", "pass_cycles", "bubbles", "fill", "drain", "total", "macs_issued")}
    Hout = sum(hob for _, hob in bands)
    res["macs"] = pps.nonzeros(F, C) * Hout * Wout * batch
    res["ideal"] = ideal_cycles(res["macs"], cfg)
    res["utilization"] = utilization(res["macs"], res["total"], cfg)
    res["bands"] = out_bands
    return res


def _bands_of(prog) -> list[tuple[int, int]]:
    return [(b.H, b.Hout) for b in prog.bands]


def dense_equivalent(prog, cfg=None) -> dict:
    """Cycle prediction for the same layer (same bands) run dense on the same array."""
    cfg = cfg or prog.cfg
    if prog.unfold:          # the original layer dense, unfolded the same way: 9 channels per channel
        return _layer_cycles(cfg, 9 * prog.unfold["C"], prog.F, prog.W, prog.Wout, _bands_of(prog), prog.pps,
                             prog.requant, prog.batch)
    return _layer_cycles(cfg, prog.C, prog.F, prog.W, prog.Wout, _bands_of(prog), PPS.dense(), prog.requant,
                         prog.batch)


def predict_cycles(prog, cfg=None) -> dict:
    """Cycle prediction of a LayerProgram: the breakdown above (summed over bands, plus per band),
    'dense_equivalent' (same breakdown, dense), 'ideal', 'utilization' and 'speedup_vs_dense'."""
    cfg = cfg or prog.cfg
    res = _layer_cycles(cfg, prog.C, prog.F, prog.W, prog.Wout, _bands_of(prog), prog.pps, prog.requant,
                        prog.batch)
    res["batch"] = prog.batch
    dense = dense_equivalent(prog, cfg)
    res["dense_equivalent"] = dense
    res["speedup_vs_dense"] = round(dense["total"] / res["total"], 4)
    res["constants"] = {"HEADER_BEATS": R.HEADER_BEATS, "START_LAT": START_LAT, "RUN_LAT": RUN_LAT,
                        "SLOT_FREE_LAT": SLOT_FREE_LAT, "DONE_LAT": DONE_LAT + cfg.pe_sum_lat, "DRAIN_LAT": DRAIN_LAT,
                        "DRAIN_GAP": DRAIN_GAP, "BANK_FREE_LAT": BANK_FREE_LAT, "OUT_LAT": OUT_LAT,
                        "OUT_LAT_REQUANT": OUT_LAT_REQUANT, "DRAIN_STEP_REQUANT": DRAIN_STEP_REQUANT}
    return res
