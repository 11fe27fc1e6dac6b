"""The demo: a whole PPS network on the simulated SPS accelerator, checked bit-exactly.

example:
  sps demo                                   the shipped digits CNN, 540 test images, Verilator
  sps demo --sim icarus --images 5 --stall 0.3
  sps demo --model vgg16 --checkpoint vgg16_pps.pt --data ~/cifar-10-batches-py --images 1

Trains nothing. With the defaults it takes the shipped PPS digits model
(models/weights/digits_pps.pt) and its dense twin, quantises the PPS model to int8 (calibration on
training images), compiles every 3x3 layer for the array and then prints:
  1. accuracy on the test set of the float dense twin, the float PPS model and the int8 PPS
     network in Python (the integer reference), and of the RTL on the first N test images
     (default: the whole test set, 540 images, about 2 minutes on Verilator; 50 on Icarus);
  2. the bit-exact check: every array layer's output and the logits of every RTL image against
     the integer reference;
  3. per-layer cycles (hardware counters), utilisation and speedup over dense mode (each 3x3 layer
     is also run once in dense mode, P=1, on the same hardware);
  4. the storage table;
  5. the energy per image (counters x --energy-table, default config/energy_45nm.json): SPS vs
     dense mode, and the weight fetch of the same weights in other formats.
It writes the same to OUT/summary.md (with cycles.png, utilisation.png, storage.png, energy.png) and
OUT/summary.json. --waves runs a single image and leaves an FST (path printed). vgg16/resnet18 need
--checkpoint and --data (CIFAR-10 python batches); the accuracies then use the first 200 test
images (--eval-images) and the RTL 2 (--images): a VGG-16 image takes about 5 minutes on
Verilator. --config runs it on another array. Exit 1 if the RTL differs from the reference, 2 on
bad input.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from models.shapes import MODELS
from sps.cli import add_config_argument, add_energy_argument, add_sim_argument, add_stream_arguments

HELP = "a whole PPS network on the RTL: accuracies, bit-exact check, cycles vs dense"
ICARUS_IMAGES = 50       # Icarus simulates the 8x8 array at ~1,500 cycles/s: ~3 s per digits image
CIFAR_EVAL_IMAGES = 200  # VGG-16 / ResNet-18: the numpy integer reference takes seconds per image
CIFAR_RTL_IMAGES = 2     # and the RTL (VGG-16) about 5 s per image on Verilator


def _float_predictions(model, x) -> np.ndarray:
    import torch
    with torch.no_grad():
        return torch.cat([model(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)]).numpy()


def add_arguments(ap) -> None:
    ap.add_argument("--model", default="digits", choices=MODELS)
    ap.add_argument("--checkpoint", help="PPS model checkpoint (default: the shipped digits model)")
    ap.add_argument("--dense-checkpoint", help="its dense twin, for the float dense accuracy")
    ap.add_argument("--data", help="CIFAR-10 python batches directory (vgg16, resnet18)")
    ap.add_argument("--images", type=int, default=None,
                    help=f"test images through the RTL (default digits: all on Verilator, {ICARUS_IMAGES} on Icarus; "
                         f"CIFAR: {CIFAR_RTL_IMAGES})")
    ap.add_argument("--eval-images", type=int, default=None, help=f"test images for the Python accuracies (default: all for digits, {CIFAR_EVAL_IMAGES} for CIFAR)")
    ap.add_argument("--waves", action="store_true", help="one image, FST waves (path printed)")
    ap.add_argument("--out", default="build/demo", help="output directory (default build/demo)")
    add_stream_arguments(ap)
    add_energy_argument(ap)
    add_sim_argument(ap)
    add_config_argument(ap)


def run(a) -> int:
    from compiler.config import load_config
    from compiler.energy import load_energy_table
    from compiler.network import NetProgram
    from models import data as D
    from models.nets import build, load_checkpoint
    from models.prepare import SHIPPED_DENSE, load_float, quantized
    from models.qnet import predict
    from sps.cli import pick_simulator, stall_of
    from sps.tables import TITLES, performance_sections
    from tb.env.host import run_network_on_rtl, sim_line

    cfg = load_config(a.config)
    table = load_energy_table(a.energy_table)
    if a.model != "digits" and (a.checkpoint is None or a.data is None):
        raise ValueError(f"--model {a.model} needs --checkpoint (a trained PPS model) and --data (CIFAR-10)")
    if a.images is not None and a.images < 1:
        raise ValueError(f"--images must be >= 1, got {a.images}")
    stall = stall_of(a)

    ds = "digits" if a.model == "digits" else "cifar10"
    xte, yte = D.load(ds, "test", a.data)
    n_eval = a.eval_images if a.eval_images is not None else (None if a.model == "digits" else CIFAR_EVAL_IMAGES)
    if n_eval is not None:
        xte, yte = xte[:n_eval], yte[:n_eval]
    if a.images is not None and a.images > len(xte):
        raise ValueError(f"--images {a.images}: the test set has only {len(xte)} images")
    sim = pick_simulator(a.sim)
    default_rtl = len(xte) if a.model == "digits" else CIFAR_RTL_IMAGES
    n_rtl = 1 if a.waves else (a.images or (default_rtl if sim == "verilator" else min(default_rtl, ICARUS_IMAGES)))
    model, layer_pps, desc = load_float(a.model, a.checkpoint, a.data)
    dense_ck = a.dense_checkpoint or (SHIPPED_DENSE.get(a.model) if a.checkpoint is None else None)
    labels = yte.numpy()
    float_pred = _float_predictions(model, xte)
    acc = {"float_pps": float((float_pred == labels).mean())}
    if dense_ck is not None:
        dense = build(a.model)
        load_checkpoint(dense, dense_ck)
        acc["float_dense"] = float((_float_predictions(dense.eval(), xte) == labels).mean())
    print(f"{TITLES[a.model]}: {desc}")
    t0 = time.time()
    qnet = quantized(a.model, model, layer_pps, a.data)
    xq = qnet.quantize_input(xte.numpy())
    int_pred = np.array([predict(qnet, x) for x in xq])
    acc["int8_python"] = float((int_pred == labels).mean())
    print(f"int8 integer reference on {len(xq)} test images: {time.time() - t0:.1f} s")

    net = NetProgram(qnet, cfg)
    print("layers: " + ", ".join(f"{s.name} ({'array' if s.where == 'array' else 'host'})" for s in net.stages))
    print(f"running {n_rtl} test image(s) through the RTL on {sim} ...", flush=True)
    run = run_network_on_rtl(qnet, xq[:n_rtl], sim, cfg, dense=not a.waves, waves=a.waves, stall=stall,
                             name="demo_waves" if a.waves else "demo", transport=a.transport)
    rtl_pred = np.array(run.predictions)
    acc["rtl"] = float((rtl_pred == labels[:n_rtl]).mean())
    acc["int8_python_same_images"] = float((int_pred[:n_rtl] == labels[:n_rtl]).mean())
    rtl_cycles = [sum(c["cycles"] for c in img.values()) for img in run.layer_counters]

    lines = [f"# {TITLES[a.model]} on the SPS accelerator (RTL: {sim})", "",
             f"Weights: {desc}.", "",
             "| model | images | top-1 accuracy |", "|---|---|---|"]
    if "float_dense" in acc:
        lines.append(f"| float, dense twin | {len(xte)} | {acc['float_dense']:.2%} |")
    lines += [f"| float, PPS | {len(xte)} | {acc['float_pps']:.2%} |",
              f"| int8 PPS, integer reference (Python) | {len(xte)} | {acc['int8_python']:.2%} |",
              f"| int8 PPS, integer reference (Python), same images as the RTL | {n_rtl} | "
              f"{acc['int8_python_same_images']:.2%} |",
              f"| int8 PPS on the RTL | {n_rtl} | {acc['rtl']:.2%} |", ""]
    exact = run.bit_exact                     # every array layer's output and the logits
    lines.append(f"Bit-exact check, RTL vs integer reference, every array layer output and the logits of "
                 f"all {n_rtl} image(s): **{'PASS' if exact else 'FAIL'}**"
                 + ("" if exact else f" ({len(run.mismatches)} mismatches; first: {run.mismatches[0]})") + ".")
    lines.append(f"RTL predictions equal to the int8 reference's: {int((rtl_pred == int_pred[:n_rtl]).sum())}/{n_rtl}; "
                 f"to the float PPS model's: {int((rtl_pred == float_pred[:n_rtl]).sum())}/{n_rtl}. "
                 f"Simulation: {sum(rtl_cycles):,} array cycles; {sim_line(run.sim)}, {run.wall:.0f} s wall with the build.")
    lines.append("")
    out = Path(a.out)
    if not a.waves:
        sections, rows, _, _, energy = performance_sections(net, "rtl", run.layer_counters[0], run.dense_counters,
                                                            TITLES[a.model], out, table)
        lines += sections
    else:
        rows, energy = [], None
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps(
        {"model": a.model, "weights": desc, "simulator": sim, "accuracy": acc, "rtl_images": n_rtl,
         "bit_exact": exact, "mismatches": run.mismatches, "layers": rows, "energy": energy,
         "rtl_predictions": rtl_pred.tolist(), "float_predictions": float_pred[:n_rtl].tolist(),
         "labels": labels[:n_rtl].tolist(), **run.sim, "wall_seconds": run.wall}, indent=2))
    print(sim_line(run.sim))
    print(f"wrote {out / 'summary.md'} and {out / 'summary.json'}")
    return 0 if exact else 1
