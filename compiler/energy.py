"""Energy per layer and per image: action counts x energy per action (the method of Accelergy and
Timeloop), for the SPS array, for the same layers in dense mode, and for the weight fetch of the
same pruned weights held in other formats.

Energies per action come from a table (default config/energy_45nm.json: Horowitz, ISSCC 2014,
45 nm); `load_energy_table` checks it and names the first bad field. Counts come from an RTL run's
hardware counters (docs/ARCHITECTURE.md 5.1) where a counter exists, else from the compiler's
cycle model (compiler/perf.py), which equals those counters on every no-stall run:

| count (per layer, summed over bands) | from | unit |
|---|---|---|
| MACs issued | MACS counter / model `macs_issued` | int8 x int8 product + psum add |
| pixels entering the array | BUSY counter / model `pass_cycles` | - |
| passes (row tile x column tile) | PASSES counter / model `passes` | - |
| activation-buffer reads | 9 x pixels (the window generator reads all 9 sub-banks per pixel) | LANES-byte word |
| accumulator writes, adds | COLS x pixels (every column, every pixel of every pass) | 32-bit word, int32 add |
| accumulator reads | COLS x (pixels - result beats) read-modify-write (a column tile's first row tile overwrites) + COLS x result beats (drain) | 32-bit word |
| PE weight-register writes | ROWS x COLS x passes (each row tile rewrites a slot: ROWS beats of COLS bytes) | 8-bit register |
| walker steps | ROWS x passes (one array row per weight beat) | - |
| activation-buffer writes | model: activation beats (`act_load`) | LANES-byte word |
| output-stage header writes | model: (weight beats - ROWS x passes) x COLS | 8-bit register |
| bias adds, requantisations | model: COLS x result beats (`res_beats`); requantisations in requant mode only | per lane |
| result-FIFO writes and reads | model: result beats | COLS x 32-bit beat |
| off-chip bits: weights, index, activations, results | model: weight beats x COLS x 8 (bias, multiplier and shift headers and zero rows included); the pattern table (compiler/storage.py's SPS index bits, written once per layer); activation beats x LANES x 8; result beats x COLS x 32 (the stream's width, also in requant mode) | bit |

Components (pJ = count x energy):
    MACs                 macs x (int8_mult + int32_add)   (the psum add is 16 + log2 ROWS bits: the
                         32-bit figure is taken, an upper bound)
    PE weight registers  PE weight-register writes x reg_write_8b
    indexing (walker)    walker steps x decode["SPS"]
    activation buffer    (reads + writes) x SRAM(sub-bank) x LANES*8/64   (a write costs a read)
    accumulator          (reads + writes) x SRAM(column bank) x 32/64 + adds x int32_add
    output stage         bias adds x int32_add + requantisations x (int32_mult + 2 int32_add)
                         + header writes x reg_write_8b
    result FIFO          (writes + reads) x SRAM(FIFO) x COLS*32/64
    DRAM weights+index, DRAM activations, DRAM results: bits / 64 x dram_64b
Each on-chip buffer is charged at the smallest SRAM class of the table that holds the RAM it is
built of (`buffers`); one below the smallest class is charged at the smallest (an upper bound),
one above the largest at the largest. Not modelled: clock tree, pipeline registers, multiplexers,
control, leakage, the host layers (pooling, residual adds, classifier).

Weight fetch by format (`weight_fetch`): compiler/storage.py's value + index bits of every array
layer, fetched from DRAM once per band, plus the decode work of the table's `decode` entry per
element: a non-zero (CSR, CSC, COO, bitmap), an encoded entry (RLE), a walker step (SPS).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from compiler.paths import CONFIG
from compiler.storage import FORMATS, storage_report

TABLE_PATH = CONFIG / "energy_45nm.json"
ACTIONS = ("int8_mult", "int8_add", "int32_add", "int32_mult", "reg_write_8b")
COMPONENTS = ("MACs", "PE weight registers", "indexing (walker)", "activation buffer", "accumulator",
              "output stage", "result FIFO", "DRAM weights+index", "DRAM activations", "DRAM results")
ON_CHIP = COMPONENTS[:7]
MEASURED = {"macs": "MACS", "pixels": "BUSY", "passes": "PASSES"}     # count -> hardware counter


# ---- the table ----------------------------------------------------------------------------------

def _num(where: str, path: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{where}: {path} must be a non-negative number, got {v!r}")
    return float(v)


def _obj(where: str, path: str, v) -> dict:
    if not isinstance(v, dict):
        raise ValueError(f"{where}: {path} must be a JSON object, got {type(v).__name__}")
    return v


def _field(where: str, obj: dict, path: str, key: str):
    if key not in obj:
        raise ValueError(f"{where}: missing field {path + '.' if path else ''}{key}")
    return obj[key]


def load_energy_table(path: str | Path | None = None) -> dict:
    """The energy table in `path` (default config/energy_45nm.json), checked: a ValueError naming
    the first missing or malformed field. Returns {name, source, path, actions: {action: pJ},
    action_sources, sram: [(kbytes, pJ per 64-bit read, source)] ascending, dram_64b,
    dram_range, dram_source, decode: {format: {action: count}}}."""
    path = Path(path) if path else TABLE_PATH
    where = f"energy table {path}"
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{where}: cannot read: {' '.join(str(e).split())}") from None
    raw = _obj(where, "the file", raw)
    for key in ("name", "source"):
        if not isinstance(_field(where, raw, "", key), str):
            raise ValueError(f"{where}: {key} must be a string")
    acts = _obj(where, "actions", _field(where, raw, "", "actions"))
    actions, action_sources = {}, {}
    for a in ACTIONS:
        e = _obj(where, f"actions.{a}", _field(where, acts, "actions", a))
        actions[a] = _num(where, f"actions.{a}.pJ", _field(where, e, f"actions.{a}", "pJ"))
        action_sources[a] = str(e.get("source", ""))
    unknown = sorted(set(acts) - set(ACTIONS) - {k for k in acts if k.startswith("_")})
    if unknown:
        raise ValueError(f"{where}: unknown action(s) {unknown} in actions (known: {list(ACTIONS)})")
    classes = _field(where, raw, "", "sram_read_64b")
    if not isinstance(classes, list) or not classes:
        raise ValueError(f"{where}: sram_read_64b must be a non-empty list of {{kbytes, pJ}}")
    sram = []
    for i, c in enumerate(classes):
        p = f"sram_read_64b[{i}]"
        c = _obj(where, p, c)
        kb = _num(where, f"{p}.kbytes", _field(where, c, p, "kbytes"))
        if kb == 0:
            raise ValueError(f"{where}: {p}.kbytes must be positive, got 0")
        sram.append((kb, _num(where, f"{p}.pJ", _field(where, c, p, "pJ")), str(c.get("source", ""))))
    sram.sort()
    dram = _obj(where, "dram_64b", _field(where, raw, "", "dram_64b"))
    dram_pj = _num(where, "dram_64b.pJ", _field(where, dram, "dram_64b", "pJ"))
    rng = dram.get("range", [dram_pj, dram_pj])
    if not isinstance(rng, list) or len(rng) != 2:
        raise ValueError(f"{where}: dram_64b.range must be [low, high], got {rng!r}")
    rng = [_num(where, f"dram_64b.range[{i}]", v) for i, v in enumerate(rng)]
    dec = _obj(where, "decode", _field(where, raw, "", "decode"))
    decode = {}
    for f in FORMATS:
        d = _obj(where, f"decode.{f}", _field(where, dec, "decode", f))
        decode[f] = {}
        for a, n in d.items():
            if a not in ACTIONS:
                raise ValueError(f"{where}: decode.{f}: unknown action {a!r} (known: {list(ACTIONS)})")
            decode[f][a] = _num(where, f"decode.{f}.{a}", n)
    return {"name": raw["name"], "source": raw["source"], "path": str(path), "actions": actions,
            "action_sources": action_sources, "sram": sram, "dram_64b": dram_pj, "dram_range": rng,
            "dram_source": str(dram.get("source", "")), "decode": decode}


# ---- on-chip buffers ------------------------------------------------------------------------------

def sram_class(table: dict, nbytes: float) -> tuple[float, float]:
    """(class kbytes, pJ per 64-bit read) of the smallest class holding nbytes (else the largest)."""
    for kb, pj, _ in table["sram"]:
        if nbytes <= kb * 1024:
            return kb, pj
    kb, pj, _ = table["sram"][-1]
    return kb, pj


def buffers(cfg, table: dict) -> dict:
    """Each on-chip buffer: the RAM it is built of (the RTL's), its size, its SRAM class and the
    energy of one access of its word (pJ)."""
    rams = {
        "activation buffer": ("9 sub-banks, each ACT_DEPTH x LANES*8 bits", 9, cfg.ACT_DEPTH * cfg.LANES, cfg.LANES * 8),
        "accumulator": ("2 banks x COLS columns, each ACC_DEPTH x 32 bits", 2 * cfg.COLS, cfg.ACC_DEPTH * 4, 32),
        "result FIFO": ("OUT_FIFO_DEPTH x (COLS*32 + 1) bits (registers)", 1,
                        cfg.OUT_FIFO_DEPTH * (cfg.COLS * 32 + 1) / 8, cfg.COLS * 32),
    }
    out = {}
    for name, (what, n, nbytes, word) in rams.items():
        kb, pj = sram_class(table, nbytes)
        out[name] = {"ram": what, "rams": n, "bytes_each": nbytes, "class_kbytes": kb, "pJ_64b": pj,
                     "word_bits": word, "pJ_access": pj * word / 64}
    return out


# ---- counts ------------------------------------------------------------------------------------------

def _per(v, images: int):
    """A count of a program run of `images` images, per image (unchanged for one)."""
    return v / images if images > 1 else v


def layer_counts(prog, counters: dict | None = None) -> dict:
    """Action counts of one layer program per image (a program of a batch of B images: its counts
    / B), summed over its bands. counters: the layer's hardware counters per image, summed over
    bands (keys macs, busy, passes: tb.env.top.sum_counters, tb.env.host.NetRun); without them the
    cycle model's values are used."""
    cfg, b = prog.cfg, prog.batch
    cyc = {k: _per(v, b) for k, v in prog.cycles.items() if isinstance(v, (int, float))}
    hw = ({"macs": counters["macs"], "pixels": counters["busy"], "passes": counters["passes"]} if counters
          else {"macs": cyc["macs_issued"], "pixels": cyc["pass_cycles"], "passes": cyc["passes"]})
    pixels, passes, res = hw["pixels"], hw["passes"], cyc["res_beats"]
    tile_beats = cfg.ROWS * passes
    return {
        **hw,
        "act_reads": 9 * pixels,
        "act_writes": cyc["act_load"],
        "pe_weight_writes": tile_beats * cfg.COLS,
        "walker_steps": tile_beats,
        "acc_writes": cfg.COLS * pixels,
        "acc_adds": cfg.COLS * pixels,
        # read-modify-write reads of pixels - res (a column tile's first row tile overwrites) + res drain reads
        "acc_reads": cfg.COLS * pixels,
        "header_writes": (cyc["wgt_beats"] - tile_beats) * cfg.COLS,
        "bias_adds": cfg.COLS * res,
        "requants": cfg.COLS * res if prog.requant else 0,
        "fifo_writes": res,
        "fifo_reads": res,
        "dram_wgt_bits": cyc["wgt_beats"] * cfg.COLS * 8,
        "dram_index_bits": _per(storage_report(prog.F, prog.C, prog.pps, pmax=cfg.PMAX)["SPS"]["index_bits"], b),
        "dram_act_bits": cyc["act_load"] * cfg.LANES * 8,
        "dram_res_bits": res * cfg.COLS * 32,
    }


def energy_of(counts: dict, cfg, table: dict) -> dict:
    """{component: pJ} of one layer's counts."""
    a, buf = table["actions"], buffers(cfg, table)
    dram = table["dram_64b"] / 64
    walker = sum(n * a[k] for k, n in table["decode"]["SPS"].items())
    return {
        "MACs": counts["macs"] * (a["int8_mult"] + a["int32_add"]),
        "PE weight registers": counts["pe_weight_writes"] * a["reg_write_8b"],
        "indexing (walker)": counts["walker_steps"] * walker,
        "activation buffer": (counts["act_reads"] + counts["act_writes"]) * buf["activation buffer"]["pJ_access"],
        "accumulator": ((counts["acc_reads"] + counts["acc_writes"]) * buf["accumulator"]["pJ_access"]
                        + counts["acc_adds"] * a["int32_add"]),
        "output stage": (counts["bias_adds"] * a["int32_add"] + counts["requants"] * (a["int32_mult"] + 2 * a["int32_add"])
                         + counts["header_writes"] * a["reg_write_8b"]),
        "result FIFO": (counts["fifo_writes"] + counts["fifo_reads"]) * buf["result FIFO"]["pJ_access"],
        "DRAM weights+index": (counts["dram_wgt_bits"] + counts["dram_index_bits"]) * dram,
        "DRAM activations": counts["dram_act_bits"] * dram,
        "DRAM results": counts["dram_res_bits"] * dram,
    }


def count_sources(measured: bool) -> dict:
    """Where each count comes from, in words."""
    model = "cycle model (compiler/perf.py)"
    hw = {k: (f"{c} counter" if measured else f"{model}; equals the {c} counter") for k, c in MEASURED.items()}
    return {
        **hw,
        "act_reads": f"9 x {hw['pixels']}",
        "acc_writes, acc_adds, acc_reads": f"COLS x {hw['pixels']} (reads: minus a column tile's first row "
                                           f"tile, plus the drain)",
        "pe_weight_writes, walker_steps": f"ROWS x COLS, ROWS x {hw['passes']}",
        "act_writes, header_writes, bias_adds, requants, fifo_*, dram_*": f"{model}: stream beats",
    }


# ---- weight fetch by format --------------------------------------------------------------------------

def weight_fetch(storage_per_layer: list, bands: list[int], walker_steps: list[int], table: dict) -> dict:
    """{format: {bits, dram_pJ, decode_elements, decode_pJ, total_pJ}} per image: every array layer's
    weights (compiler/storage.py: value + index bits) fetched from DRAM once per band, plus the
    format's decode work per element. storage_per_layer: [(name, storage_report)] (NetProgram.storage);
    walker_steps: per layer, summed over bands (layer_counts)."""
    out = {}
    a = table["actions"]
    for f in FORMATS:
        bits = elems = 0
        for (_, rep), nb, steps in zip(storage_per_layer, bands, walker_steps):
            bits += nb * rep[f]["total_bits"]
            elems += (0 if f == "dense" else steps if f == "SPS" else
                      nb * rep[f]["value_bits"] // rep["_layer"]["b"])       # RLE: entries; else non-zeros
        per = sum(n * a[k] for k, n in table["decode"][f].items())
        out[f] = {"bits": bits, "dram_pJ": bits * table["dram_64b"] / 64, "decode_elements": elems,
                  "decode_pJ": elems * per}
        out[f]["total_pJ"] = out[f]["dram_pJ"] + out[f]["decode_pJ"]
    return out


def _div(a: float, b: float) -> float:
    """a / b, NaN when b is 0 (a table of zero energies)."""
    return a / b if b else math.nan


# ---- a whole network ---------------------------------------------------------------------------------

def network_energy(net, table: dict, counters: dict | None = None, dense_counters: dict | None = None) -> dict:
    """Energy per image of a compiler.network.NetProgram's array layers in PPS mode and in dense mode
    (NetProgram.dense_program: the same layer on the same array, P = 1), and the weight fetch by format.
    counters / dense_counters: layer -> hardware counters of an RTL run (else the cycle model)."""
    cfg = net.cfg
    layers, steps, bands = [], [], []
    for st in net.array_stages:
        dprog = net.dense_program(st)
        c = layer_counts(st.prog, counters[st.name] if counters else None)
        d = layer_counts(dprog, dense_counters[st.name] if dense_counters else None)
        e, de = energy_of(c, cfg, table), energy_of(d, cfg, table)
        layers.append({"layer": st.name, "counts": c, "dense_counts": d, "macs_skipped": d["macs"] - c["macs"],
                       "energy_pJ": e, "dense_energy_pJ": de, "total_pJ": sum(e.values()),
                       "dense_total_pJ": sum(de.values())})
        steps.append(c["walker_steps"])
        bands.append(len(st.prog.bands))
    tot = {k: sum(r["energy_pJ"][k] for r in layers) for k in COMPONENTS}
    dtot = {k: sum(r["dense_energy_pJ"][k] for r in layers) for k in COMPONENTS}
    per_storage, _ = net.storage()
    fetch = weight_fetch(per_storage, bands, steps, table)
    total, dense_total = sum(tot.values()), sum(dtot.values())
    on_chip, dense_on_chip = sum(tot[k] for k in ON_CHIP), sum(dtot[k] for k in ON_CHIP)

    def dram_bits(key: str, packed: bool = False) -> float:
        """Off-chip bits of all layers; packed: requantised results at 8 bits per lane, not 32."""
        return sum(v / (4 if packed and k == "dram_res_bits" and st.prog.requant else 1)
                   for r, st in zip(layers, net.array_stages) for k, v in r[key].items() if k.startswith("dram_"))

    def ratio(pj: float, packed: bool = False) -> float:
        return _div(dense_on_chip + dram_bits("dense_counts", packed) * pj / 64,
                    on_chip + dram_bits("counts", packed) * pj / 64)

    return {
        "table": {k: table[k] for k in ("name", "source", "path", "actions", "dram_64b", "dram_range", "decode")},
        "buffers": buffers(cfg, table),
        "counts_from": count_sources(counters is not None),
        "layers": layers,
        "components_pJ": tot, "dense_components_pJ": dtot,
        "total_pJ": total, "dense_total_pJ": dense_total,
        "on_chip_pJ": on_chip, "dense_on_chip_pJ": dense_on_chip, "dram_bits": dram_bits("counts"),
        "dense_dram_bits": dram_bits("dense_counts"),
        "macs": sum(r["counts"]["macs"] for r in layers), "dense_macs": sum(r["dense_counts"]["macs"] for r in layers),
        "dense_over_sps": _div(dense_total, total), "dense_over_sps_on_chip": _div(dense_on_chip, on_chip),
        # the ratio at both ends of the table's DRAM range, and with requantised results packed to int8
        "dense_over_sps_at_dram_pJ": {f"{pj:g}": ratio(pj) for pj in table["dram_range"]},
        "dense_over_sps_int8_results": ratio(table["dram_64b"], packed=True),
        "weight_fetch": fetch,
        "fetch_over_sps": {f: _div(fetch[f]["total_pJ"], fetch["SPS"]["total_pJ"]) for f in FORMATS},
    }
