"""The walker rule (ARCHITECTURE.md section 3): tiles of each group cover L_g exactly; row r reads lane r mod LANES."""
import numpy as np
import pytest

from compiler.config import ArrayConfig
from compiler.walker import tile_arrays, tile_plan
from models.pps import PPS
from tb.env.cases import random_lanes, random_pps


def L_g(pps, C, g):
    """L_g straight from docs/DESIGN.md, written here independently of compiler.walker."""
    P = pps.period
    return [(c, q) for c in range(C) for q in pps.patterns[(g + c) % P]]


def rule_tiles(pps, C, rows, lanes, g):
    """The section 3 rule written out independently: row r reads lane r mod LANES; a tile covers
    one channel block; lane l's rows take the next positions of its channel's pattern."""
    P, rpl = pps.period, rows // lanes
    out = []
    for cb in range(-(-C // lanes)):
        chans = [cb * lanes + l for l in range(lanes)]
        pos = {c: sorted(pps.patterns[(g + c) % P]) if c < C else [] for c in chans}
        n_tiles = max(-(-len(v) // rpl) for v in pos.values())
        for t in range(n_tiles):
            tile = []
            for r in range(rows):
                c, j = chans[r % lanes], t * rpl + r // lanes
                tile.append((c, pos[c][j]) if j < len(pos[c]) else None)
            out.append(tile)
    return out


CASES = []
_rng = np.random.default_rng(1234)
for _ in range(150):
    P = int(_rng.choice([1, 2, 3, 4, 8]))
    _rows = int(_rng.integers(1, 17))
    CASES.append((random_pps(_rng, P), int(_rng.integers(1, 40)),
                  ArrayConfig(ROWS=_rows, LANES=random_lanes(_rng, _rows))))
CASES += [(PPS.ps(4), 13, ArrayConfig()), (PPS.ps(1), 11, ArrayConfig(ROWS=12, LANES=6)),
          (PPS.psd(), 7, ArrayConfig(ROWS=6, LANES=2)), (PPS.dense(), 5, ArrayConfig(ROWS=7, LANES=7))]


@pytest.mark.parametrize("pps, C, cfg", CASES)
def test_tiles_cover_Lg(pps, C, cfg):
    L = cfg.LANES
    for g in range(pps.period):
        tiles = tile_plan(pps.period, pps.patterns, C, cfg, g)
        assert tiles == tile_plan(pps.period, pps.masks, C, cfg, g)   # masks or positions
        assert tiles == rule_tiles(pps, C, cfg.ROWS, L, g)
        flat = [e for t in tiles for e in t if e is not None]
        assert sorted(flat) == sorted(L_g(pps, C, g))
        assert len(flat) == len(set(flat))
        for t in tiles:
            assert len(t) == cfg.ROWS and any(e is not None for e in t)
            blocks = {e[0] // L for e in t if e is not None}
            assert len(blocks) == 1, "a tile covers one channel block"
            assert all(e[0] % L == r % L for r, e in enumerate(t) if e is not None), "row r reads lane r mod LANES"


def test_known_tilings():
    cfg = ArrayConfig()
    t = tile_plan(4, PPS.ps(4).patterns, 13, cfg, 1)      # PS-4 on 8x8, LANES 8: a row per channel
    pats = PPS.ps(4).patterns
    assert len(t) == 8 and t[0] == [(c, sorted(pats[(1 + c) % 4])[0]) for c in range(8)]
    assert t[-1] == [(8 + c, sorted(pats[(1 + 8 + c) % 4])[3]) for c in range(5)] + [None] * 3
    t = tile_plan(1, [(4,)], 10, ArrayConfig(ROWS=6, LANES=3), 0)   # a centre pattern: rows 3..5 idle
    assert [sum(e is not None for e in x) for x in t] == [3, 3, 3, 1]
    ch, pos = tile_arrays(t)
    assert ch[1].tolist() == [3, 4, 5, -1, -1, -1] and (pos[ch >= 0] == 4).all()
    t = tile_plan(1, [(0, 1, 2, 3)], 2, ArrayConfig(ROWS=4, LANES=2), 0)   # 2 rows per lane
    assert t == [[(0, 0), (1, 0), (0, 1), (1, 1)], [(0, 2), (1, 2), (0, 3), (1, 3)]]


@pytest.mark.parametrize("args, word", [
    ((2, [(1,)], 4, 0), "P=2"), ((1, [()], 4, 0), "pattern 0"), ((1, [0x200], 4, 0), "9-bit"),
    ((1, [(1,)], 0, 0), "C must"), ((2, [(1,), (2,)], 4, 2), "g=2"),
    ((0, [], 4, 0), r"pattern table is empty \(P must be >= 1\)")])
def test_walker_errors(args, word):
    P, pats, C, g = args
    with pytest.raises(ValueError, match=word):
        tile_plan(P, pats, C, ArrayConfig(), g)


def test_lanes_must_divide_rows():
    with pytest.raises(ValueError, match="LANES=3 must divide ROWS=8"):
        ArrayConfig(ROWS=8, LANES=3)
