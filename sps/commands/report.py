"""Report for a whole network on the SPS array: per-layer cycles PPS vs dense mode, utilisation,
storage by format, energy per image (PPS vs dense mode, weight fetch by format), as Markdown
(report.md), JSON (report.json, the energy under "energy") and PNG plots (cycles.png,
utilisation.png, storage.png, energy.png).

example:
  sps report --model vgg16                       one image through VGG-16 on the RTL (Verilator)
  sps report --net net.npz --images X.npy --labels Y.npy --onnx model.onnx
                                                 your network (sps import) on every image of X
  sps report --model resnet18 --cycles model     the compiler's cycle model, no simulation
  sps report --model vgg16 --batch 4             4 images per run: small layers run 4 images per pass
  sps report --model digits --config my16x16.json --out build/report/digits16

Weights: --checkpoint, else the shipped model (digits) or random weights pruned to PS-4/P4
(vgg16, resnet18; see models/prepare.py). --cycles rtl (the default): one random image (--seed)
runs through the whole network on the RTL, every layer checked bit-exactly against the integer
reference, and every array layer is run again in dense mode; the cycles are the hardware
counters. --cycles model: the compiler's cycle model, no simulation. --config: another array.
--batch B: the network runs B images at a time (B random images, or --images in groups of B);
each array layer takes the images per program (a divisor of B, the BATCH register) with the
fewest predicted cycles per image, so that a small layer's pass covers the same pixels of several
images while the weights stay; every figure is per image.
Real time: latency, images/s and GOP/s at the post-route Fmax `sps fpga` measured for this array
(docs/fpga/summary.json) or at --fmax-mhz; for VGG-16 also the cycle model's prediction at
ImageNet shape (224x224). Energy: action counts (hardware counters, else the cycle model) x the
energy per action of --energy-table (default config/energy_45nm.json, Horowitz 45 nm).
--net (a QNet file from `sps import`): every image of --images (float32 [N, C, H, W], as the
model expects them) runs on the RTL, every array layer and the logits checked bit-exactly against
the integer reference; onnxruntime is the second oracle: each array layer alone as QDQ on the same
int8 input, and the whole network as QDQ (NET.qdq.onnx) and, with --onnx, the original float
model, end to end; --labels adds the accuracy of each.
Exit 1 if the RTL differs from the integer reference, 2 on bad input.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.shapes import MODELS
from sps.cli import add_network_arguments

HELP = "whole-network report: per-layer cycles PPS vs dense, utilisation, storage, energy, plots"


def network_report(model_name: str, qnet, weights_desc: str, source: str, sim: str | None, out: Path,
                   cfg, energy_table: dict, fmax_mhz: float | None = None, fmax_where: str = "",
                   images=None, oracle=None, seed: int = 0, builtin: bool = True, batch: int = 1) -> dict:
    """Measure (or model) the per-layer cycles of `qnet` on the array `cfg`, write report.md/json
    and the plots. images: int8 [N, C, H, W] to run (default one random image drawn with `seed`);
    oracle(run, net) -> (markdown lines, report.json entries) adds the checks of a user's network.
    When the RTL differs from the integer reference nothing is written and "mismatches" lists the
    differences. builtin: `model_name` is one of the project's networks (its title, and for vgg16
    the ImageNet-shape figures); a user's network is reported under its own name. batch: images per
    network run (compiler.network; `images` default to `batch` random ones)."""
    from compiler.network import NetProgram
    from sps.tables import TITLES, performance_sections
    from tb.env.host import run_network_on_rtl, sim_line

    net = NetProgram(qnet, cfg, batch=batch)
    counters = dense = None
    check = "not run (cycle model)"
    wall = 0.0
    sim_fig = {"sim_cycles": 0, "sim_seconds": 0.0, "sim_cycles_per_s": 0.0}
    if source == "rtl":
        if images is None:
            images = np.random.default_rng(seed).integers(-128, 128, (batch, *qnet.input_shape)).astype(np.int8)
        print(f"running {len(images)} image(s) through {len(net.stages)} layers on {sim} "
              + (f"in batches of {batch} " if batch > 1 else "") + "(then every array layer in dense mode) ...")
        run = run_network_on_rtl(qnet, images, sim, cfg, dense=True, name=f"report_{model_name}", net=net,
                                 batch=batch)
        wall, sim_fig = run.wall, run.sim
        print(sim_line(sim_fig))
        if not run.bit_exact:
            from sps.commands.debug import network_layer_command
            return {"mismatches": run.mismatches,
                    "debug": network_layer_command(run, qnet, images, cfg, out / "debug")}
        counters, dense = run.layer_counters[0], run.dense_counters
        check = (f"bit-exact on every layer against the integer reference ({sim}, {len(images)} image(s), "
                 f"{wall:.0f} s)")
    title = TITLES[model_name] if builtin else model_name
    sections, rows, tot, plots, energy = performance_sections(net, source, counters, dense, title, out, energy_table)
    rt = imagenet = None
    extra = []
    if fmax_mhz:
        from sps.realtime import dense_macs, realtime, realtime_lines, vgg16_imagenet
        rt = realtime(tot["cycles"], tot["dense_cycles"], tot["macs"], dense_macs(rows), fmax_mhz, cfg.dsps)
        extra += realtime_lines(rt, f"{title}, input {'x'.join(map(str, qnet.input_shape))}", fmax_where)
        if batch > 1:
            extra += [f"With a batch of {batch}, cycles per image and images/s are the throughput (a "
                      f"batch's cycles / {batch}); the latency of a batch is {batch} times the per-image "
                      "figure.", ""]
        if builtin and model_name == "vgg16":
            print("ImageNet-shape VGG-16 (224x224) with the cycle model ...")
            imagenet = vgg16_imagenet(cfg)
            imagenet["realtime"] = realtime(imagenet["cycles"], imagenet["dense_cycles"], imagenet["macs"],
                                            imagenet["dense_macs"], fmax_mhz, cfg.dsps)
            extra += realtime_lines(imagenet["realtime"], "VGG-16's 13 conv layers at ImageNet shape, "
                                    "3x224x224, cycle model (too large to simulate here)", fmax_where)
    checks, entries = oracle(run if source == "rtl" else None, net) if oracle else ([], {})
    extra += checks
    md = [f"# {title} on the SPS array", "",
          f"Array {cfg.ROWS}x{cfg.COLS}, LANES={cfg.LANES}, ACT_DEPTH={cfg.ACT_DEPTH}, ACC_DEPTH={cfg.ACC_DEPTH}, "
          f"{cfg.MACS_PER_DSP} MAC(s) per DSP ({cfg.dsps} MULT18X18D). "
          + (f"Batch: {batch} images per network run, images per program by layer "
             f"{[st.prog.batch for st in net.array_stages]}. " if batch > 1 else "")
          + f"Weights: {weights_desc}. RTL check: {check}.", "", *extra, *sections]
    text = "\n".join(md) + "\n"
    (out / "report.md").write_text(text)
    rep = {"model": model_name, "weights": weights_desc, "cycles_source": source, "simulator": sim, "batch": batch,
           "rtl_check": check, **sim_fig, "wall_seconds": wall, "layers": rows, "totals": tot,
           "storage": net.storage()[1], "energy": energy, "realtime": rt, "imagenet_vgg16": imagenet,
           "bit_exact": source == "rtl", "array_mac_fraction": tot["array_mac_fraction"], **entries}
    (out / "report.json").write_text(json.dumps(rep, indent=2))
    return {"markdown": text, "report": rep, "plots": plots, "mismatches": []}


def add_arguments(ap) -> None:
    ap.add_argument("--model", default="vgg16", choices=MODELS)
    ap.add_argument("--net", metavar="NET.npz", help="a network of your own (QNet file from sps import) instead of --model")
    ap.add_argument("--images", metavar="X.npy", help="with --net: float32 images [N, C, H, W] to run")
    ap.add_argument("--labels", metavar="Y.npy", help="with --net: integer labels [N] (accuracy)")
    ap.add_argument("--onnx", metavar="MODEL.onnx", help="with --net: the original float model (top-1 agreement)")
    ap.add_argument("--checkpoint", help="trained PPS checkpoint (default: shipped digits model, or random PS-4 weights)")
    ap.add_argument("--data", help="CIFAR-10 python batches directory (calibration images)")
    ap.add_argument("--cycles", choices=("rtl", "model"), default="rtl",
                    help="rtl (default: one image on the RTL, hardware counters) or model (cycle model)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the random weights (vgg16, resnet18 without --checkpoint), the calibration "
                         "noise (without --data) and the image run on the RTL (default 0)")
    ap.add_argument("--batch", type=int, default=1, metavar="B",
                    help="images per network run (default 1): small layers then run several images per "
                         "pass while the weights stay; every figure is per image")
    ap.add_argument("--out", default=None, help="output directory (default build/report/MODEL)")
    ap.add_argument("--fmax-mhz", type=float, default=None, metavar="F",
                    help="clock for the real-time figures (default: the post-route Fmax recorded in "
                         "docs/fpga/summary.json when it is for this array; none otherwise)")
    add_network_arguments(ap)


def run(a) -> int:
    import sys

    from models.prepare import load_float, quantized
    from sps.cli import array_and_energy, pick_simulator
    from sps.realtime import measured_fmax

    cfg, table = array_and_energy(a)
    if a.fmax_mhz is not None and not 1.0 <= a.fmax_mhz <= 2000.0:
        raise ValueError(f"--fmax-mhz {a.fmax_mhz:g} is outside 1..2000")
    fmax, where = (a.fmax_mhz, "as given") if a.fmax_mhz else measured_fmax(cfg)
    sim = pick_simulator(a.sim) if a.cycles == "rtl" else None
    if a.net:
        from sps.netcheck import load_user_net

        user = load_user_net(a, a.cycles == "rtl")
        qnet, images, oracle = user.qnet, user.images_int8, user.oracle
        name, desc = qnet.name, f"{a.net} (sps import)"
    else:
        for opt in ("images", "labels", "onnx"):
            if getattr(a, opt):
                raise ValueError(f"--{opt} goes with --net")
        model, layer_pps, desc = load_float(a.model, a.checkpoint, a.data, a.seed)
        qnet, images, oracle, name = quantized(a.model, model, layer_pps, a.data, a.seed), None, None, a.model
    out = Path(a.out or f"build/report/{name}")
    if not 1 <= a.batch <= cfg.ACC_DEPTH:
        raise ValueError(f"--batch {a.batch} is outside 1..ACC_DEPTH={cfg.ACC_DEPTH}")
    if images is not None and len(images) % a.batch:
        raise ValueError(f"--batch {a.batch} does not divide the {len(images)} image(s) of --images")
    res = network_report(name, qnet, desc, a.cycles, sim, out, cfg, table, fmax, where, images, oracle, a.seed,
                         builtin=not a.net, batch=a.batch)
    if res["mismatches"]:
        print(f"RTL differs from the integer reference: {res['mismatches'][0]} "
              f"({len(res['mismatches'])} mismatches)", file=sys.stderr)
        if res.get("debug"):
            print(f"that layer alone, its inputs saved: {res['debug']}", file=sys.stderr)
        return 1
    print(res["markdown"])
    print(f"wrote {out / 'report.md'}, {out / 'report.json'}, " + ", ".join(str(p) for p in res["plots"]))
    return 0
