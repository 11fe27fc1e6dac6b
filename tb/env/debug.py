"""`sps debug`'s simulation side: run a layer program on a debug build of the testbench top (the
transaction monitors of tb/hdl/sps_tb_debug.v at sps_top's block boundaries), read the trace they
wrote, and compare it with the golden trace (compiler.trace, computed from the program without
the RTL) in data-path order:

    array_in     index select -> array: the activation of every array row for every pixel, aligned
                 with the pixel's sideband (row r's activation enters ROWS-1-r cycles before row
                 ROWS-1's, which carries the sideband): a wrong value, a row one cycle off, a
                 wrong pixel index or pass flag in the sideband
    array_out    array -> accumulator: every column's partial sum, aligned with the sideband that
                 leaves the array (column j's psum 1 + j cycles after it)
    accumulator  every accumulator write (bank, pixel, value) of every column, in order
    output       every output-stage value before requantisation (acc + bias), in order
    result       every result beat on m_axis_res, in order

    run = run_debug(prog, "verilator", rtl_dir=None)
    d = first_divergence(prog, golden_trace(prog), run.trace)   # None, or a Divergence

The first divergence is the earliest (in simulated cycles) of the first boundary, in the order
above, at which anything differs: the boundaries after it only inherit the error.
"""
from __future__ import annotations

import collections
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from compiler.progfile import save_program
from tb.env import runner
from tb.env.host import _stall_json

BOUNDARIES = ("array_in", "array_out", "accumulator", "output", "result")
BOUNDARY_TEXT = {
    "array_in": "index select -> array (activations entering the array rows)",
    "array_out": "array -> accumulator (partial sums leaving the array columns)",
    "accumulator": "accumulator writes",
    "output": "output stage input (acc + bias, before requantisation)",
    "result": "result stream (m_axis_res beats)",
}
# the pass sideband's bits (rtl/sps_sideband.vh)
SB_BANK, SB_FIRST, SB_LAST, SB_LAST_PASS = 1, 2, 4, 8


@dataclasses.dataclass
class DebugRun:
    trace: Path                  # the monitors' file
    results: list | None         # per-band result beats, None if the simulation failed
    error: str | None            # why the simulation failed (a timeout, ...), else None
    workdir: Path                # the run's temporary files (the trace too, unless trace_out): cleanup()

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class _env:
    """Environment variables set for the block, restored after."""

    def __init__(self, **kv):
        self.kv, self.old = {k: v for k, v in kv.items() if v is not None}, {}

    def __enter__(self):
        for k, v in self.kv.items():
            self.old[k] = os.environ.get(k)
            os.environ[k] = str(v)

    def __exit__(self, *exc):
        for k, v in self.old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_debug(prog, sim: str, rtl_dir: str | Path | None = None, trace_out: str | Path | None = None,
              stall=0.0, seed: int = 0) -> DebugRun:
    """Simulate every band of `prog` (activation streams attached) on the debug build (built from
    `rtl_dir`, default rtl/); the trace goes to `trace_out` (default: a file in the run's
    temporary directory, removed by DebugRun.cleanup()). A failing simulation (a timeout: the RTL hangs)
    is returned as `error`: the trace up to it is still there."""
    td = Path(tempfile.mkdtemp(prefix="sps-debug-"))
    trace = Path(trace_out).resolve() if trace_out else td / runner.DEBUG_TRACE
    rfile = td / "res.npz"
    error = _simulate(prog, sim, td, rtl_dir, {"SPS_DEBUG": 1}, [f"+sps_debug_file={trace}"], stall, seed)
    results = None
    if error is None:
        with np.load(rfile) as z:
            results = [np.asarray(z[f"res_{b.index}"]) for b in prog.bands]
    return DebugRun(trace, results, error, td)


def _simulate(prog, sim: str, td: Path, rtl_dir, build_env: dict, plusargs: list, stall=0.0, seed: int = 0):
    """Run every band of `prog` on the testbench top built with `build_env` (SPS_DEBUG, ...), files
    in `td`; returns None, or why the simulation failed (its first line)."""
    pfile = td / "prog.npz"
    save_program(prog, pfile)
    with _env(SPS_RTL_DIR=str(Path(rtl_dir).resolve()) if rtl_dir else None, **build_env):
        try:
            runner.run_top(sim, "tb.env.program", prog.cfg, name="debug",
                           env={"SPS_PROGRAM": pfile, "SPS_RESULT": td / "res.npz", "SPS_STALL": _stall_json(stall),
                                "SPS_SEED": seed},
                           plusargs=plusargs)
        except AssertionError as e:
            return str(e).splitlines()[0]
    return None


def run_window(prog, sim: str, first: int, last: int, fst: str | Path, rtl_dir: str | Path | None = None,
               stall=0.0, seed: int = 0) -> Path:
    """Simulate `prog` again on the window build (tb/hdl/sps_tb_window.v): the waves of every signal of
    the testbench top from cycle `first` to cycle `last` (since reset) go to `fst`, and the
    simulation ends there (the rest of the run is not simulated). Returns the FST's path; raises
    RuntimeError when no FST came (the run ended before `first`)."""
    fst = Path(fst).resolve()
    fst.unlink(missing_ok=True)
    td = Path(tempfile.mkdtemp(prefix="sps-window-"))
    try:
        error = _simulate(prog, sim, td, rtl_dir, {"SPS_WAVE_WINDOW": 1, "SPS_DEBUG": 0},
                          [f"+sps_wave_file={fst}", f"+sps_wave_from={max(first, 1)}", f"+sps_wave_to={last}"],
                          stall, seed)
    finally:
        shutil.rmtree(td, ignore_errors=True)
    if not fst.exists():
        raise RuntimeError(f"no waves between cycles {first} and {last}" + (f" ({error})" if error else ""))
    return fst


def read_trace(path: str | Path) -> list[dict]:
    """The monitors' file -> per band (split at each G record) {kind: [records]}, each record a
    tuple of ints (cycle first)."""
    bands: list[dict] = []
    cur = None
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(",")
            if not parts[0]:
                continue
            kind, vals = parts[0], tuple(int(v) for v in parts[1:])
            if kind == "G":
                cur = collections.defaultdict(list)
                cur["G"].append(vals)
                bands.append(cur)
            elif cur is not None:
                cur[kind].append(vals)
    return bands


@dataclasses.dataclass
class Divergence:
    boundary: str
    band: int
    pass_: int | None            # pass of the band (None: a column tile's value, output/result)
    group: int
    col_tile: int                # column tile of the group
    row_tile: int | None
    pixel: int                   # pixel index of the pass
    image: int
    oy: int                      # output row (of the layer)
    ox: int
    row: int | None              # array row (array_in)
    col: int | None              # array column (the other boundaries)
    cycle: int | None            # simulated cycle since reset (None: the transaction never came)
    band_cycle: int | None       # cycles since the band's go
    expected: object
    observed: object
    what: str                    # what differs, in words
    reaches: list = dataclasses.field(default_factory=list)   # output elements [f, oy, ox] (+ image first)

    def as_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["pass"] = d.pop("pass_")
        return d


def _sb_expected(bt, k: int) -> tuple[int, int]:
    """(pixel, pass sideband) of the k-th pixel of the band."""
    p = bt.passes[k // bt.npix]
    last_pass = p.index == len(bt.passes) - 1
    return k % bt.npix, (p.bank * SB_BANK) | (p.first * SB_FIRST) | (p.last * SB_LAST) | (last_pass * SB_LAST_PASS)


class _Finder:
    """Collects the candidate divergences of one boundary; keeps the earliest."""

    def __init__(self):
        self.best = None

    def add(self, cycle, **kw):
        key = (cycle is None, cycle if cycle is not None else 0)
        if self.best is None or key < self.best[0]:
            self.best = (key, dict(cycle=cycle, **kw))


def _check_sideband(recs, bt, f: _Finder, boundary: str, name: str) -> dict:
    """The sideband stream (S or Q records) against the band's pixels; returns cycle -> pixel number."""
    at = {}
    n = len(bt.passes) * bt.npix
    bad = False
    for k, (cyc, pix, sb) in enumerate(recs[:n]):
        at[cyc] = k
        exp = _sb_expected(bt, k)
        if not bad and (pix, sb) != exp:
            f.add(cyc, k=k, what=f"{name} sideband (pixel, pass flags) differs", expected=list(exp),
                  observed=[pix, sb])
            bad = True
    if len(recs) < n:
        f.add(None, k=len(recs), what=f"{name}: pixel missing ({len(recs)} of {n} came)", expected=list(_sb_expected(bt, len(recs))),
              observed=None)
    elif len(recs) > n:
        f.add(recs[n][0], k=n - 1, what=f"{name}: more pixels than the band has ({len(recs)} > {n})",
              expected=None, observed=list(recs[n][1:]))
    return at


def _check_aligned(recs, at, offset, bt, f: _Finder, field: str, index_name: str, width: int):
    """Per-row (per-column) values, aligned with the sideband: record (cycle, i, ..., value) is
    pixel at[cycle + offset(i)]; every pixel must come once per row (column)."""
    seen = np.zeros((len(bt.passes) * bt.npix, width), bool)
    for rec in recs:
        cyc, i, val = rec[0], rec[1], rec[-1]
        k = at.get(cyc + offset(i))
        if k is None:
            f.add(cyc, k=None, **{index_name: i}, what=f"{index_name} {i}: a value at a cycle with no pixel "
                  "(timing: the pixel's sideband is not where the block's latency puts it)",
                  expected=None, observed=val)
            continue
        p = bt.passes[k // bt.npix]
        exp = int(getattr(p, field)[k % bt.npix, i])
        if seen[k, i]:
            f.add(cyc, k=k, **{index_name: i}, what=f"{index_name} {i}: a second value for the pixel", expected=exp,
                  observed=val)
        seen[k, i] = True
        if val != exp:
            f.add(cyc, k=k, **{index_name: i}, what=f"{index_name} {i}: value differs", expected=exp, observed=val)
    miss = np.argwhere(~seen[:len(at)])
    if len(miss):
        k, i = (int(v) for v in miss[0])
        cyc = next((c for c, kk in at.items() if kk == k), None)
        cyc = None if cyc is None else cyc - offset(i)        # when the value was due
        near = {rec[0] for rec in recs if rec[1] == i and cyc is not None and abs(rec[0] - cyc) <= 2}
        late = sorted(c - cyc for c in near if c != cyc)
        f.add(cyc, k=k, **{index_name: i}, expected=int(getattr(bt.passes[k // bt.npix], field)[k % bt.npix, i]),
              observed=None, what=f"{index_name} {i}: no value in the cycle the pixel is due"
              + (f" (timing: it has a value {late[0]:+d} cycle(s) from there)" if late else ""))


def _check_acc(recs, bt, cols: int, f: _Finder):
    per_col = collections.defaultdict(list)
    for cyc, j, bank, pix, val in recs:
        per_col[j].append((cyc, bank, pix, val))
    n = len(bt.passes) * bt.npix
    for j in range(cols):
        got = per_col.get(j, [])
        for k, (cyc, bank, pix, val) in enumerate(got[:n]):
            p = bt.passes[k // bt.npix]
            exp = (p.bank, k % bt.npix, int(p.acc[k % bt.npix, j]))
            if (bank, pix, val) != exp:
                what = ("value" if (bank, pix) == exp[:2] else "address (bank, pixel)")
                f.add(cyc, k=k, col=j, what=f"column {j}: write {k} of the band, its {what} differs", expected=list(exp),
                      observed=[bank, pix, val])
                break
        if len(got) < n:
            k = len(got)
            p = bt.passes[k // bt.npix]
            f.add(None, k=k, col=j, what=f"column {j}: write missing ({len(got)} of {n} came)",
                  expected=[p.bank, k % bt.npix, int(p.acc[k % bt.npix, j])], observed=None)


def _check_words(recs, bt, field: str, f: _Finder, what: str):
    """V or R records: one word per pixel per column tile, in order."""
    n = len(bt.col_tiles) * bt.npix
    for k, rec in enumerate(recs[:n]):
        ct = bt.col_tiles[k // bt.npix]
        exp = getattr(ct, field)[k % bt.npix]
        obs = np.asarray(rec[1:])
        if obs.shape != exp.shape or np.any(obs != exp):
            j = int(np.argmax(obs != exp)) if obs.shape == exp.shape else 0
            f.add(rec[0], k=k, col=j, ct=True, what=f"{what}, column {j} (word {k} of the band) differs",
                  expected=int(exp[j]), observed=int(obs[j]) if obs.shape == exp.shape else list(obs))
            break
    if len(recs) < n:
        k = len(recs)
        f.add(None, k=k, col=None, ct=True, what=f"{what}: word missing ({len(recs)} of {n} came)",
              expected=[int(v) for v in getattr(bt.col_tiles[k // bt.npix], field)[k % bt.npix]], observed=None)


def _boundary_candidates(boundary: str, bt, obs: dict, cfg) -> dict | None:
    f = _Finder()
    if boundary == "array_in":
        at = _check_sideband(obs.get("S", []), bt, f, boundary, "array row ROWS-1's")
        _check_aligned(obs.get("A", []), at, lambda r: cfg.ROWS - 1 - r, bt, f, "act", "row", cfg.ROWS)
    elif boundary == "array_out":
        at = _check_sideband(obs.get("Q", []), bt, f, boundary, "the array's outgoing")
        _check_aligned(obs.get("P", []), at, lambda j: -1 - j, bt, f, "psum", "col", cfg.COLS)
    elif boundary == "accumulator":
        _check_acc(obs.get("W", []), bt, cfg.COLS, f)
    elif boundary == "output":
        _check_words(obs.get("V", []), bt, "v", f, "acc + bias")
    else:
        _check_words(obs.get("R", []), bt, "res", f, "result beat")
    return f.best[1] if f.best else None


def first_divergence(prog, golden: list, trace: str | Path | list) -> Divergence | None:
    """The first divergence between the monitors' trace (a file or read_trace's bands) and the
    golden trace of `prog` (compiler.trace.golden_trace), or None."""
    bands = read_trace(trace) if isinstance(trace, (str, Path)) else trace
    cfg = prog.cfg
    for boundary in BOUNDARIES:
        found = []
        for bt in golden:
            obs = bands[bt.index] if bt.index < len(bands) else {}
            c = _boundary_candidates(boundary, bt, obs, cfg)
            if c is not None:
                go = obs["G"][0][0] if obs else None
                found.append((bt, go, c))
                break                           # a later band starts after this one
        if found:
            bt, go, c = found[0]
            return _describe(prog, bt, go, boundary, c)
    return None


def _describe(prog, bt, go, boundary: str, c: dict) -> Divergence:
    cols = prog.cfg.COLS
    band = prog.bands[bt.index]
    k = c.get("k")
    k = 0 if k is None else k
    if c.get("ct"):
        ctt = bt.col_tiles[min(k // bt.npix, len(bt.col_tiles) - 1)]
        g, ct, pass_, rt = ctt.group, ctt.col_tile, None, None
    else:
        p = bt.passes[min(k // bt.npix, len(bt.passes) - 1)]
        g, ct, pass_, rt = p.group, p.col_tile, p.index, p.row_tile
    pix = k % bt.npix
    img, oyl, ox = bt.pixel(pix)
    oy = band.oy0 + oyl
    row, col = c.get("row"), c.get("col")
    filt = prog.out_filter[g]
    js = [col] if col is not None else list(range(cols))
    reaches = []
    for j in js:
        if ct * cols + j < len(filt):
            f = int(filt[ct * cols + j])
            reaches.append(([img] if prog.batch > 1 else []) + [f, oy, ox])
    cyc = c["cycle"]
    return Divergence(boundary, bt.index, pass_, g, ct, rt, pix, img, oy, ox, row, col, cyc,
                      None if cyc is None or go is None else cyc - go, c["expected"], c["observed"], c["what"],
                      reaches)
