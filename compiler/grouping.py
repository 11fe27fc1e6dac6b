"""Phase grouping (docs/ARCHITECTURE.md section 4): filters f with (f + o) mod P == g form group g
and share one reduction list L_g; its row tiles follow the walker rule (compiler.walker)."""
from __future__ import annotations

from compiler.config import ArrayConfig
from compiler.walker import tile_plan
from models.pps import PPS


def group_filters(F: int, pps: PPS) -> list[list[int]]:
    """out_filter[g]: the filters f with (f + o) mod P == g, ascending (section 4)."""
    groups: list[list[int]] = [[] for _ in range(pps.period)]
    for f in range(F):
        groups[pps.group_of(f)].append(f)
    return groups


def group_tiles(pps: PPS, C: int, cfg: ArrayConfig) -> list[list]:
    """Row tiles of every phase group (walker rule), index g."""
    return [tile_plan(pps.period, pps.masks, C, cfg, g) for g in range(pps.period)]
