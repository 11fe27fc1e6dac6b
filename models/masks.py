"""PPS masks for Conv2d layers: assignment, magnitude projection, pattern choice, masking.

A mask is a bool tensor shaped like ``conv.weight`` ([F, C, 3, 3]), True where the weight is kept:
kernel (f, c) keeps exactly the positions of PI[(f + c + o) mod P] (``PPS.kernel_mask``).
Masks are keyed by module name (``model.named_modules()``). Only 3x3 convolutions with groups=1
are masked; the first conv and 1x1 convs stay dense.

Pattern choice (``choose_pps``) maximises the kept weight magnitude of a layer:

    J(PI, o) = sum_{f, c} sum_{pos in PI[(f + c + o) mod P]} m(w[f, c, pos])

with m(w) = w**2 ("l2", default: kept energy) or |w| ("l1"). J splits over the P phase classes
{(f, c): (f + c) mod P = i}, so choosing each class's pattern independently (the candidate with the
largest summed per-position magnitude of that class) is the exact optimum; the offset only
rotates the pattern list, so every offset reaches the same optimum.
"""
from __future__ import annotations

import itertools
from typing import Callable, Iterable, Literal, Sequence, Union

import numpy as np
import torch
from torch import nn

from .pps import KERNEL_POSITIONS, PPS, PPSError, is_int
from .fold import get_module

Measure = Literal["l2", "l1"]
PPSChoice = Union[PPS, Callable[[str, nn.Conv2d], Union[PPS, None]]]


class MaskSet(dict):
    """dict module name -> bool mask tensor, plus ``.pps``: module name -> the PPS it follows."""

    def __init__(self, masks=(), pps: dict[str, PPS] | None = None):
        super().__init__(masks)
        self.pps: dict[str, PPS] = dict(pps or {})


# ---- per-layer helpers -------------------------------------------------------------------------

def _check_conv(conv, name: str | None) -> None:
    what = f"layer {name!r}" if name else "conv"
    if not isinstance(conv, nn.Conv2d):
        raise PPSError(f"{what} is a {type(conv).__name__}, PPS masks need nn.Conv2d")
    if tuple(conv.kernel_size) != (3, 3):
        raise PPSError(f"{what} has kernel {tuple(conv.kernel_size)}, PPS masks need 3x3")
    if conv.groups != 1:
        raise PPSError(f"{what} has groups={conv.groups}, PPS masks need groups=1")


def _weight_np(weight, what: str = "weight") -> np.ndarray:
    """weight [F, C, 3, 3] (tensor or array) as a float64 numpy array."""
    if isinstance(weight, torch.Tensor):
        a = weight.detach().cpu().to(torch.float64).numpy()
    elif isinstance(weight, np.ndarray):
        a = weight.astype(np.float64)
    else:
        raise PPSError(f"{what} must be a tensor or array, got {type(weight).__name__}")
    if a.ndim != 4 or a.shape[2:] != (3, 3):
        raise PPSError(f"{what} must be [F, C, 3, 3], got shape {tuple(a.shape)}")
    return a


def conv_mask(conv: nn.Conv2d, pps: PPS, name: str | None = None) -> torch.Tensor:
    """Bool mask shaped like conv.weight (on its device): True where `pps` keeps the weight."""
    _check_conv(conv, name)
    if not isinstance(pps, PPS):
        raise PPSError(f"pps must be a PPS, got {type(pps).__name__}")
    F, C = conv.weight.shape[:2]
    return torch.from_numpy(pps.kernel_mask(F, C)).to(conv.weight.device)


def project_to_pps(weight, pps: PPS):
    """Magnitude projection onto a given PPS: weight * mask (same type as `weight`)."""
    if isinstance(weight, torch.Tensor):
        if weight.dim() != 4 or tuple(weight.shape[2:]) != (3, 3):
            raise PPSError(f"weight must be [F, C, 3, 3], got shape {tuple(weight.shape)}")
        mask = torch.from_numpy(pps.kernel_mask(*weight.shape[:2])).to(weight.device)
        return weight.masked_fill(~mask, 0)
    if isinstance(weight, np.ndarray):
        if weight.ndim != 4 or weight.shape[2:] != (3, 3):
            raise PPSError(f"weight must be [F, C, 3, 3], got shape {weight.shape}")
        return np.where(pps.kernel_mask(*weight.shape[:2]), weight, np.zeros((), weight.dtype))
    raise PPSError(f"weight must be a tensor or array, got {type(weight).__name__}")


def _magnitude(a: np.ndarray, measure: str) -> np.ndarray:
    if measure == "l2":
        return a * a
    if measure == "l1":
        return np.abs(a)
    raise ValueError(f"measure must be 'l2' or 'l1', got {measure!r}")


def phase_energy(weight, period: int, measure: Measure = "l2") -> np.ndarray:
    """E [period, 9]: E[i, pos] = sum of m(w[f, c, pos]) over kernels with (f + c) mod P == i."""
    if not is_int(period) or period < 1:
        raise PPSError(f"period must be an integer >= 1, got {period!r}")
    a = _magnitude(_weight_np(weight), measure)
    F, C = a.shape[:2]
    ph = (np.arange(F)[:, None] + np.arange(C)[None, :]) % period
    E = np.zeros((period, KERNEL_POSITIONS))
    np.add.at(E, ph.ravel(), a.reshape(F * C, KERNEL_POSITIONS))
    return E


def kept_energy(weight, pps: PPS, measure: Measure = "l2") -> float:
    """The objective J: sum of m(w) over the weights that `pps` keeps."""
    a = _magnitude(_weight_np(weight), measure)
    return float(a[pps.kernel_mask(*a.shape[:2])].sum())


def choose_pps(weight, n: int | Sequence[int] = 4, period: int = 4,
               candidates: Iterable[Iterable[int]] | None = None, offset: int = 0,
               measure: Measure = "l2") -> PPS:
    """The PPS of period `period` that keeps the most weight magnitude of `weight` [F, C, 3, 3].

    n: pattern size, or one size per pattern of the result (e.g. (9, 4, 4, 4) for a PSD).
    candidates: the position sets to choose from (default: all C(9, n) sets); pattern j uses the
    candidates of size n[j]. The objective J (module docstring) is maximised exactly; ties go to
    the first candidate (lexicographic order by default). The result has offset `offset` (with
    equal sizes any offset reaches the same optimum: it only rotates the list; with unequal sizes
    the offset fixes which (f + c) class gets which size), and ``kept_energy(weight, result)``
    is the maximum of J over all pattern lists with these sizes drawn from the candidates.
    """
    E = phase_energy(weight, period, measure)
    sizes = [n] * period if isinstance(n, (int, np.integer)) else list(n)
    if len(sizes) != period:
        raise PPSError(f"n gives {len(sizes)} pattern sizes, period is {period}")
    for s in sizes:
        if not is_int(s) or not 1 <= s <= KERNEL_POSITIONS:
            raise PPSError(f"pattern size must be an integer in 1..9, got {s!r}")
    if not is_int(offset):
        raise PPSError(f"offset must be an integer, got {offset!r}")
    if candidates is not None:
        cand = [tuple(sorted(int(q) for q in c)) for c in candidates]
        for c in cand:
            if len(set(c)) != len(c) or not c or c[0] < 0 or c[-1] >= KERNEL_POSITIONS:
                raise PPSError(f"candidate {c} is not a set of positions in 0..8")
    patterns = []
    for j in range(period):
        size = sizes[j]
        pool = ([c for c in cand if len(c) == size] if candidates is not None
                else list(itertools.combinations(range(KERNEL_POSITIONS), size)))
        if not pool:
            raise PPSError(f"no candidate pattern of size {size} (needed by pattern {j})")
        ind = np.zeros((len(pool), KERNEL_POSITIONS))
        for k, c in enumerate(pool):
            ind[k, list(c)] = 1.0
        i = (j - offset) % period                     # the (f + c) mod P class pattern j serves
        patterns.append(pool[int(np.argmax(ind @ E[i]))])
    return PPS(tuple(patterns), int(offset))


def best_fit_pps(weight, family: PPS | None = None, measure: Measure = "l2") -> PPS:
    """The rotation (offset) of a fixed pattern list that keeps the most weight magnitude.

    family: the pattern list to rotate (default ``PPS.ps(4, 4)``, the four 2x2 corners); every
    offset 0..P-1 is tried, ties going to the family's own offset first.
    """
    family = PPS.ps(4, 4) if family is None else family
    P = family.period
    best, best_j = None, -np.inf
    for k in range(P):
        cand = PPS(family.patterns, (family.offset + k) % P)
        j = kept_energy(weight, cand, measure)
        if j > best_j:
            best, best_j = cand, j
    return best


# ---- whole-model helpers ------------------------------------------------------------------------

def assign_pps(model: nn.Module, pps: PPSChoice, skip_first: bool = True) -> dict[str, PPS]:
    """Module name -> PPS for every 3x3, groups=1 Conv2d of `model` (in named_modules order).

    The first Conv2d of the model is left out (kept dense) when skip_first; 1x1 and other
    non-3x3 or grouped convs are always left out. `pps` is one PPS for all layers, or a callable
    (name, conv) -> PPS, or None to leave that layer dense.
    """
    if not (isinstance(pps, PPS) or callable(pps)):
        raise PPSError(f"pps must be a PPS or a callable (name, conv) -> PPS, got {type(pps).__name__}")
    out: dict[str, PPS] = {}
    seen_conv = False
    for name, mod in model.named_modules():
        if not isinstance(mod, nn.Conv2d):
            continue
        first, seen_conv = not seen_conv, True
        if (first and skip_first) or tuple(mod.kernel_size) != (3, 3) or mod.groups != 1:
            continue
        p = pps if isinstance(pps, PPS) else pps(name, mod)
        if p is None:
            continue
        if not isinstance(p, PPS):
            raise PPSError(f"layer {name!r}: the PPS choice returned {type(p).__name__}, not PPS")
        out[name] = p
    return out


def _module(model: nn.Module, name: str) -> nn.Module:
    return get_module(model, name, PPSError)


def _layer_mask(model: nn.Module, name: str, mask) -> tuple[nn.Parameter, torch.Tensor]:
    mod = _module(model, name)
    w = getattr(mod, "weight", None)
    if not isinstance(w, torch.Tensor):
        raise PPSError(f"layer {name!r} has no weight tensor to mask")
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise PPSError(f"layer {name!r}: mask must be a bool tensor")
    if tuple(mask.shape) != tuple(w.shape):
        raise PPSError(f"layer {name!r}: mask shape {tuple(mask.shape)} != weight shape {tuple(w.shape)}")
    return w, mask.to(w.device)


def masks_for(model: nn.Module, assignment: dict[str, PPS]) -> MaskSet:
    """The masks of an assignment (name -> PPS), without touching the weights."""
    return MaskSet({n: conv_mask(_module(model, n), p, n) for n, p in assignment.items()},
                   assignment)


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero, in place, every weight whose mask entry is False."""
    with torch.no_grad():
        for name, mask in masks.items():
            w, m = _layer_mask(model, name, mask)
            w.masked_fill_(~m, 0)


def mask_gradients(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero, in place, the .grad entries of masked weights (no-op for weights without grad)."""
    with torch.no_grad():
        for name, mask in masks.items():
            w, m = _layer_mask(model, name, mask)
            if w.grad is not None:
                w.grad.masked_fill_(~m, 0)


def check_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Raise PPSError naming the layer, filter and channel of the first masked non-zero weight."""
    for name, mask in masks.items():
        w, m = _layer_mask(model, name, mask)
        bad = (w.detach() != 0) & ~m
        if bad.any():
            idx = [int(i) for i in bad.nonzero()[0]]
            raise PPSError(f"layer {name!r}: filter {idx[0]} channel {idx[1]} has a non-zero "
                           f"weight at a pruned position ({int(bad.sum())} in the layer)")


def project_model(model: nn.Module, assignment: dict[str, PPS], choose: bool = True,
                  measure: Measure = "l2") -> MaskSet:
    """Project a (dense) model onto PPS by magnitude, in place; returns the masks.

    choose=True: per layer, keep the assigned PPS's period, offset and pattern sizes but choose
    the patterns that keep the most weight magnitude (``choose_pps``); choose=False: use the
    assigned PPS as is. The chosen PPS per layer is in the result's ``.pps``.
    """
    chosen: dict[str, PPS] = {}
    for name, pps in assignment.items():
        conv = _module(model, name)
        _check_conv(conv, name)
        chosen[name] = (choose_pps(conv.weight, pps.pattern_sizes, pps.period, offset=pps.offset,
                                   measure=measure) if choose else pps)
    masks = masks_for(model, chosen)
    apply_masks(model, masks)
    return masks
