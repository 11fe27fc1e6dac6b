"""The energy section of `sps report` and `sps demo`: the tables (Markdown) and the plot
(energy.png) of compiler.energy.network_energy."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from compiler.energy import COMPONENTS, ON_CHIP
from compiler.storage import FORMATS

NJ = 1e-3       # pJ -> nJ


def _nj(pj: float) -> str:
    return f"{pj * NJ:,.1f}"


def _size(nbytes: float) -> str:
    return f"{nbytes / 1024:g} KB" if nbytes >= 1024 else f"{nbytes:g} bytes"


def energy_lines(e: dict, source: str) -> list[str]:
    """Markdown: the per-layer table, the components, SPS against dense, the weight fetch by format,
    the buffers' SRAM classes, where each count comes from."""
    t = e["table"]
    hw = "hardware counters of the RTL run" if source == "rtl" else "compiler cycle model (equal to the counters)"
    out = ["## Energy per image (model)", "",
           f"Action counts x energy per action (the Accelergy/Timeloop method); table: {t['name']} "
           f"(`{Path(t['path']).name}`: {t['source']}), DRAM {t['dram_64b']:g} pJ per 64 bits. MACs issued, "
           f"pixels entering the array and passes from the {hw}; activation-buffer reads, accumulator "
           "accesses, PE weight-register writes and walker steps derived from them; stream beats (weights, "
           "activations, results, headers) from the cycle model. Dynamic energy of the array layers only "
           "(no clock tree, pipeline registers, control or leakage; host layers not included). Dense mode: "
           "the same layer with P = 1 on the same RTL.", "",
           "| layer | MACs issued | MACs skipped vs dense | on-chip nJ | off-chip nJ | total nJ | dense-mode nJ | dense / SPS |",
           "|---|---|---|---|---|---|---|---|"]
    for r in e["layers"]:
        on = sum(r["energy_pJ"][k] for k in ON_CHIP)
        out.append(f"| {r['layer']} | {r['counts']['macs']:,} | {r['macs_skipped']:,} | {_nj(on)} | "
                   f"{_nj(r['total_pJ'] - on)} | {_nj(r['total_pJ'])} | {_nj(r['dense_total_pJ'])} | "
                   f"{r['dense_total_pJ'] / r['total_pJ']:.2f}x |")
    out.append(f"| **total** | {e['macs']:,} | {e['dense_macs'] - e['macs']:,} | {_nj(e['on_chip_pJ'])} | "
               f"{_nj(e['total_pJ'] - e['on_chip_pJ'])} | {_nj(e['total_pJ'])} | {_nj(e['dense_total_pJ'])} | "
               f"**{e['dense_over_sps']:.2f}x** |")
    rng = e["dense_over_sps_at_dram_pJ"]
    out += ["", "| component | SPS nJ | dense-mode nJ | dense / SPS |", "|---|---|---|---|"]
    for k in COMPONENTS:
        s, d = e["components_pJ"][k], e["dense_components_pJ"][k]
        out.append(f"| {k} | {_nj(s)} | {_nj(d)} | {d / s:.2f}x |" if s else f"| {k} | 0 | {_nj(d)} | - |")
    out += ["", f"SPS against dense mode: **{e['dense_over_sps']:.2f}x** less energy per image "
            f"({', '.join(f'{v:.2f}x at {float(k) / 1000:g} nJ' for k, v in rng.items())} per 64 DRAM bits; "
            f"on-chip only {e['dense_over_sps_on_chip']:.2f}x; {e['dense_over_sps_int8_results']:.2f}x if "
            "requantised results left the chip as int8 instead of the result stream's 32-bit lanes).", "",
            "Weight fetch of the same pruned weights held in each format: value + index bits (the storage "
            "table) from DRAM once per band, plus the decode work per element (the table's `decode`: a "
            "non-zero for CSR/CSC/COO/bitmap, an entry for RLE, a walker step for SPS).", "",
            "| format | bits | DRAM nJ | decode elements | decode nJ | total nJ | vs SPS |", "|---|---|---|---|---|---|---|"]
    for f in FORMATS:
        w = e["weight_fetch"][f]
        out.append(f"| {f} | {w['bits']:,} | {_nj(w['dram_pJ'])} | {w['decode_elements']:,} | {_nj(w['decode_pJ'])} | "
                   f"{_nj(w['total_pJ'])} | {e['fetch_over_sps'][f]:.2f}x |")
    out += ["", "On-chip buffers, each charged at the smallest SRAM class of the table that holds the RAM it is "
            "built of: " + "; ".join(f"{k}: {b['rams']} x {_size(b['bytes_each'])} ({b['ram']}) -> "
                                     f"{b['class_kbytes']:g} KB class, {b['pJ_64b']:g} pJ per 64 bits, "
                                     f"{b['pJ_access']:g} pJ per {b['word_bits']}-bit access"
                                     for k, b in e["buffers"].items()) + "."]
    return out


def energy_plot(e: dict, title: str, out_dir: Path) -> Path:
    """energy.png: per layer, dense mode and SPS side by side, stacked by component."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    names = [r["layer"] for r in e["layers"]]
    xs = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(7, 0.7 * len(names) + 3), 4.5))
    colours = plt.get_cmap("tab10").colors
    for off, key, hatch in ((-0.2, "dense_energy_pJ", "//"), (0.2, "energy_pJ", None)):
        bottom = np.zeros(len(names))
        for i, k in enumerate(COMPONENTS):
            v = np.array([r[key][k] * NJ for r in e["layers"]])
            ax.bar(xs + off, v, 0.38, bottom=bottom, color=colours[i % 10], hatch=hatch, edgecolor="white",
                   linewidth=0.3, label=k if key == "energy_pJ" else None)
            bottom += v
    top = max(max(r["dense_total_pJ"], r["total_pJ"]) for r in e["layers"]) * NJ
    ax.set_ylim(0, 1.5 * top)                  # room for the legend
    ax.set_ylabel("nJ per image (left: dense mode, hatched; right: SPS)")
    ax.set_xticks(xs, names, rotation=60, ha="right", fontsize=8)
    ax.set_title(f"{title}: energy per layer by component ({e['table']['name']})")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    fig.tight_layout()
    path = out_dir / "energy.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
