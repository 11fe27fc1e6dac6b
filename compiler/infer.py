"""Find or check the PPS (period P, patterns PI, offset o) of a layer's weights.

cover_pps: for each candidate period P in 1..pmax, phase i (offset 0 canonical) gets the union of
the supports of the kernels (f, c) with (f + c) mod P == i; the cost of P is the total number of
kept positions over all kernels (sum over kernels of |PI[(f+c) mod P]|). The smallest cost wins,
ties go to the smallest P. A phase whose kernels are all zero (or that has no kernel) gets the
pattern (4,) -- any non-empty pattern would do. The result always covers every non-zero weight, and
when the weights are non-zero at every kept position of some PPS with period <= pmax, the cover
has exactly that PPS's kernel mask (the cost cannot go below the number of non-zeros, and equals
it only when each kernel's pattern is its own support). Its patterns may have mixed sizes.

infer_pps (what `pps="auto"` means): the weights must follow a *regular* PPS -- PS-n (every
pattern n positions), PSD (PS-n with dense patterns) or dense. It takes the cheapest cover's
period P; per phase, the positions used by at least a quarter of the phase's kernels form its
solid pattern (so a stray non-zero in one kernel of many is not part of it, while quantisation
zeros, which empty a position in some kernels only, do not remove it); a phase with a 9-position
solid pattern is dense, the others are padded to n = the largest solid size (most used
positions first), an empty phase repeats the first n-position pattern, and the period is reduced
to the smallest divisor that repeats. Weights outside that PPS are rejected (PPSError naming the
layer, filter, channel and positions), e.g. a PS-4 layer with stray non-zeros in one kernel; so
are weights whose pattern sizes differ so much that the regular PPS would keep more than 1.5x the
positions of the cheapest cover (a deliberate mixed-size pattern list). pps="any" takes the
cover as it is, mixed sizes included; a network layer with no recorded PPS uses it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from compiler.config import ArrayConfig
from models.pps import KERNEL_POSITIONS, PPS, PPSError, is_int

_POPCOUNT9 = np.array([bin(m).count("1") for m in range(1 << KERNEL_POSITIONS)], dtype=np.int64)
EMPTY_PHASE_MASK = 1 << 4      # pattern (4,) for phases with no non-zero weight
FULL_MASK = (1 << KERNEL_POSITIONS) - 1


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


def _phases(sup: np.ndarray, P: int) -> np.ndarray:
    """int [F, C]: the phase (f + c) mod P of every kernel (offset 0)."""
    return (np.arange(sup.shape[0])[:, None] + np.arange(sup.shape[1])[None, :]) % P


def _cover_masks(sup: np.ndarray, P: int) -> tuple[list[int], int]:
    """Per phase of period P (offset 0): the union of the kernel supports (0 if no kernel of the
    phase has a non-zero), and the cover's cost in kept positions."""
    ph = _phases(sup, P)
    masks, cost = [], 0
    for i in range(P):
        sel = sup[ph == i]
        m = int(np.bitwise_or.reduce(sel)) if sel.size else 0
        masks.append(m)
        cost += int(sel.size) * int(_POPCOUNT9[m or EMPTY_PHASE_MASK])
    return masks, cost


def _check_pmax(pmax) -> int:
    """pmax as given, or the array's PMAX (config/sps.json) for None."""
    if pmax is None:
        return ArrayConfig().PMAX
    if not is_int(pmax) or pmax < 1:
        raise ValueError(f"pmax must be a positive integer, got {pmax!r}")
    return int(pmax)


def _cheapest_cover(sup: np.ndarray, pmax: int) -> list[int]:
    """The cover masks of the cheapest period (the smallest P on ties); an empty phase gets
    EMPTY_PHASE_MASK."""
    covers = [_cover_masks(sup, P) for P in range(1, pmax + 1)]
    masks = min(covers, key=lambda mc: mc[1])[0]         # min: first minimum, the smallest P
    return [m or EMPTY_PHASE_MASK for m in masks]


def cover_pps(weight, pmax: int | None = None) -> PPS:
    """The cheapest PPS (offset 0, period <= pmax; None: the array's PMAX) that covers every
    non-zero weight, pattern sizes as they come (pps="any")."""
    pmax = _check_pmax(pmax)
    sup = support_masks(weight)
    return PPS.dense() if (sup == FULL_MASK).all() else PPS.from_masks(_cheapest_cover(sup, pmax), 0)


def _reduce_period(masks: list[int]) -> list[int]:
    P = len(masks)
    for d in range(1, P + 1):
        if P % d == 0 and all(masks[i] == masks[i % d] for i in range(P)):
            return masks[:d]
    return masks


SOLID_SHARE = 0.25      # a position belongs to a phase's pattern when >= 1/4 of its kernels use it
MAX_PADDING = 1.5       # auto: at most 1.5x the kept positions of the cheapest cover


def _nearest_regular(sup: np.ndarray, P: int) -> list[int]:
    """The regular pattern masks (PS-n / PSD / dense) of period P nearest to the weights' supports:
    each phase keeps the positions that at least SOLID_SHARE of its kernels use (a stray
    non-zero in one kernel of many does not count); a phase whose solid pattern has all 9
    positions is dense; the others are padded (most used, then lowest positions first) to
    n = the largest solid size among them; an empty phase repeats the first n-position pattern."""
    ph = _phases(sup, P)
    bits = np.arange(KERNEL_POSITIONS)
    use, solid = [], []
    for i in range(P):
        sel = sup[ph == i]
        u = ((sel[:, None] >> bits) & 1).sum(axis=0) if sel.size else np.zeros(KERNEL_POSITIONS, np.int64)
        use.append(u)
        solid.append(int(((u > 0) & (u >= SOLID_SHARE * sel.size)).sum()))
    sizes = [n for n in solid if 0 < n < KERNEL_POSITIONS]
    if not sizes:                   # only dense phases: dense; all kernels zero: one 1-position pattern
        return [FULL_MASK] if any(solid) else [EMPTY_PHASE_MASK]
    n = max(sizes)
    out: list[int | None] = []
    for i in range(P):
        if solid[i] == 0:
            out.append(None)
        elif solid[i] == KERNEL_POSITIONS:
            out.append(FULL_MASK)
        else:
            order = sorted(bits, key=lambda q: (-use[i][q], q))       # most used first, then lowest
            out.append(sum(1 << int(q) for q in order[:n]))
    first_n = next(m for m in out if m is not None and m != FULL_MASK)
    return _reduce_period([first_n if m is None else m for m in out])


def infer_pps(weight, pmax: int | None = None, layer_name: str = "layer") -> PPS:
    """The regular PPS (PS-n, PSD or dense; offset 0, period <= pmax; None: the array's PMAX) of
    the weights; PPSError naming the layer, filter and channel when a kernel has non-zeros outside
    it, or when the weights follow a pattern list of mixed sizes (module docstring)."""
    pmax = _check_pmax(pmax)
    sup = support_masks(weight)
    if (sup == FULL_MASK).all():
        return PPS.dense()
    cover = PPS.from_masks(_cheapest_cover(sup, pmax), 0)
    pps = PPS.from_masks(_nearest_regular(sup, cover.period), 0)
    F, C = sup.shape
    hint = (f"the cheapest cover of these weights is {cover.describe()} -- pass it (or pps 'any'), "
            f"or the intended PPS, explicitly")
    try:
        check_pps(weight, pps, layer_name)
    except PPSError as e:
        raise PPSError(f"{e}; the weights are not a regular PPS (PS-n, PSD or dense): {hint}") from None
    kept, need = pps.nonzeros(F, C), cover.nonzeros(F, C)
    if kept > MAX_PADDING * need:
        raise PPSError(f"layer {layer_name!r}: the weights follow pattern sizes "
                       f"{sorted({len(p) for p in cover.patterns})}, not a regular PPS: the nearest "
                       f"one, {pps.describe()}, keeps {kept} positions, {kept / need:.2f}x the {need} "
                       f"needed; {hint}")
    return pps


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


def resolve_pps(weight, pps: PPS | str | None = "auto", pmax: int | None = None,
                layer_name: str = "layer") -> PPS:
    """pps: a PPS (checked: period <= pmax, weights inside its mask), "auto" or None (infer_pps:
    a regular PPS or PPSError), or "any" (cover_pps: the cheapest cover, mixed sizes allowed).
    pmax None: the array's PMAX."""
    pmax = _check_pmax(pmax)
    if pps is None or (isinstance(pps, str) and pps == "auto"):
        return infer_pps(weight, pmax, layer_name)
    if isinstance(pps, str) and pps == "any":
        return cover_pps(weight, pmax)
    if not isinstance(pps, PPS):
        raise PPSError(f"layer {layer_name!r}: pps must be a PPS, 'auto' or 'any', got {pps!r}")
    if pps.period > pmax:
        raise PPSError(f"layer {layer_name!r}: PPS period {pps.period} exceeds PMAX={pmax}")
    check_pps(weight, pps, layer_name)
    return pps


def pps_from_spec(spec: str) -> PPS | str:
    """A PPS from a command-line spec: auto (infer a regular PPS), any (infer, mixed pattern sizes
    allowed), dense, ps1, ps2, ps4, psd or a JSON file {"patterns": [[...], ...], "offset": o}."""
    s = spec.strip().lower()
    named = {"dense": PPS.dense, "ps1": lambda: PPS.ps(1), "ps2": lambda: PPS.ps(2),
             "ps4": lambda: PPS.ps(4), "psd": PPS.psd}
    if s in ("auto", "any"):
        return s
    if s in named:
        return named[s]()
    p = Path(spec)
    if not p.exists():
        raise ValueError(f"--pps {spec!r}: not auto/any/dense/ps1/ps2/ps4/psd and no such file")
    try:
        return PPS.from_json(json.loads(p.read_text()))
    except (OSError, ValueError) as e:       # ValueError: bad JSON, bad encoding, PPSError
        raise ValueError(f"--pps file {spec}: {e}") from None
