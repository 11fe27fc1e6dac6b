"""Weight storage of one layer (non-zero weights + index), in bits, for SPS against other formats.

The layer is viewed as an F x (9C) matrix (row f, column 9c + pos). NNZ is the number of
*structural* non-zeros: the positions kept by the PPS mask (a kept weight whose value happens to be
0 still counts). b = weight bits (8). lg(n) = ceil(log2(n)) with a minimum of 1 bit.

| format  | value bits        | index bits                                                      |
|---------|-------------------|-----------------------------------------------------------------|
| dense   | 9*F*C*b           | 0                                                               |
| CSR     | NNZ*b             | NNZ*lg(9C) + (F+1)*lg(NNZ+1)                                    |
| CSC     | NNZ*b             | NNZ*lg(F) + (9C+1)*lg(NNZ+1)                                    |
| COO     | NNZ*b             | NNZ*(lg(F) + lg(C) + lg(9))                                     |
| bitmap  | NNZ*b             | 9*F*C                                                           |
| RLE     | E*b               | 4*E; E = NNZ + fillers (EIE-style: a 4-bit run of zeros before   |
|         |                   | each non-zero, row-major over the F x 9C matrix; a run of z     |
|         |                   | zeros needs floor(z/16) filler entries -- value 0, run 15 --    |
|         |                   | each costing b + 4 bits; trailing zeros are not encoded)        |
| SPS     | NNZ*b             | 9*P (pattern table) + 2*(lg(PMAX) + 1) (period and offset       |
|         |                   | fields) -- per layer, independent of F and C                    |

total = value bits + index bits. Ratios are other / SPS (how many times SPS is smaller).
A 1x1 layer (kernel=1) is the F x C matrix of its weights: 9 becomes 1 in every formula above
(its PPS, the centre position, keeps every weight); the SPS index is the same pattern table.
"""
from __future__ import annotations

import numpy as np

from compiler.config import ArrayConfig
from models.pps import PPS

FORMATS = ("dense", "CSR", "CSC", "COO", "bitmap", "RLE", "SPS")
RLE_RUN_BITS = 4


def lg(n: int) -> int:
    """ceil(log2(n)), at least 1 bit."""
    n = int(n)
    return max(1, (n - 1).bit_length()) if n > 1 else 1


def rle_entries(mask_fx9c: np.ndarray, run_bits: int = RLE_RUN_BITS) -> int:
    """Entries of the EIE-style run-length code of a boolean F x 9C mask (row-major)."""
    flat = np.asarray(mask_fx9c, bool).reshape(-1)
    idx = np.flatnonzero(flat)
    if idx.size == 0:
        return 0
    runs = np.diff(np.concatenate([[-1], idx])) - 1         # zeros before each non-zero
    max_run = (1 << run_bits) - 1
    return int(idx.size + (runs // (max_run + 1)).sum())


def storage_report(F: int, C: int, pps: PPS, b: int = 8, pmax: int | None = None, kernel: int = 3) -> dict:
    """{format: {'value_bits', 'index_bits', 'total_bits'}} for the PPS mask of an F x C layer of
    kernel x kernel kernels (3, or 1: the centre position of `pps`); pmax (the width of the period
    and offset fields) None: the array's PMAX."""
    pmax = ArrayConfig().PMAX if pmax is None else pmax
    if kernel not in (1, 3):
        raise ValueError(f"storage_report: kernel must be 1 or 3, got {kernel!r}")
    k2 = kernel * kernel
    full = pps.kernel_mask(F, C).reshape(F, C, 9)
    mask = (full if kernel == 3 else full[:, :, 4:5]).reshape(F, k2 * C)
    nnz = int(mask.sum())
    K = k2 * C
    vb = nnz * b
    rows = {
        "dense": (k2 * F * C * b, 0),
        "CSR": (vb, nnz * lg(K) + (F + 1) * lg(nnz + 1)),
        "CSC": (vb, nnz * lg(F) + (K + 1) * lg(nnz + 1)),
        "COO": (vb, nnz * (lg(F) + lg(C) + (lg(k2) if k2 > 1 else 0))),
        "bitmap": (vb, k2 * F * C),
    }
    e = rle_entries(mask)
    rows["RLE"] = (e * b, RLE_RUN_BITS * e)
    rows["SPS"] = (vb, 9 * pps.period + 2 * (lg(pmax) + 1))
    rep = {k: {"value_bits": int(v), "index_bits": int(i), "total_bits": int(v + i)} for k, (v, i) in rows.items()}
    rep["_layer"] = {"F": F, "C": C, "nnz": nnz, "b": b, "pmax": pmax, "pps": pps.describe()}
    return rep


def layer_storage(layer, pps: PPS, cfg: ArrayConfig | None = None, b: int = 8) -> dict:
    """storage_report for a QLayer (PMAX from cfg, default the array's)."""
    return storage_report(layer.F, layer.C, pps, b, (cfg or ArrayConfig()).PMAX)


def storage_ratios(report: dict) -> dict:
    """{format: {'total': other_total / SPS_total, 'index': other_index / SPS_index}}."""
    s = report["SPS"]
    return {k: {"total": report[k]["total_bits"] / s["total_bits"],
                "index": report[k]["index_bits"] / s["index_bits"]}
            for k in FORMATS if k != "SPS"}


def format_storage_table(report: dict) -> str:
    rat = storage_ratios(report)
    L = report.get("_layer", {})
    lines = [f"storage (bits) F={L.get('F')} C={L.get('C')} NNZ={L.get('nnz')} b={L.get('b')} {L.get('pps', '')}",
             f"{'format':8} {'values':>12} {'index':>12} {'total':>12} {'total/SPS':>10} {'index/SPS':>10}"]
    for k in FORMATS:
        r = report[k]
        tr = f"{rat[k]['total']:10.2f}" if k in rat else f"{'1.00':>10}"
        ir = f"{rat[k]['index']:10.1f}" if k in rat else f"{'1.0':>10}"
        lines.append(f"{k:8} {r['value_bits']:12d} {r['index_bits']:12d} {r['total_bits']:12d} {tr} {ir}")
    return "\n".join(lines)


def sum_reports(reports) -> dict:
    """Format-by-format sum of storage_report results (a network's storage)."""
    tot = {f: {"value_bits": 0, "index_bits": 0, "total_bits": 0} for f in FORMATS}
    for rep in reports:
        for f in FORMATS:
            for k in tot[f]:
                tot[f][k] += rep[f][k]
    return tot


def format_network_table(tot: dict) -> str:
    sps = tot["SPS"]
    lines = ["| format | value bits | index bits | total bits | index vs SPS | total vs SPS |",
             "|---|---|---|---|---|---|"]
    for f in FORMATS:
        r = tot[f]
        ix = ("1x" if f == "SPS" else "-" if r["index_bits"] == 0
              else f"{r['index_bits'] / sps['index_bits']:,.0f}x")
        lines.append(f"| {f} | {r['value_bits']:,} | {r['index_bits']:,} | {r['total_bits']:,} | {ix} | "
                     f"{r['total_bits'] / sps['total_bits']:.2f}x |")
    return "\n".join(lines)
