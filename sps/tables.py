"""Per-layer tables, storage tables, the energy section (sps/energy_tables.py) and plots of a whole
network on the SPS array, shared by `sps demo` and `sps report`.

Cycles come from the hardware counters of an RTL run (`source="rtl"`) or from the compiler's
cycle model (`source="model"`, which the RTL tests show to be exact when no stream stalls); every
table says which. Utilisation and ideal cycles as compiler.perf defines them (utilization,
ideal_cycles); speedup = dense-mode cycles / PPS-mode cycles of the same layer.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from compiler.energy import network_energy
from compiler.network import NetProgram
from compiler.perf import ideal_cycles, utilization
from compiler.storage import FORMATS, format_network_table
from sps.energy_tables import energy_lines, energy_plot

TITLES = {"digits": "Digits CNN (8x8)", "vgg16": "VGG-16 (CIFAR, 32x32)", "resnet18": "ResNet-18 (CIFAR, 32x32)"}
HOST_NOTE = {"conv1x1": "host: 1x1 conv", "gap": "host: global average pool", "relu": "host: ReLU", "flatten": "host: flatten", "add": "host: residual add",
             "linear": "host: classifier"}


def _host_note(st) -> str:
    """What a host stage does, e.g. "host: 2x2 max pool"; a conv kept on the host says why."""
    if st.kind in ("maxpool", "avgpool"):
        k = st.node.attrs.get("k", 2)
        return f"host: {k}x{k} {'max' if st.kind == 'maxpool' else 'average'} pool"
    return HOST_NOTE[st.kind] + (f" ({st.note})" if st.note else "")


def _short_pps(prog) -> str:
    return prog.pps_text.split(" patterns=")[0]


def per_image(v: float) -> int | float:
    """A figure per image: an integer when it is one (one image per program), else to 0.1 (the
    average over a batch)."""
    return int(v) if float(v).is_integer() else round(float(v), 1)


def layer_rows(net: NetProgram, source: str, counters: dict | None = None,
               dense_counters: dict | None = None) -> list[dict]:
    """One row per stage, figures per image. counters / dense_counters: layer -> hardware counters
    per image (source="rtl"; tb.env.host.NetRun)."""
    cfg = net.cfg
    rows = []
    for st in net.stages:
        r = {"layer": st.name, "where": st.where, "op": st.kind, "in": list(st.in_shape),
             "out": list(st.out_shape), "macs": st.macs}
        if st.prog is not None:
            dense = st.dense_prediction                     # the same layer, same bands, dense mode
            b = st.prog.batch                               # images per program run
            if source == "rtl":
                cyc, dcyc = counters[st.name]["cycles"], dense_counters[st.name]["cycles"]
            else:
                cyc, dcyc = st.prog.cycles["total"] / b, dense["total"] / b
            r.update(pps="1x1" if st.kind == "conv1x1" else _short_pps(st.prog), cycles=per_image(cyc),
                     dense_cycles=per_image(dcyc), predicted=per_image(st.prog.cycles["total"] / b),
                     predicted_dense=per_image(dense["total"] / b), batch=b,
                     ideal=ideal_cycles(st.macs, cfg), dense_ideal=ideal_cycles(dense["macs"] // b, cfg),
                     utilization=utilization(st.macs, cyc, cfg),
                     dense_utilization=utilization(dense["macs"] / b, dcyc, cfg),
                     speedup=dcyc / cyc, bands=len(st.prog.bands), passes=st.prog.bands[0].passes)
            if source == "rtl":
                r["stalls"] = {k: counters[st.name][k] for k in ("stall_act", "stall_wgt", "stall_res")}
        else:
            r["note"] = _host_note(st)
        rows.append(r)
    return rows


def totals(rows: list[dict], cfg) -> dict:
    arr = [r for r in rows if r["where"] == "array"]
    c, d = per_image(sum(r["cycles"] for r in arr)), per_image(sum(r["dense_cycles"] for r in arr))
    macs = sum(r["macs"] for r in arr)
    return {"cycles": c, "dense_cycles": d, "speedup": d / c if c else 0.0, "macs": macs,
            "utilization": utilization(macs, c, cfg), "ideal": ideal_cycles(macs, cfg),
            "predicted": per_image(sum(r["predicted"] for r in arr)),
            "host_macs": sum(r["macs"] for r in rows if r["where"] == "host"),
            "array_mac_fraction": macs / sum(r["macs"] for r in rows) if macs else 0.0}


def layer_table(rows: list[dict], source: str, t: dict) -> str:
    """The per-layer Markdown table; t = totals(rows, cfg) for its last line."""
    src = "hardware counters (RTL)" if source == "rtl" else "compiler cycle model"
    batched = any(r.get("batch", 1) > 1 for r in rows)
    lines = [f"Cycles per image from the {src}"
             + ("; a layer that runs several images per pass (a batch) is given per image: the cycles of "
                "its program runs divided by their images." if batched else "."), "",
             "| layer | runs on | in -> out | PPS | non-zero MACs | cycles | dense-mode cycles | speedup | "
             "ideal | utilisation | dense util. | predicted |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    shp = lambda s: "x".join(map(str, s))
    for r in rows:
        if r["where"] == "array":
            pps = r["pps"] + (f", {r['batch']} images per pass" if r.get("batch", 1) > 1 else "")
            lines.append(f"| {r['layer']} | array | {shp(r['in'])} -> {shp(r['out'])} | {pps} | {r['macs']:,} | "
                         f"{r['cycles']:,} | {r['dense_cycles']:,} | {r['speedup']:.2f}x | {r['ideal']:,} | "
                         f"{r['utilization']:.1%} | {r['dense_utilization']:.1%} | {r['predicted']:,} |")
        else:
            lines.append(f"| {r['layer']} | {r['note']} | {shp(r['in'])} -> {shp(r['out'])} | | "
                         f"{r['macs']:,} | | | | | | | |")
    lines.append(f"| **total (array)** | | | | {t['macs']:,} | {t['cycles']:,} | {t['dense_cycles']:,} | "
                 f"{t['speedup']:.2f}x | {t['ideal']:,} | {t['utilization']:.1%} | | {t['predicted']:,} |")
    return "\n".join(lines)


def storage_table(per: list, tot: dict) -> str:
    """Markdown storage table of a network; (per, tot) = NetProgram.storage()."""
    head = (f"Weight storage of the {len(per)} array layers, 8-bit weights, in bits "
            "(formulas in compiler/storage.py); ratios are format / SPS.\n\n")
    return head + format_network_table(tot)


def performance_sections(net: NetProgram, source: str, counters: dict | None, dense_counters: dict | None,
                         title: str, out_dir: Path, energy_table: dict
                         ) -> tuple[list[str], list[dict], dict, list[Path], dict]:
    """The per-layer table, the whole-network line, the storage table, the energy section and the
    plots (written to out_dir), as Markdown lines; also returns (rows, totals, plot paths, energy:
    compiler.energy.network_energy)."""
    rows = layer_rows(net, source, counters, dense_counters)
    tot = totals(rows, net.cfg)
    per, storage = net.storage()
    energy = network_energy(net, energy_table, counters, dense_counters)
    plots = plot(rows, storage, title, out_dir, source) + [energy_plot(energy, title, out_dir)]
    lines = [layer_table(rows, source, tot), "",
             f"Whole network, its array layers: {tot['cycles']:,} cycles per image in PPS mode, "
             f"{tot['dense_cycles']:,} in dense mode: **{tot['speedup']:.2f}x** speedup, "
             f"{tot['utilization']:.1%} utilisation. Host layers: {tot['host_macs']:,} MACs.", "",
             storage_table(per, storage), "", *energy_lines(energy, source), "",
             *[f"![{p.stem}]({p.name})" for p in plots]]
    return lines, rows, tot, plots, energy


def plot(rows: list[dict], storage: dict, title: str, out_dir: Path, source: str) -> list[Path]:
    """cycles.png (PPS vs dense per layer), utilisation.png, storage.png (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    arr = [r for r in rows if r["where"] == "array"]
    names = [r["layer"] for r in arr]
    xs = np.arange(len(arr))
    src = "hardware counters" if source == "rtl" else "cycle model"
    paths = []

    def save(fig, ax, name: str, heading: str, legend_loc: str, ncol: int) -> Path:
        ax.set_title(heading)
        ax.legend(loc=legend_loc, ncol=ncol)
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        return out_dir / name

    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(arr) + 2), 4))
    ax.bar(xs - 0.2, [r["dense_cycles"] for r in arr], 0.4, label="dense mode (P=1)")
    ax.bar(xs + 0.2, [r["cycles"] for r in arr], 0.4, label="PPS")
    for x, r in zip(xs, arr):
        ax.text(x + 0.2, r["cycles"], f"{r['speedup']:.1f}x", ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylim(top=8 * max(r["dense_cycles"] for r in arr))      # room for the legend
    ax.set_ylabel(f"cycles per image ({src})")
    ax.set_xticks(xs, names, rotation=60, ha="right", fontsize=8)
    paths.append(save(fig, ax, "cycles.png", f"{title}: cycles per layer, PPS vs dense mode", "upper left", 2))

    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(arr) + 2), 3.5))
    ax.plot(xs, [100 * r["dense_utilization"] for r in arr], "o-", label="dense mode")
    ax.plot(xs, [100 * r["utilization"] for r in arr], "s-", label="PPS")
    ax.set_ylim(0, 105)
    ax.set_ylabel("utilisation (%)")
    ax.set_xticks(xs, names, rotation=60, ha="right", fontsize=8)
    paths.append(save(fig, ax, "utilisation.png",
                      f"{title}: array utilisation (non-zero MACs / (cycles x PEs))", "lower left", 1))

    fig, ax = plt.subplots(figsize=(7, 3.8))
    fx = np.arange(len(FORMATS))
    ax.bar(fx - 0.2, [storage[f]["total_bits"] for f in FORMATS], 0.4, label="total (values + index)")
    ax.bar(fx + 0.2, [storage[f]["index_bits"] or np.nan for f in FORMATS], 0.4, label="index only (dense: none)")
    ax.set_yscale("log")
    ax.set_ylabel("bits (log scale)")
    ax.set_xticks(fx, FORMATS)
    ax.set_ylim(top=50 * max(storage[f]["total_bits"] for f in FORMATS))
    paths.append(save(fig, ax, "storage.png", f"{title}: weight storage of the array layers by format",
                      "upper left", 2))
    return paths
