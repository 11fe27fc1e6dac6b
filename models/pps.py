"""Periodic pattern-based sparsity (PPS) description.

Kernel (f, c) of a 3x3 conv keeps exactly the positions of pattern PI[(f + c + o) mod P]; positions
are 0..8, row-major in the 3x3 kernel (pos = 3*ky + kx). See docs/DESIGN.md.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

KERNEL_POSITIONS = 9
CORNERS_2X2 = ((0, 1, 3, 4), (1, 2, 4, 5), (3, 4, 6, 7), (4, 5, 7, 8))


class PPSError(ValueError):
    """Invalid PPS description, or weights that do not follow one."""


def is_int(v) -> bool:
    """A real integer: Python or numpy int, not bool (True would silently become 1)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


@dataclasses.dataclass(frozen=True)
class PPS:
    patterns: tuple[tuple[int, ...], ...]   # P patterns, each a sorted tuple of positions
    offset: int = 0

    def __post_init__(self):
        pats = self.patterns
        if isinstance(pats, (str, bytes)) or not hasattr(pats, "__iter__"):
            raise PPSError(f"PPS: patterns must be a list of patterns (lists of positions), got {pats!r}")
        pats = tuple(tuple(p) if hasattr(p, "__iter__") and not isinstance(p, (str, bytes)) else p
                     for p in pats)                  # iterate each pattern once (generators)
        if len(pats) == 0:
            raise PPSError("PPS: the pattern list is empty (P must be >= 1)")
        for i, p in enumerate(pats):
            if isinstance(p, (str, bytes)) or not hasattr(p, "__iter__"):
                raise PPSError(f"PPS: pattern {i} must be a list of positions 0..8, got {p!r}")
            for q in p:
                if not is_int(q):
                    raise PPSError(f"PPS: pattern {i} has a position that is not an integer: {q!r}")
        pats = tuple(tuple(sorted(int(q) for q in p)) for p in pats)
        object.__setattr__(self, "patterns", pats)
        for i, p in enumerate(pats):
            if len(p) == 0:
                raise PPSError(f"PPS: pattern {i} is empty")
            if len(set(p)) != len(p):
                raise PPSError(f"PPS: pattern {i} repeats a position: {p}")
            if p[0] < 0 or p[-1] >= KERNEL_POSITIONS:
                raise PPSError(f"PPS: pattern {i} has a position outside 0..8: {p}")
        if not is_int(self.offset):
            raise PPSError(f"PPS: offset must be an integer, got {self.offset!r}")
        object.__setattr__(self, "offset", int(self.offset) % len(pats))

    # ---- constructors -------------------------------------------------------------------------
    @classmethod
    def dense(cls) -> "PPS":
        return cls((tuple(range(KERNEL_POSITIONS)),), 0)

    @classmethod
    def ps(cls, n: int, period: int = 4, offset: int = 1) -> "PPS":
        """PS-n with the default pattern families: n=4 the four 2x2 corners, n=2 / n=1 spread
        positions; `period` patterns are taken cyclically from the family."""
        fam = {4: CORNERS_2X2,
               2: ((0, 4), (2, 4), (4, 6), (4, 8), (1, 7), (3, 5), (0, 8), (2, 6)),
               1: ((4,), (1,), (3,), (5,), (7,), (0,), (2,), (6,), (8,))}
        if n not in fam:
            raise PPSError(f"PPS: PS-n needs n in 1, 2, 4, got {n}")
        if period < 1:
            raise PPSError(f"PPS: period must be >= 1, got {period}")
        return cls(tuple(fam[n][i % len(fam[n])] for i in range(period)), offset)

    @classmethod
    def psd(cls, n: int = 4, period: int = 4, offset: int = 1, dense_phase: int = 0) -> "PPS":
        """PSD: PS-n with pattern `dense_phase` of the period made dense."""
        base = cls.ps(n, period, offset)
        pats = list(base.patterns)
        pats[dense_phase % period] = tuple(range(KERNEL_POSITIONS))
        return cls(tuple(pats), offset)

    # ---- queries ------------------------------------------------------------------------------
    @property
    def period(self) -> int:
        return len(self.patterns)

    @property
    def is_dense(self) -> bool:
        return all(len(p) == KERNEL_POSITIONS for p in self.patterns)

    @property
    def is_regular(self) -> bool:
        """PS-n, PSD or dense: every pattern that is not dense has the same size."""
        return len({len(p) for p in self.patterns if len(p) < KERNEL_POSITIONS}) <= 1

    @property
    def masks(self) -> tuple[int, ...]:
        """Each pattern as a 9-bit mask (bit k = position k): the hardware pattern table."""
        return tuple(sum(1 << q for q in p) for p in self.patterns)

    def phase(self, f: int, c: int) -> int:
        return (f + c + self.offset) % self.period

    def group_of(self, f: int) -> int:
        """Phase group g = (f + o) mod P: kernel (f, c) uses pattern (g + c) mod P."""
        return (f + self.offset) % self.period

    def kernel_mask(self, F: int, C: int) -> np.ndarray:
        """Boolean [F, C, 3, 3]: True where the weight is kept."""
        m = np.zeros((F, C, KERNEL_POSITIONS), dtype=bool)
        f = np.arange(F)[:, None]
        c = np.arange(C)[None, :]
        ph = (f + c + self.offset) % self.period
        for i, p in enumerate(self.patterns):
            sel = ph == i
            for q in p:
                m[:, :, q] |= sel
        return m.reshape(F, C, 3, 3)

    def nonzeros(self, F: int, C: int) -> int:
        return int(self.kernel_mask(F, C).sum())

    def describe(self) -> str:
        sizes = sorted({len(p) for p in self.patterns})
        if self.is_dense:
            kind = "dense"
        elif len(sizes) == 1:
            kind = f"PS-{sizes[0]}"
        elif KERNEL_POSITIONS in sizes:
            kind = "PSD"
        else:
            kind = "PS-mixed"
        return f"{kind}/P{self.period} o={self.offset} patterns={list(self.patterns)}"

    def to_json(self) -> dict:
        return {"patterns": [list(p) for p in self.patterns], "offset": self.offset}

    @classmethod
    def from_json(cls, d: dict) -> "PPS":
        """From {"patterns": [[positions], ...], "offset": o} (offset optional, default 0)."""
        if not isinstance(d, dict):
            raise PPSError(f"PPS JSON: expected an object {{\"patterns\": [[...], ...], \"offset\": o}}, "
                           f"got {type(d).__name__}")
        unknown = sorted(set(d) - {"patterns", "offset"})
        if unknown:
            raise PPSError(f"PPS JSON: unknown key(s) {unknown} (expected \"patterns\" and \"offset\")")
        if "patterns" not in d:
            raise PPSError("PPS JSON: missing \"patterns\"")
        if not isinstance(d["patterns"], list) or not all(isinstance(p, list) for p in d["patterns"]):
            raise PPSError(f"PPS JSON: \"patterns\" must be a list of lists of positions, got {d['patterns']!r}")
        return cls(tuple(tuple(p) for p in d["patterns"]), d.get("offset", 0))

    @classmethod
    def from_masks(cls, masks: Sequence[int], offset: int = 0) -> "PPS":
        return cls(tuple(tuple(q for q in range(KERNEL_POSITIONS) if (m >> q) & 1) for m in masks), offset)

    # ---- helpers (added for models/masks.py) ---------------------------------------------------
    def with_offset(self, offset: int) -> "PPS":
        """The same kernel masks described with another offset: the pattern list is rotated so
        that kernel (f, c) still keeps the same positions for every f and c."""
        if not is_int(offset):
            raise PPSError(f"PPS: offset must be an integer, got {offset!r}")
        P = self.period
        return PPS(tuple(self.patterns[(j - int(offset) + self.offset) % P] for j in range(P)),
                   int(offset))

    @property
    def pattern_sizes(self) -> tuple[int, ...]:
        """Number of kept positions of each pattern (n for every pattern of a PS-n)."""
        return tuple(len(p) for p in self.patterns)
