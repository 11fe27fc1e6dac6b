"""Benchmark: VGG-16's CIFAR-shaped 3x3 conv layers on the RTL (Verilator by default), each in
PS-4/P4 (o=1, the four 2x2 corners) and in dense mode, with random int8 weights and inputs (cycles
do not depend on the values). Every run is also checked bit-exactly against the reference conv.

example:
  sps bench                                       all 13 layers, PS-4 and dense, Verilator (~1 min)
  sps bench --layers conv1_2,conv2_1 --channel-div 4 --config my16x16.json

Columns: cycles = the hardware CYCLES counter (start to done, activation load and final drain
included); ideal = non-zero MACs / (ROWS*COLS); utilisation = non-zero MACs / (cycles x ROWS x
COLS); predicted = the compiler's cycle model; speedup = dense-mode cycles / PS-4 cycles (both
measured); sim rate = simulated cycles per wall-clock second. --channel-div N divides every
layer's C and F by N (the first layer's C=3 is kept) to shorten runs. Writes bench.md, bench.json
and bench_cycles.png.
A run that differs from the reference stops the benchmark with exit 1.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from models.shapes import VGG16_CIFAR_CONVS as VGG16_CIFAR
from sps.cli import add_config_argument, add_sim_argument

HELP = "VGG-16 CIFAR layers PS-4 vs dense on the RTL: cycles, utilisation, speedup"


def run_one(name, C, F, H, pps, sim, seed, cfg):
    """One layer on the RTL: its stats (sps run-layer's), or None if it differs from the reference."""
    from compiler.compile import compile_layer
    from sps.commands.run_layer import layer_stats
    from tb.env.cases import random_layer, reference_output
    from tb.env.host import run_program_on_rtl

    layer, x = random_layer(np.random.default_rng(seed), pps, C, F, H, H, bias=1000, name=name)
    prog = compile_layer(layer, cfg, pps, x=x)
    res, stats, sim_fig = run_program_on_rtl(prog, sim, name=f"bench_{name}_{'dense' if pps.is_dense else 'pps'}")
    if not np.array_equal(prog.unpack_results(res), reference_output(layer, x)):
        return None
    return layer_stats(prog, stats, sim_fig)


def add_arguments(ap) -> None:
    ap.add_argument("--layers", default="all", help="comma-separated VGG-16 layer names (default all)")
    ap.add_argument("--channel-div", type=int, default=1, help="divide C and F by this (default 1)")
    ap.add_argument("--out", default="build/bench", help="output directory (default build/bench)")
    add_sim_argument(ap, default="verilator")
    add_config_argument(ap)


def run(a) -> int:
    import sys

    from compiler.config import load_config
    from models.pps import PPS
    from sps.cli import InputError, pick_simulator
    from tb.env.host import sim_line

    cfg = load_config(a.config)
    sim = pick_simulator(a.sim)
    names = [l[0] for l in VGG16_CIFAR]
    wanted = names if a.layers == "all" else a.layers.split(",")
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise InputError(f"--layers: unknown layer(s) {', '.join(unknown)}; VGG-16 has {', '.join(names)}")
    layers = [l for l in VGG16_CIFAR if l[0] in wanted]
    if a.channel_div < 1:
        raise InputError(f"--channel-div must be >= 1, got {a.channel_div}")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    t0 = time.time()
    for i, (name, C, F, H) in enumerate(layers):
        C2 = C if C == 3 else max(1, C // a.channel_div)
        F2 = max(1, F // a.channel_div)
        r = {"layer": name, "C": C2, "F": F2, "H": H}
        for mode, pps in (("ps4", PPS.ps(4)), ("dense", PPS.dense())):
            print(f"[{i + 1}/{len(layers)}] {name} C={C2} F={F2} {H}x{H} {mode} on {sim} ... ",
                  end="", flush=True)
            st = run_one(name, C2, F2, H, pps, sim, i, cfg)
            if st is None:
                print(f"\nbench {name} {mode}: the RTL output differs from the reference convolution",
                      file=sys.stderr)
                return 1
            r[mode] = st
            print(f"{st['cycles']} cycles, {st['sim_cycles_per_s']:.0f} cycles/s "
                  f"({time.time() - t0:.0f} s so far)", flush=True)
        r["speedup"] = r["dense"]["cycles"] / r["ps4"]["cycles"]
        rows.append(r)
    table = format_table(rows, a, sim, cfg)
    print(table)
    (out / "bench.md").write_text(table + "\n")
    sim_tot = total_sim(rows)
    print(sim_line(sim_tot))
    (out / "bench.json").write_text(json.dumps(sim_tot | {"rows": rows}, indent=2))
    plot(rows, out / "bench_cycles.png")
    print(f"wrote {out / 'bench.md'}, {out / 'bench.json'}, {out / 'bench_cycles.png'}")
    return 0


def total_sim(rows) -> dict:
    """The simulation figures of all runs together (sim_cycles, sim_seconds, sim_cycles_per_s)."""
    runs = [r[m] for r in rows for m in ("ps4", "dense")]
    cyc, secs = sum(s["sim_cycles"] for s in runs), sum(s["sim_seconds"] for s in runs)
    return {"sim_cycles": cyc, "sim_seconds": secs, "sim_cycles_per_s": cyc / secs if secs else 0.0}


def format_table(rows, a, sim, cfg) -> str:
    head = (f"SPS array {cfg.ROWS}x{cfg.COLS}, LANES={cfg.LANES}, simulator {sim}"
            + (f", channels divided by {a.channel_div}" if a.channel_div > 1 else "") + "\n\n"
            "| layer | C | F | HxW | mode | cycles (hw) | ideal | utilisation | predicted | pred. error | "
            "speedup vs dense | sim cycles/s |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        for mode in ("ps4", "dense"):
            s = r[mode]
            sp = f"{r['speedup']:.2f}x" if mode == "ps4" else ""
            lines.append(f"| {r['layer']} | {r['C']} | {r['F']} | {r['H']}x{r['H']} | "
                         f"{'PS-4/P4' if mode == 'ps4' else 'dense'} | {s['cycles']} | {s['ideal_cycles']} | "
                         f"{s['utilization']:.1%} | {s['predicted_cycles']} | {s['prediction_error']:+.2%} | "
                         f"{sp} | {s['sim_cycles_per_s']:.0f} |")
    tot = {m: sum(r[m]["cycles"] for r in rows) for m in ("ps4", "dense")}
    lines.append(f"\nTotal: PS-4 {tot['ps4']} cycles, dense {tot['dense']} cycles, "
                 f"speedup {tot['dense'] / tot['ps4']:.2f}x")
    return "\n".join(lines)


def plot(rows, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["layer"] for r in rows]
    xs = np.arange(len(rows))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    ax1.bar(xs - 0.2, [r["dense"]["cycles"] for r in rows], 0.4, label="dense mode")
    ax1.bar(xs + 0.2, [r["ps4"]["cycles"] for r in rows], 0.4, label="PS-4/P4")
    ax1.set_ylabel("cycles (hardware counter)")
    ax1.set_yscale("log")
    ax1.legend()
    ax1.set_title("VGG-16 (CIFAR shapes) on the SPS array")
    ax2.plot(xs, [100 * r["dense"]["utilization"] for r in rows], "o-", label="dense mode")
    ax2.plot(xs, [100 * r["ps4"]["utilization"] for r in rows], "s-", label="PS-4/P4")
    ax2.set_ylabel("utilisation (%)")
    ax2.set_ylim(0, 105)
    ax2.set_xticks(xs, names, rotation=45)
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
