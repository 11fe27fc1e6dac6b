"""Run one 3x3 convolution layer on the RTL (cocotb + Verilator or Icarus) and check it bit-exactly
against the integer reference convolution (models.reference, no compiler code).

example:
  sps run-layer --input X.npy --weight W.npy --bias B.npy --stride 1 --padding 1 --out Y.npy
  sps run-layer --demo --config my16x16.json --stats s.json      a built-in PS-4 layer, 16x16 array

X: int8 [C, H, W], or a batch [B, C, H, W] run as one program (B images per band: every pass covers
all of them while the weights stay; Y then [B, F, Hout, Wout]); W: int8 [F, C, 3, 3] (--pps auto: a PS-n/PSD/dense PPS inferred from its zeros;
--pps any, a named PPS or a JSON file: see sps compile --help); B: int32 [F]. Y: the raw int32
[F, Hout, Wout] accumulator output + bias, or int8 with --requant M.npy SH.npy [--relu]. The RTL is
built with --config (default config/sps.json). --stats writes the hardware counters, utilisation
= non-zero MACs / (cycles x ROWS x COLS), the compiler's predicted cycles and the storage report.
Exit 1 if the RTL output differs from the reference.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from sps.cli import add_config_argument, add_sim_argument, add_stream_arguments
from sps.commands.compile import PPS_HELP

HELP = "run one layer (.npy files) on the RTL, checked against the reference"


def add_layer_arguments(ap, input_help: str) -> None:
    """The options that give one layer as .npy files (sps run-layer, sps debug)."""
    ap.add_argument("--input", help=input_help)
    ap.add_argument("--weight", help="int8 weights [F, C, 3, 3] (.npy)")
    ap.add_argument("--bias", help="int32 bias [F] (.npy); default zeros")
    ap.add_argument("--stride", type=int, choices=(1, 2))
    ap.add_argument("--padding", type=int, choices=(0, 1))
    ap.add_argument("--pps", default="auto", help=PPS_HELP)
    ap.add_argument("--requant", nargs=2, metavar=("M.npy", "SH.npy"),
                    help="requantise: uint16 multipliers [F] and shifts [F] (0..63)")
    ap.add_argument("--relu", action="store_true", help="ReLU after requantisation (needs --requant)")


def load_layer_files(a, also_required: tuple = ()):
    """The layer of add_layer_arguments' options: (QLayer, input int8 [C, H, W] or [B, C, H, W]);
    InputError naming the options missing (those and `also_required`)."""
    from compiler.layer import QLayer
    from sps.cli import InputError
    from sps.npyio import load_images, load_npy

    missing = [n for n in ("input", "weight", "stride", "padding", *also_required) if getattr(a, n) is None]
    if missing:
        raise InputError(f"missing argument(s): {', '.join('--' + m for m in missing)}")
    w = load_npy(a.weight, "--weight", np.int8, ("F", "C", 3, 3))
    F, C = w.shape[:2]
    x = load_images(a.input, "--input", np.int8, C)
    b = load_npy(a.bias, "--bias", np.int32, (F,)) if a.bias else None
    rq = None
    if a.requant:
        rq = (load_npy(a.requant[0], "--requant M", "integer", (F,)),
              load_npy(a.requant[1], "--requant SH", "integer", (F,)), a.relu)
    return QLayer(Path(a.weight).stem, w, b, stride=a.stride, padding=a.padding, requant=rq), x


def add_arguments(ap) -> None:
    add_layer_arguments(ap, "int8 input [C, H, W] or a batch [B, C, H, W] (.npy)")
    ap.add_argument("--out", help="output file (.npy)")
    ap.add_argument("--stats", help="JSON file for the counters, cycle prediction and storage")
    ap.add_argument("--waves", action="store_true", help="leave an FST of the run and print its path")
    ap.add_argument("--demo", action="store_true", help="a built-in PS-4 layer (C=16, F=32, 16x16) instead of files")
    add_stream_arguments(ap)
    add_sim_argument(ap)
    add_config_argument(ap)


def layer_stats(prog, stats: list[dict], sim: dict) -> dict:
    """The --stats JSON of one run (also a row of `sps bench`)."""
    from compiler.perf import utilization
    from compiler.storage import FORMATS, storage_report

    cyc = sum(s["cycles"] for s in stats)
    pred = prog.cycles
    rep = storage_report(prog.F, prog.C, prog.pps, b=8, pmax=prog.cfg.PMAX)
    return {
        "layer": {"C": prog.C, "F": prog.F, "H": prog.H, "W": prog.W, "Hout": prog.Hout, "Wout": prog.Wout,
                  "stride": prog.stride, "padding": prog.padding, "pps": prog.pps.describe(),
                  "bands": len(prog.bands), "batch": prog.batch},
        "config": prog.cfg.hdl_parameters(),
        "cycles": cyc,
        "busy_cycles": sum(s["busy"] for s in stats),
        "macs_issued": sum(s["macs"] for s in stats),
        "nonzero_macs": pred["macs"],
        "ideal_cycles": pred["ideal"],
        "utilization": utilization(pred["macs"], cyc, prog.cfg),
        "predicted_cycles": pred["total"],
        "prediction_error": (pred["total"] - cyc) / cyc if cyc else 0.0,
        "predicted_dense_cycles": pred["dense_equivalent"]["total"],
        "stalls": {k: sum(s[k] for s in stats) for k in ("stall_act", "stall_wgt", "stall_res")},
        "sim_cycles": sim["sim_cycles"],          # every simulated clock cycle (register accesses too)
        "sim_seconds": sim["sim_seconds"],        # in the simulator process, the build not included
        "sim_cycles_per_s": sim["sim_cycles_per_s"],
        "wall_seconds": sim["wall_seconds"],      # the whole run, build included
        "storage": {k: rep[k] for k in FORMATS},
        "counters_per_band": stats,
    }


def demo_layer():
    """A built-in PS-4/P4 layer with random int8 data: C=16, F=32, 16x16, stride 1, padding 1."""
    from models.pps import PPS
    from tb.env.cases import random_layer

    return random_layer(np.random.default_rng(2026), PPS.ps(4), 16, 32, 16, 16, bias=5000, name="demo")


def run(a) -> int:
    from compiler.compile import compile_layer
    from compiler.config import load_config
    from compiler.infer import pps_from_spec
    from sps.cli import InputError, pick_simulator, stall_of
    from tb.env.cases import reference_output
    from tb.env.host import run_program_on_rtl, sim_line

    stall = stall_of(a)
    if a.relu and not a.requant:
        raise InputError("--relu needs --requant")
    sim = pick_simulator(a.sim)
    cfg = load_config(a.config)
    if a.demo:
        layer, x = demo_layer()
        pps = "auto"
    else:
        layer, x = load_layer_files(a, ("out",))
        pps = pps_from_spec(a.pps)
    prog = compile_layer(layer, cfg, pps, x=x)
    print(f"layer {layer.name}: C={prog.C} F={prog.F} {prog.H}x{prog.W} -> {prog.Hout}x{prog.Wout} "
          f"stride {prog.stride} padding {prog.padding}; {prog.pps.describe()}; {len(prog.bands)} band(s), "
          + (f"{prog.batch} images per band, " if prog.batch > 1 else "")
          + f"{prog.bands[0].passes} passes per band; array {cfg.ROWS}x{cfg.COLS} LANES {cfg.LANES}; "
          f"simulating on {sim} ...", flush=True)
    res, stats, sim_fig = run_program_on_rtl(prog, sim, waves=a.waves, stall=stall, transport=a.transport)
    y = prog.unpack_results(res)
    ref = reference_output(layer, x)
    st = layer_stats(prog, stats, sim_fig)
    exact = bool(np.array_equal(y, ref))
    st["bit_exact_vs_reference"] = exact
    if a.out:
        np.save(a.out, y if layer.requant is None else y.astype(np.int8))
    if a.stats:
        Path(a.stats).write_text(json.dumps(st, indent=2))
    print(f"cycles {st['cycles']} (predicted {st['predicted_cycles']}, dense mode {st['predicted_dense_cycles']}), "
          f"ideal {st['ideal_cycles']}, utilisation {st['utilization']:.1%}, "
          f"MACs issued {st['macs_issued']} (non-zero {st['nonzero_macs']})")
    print(sim_line(sim_fig))
    print(f"outputs: {y.size}, bit-exact against the reference convolution: {'yes' if exact else 'NO'}")
    if not exact:
        bad = np.argwhere(y != ref)[0]
        print(f"first mismatch at (f, oy, ox)={tuple(int(i) for i in bad)}: got {y[tuple(bad)]}, "
              f"expected {ref[tuple(bad)]}", file=sys.stderr)
        return 1
    return 0
