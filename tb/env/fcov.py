"""Functional coverage of the top-level tests: named bins over what the hardware must handle
(layer shapes, PPS kinds, modes, bands and tiles, back-pressure, faults and aborts), sampled from
what a test ran and what the hardware did, written per simulation and merged by `sps coverage`.

Why not cocotb-coverage: the bins here are a flat, named list sampled from whole layers (a layer's
shape, program, stalls, results and the counters), not from signals per cycle; a dictionary of
counters says that in a few lines, costs nothing per cycle, and needs no dependency. The full list
of bins is `bins(pmax)`: a bin never sampled counts as missed, so the total is fixed in advance.

Sampled in: tb/env/case_check.py (every layer case of the top-level tests and sps regress),
tb/top/test_faults.py (errors, aborts, resets, writes while busy), tb/env/top.py (register writes
while busy, the result FIFO full).
Each simulation process writes build/coverage/functional/<run>-<pid>.json after every sample.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from itertools import product
from pathlib import Path

import numpy as np

from compiler import regs as R
from compiler.config import ArrayConfig
from compiler.paths import ROOT

DIR = ROOT / "build" / "coverage" / "functional"

KINDS = ("ps1", "ps2", "ps4", "psd", "dense")
STALL_CLASSES = ("none", "light", "heavy", "burst64")
STREAMS = ("act", "wgt", "res")
STREAM_FAULTS = ("act_tlast_early", "act_tlast_missing", "act_stops", "wgt_tlast_early",
                 "wgt_tlast_missing", "wgt_stops")
CONFIG_FAULTS = ("stride", "pad_top", "pad_left", "npat_zero", "npat_above_pmax", "empty_pattern",
                 "no_filters", "c_zero", "h_zero", "w_zero", "hout_zero", "wout_zero", "npix_above_acc_depth",
                 "act_above_act_depth", "batch_zero", "batch_npix_above_acc_depth", "batch_blocks_above_act_depth")


def _p_values(pmax: int) -> tuple[int, ...]:
    return tuple(sorted({1, 2, 4, pmax}))


def bins(pmax: int | None = None) -> list[str]:
    """Every bin, in a fixed order, for an array of this PMAX (None: config/sps.json's)."""
    pmax = ArrayConfig().PMAX if pmax is None else pmax
    out = [f"shape/stride{s}/pad{p}/{k}" for s, p, k in product((1, 2), (0, 1), KINDS)]
    out += [f"pps/{k}/P{P}" for k in ("ps1", "ps2", "ps4") for P in _p_values(pmax)]
    out += [f"pps/psd/P{P}" for P in _p_values(pmax) if P > 1] + ["pps/dense/P1"]
    out += ["bands/one", "bands/several", "bands/shorter_last", "batch/one", "batch/several",
            "col_tiles/one", "col_tiles/several", "acc_bank/switch",
            "row_tiles/cut_by_lanes", "row_tiles/several_per_group",
            "mode/raw", "mode/requant", "mode/requant_relu",
            "out/saturate_+127", "out/saturate_-128", "out/int32_wrap",
            "res_fifo/full"]
    out += [f"stall/{s}/{c}" for s in STREAMS for c in STALL_CLASSES]
    out += ["regs/write_while_busy", "regs/start_while_busy", "regs/abort_while_idle"]
    out += [f"error/{f}" for f in STREAM_FAULTS] + [f"config/{f}" for f in CONFIG_FAULTS]
    out += ["abort/mid_layer", "reset/mid_layer"]
    return out


def kind_of(pps) -> str | None:
    """ps1/ps2/ps4/psd/dense, or None for other pattern sets (mixed sizes, PS-3 ...)."""
    sizes = {len(p) for p in pps.patterns}
    if sizes == {9}:
        return "dense"
    sparse = sizes - {9}
    if len(sparse) == 1 and (n := next(iter(sparse))) in (1, 2, 4):
        return "psd" if 9 in sizes else f"ps{n}"
    return None


def stall_class(stall) -> str:
    """A Stall -> none (p = 0), light (p <= 0.25), heavy (p > 0.25), burst64 (mean burst >= 64)."""
    if stall.p == 0:
        return "none"
    if stall.burst and stall.burst >= 64:
        return "burst64"
    return "light" if stall.p <= 0.25 else "heavy"


class FunctionalCoverage:
    def __init__(self, run: str | None = None):
        self.hits: Counter = Counter()
        self.path = DIR / f"{run or Path.cwd().name}-{os.getpid()}.json"

    def hit(self, name: str, n: int = 1) -> None:
        self.hits[name] += n
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"bins": dict(self.hits)}, sort_keys=True))

    def sample_layer(self, layer, x: np.ndarray, prog, stall, stats: list[dict]) -> None:
        """A layer that ran and was checked: its shape, PPS, program structure, mode, the
        arithmetic corners of its outputs, and the back-pressure it ran under."""
        h = Counter()
        kind = kind_of(prog.pps)
        if kind is not None:
            h[f"shape/stride{layer.stride}/pad{layer.padding}/{kind}"] += 1
            h[f"pps/{kind}/P{prog.pps.period}"] += 1
        nb = len(prog.bands)
        h["bands/one" if nb == 1 else "bands/several"] += 1
        h["batch/one" if prog.batch == 1 else "batch/several"] += 1
        if nb > 1 and prog.bands[-1].res_beats < prog.bands[0].res_beats:
            h["bands/shorter_last"] += 1
        h.update(self._tiles(prog))
        h["mode/raw" if not prog.requant else "mode/requant_relu" if prog.relu else "mode/requant"] += 1
        h.update(self._arithmetic(layer, x))
        for s in STREAMS:
            h[f"stall/{s}/{stall_class(stall)}"] += 1
        self.hits.update(h)
        self._write()

    @staticmethod
    def _tiles(prog) -> Counter:
        from compiler.walker import tile_plan
        h = Counter()
        cfg, pps = prog.cfg, prog.pps
        regs = dict(prog.bands[0].regs)
        C = regs[R.C]
        fg = [regs[R.PAT_BASE + 4 * cfg.PMAX + 4 * g] for g in range(cfg.PMAX)]
        cts = sum(-(-f // cfg.COLS) for f in fg)
        h["col_tiles/several" if cts > 1 else "col_tiles/one"] += 1
        if cts > 1:
            h["acc_bank/switch"] += 1
        for g in range(pps.period):
            if not fg[g]:
                continue
            tiles = tile_plan(pps.period, pps.patterns, C, cfg, g)
            if len(tiles) > 1:
                h["row_tiles/several_per_group"] += 1
            if any(None in t for t in tiles[:-1]):
                h["row_tiles/cut_by_lanes"] += 1
        return h

    @staticmethod
    def _arithmetic(layer, x: np.ndarray) -> Counter:
        """Output corners, computed here in int64: acc + bias outside int32 (the hardware wraps),
        and, requantised, values the clamp cuts to +127 or -128."""
        from models.reference import conv2d_int
        h = Counter()
        xs = x if x.ndim == 4 else x[None]                   # a batch: every image's outputs
        acc = np.concatenate([conv2d_int(xi, layer.weight, None, layer.stride, layer.padding)
                              for xi in xs], axis=1).astype(np.int64)
        v = acc + layer.bias.astype(np.int64)[:, None, None]
        if (v > 2**31 - 1).any() or (v < -2**31).any():
            h["out/int32_wrap"] += 1
        if layer.requant is not None:
            v = (v + 2**31) % 2**32 - 2**31
            t = v * layer.requant.M.astype(np.int64)[:, None, None]
            sh = layer.requant.shift.astype(np.int64)[:, None, None]
            t = np.where(sh > 0, (t + (np.int64(1) << np.maximum(sh - 1, 0))) >> sh, t)
            if layer.requant.relu:
                t = np.maximum(t, 0)
            if (t > 127).any():
                h["out/saturate_+127"] += 1
            if (t < -128).any():
                h["out/saturate_-128"] += 1
        return h


_PROCESS: FunctionalCoverage | None = None


def process_coverage() -> FunctionalCoverage:
    """The one collector of this simulation process (every test and environment in it adds to
    the same file)."""
    global _PROCESS
    if _PROCESS is None:
        _PROCESS = FunctionalCoverage()
    return _PROCESS


def merge(directory: Path = DIR, pmax: int | None = None) -> dict:
    """Sum every file in `directory` -> {"bins": {name: hits}} over the full bin list (0 where
    never hit), "hit", "total", "missed" and "unknown" (names sampled that are not bins)."""
    total: Counter = Counter()
    for f in sorted(Path(directory).glob("*.json")):
        try:
            total.update(json.loads(f.read_text())["bins"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{f}: not a functional coverage file ({e})") from None
    names = bins(pmax)
    out = {n: int(total.get(n, 0)) for n in names}
    return {"bins": out, "hit": sum(1 for v in out.values() if v), "total": len(names),
            "missed": [n for n, v in out.items() if not v], "unknown": sorted(set(total) - set(names))}
