"""The indexing-unit walker rule (docs/ARCHITECTURE.md section 3): the ONE implementation shared by
the program builder (compiler/grouping.py, streams.py), the functional model (compiler/funcmodel.py) and the cycle
model (compiler/perf.py).

Given the pattern table (P patterns), the channel count C, the array (ROWS, LANES) and a phase group
g, it lists the row tiles of group g: each tile is ROWS entries, each entry (channel, position) for an
enabled row or None for a disabled one. The rule binds array row r to activation lane r mod LANES:
a tile covers one channel block (LANES channels cb*LANES .. cb*LANES + LANES-1), and the
RPL = ROWS / LANES rows of lane l take, in row order, the next positions of channel cb*LANES + l's
pattern PAT[(g + c) mod P]. A block takes as many tiles as its largest pattern needs (ceil(size /
RPL)); the enabled entries of all tiles are exactly L_g = [(c, pos) for c in 0..C-1 for pos in
PAT[(g + c) mod P]] (in a different order).
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from models.pps import KERNEL_POSITIONS

Tile = tuple  # tuple of ROWS entries, each (channel, position) or None


def pattern_mask(p) -> int:
    """A pattern given as a 9-bit mask or as a sequence of positions -> 9-bit mask."""
    if isinstance(p, (int, np.integer)) and not isinstance(p, bool):
        return int(p)
    return sum(1 << int(q) for q in p)


def _check_masks(masks: tuple[int, ...]) -> None:
    if not masks:
        raise ValueError("walker: the pattern table is empty (P must be >= 1)")
    for i, m in enumerate(masks):
        if m <= 0 or m >= (1 << KERNEL_POSITIONS):
            raise ValueError(f"walker: pattern {i} mask {m:#x} is not a non-empty 9-bit mask")


@functools.lru_cache(maxsize=256)
def _walk(masks: tuple[int, ...], C: int, rows: int, lanes: int, g: int) -> tuple[Tile, ...]:
    P = len(masks)
    bits = [[k for k in range(KERNEL_POSITIONS) if (m >> k) & 1] for m in masks]
    tiles = []
    for cb in range(-(-C // lanes)):                 # channel blocks
        # lane l's positions: channel cb*LANES + l's pattern (none past C)
        lane_pos = [bits[(g + c) % P] if c < C else [] for c in range(cb * lanes, cb * lanes + lanes)]
        taken = [0] * lanes                          # positions of each lane already in a tile
        while any(taken[l] < len(lane_pos[l]) for l in range(lanes)):
            tile = []
            for r in range(rows):
                l = r % lanes                        # row r reads lane r mod LANES
                if taken[l] < len(lane_pos[l]):
                    tile.append((cb * lanes + l, lane_pos[l][taken[l]]))
                    taken[l] += 1
                else:
                    tile.append(None)                # disabled row: weight 0, no MAC
            tiles.append(tuple(tile))
    return tuple(tiles)


def tile_plan(P: int, patterns: Sequence, C: int, cfg, g: int) -> list[list]:
    """Row tiles of phase group g per the walker rule.

    P: the period; patterns: P patterns, each a 9-bit mask or a sequence of positions; C: input
    channels; cfg: ArrayConfig (ROWS, LANES are used); g: group phase in 0..P-1.
    Returns a list of tiles, each a list of ROWS entries (channel, position) or None (disabled row).
    """
    masks = tuple(pattern_mask(p) for p in patterns)
    if P != len(masks):
        raise ValueError(f"walker: P={P} but {len(masks)} patterns given")
    _check_masks(masks)
    if isinstance(C, bool) or not isinstance(C, (int, np.integer)) or C < 1:
        raise ValueError(f"walker: C must be a positive integer, got {C!r}")
    if cfg.ROWS % cfg.LANES:
        raise ValueError(f"walker: LANES={cfg.LANES} must divide ROWS={cfg.ROWS}")
    if not 0 <= g < P:
        raise ValueError(f"walker: group phase g={g} outside 0..{P - 1}")
    return [list(t) for t in _walk(masks, int(C), int(cfg.ROWS), int(cfg.LANES), int(g))]


def tile_arrays(tiles) -> tuple[np.ndarray, np.ndarray]:
    """Tiles -> (channel, position) int64 arrays [T, ROWS], -1 for disabled rows."""
    T, R = len(tiles), len(tiles[0]) if tiles else 0
    ch = np.full((T, R), -1, np.int64)
    pos = np.full((T, R), -1, np.int64)
    for t, tile in enumerate(tiles):
        for r, e in enumerate(tile):
            if e is not None:
                ch[t, r], pos[t, r] = e
    return ch, pos
