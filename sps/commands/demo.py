"""The demo: a whole PPS network on the simulated SPS accelerator, checked bit-exactly.

example:
  sps demo                                   the shipped digits CNN, 540 test images, Verilator
  sps demo --sim icarus --images 5 --stall 0.3
  sps demo --model vgg16 --checkpoint vgg16_pps.pt --data ~/cifar-10-batches-py --images 1
  sps demo --net net.npz --images X.npy --labels Y.npy --onnx model.onnx     your network (sps import)

Trains nothing. With the defaults it takes the shipped PPS digits model
(models/weights/digits_pps.pt) and its dense twin, quantises the PPS model to int8 (calibration on
training images), compiles every conv for the array and then prints:
  1. accuracy on the test set of the float dense twin, the float PPS model and the int8 PPS
     network in Python (the integer reference), and of the RTL on the first N test images
     (default: the whole test set, 540 images, about 2 minutes on Verilator; 50 on Icarus);
  2. the bit-exact check: every array layer's output and the logits of every RTL image against
     the integer reference;
  3. per-layer cycles (hardware counters), utilisation and speedup over dense mode (each array layer
     is also run once in dense mode, P=1, on the same hardware);
  4. the storage table;
  5. the energy per image (counters x --energy-table, default config/energy_45nm.json): SPS vs
     dense mode, and the weight fetch of the same weights in other formats.
It writes the same to OUT/summary.md (with cycles.png, utilisation.png, storage.png, energy.png) and
OUT/summary.json. --waves runs a single image and leaves an FST (path printed). vgg16/resnet18 need
--checkpoint and --data (CIFAR-10 python batches); the accuracies then use the first 200 test
images (--eval-images) and the RTL 2 (--images): a VGG-16 image takes about 5 minutes on
Verilator. --config runs it on another array. --net (a QNet file from `sps import`) runs your
network instead: every image of --images X.npy (float32 [N, C, H, W]) on the RTL, checked
bit-exactly, with onnxruntime as the second oracle (sps report --net's checks) and, with --labels,
the accuracies. Exit 1 if the RTL differs from the reference, 2 on bad input.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.shapes import MODELS
from sps.cli import add_network_arguments, add_stream_arguments

HELP = "a whole PPS network on the RTL: accuracies, bit-exact check, cycles vs dense"
ICARUS_IMAGES = 50       # Icarus simulates the 8x8 array at ~1,500 cycles/s: ~3 s per digits image
CIFAR_EVAL_IMAGES = 200  # VGG-16 / ResNet-18: the numpy integer reference takes seconds per image
CIFAR_RTL_IMAGES = 2     # and the RTL (VGG-16) about 5 s per image on Verilator


def add_arguments(ap) -> None:
    ap.add_argument("--model", default="digits", choices=MODELS)
    ap.add_argument("--checkpoint", help="PPS model checkpoint (default: the shipped digits model)")
    ap.add_argument("--dense-checkpoint", help="its dense twin, for the float dense accuracy")
    ap.add_argument("--data", help="CIFAR-10 python batches directory (vgg16, resnet18)")
    ap.add_argument("--images", default=None,
                    help=f"test images through the RTL (default digits: all on Verilator, {ICARUS_IMAGES} on Icarus; "
                         f"CIFAR: {CIFAR_RTL_IMAGES}); with --net: the images, X.npy")
    ap.add_argument("--net", metavar="NET.npz", help="your network (QNet file from sps import) instead of --model")
    ap.add_argument("--labels", metavar="Y.npy", help="with --net: integer labels [N]")
    ap.add_argument("--onnx", metavar="MODEL.onnx", help="with --net: the original float model (top-1 agreement)")
    ap.add_argument("--eval-images", type=int, default=None, help=f"test images for the Python accuracies (default: all for digits, {CIFAR_EVAL_IMAGES} for CIFAR)")
    ap.add_argument("--waves", action="store_true", help="one image, FST waves (path printed)")
    ap.add_argument("--out", default="build/demo", help="output directory (default build/demo)")
    add_stream_arguments(ap)
    add_network_arguments(ap)



def run(a) -> int:
    from compiler.network import NetProgram
    from models.prepare import load_float
    from sps.cli import array_and_energy, pick_simulator, stall_of
    from sps.tables import TITLES

    cfg, table = array_and_energy(a)
    _check_arguments(a)
    stall = stall_of(a)
    if a.net:
        return _user_network(a, cfg, table, stall)
    xte, labels = _test_set(a)
    sim = pick_simulator(a.sim)
    n_rtl = _rtl_image_count(a, len(xte), sim)
    model, layer_pps, desc = load_float(a.model, a.checkpoint, a.data)
    float_pred = _float_predictions(model, xte)
    dense = _dense_twin(a)
    dense_pred = None if dense is None else _float_predictions(dense, xte)
    print(f"{TITLES[a.model]}: {desc}")
    qnet, xq, int_pred = _integer_reference(a, model, layer_pps, xte)
    net = NetProgram(qnet, cfg)
    rtl = _run_on_rtl(a, net, xq[:n_rtl], sim, cfg, stall)
    pred = Predictions(labels, float_pred, dense_pred, int_pred, np.array(rtl.predictions))
    acc = pred.accuracy()
    lines = _summary_lines(TITLES[a.model], desc, sim, pred, acc, rtl)
    out = Path(a.out)
    rows, energy = [], None
    if not a.waves:
        sections, rows, _, _, energy = _performance(net, rtl, TITLES[a.model], out, table)
        lines += sections
    _write_summary(out, "\n".join(lines) + "\n", rtl, {
        "model": a.model, "weights": desc, "simulator": sim, "accuracy": acc, "rtl_images": n_rtl,
        "bit_exact": rtl.bit_exact, "mismatches": rtl.mismatches, "layers": rows, "energy": energy,
        "rtl_predictions": pred.rtl.tolist(), "float_predictions": float_pred[:n_rtl].tolist(),
        "labels": labels[:n_rtl].tolist(), **rtl.sim, "wall_seconds": rtl.wall})
    _debug_command(rtl, qnet, xq[:n_rtl], cfg, out)
    return 0 if rtl.bit_exact else 1


# ---- loading: the arguments, the test images, the models ----------------------------------------

def _check_arguments(a) -> None:
    if a.net:
        if not a.images:
            raise ValueError("--net needs --images X.npy (float32 [N, C, H, W])")
        return
    for opt in ("labels", "onnx"):
        if getattr(a, opt):
            raise ValueError(f"--{opt} goes with --net")
    if a.images is not None:
        try:
            a.images = int(a.images)
        except ValueError:
            raise ValueError(f"--images {a.images!r}: a number of test images (a .npy file goes with --net)") from None
    if a.model != "digits" and (a.checkpoint is None or a.data is None):
        raise ValueError(f"--model {a.model} needs --checkpoint (a trained PPS model) and --data (CIFAR-10)")
    if a.images is not None and a.images < 1:
        raise ValueError(f"--images must be >= 1, got {a.images}")


def _test_set(a) -> tuple:
    """The test images of the Python accuracies (--eval-images of them) and their labels (numpy)."""
    from models import data as D

    xte, yte = D.load("digits" if a.model == "digits" else "cifar10", "test", a.data)
    n_eval = a.eval_images if a.eval_images is not None else (None if a.model == "digits" else CIFAR_EVAL_IMAGES)
    if n_eval is not None:
        xte, yte = xte[:n_eval], yte[:n_eval]
    if a.images is not None and a.images > len(xte):
        raise ValueError(f"--images {a.images}: the test set has only {len(xte)} images")
    return xte, yte.numpy()


def _rtl_image_count(a, n_test: int, sim: str) -> int:
    """How many test images run on the RTL: --images, else the defaults of --help (one with --waves)."""
    if a.waves:
        return 1
    default = n_test if a.model == "digits" else CIFAR_RTL_IMAGES
    return a.images or (default if sim == "verilator" else min(default, ICARUS_IMAGES))


def _dense_twin(a):
    """The float dense twin (--dense-checkpoint, else the shipped one of the shipped model), or None."""
    from models.nets import build, load_checkpoint
    from models.prepare import SHIPPED_DENSE

    path = a.dense_checkpoint or (SHIPPED_DENSE.get(a.model) if a.checkpoint is None else None)
    if path is None:
        return None
    dense = build(a.model)
    load_checkpoint(dense, path)
    return dense.eval()


def _user_network(a, cfg, table, stall) -> int:
    """--net: every image of --images on the RTL, bit-exact, onnxruntime beside it, the tables."""
    from compiler.network import NetProgram
    from sps.cli import pick_simulator
    from sps.netcheck import load_user_net

    user = load_user_net(a, True, max_images=1 if a.waves else None)    # --waves: one image
    qnet, x, y = user.qnet, user.images, user.labels
    sim = pick_simulator(a.sim)
    net = NetProgram(qnet, cfg)
    rtl = _run_on_rtl(a, net, user.images_int8, sim, cfg, stall)
    checks, entries = user.oracle(rtl, net)
    exact = rtl.bit_exact
    lines = [f"# {qnet.name} on the SPS accelerator (RTL: {sim})", "", f"Network: {a.net} (sps import).", "",
             f"Bit-exact check, RTL vs integer reference, every array layer output and the logits of all "
             f"{len(x)} image(s): **{'PASS' if exact else 'FAIL'}**"
             + ("" if exact else f" ({len(rtl.mismatches)} mismatches; first: {rtl.mismatches[0]})") + ".", ""]
    if y is not None:
        lines.append(f"Accuracy on the RTL: {float((np.array(rtl.predictions) == y).mean()):.2%} of {len(x)} images.")
        lines.append("")
    lines += checks
    out = Path(a.out)
    rows, energy = [], None
    if not a.waves:
        sections, rows, _, _, energy = _performance(net, rtl, qnet.name, out, table)
        lines += sections
    _write_summary(out, "\n".join(lines) + "\n", rtl, {
        "model": qnet.name, "weights": a.net, "simulator": sim, "rtl_images": len(x), "bit_exact": exact,
        "mismatches": rtl.mismatches, "layers": rows, "energy": energy, "rtl_predictions": rtl.predictions,
        "labels": None if y is None else y.tolist(), **entries, **rtl.sim, "wall_seconds": rtl.wall})
    _debug_command(rtl, qnet, user.images_int8, cfg, out)
    return 0 if exact else 1


# ---- the runs: float models, the integer reference, the RTL -------------------------------------

def _float_predictions(model, x) -> np.ndarray:
    import torch
    with torch.no_grad():
        return torch.cat([model(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)]).numpy()


def _integer_reference(a, model, layer_pps, xte) -> tuple:
    """The int8 network (calibrated on training images), the int8 test images and its predictions."""
    from models.prepare import quantized
    from models.qnet import predict

    t0 = time.time()
    qnet = quantized(a.model, model, layer_pps, a.data)
    xq = qnet.quantize_input(xte.numpy())
    pred = np.array([predict(qnet, x) for x in xq])
    print(f"int8 integer reference on {len(xq)} test images: {time.time() - t0:.1f} s")
    return qnet, xq, pred


def _run_on_rtl(a, net, images, sim: str, cfg, stall):
    """The int8 `images` through the network on the RTL (and every array layer once in dense mode,
    unless --waves): tb.env.host.NetRun."""
    from tb.env.host import run_network_on_rtl

    print("layers: " + ", ".join(f"{s.name} ({'array' if s.where == 'array' else 'host'})" for s in net.stages))
    print(f"running {len(images)} test image(s) through the RTL on {sim} ...", flush=True)
    return run_network_on_rtl(net.qnet, images, sim, cfg, dense=not a.waves, waves=a.waves, stall=stall, net=net,
                              name="demo_waves" if a.waves else "demo", transport=a.transport)


# ---- the figures: accuracies, performance --------------------------------------------------------

@dataclass
class Predictions:
    """Top-1 predictions on the test images: the float PPS model, its dense twin (None without one),
    the int8 integer reference, and the RTL on the first len(rtl) of them."""
    labels: np.ndarray
    float_pps: np.ndarray
    float_dense: np.ndarray | None
    int8: np.ndarray
    rtl: np.ndarray

    def accuracy(self) -> dict:
        n = len(self.rtl)
        acc = {"float_pps": float((self.float_pps == self.labels).mean())}
        if self.float_dense is not None:
            acc["float_dense"] = float((self.float_dense == self.labels).mean())
        acc["int8_python"] = float((self.int8 == self.labels).mean())
        acc["rtl"] = float((self.rtl == self.labels[:n]).mean())
        acc["int8_python_same_images"] = float((self.int8[:n] == self.labels[:n]).mean())
        return acc


def _performance(net, rtl, title: str, out: Path, table: dict) -> tuple:
    """sps.tables.performance_sections of the first image's hardware counters against dense mode."""
    from sps.tables import performance_sections

    return performance_sections(net, "rtl", rtl.layer_counters[0], rtl.dense_counters, title, out, table)


# ---- the output: summary.md, summary.json ----------------------------------------------------------

def _summary_lines(title: str, desc: str, sim: str, pred: Predictions, acc: dict, rtl) -> list[str]:
    """The accuracy table (`acc`: pred.accuracy()), the bit-exact check and the simulation line, as
    Markdown."""
    from tb.env.host import sim_line

    n_test, n_rtl = len(pred.labels), len(pred.rtl)
    lines = [f"# {title} on the SPS accelerator (RTL: {sim})", "",
             f"Weights: {desc}.", "",
             "| model | images | top-1 accuracy |", "|---|---|---|"]
    if "float_dense" in acc:
        lines.append(f"| float, dense twin | {n_test} | {acc['float_dense']:.2%} |")
    lines += [f"| float, PPS | {n_test} | {acc['float_pps']:.2%} |",
              f"| int8 PPS, integer reference (Python) | {n_test} | {acc['int8_python']:.2%} |",
              f"| int8 PPS, integer reference (Python), same images as the RTL | {n_rtl} | "
              f"{acc['int8_python_same_images']:.2%} |",
              f"| int8 PPS on the RTL | {n_rtl} | {acc['rtl']:.2%} |", ""]
    exact = rtl.bit_exact                     # every array layer's output and the logits
    lines.append(f"Bit-exact check, RTL vs integer reference, every array layer output and the logits of "
                 f"all {n_rtl} image(s): **{'PASS' if exact else 'FAIL'}**"
                 + ("" if exact else f" ({len(rtl.mismatches)} mismatches; first: {rtl.mismatches[0]})") + ".")
    rtl_cycles = sum(c["cycles"] for img in rtl.layer_counters for c in img.values())
    lines.append(f"RTL predictions equal to the int8 reference's: {int((pred.rtl == pred.int8[:n_rtl]).sum())}/{n_rtl}; "
                 f"to the float PPS model's: {int((pred.rtl == pred.float_pps[:n_rtl]).sum())}/{n_rtl}. "
                 f"Simulation: {rtl_cycles:,} array cycles; {sim_line(rtl.sim)}, {rtl.wall:.0f} s wall with the build.")
    lines.append("")
    return lines


def _debug_command(rtl, qnet, images, cfg, out: Path) -> None:
    """When the RTL differs from the reference: the command line that reruns the first differing
    array layer alone under `sps debug` (its inputs saved in out/debug)."""
    from sps.commands.debug import network_layer_command

    if not rtl.bit_exact:
        cmd = network_layer_command(rtl, qnet, images, cfg, out / "debug")
        if cmd:
            print(f"that layer alone, its inputs saved: {cmd}")


def _write_summary(out: Path, text: str, rtl, record: dict) -> None:
    """Print the summary and write it to out/summary.md, its figures to out/summary.json."""
    from tb.env.host import sim_line

    print()
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    (out / "summary.json").write_text(json.dumps(record, indent=2))
    print(sim_line(rtl.sim))
    print(f"wrote {out / 'summary.md'} and {out / 'summary.json'}")
