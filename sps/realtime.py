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

FPGA_DIR = ROOT / "docs" / "fpga"     # summary*.json: one place-and-route run of an array; seeds*.json: its seeds


def _records(pattern: str) -> list[tuple[str, dict]]:
    out = []
    for path in sorted(FPGA_DIR.glob(pattern)):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict):
            out.append((path.name, rec))
    return out


def measured_fmax(cfg: ArrayConfig) -> tuple[float | None, str]:
    """The post-route Fmax recorded for this very array configuration (docs/fpga/), and where it
    comes from: the median over placement seeds (a seeds*.json of the same array) when recorded, else
    the one run of a summary*.json of the same array; (None, "") when none is recorded."""
    params = cfg.hdl_parameters()
    for name, rec in _records("seeds*.json"):
        if rec.get("config") == params and rec.get("median_fmax_mhz"):
            n = len(rec.get("runs", []))
            return float(rec["median_fmax_mhz"]), (f"median post-route Fmax of this array over {n} placement "
                                                   f"seeds on the {rec.get('device', 'LFE5UM-85F')} "
                                                   f"(docs/fpga/{name})")
    for name, rec in _records("summary*.json"):
        if rec.get("config") == params and rec.get("fmax_mhz"):
            return float(rec["fmax_mhz"]), (f"post-route Fmax of this array on the {rec.get('device')} "
                                            f"(docs/fpga/{name.replace('.json', '.md')}, seed {rec.get('seed')})")
    return None, ""


def dense_macs(rows: list[dict]) -> int:
    """MACs of the array layers run dense (k*k C F Hout Wout each: k = 3, or 1 for a 1x1 conv)."""
    return sum((1 if r.get("op") == "conv1x1" else 9) * r["in"][0] * r["out"][0] * r["out"][1] * r["out"][2]
               for r in rows if r["where"] == "array")


def realtime(cycles: int, dense_cycles: int, macs: int, dense_total: int, fmax_mhz: float, dsps: int) -> dict:
    """Latency, images/s and GOP/s at fmax_mhz; per DSP: effective GOP/s over the design's
    multipliers (ArrayConfig.dsps: the array's and the requantisation lanes')."""
    f = fmax_mhz * 1e6
    out = {}
    for mode, cyc in (("pps", cycles), ("dense", dense_cycles)):
        t = cyc / f
        eff = 2 * dense_total / t / 1e9
        out[mode] = {"cycles": cyc, "latency_ms": round(t * 1e3, 3), "images_per_s": round(1 / t, 1),
                     "effective_gops": round(eff, 2), "effective_gops_per_dsp": round(eff / dsps, 3),
                     "useful_gops": round(2 * (macs if mode == "pps" else dense_total) / t / 1e9, 2)}
    out["fmax_mhz"] = fmax_mhz
    out["dsps"] = dsps
    return out


def realtime_lines(rt: dict, what: str, where: str) -> list[str]:
    p, d = rt["pps"], rt["dense"]
    return [f"**Real time** ({what}) at {rt['fmax_mhz']:g} MHz, {where}:", "",
            "| mode | cycles per image | latency | images/s | effective GOP/s | per DSP | GOP/s on non-zeros |",
            "|---|---|---|---|---|---|---|",
            f"| PPS | {p['cycles']:,} | {p['latency_ms']:.2f} ms | {p['images_per_s']:,} | {p['effective_gops']} | "
            f"{p['effective_gops_per_dsp']} | {p['useful_gops']} |",
            f"| dense mode | {d['cycles']:,} | {d['latency_ms']:.2f} ms | {d['images_per_s']:,} | "
            f"{d['effective_gops']} | {d['effective_gops_per_dsp']} | {d['useful_gops']} |", "",
            "Effective GOP/s counts the dense network's operations (2 per MAC of every array layer run "
            f"dense) per second of PPS-mode latency; per DSP: over the design's {rt['dsps']} MULT18X18D (the "
            "array's and the requantisation lanes'); the last column counts only the MACs actually issued.", ""]


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
