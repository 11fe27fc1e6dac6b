"""First-order cycle model of one layer program (to be calibrated against the RTL).

Per band (each band is an independent start->done run):
    act_load  = ceil(C/LANES) * H_band * W           activation beats, one per cycle
    L_k       = ROWS (+ HEADER_BEATS at the first row tile of a column tile): weight beats of pass k
    start     = max(act_load, L_0)                   weights stream in parallel with activations
    pass k    = npix = Hout_band * Wout cycles       one output pixel per cycle, no bubbles
    bubble k  = max(0, L_{k+1} - npix)               the next tile's weights load during pass k
                                                     (double buffer); a short pass waits for them
    fill      = ROWS + COLS + FILL_EXTRA             skew + array depth + pipeline registers
    drain     = npix                                 the last column tile's result beats
                                                     (earlier drains overlap the next passes)
    total     = start + passes*npix + bubbles + fill + drain + START_OVERHEAD
Layer: the sum over bands. `dense_equivalent` is the same layer run dense (P = 1, all 9 positions,
every filter in one group) on the same array; `ideal` = ceil(non-zero MACs / (ROWS*COLS)), with
non-zero MACs = kept weights (PPS mask) * Hout * Wout.
"""
from __future__ import annotations

from compiler.walker import tile_plan
from models.pps import PPS

HEADER_BEATS = 7
FILL_EXTRA = 6
START_OVERHEAD = 0


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _groups(F: int, pps: PPS) -> list[int]:
    fg = [0] * pps.period
    for f in range(F):
        fg[pps.group_of(f)] += 1
    return fg


def _layer_cycles(cfg, C: int, F: int, W: int, Wout: int, bands, pps: PPS) -> dict:
    """bands: [(H_band, Hout_band)]."""
    fg = _groups(F, pps)
    # per pass: (weight beats to load, enabled rows, active columns)
    plan = []
    for g, n in enumerate(fg):
        if n == 0:
            continue
        tiles = tile_plan(pps.period, pps.masks, C, cfg, g)
        for ct in range(_ceil_div(n, cfg.COLS)):
            cols = min(cfg.COLS, n - ct * cfg.COLS)
            for t, tile in enumerate(tiles):
                rows_en = sum(e is not None for e in tile)
                plan.append((cfg.ROWS + (HEADER_BEATS if t == 0 else 0), rows_en, cols))
    out_bands = []
    for hb, hob in bands:
        npix = hob * Wout
        act = _ceil_div(C, cfg.LANES) * hb * W
        start = max(act, plan[0][0])
        bubbles = sum(max(0, plan[k + 1][0] - npix) for k in range(len(plan) - 1))
        fill = cfg.ROWS + cfg.COLS + FILL_EXTRA
        pass_cycles = len(plan) * npix
        total = START_OVERHEAD + start + pass_cycles + bubbles + fill + npix
        out_bands.append({"act_load": act, "start": start, "passes": len(plan), "pass_cycles": pass_cycles,
                          "bubbles": bubbles, "fill": fill, "drain": npix, "total": total,
                          "macs_issued": sum(r * c for _, r, c in plan) * npix})
    res = {k: sum(b[k] for b in out_bands) for k in
           ("act_load", "passes", "pass_cycles", "bubbles", "fill", "drain", "total", "macs_issued")}
    Hout = sum(hob for _, hob in bands)
    res["macs"] = pps.nonzeros(F, C) * Hout * Wout
    res["ideal"] = _ceil_div(res["macs"], cfg.ROWS * cfg.COLS)
    res["utilization"] = round(res["ideal"] / res["total"], 4) if res["total"] else 0.0
    res["bands"] = out_bands
    return res


def _bands_of(prog) -> list[tuple[int, int]]:
    return [(b.H, b.Hout) for b in prog.bands]


def dense_equivalent(prog, cfg=None) -> dict:
    """Cycle prediction for the same layer (same bands) run dense on the same array."""
    cfg = cfg or prog.cfg
    return _layer_cycles(cfg, prog.C, prog.F, prog.W, prog.Wout, _bands_of(prog), PPS.dense())


def predict_cycles(prog, cfg=None) -> dict:
    """Cycle prediction of a LayerProgram: the breakdown above (summed over bands, plus per band),
    'dense_equivalent' (same breakdown, dense), 'ideal', 'utilization' and 'speedup_vs_dense'."""
    cfg = cfg or prog.cfg
    res = _layer_cycles(cfg, prog.C, prog.F, prog.W, prog.Wout, _bands_of(prog), prog.pps)
    dense = dense_equivalent(prog, cfg)
    res["dense_equivalent"] = dense
    res["speedup_vs_dense"] = round(dense["total"] / res["total"], 4)
    res["constants"] = {"HEADER_BEATS": HEADER_BEATS, "FILL_EXTRA": FILL_EXTRA, "START_OVERHEAD": START_OVERHEAD}
    return res
