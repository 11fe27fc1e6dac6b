"""Real-time figures of a network report (`sps report`): per-image latency, images per second and
GOP/s at a clock frequency -- by default the post-route Fmax measured with `sps fpga` for this
array (docs/fpga/summary.json) -- and the cycle model's prediction for ImageNet-shape VGG-16
(224x224), which is too large to simulate in a report."""
from __future__ import annotations

import json

import numpy as np

from compiler.config import ArrayConfig
from compiler.paths import ROOT
from models.shapes import VGG16_CIFAR_CONVS

FPGA_SUMMARY = ROOT / "docs" / "fpga" / "summary.json"
FPGA_SEEDS = ROOT / "docs" / "fpga" / "seeds.json"


def measured_fmax(cfg: ArrayConfig) -> tuple[float | None, str]:
    """The post-route Fmax recorded for this very array configuration, and where it comes from:
    the median over placement seeds (docs/fpga/seeds.json) when it is recorded, else the one run
    of docs/fpga/summary.json."""
    try:
        s = json.loads(FPGA_SUMMARY.read_text())
        seeds = json.loads(FPGA_SEEDS.read_text()) if FPGA_SEEDS.exists() else {}
    except (OSError, ValueError):
        return None, ""
    if not isinstance(s, dict) or s.get("config") != cfg.hdl_parameters() or not s.get("fmax_mhz"):
        return None, ""
    if isinstance(seeds, dict) and seeds.get("config") == s["config"] and seeds.get("median_fmax_mhz"):
        n = len(seeds.get("runs", []))
        return float(seeds["median_fmax_mhz"]), (f"median post-route Fmax of this array over {n} placement seeds "
                                                 f"on the {s['device']} (docs/fpga/seeds.json)")
    return float(s["fmax_mhz"]), (f"post-route Fmax of this array on the {s['device']} "
                                  f"(docs/fpga/summary.md, seed {s['seed']})")


def dense_macs(rows: list[dict]) -> int:
    """MACs of the array layers run dense (k*k C F Hout Wout each: k = 3, or 1 for a 1x1 conv)."""
    return sum((1 if r.get("op") == "conv1x1" else 9) * r["in"][0] * r["out"][0] * r["out"][1] * r["out"][2]
               for r in rows if r["where"] == "array")


def realtime(cycles: int, dense_cycles: int, macs: int, dense_total: int, fmax_mhz: float) -> dict:
    f = fmax_mhz * 1e6
    out = {}
    for mode, cyc in (("pps", cycles), ("dense", dense_cycles)):
        t = cyc / f
        out[mode] = {"cycles": cyc, "latency_ms": round(t * 1e3, 3), "images_per_s": round(1 / t, 1),
                     "effective_gops": round(2 * dense_total / t / 1e9, 2),
                     "useful_gops": round(2 * (macs if mode == "pps" else dense_total) / t / 1e9, 2)}
    out["fmax_mhz"] = fmax_mhz
    return out


def realtime_lines(rt: dict, what: str, where: str) -> list[str]:
    p, d = rt["pps"], rt["dense"]
    return [f"**Real time** ({what}) at {rt['fmax_mhz']:g} MHz, {where}:", "",
            "| mode | cycles per image | latency | images/s | effective GOP/s | GOP/s on non-zeros |",
            "|---|---|---|---|---|---|",
            f"| PPS | {p['cycles']:,} | {p['latency_ms']:.2f} ms | {p['images_per_s']:,} | {p['effective_gops']} | "
            f"{p['useful_gops']} |",
            f"| dense mode | {d['cycles']:,} | {d['latency_ms']:.2f} ms | {d['images_per_s']:,} | "
            f"{d['effective_gops']} | {d['useful_gops']} |", "",
            "Effective GOP/s counts the dense network's operations (2 per MAC of every array layer run "
            "dense) per second of PPS-mode latency; the last column counts only the MACs actually issued.", ""]


def vgg16_imagenet(cfg: ArrayConfig, seed: int = 0) -> dict:
    """Cycle-model totals of VGG-16's 13 conv layers at 224x224 (first layer dense, the others
    PS-4/P4 with random weights, like the CIFAR report), PPS and dense mode."""
    from compiler.compile import compile_layer
    from models.pps import PPS
    from tb.env.cases import random_layer

    rng = np.random.default_rng(seed)
    layers = []
    for name, C, F, H in VGG16_CIFAR_CONVS:
        H *= 7                                          # 32 -> 224
        pps = PPS.dense() if C == 3 else PPS.ps(4, 4, 1)
        layer, _ = random_layer(rng, pps, C, F, H, H, name=name)
        prog = compile_layer(layer, cfg, pps, H=H, W=H)
        layers.append({"layer": name, "in": [C, H, H], "out": [F, H, H], "where": "array",
                       "cycles": prog.cycles["total"], "dense_cycles": prog.cycles["dense_equivalent"]["total"],
                       "macs": prog.cycles["macs"], "bands": len(prog.bands)})
    return {"layers": layers, "cycles": sum(r["cycles"] for r in layers),
            "dense_cycles": sum(r["dense_cycles"] for r in layers), "macs": sum(r["macs"] for r in layers),
            "dense_macs": dense_macs(layers)}
