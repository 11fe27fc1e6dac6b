"""Find or check the PPS (period P, patterns PI, offset o) of a layer's weights.

infer_pps: for each candidate period P in 1..pmax, phase i (offset 0 canonical) gets the union of
the supports of the kernels (f, c) with (f + c) mod P == i; the cost of P is the total number of
kept positions over all kernels (sum over kernels of |PI[(f+c) mod P]|). The smallest cost wins,
ties go to the smallest P. A phase whose kernels are all zero (or that has no kernel) gets the
pattern (4,) -- any non-empty pattern would do. The result always covers every non-zero weight, and
when the weights are non-zero at every kept position of some PPS with period <= pmax, the inferred
PPS has exactly that PPS's kernel mask (the cost cannot go below the number of non-zeros, and equals
it only when each kernel's pattern is its own support).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.pps import KERNEL_POSITIONS, PPS, PPSError

_POPCOUNT9 = np.array([bin(m).count("1") for m in range(1 << KERNEL_POSITIONS)], dtype=np.int64)
EMPTY_PHASE_MASK = 1 << 4      # pattern (4,) for phases with no non-zero weight


def _weight_4d(weight) -> np.ndarray:
    w = np.asarray(weight)
    if w.ndim != 4 or w.shape[2:] != (3, 3) or w.shape[0] < 1 or w.shape[1] < 1:
        raise ValueError(f"weight has shape {list(w.shape)}, expected [F, C, 3, 3] with F, C >= 1")
    return w


def support_masks(weight) -> np.ndarray:
    """int64 [F, C]: 9-bit mask of the non-zero positions of each kernel."""
    w = _weight_4d(weight)
    F, C = w.shape[:2]
    nz = (w.reshape(F, C, KERNEL_POSITIONS) != 0).astype(np.int64)
    return (nz << np.arange(KERNEL_POSITIONS, dtype=np.int64)).sum(axis=2)


def infer_pps(weight, pmax: int = 8) -> PPS:
    """The cheapest PPS (offset 0, period <= pmax) that covers every non-zero weight."""
    if isinstance(pmax, bool) or not isinstance(pmax, (int, np.integer)) or pmax < 1:
        raise ValueError(f"pmax must be a positive integer, got {pmax!r}")
    sup = support_masks(weight)
    F, C = sup.shape
    if (sup == (1 << KERNEL_POSITIONS) - 1).all():
        return PPS.dense()
    fc = np.arange(F)[:, None] + np.arange(C)[None, :]
    best_cost, best_masks = None, None
    for P in range(1, int(pmax) + 1):
        ph = fc % P
        masks, cost = [], 0
        for i in range(P):
            sel = sup[ph == i]
            m = int(np.bitwise_or.reduce(sel)) if sel.size else 0
            if m == 0:
                m = EMPTY_PHASE_MASK
            masks.append(m)
            cost += int(sel.size) * int(_POPCOUNT9[m])
        if best_cost is None or cost < best_cost:
            best_cost, best_masks = cost, masks
    return PPS.from_masks(best_masks, 0)


def check_pps(weight, pps: PPS, layer_name: str = "layer") -> None:
    """Raise PPSError naming the layer, the first offending filter and channel (row-major order)
    and the positions outside its pattern when a non-zero weight lies outside the PPS mask."""
    if not isinstance(pps, PPS):
        raise PPSError(f"layer {layer_name!r}: expected a PPS, got {type(pps).__name__}")
    w = _weight_4d(weight)
    F, C = w.shape[:2]
    bad = (w != 0) & ~pps.kernel_mask(F, C)
    if not bad.any():
        return
    badk = bad.reshape(F, C, KERNEL_POSITIONS)
    kern = badk.any(axis=2)
    f, c = (int(v) for v in np.argwhere(kern)[0])
    pos = [int(q) for q in np.flatnonzero(badk[f, c])]
    ph = pps.phase(f, c)
    raise PPSError(f"layer {layer_name!r}: weights do not follow {pps.describe()}: filter {f}, channel {c} "
                   f"has non-zero weight(s) at position(s) {pos} outside its pattern {ph} "
                   f"{list(pps.patterns[ph])} ({int(kern.sum())} kernel(s) violate the PPS)")


def resolve_pps(weight, pps: PPS | None = None, pmax: int = 8, layer_name: str = "layer") -> PPS:
    """The given PPS after checking it (period <= pmax, weights inside its mask), else the inferred one."""
    if pps is None:
        return infer_pps(weight, pmax)
    if not isinstance(pps, PPS):
        raise PPSError(f"layer {layer_name!r}: pps must be a PPS or None, got {type(pps).__name__}")
    if pps.period > pmax:
        raise PPSError(f"layer {layer_name!r}: PPS period {pps.period} exceeds PMAX={pmax}")
    check_pps(weight, pps, layer_name)
    return pps


def pps_from_spec(spec: str):
    """A PPS from a command-line spec: auto (None: infer), dense, ps1, ps2, ps4, psd or a JSON file
    {"patterns": [[...], ...], "offset": o}."""
    s = spec.strip().lower()
    named = {"dense": PPS.dense, "ps1": lambda: PPS.ps(1), "ps2": lambda: PPS.ps(2),
             "ps4": lambda: PPS.ps(4), "psd": PPS.psd}
    if s == "auto":
        return None
    if s in named:
        return named[s]()
    p = Path(spec)
    if not p.exists():
        raise ValueError(f"--pps {spec!r}: not auto/dense/ps1/ps2/ps4/psd and no such file")
    try:
        d = json.loads(p.read_text())
        if not isinstance(d, dict) or "patterns" not in d:
            raise ValueError("expected {\"patterns\": [[...], ...], \"offset\": o}")
        return PPS.from_json(d)
    except (OSError, json.JSONDecodeError, TypeError, KeyError, ValueError) as e:
        raise ValueError(f"--pps file {spec}: {e}") from None
