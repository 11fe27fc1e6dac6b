"""The walker rule (ARCHITECTURE.md section 3): tiles of each group cover L_g exactly, in order."""
import numpy as np
import pytest

from compiler.config import ArrayConfig
from compiler.walker import reduction_list, tile_arrays, tile_plan
from models.pps import PPS


def L_g(pps, C, g):
    """L_g straight from docs/DESIGN.md, written here independently of compiler.walker."""
    P = pps.period
    return [(c, q) for c in range(C) for q in pps.patterns[(g + c) % P]]


def random_pps(rng, P):
    return PPS(tuple(tuple(rng.choice(9, int(rng.integers(1, 10)), replace=False)) for _ in range(P)),
               int(rng.integers(0, P)))


CASES = []
_rng = np.random.default_rng(1234)
for _ in range(150):
    P = int(_rng.choice([1, 2, 3, 4, 8]))
    CASES.append((random_pps(_rng, P), int(_rng.integers(1, 40)),
                  ArrayConfig(ROWS=int(_rng.integers(1, 17)), LANES=int(_rng.integers(1, 10)))))
CASES += [(PPS.ps(4), 13, ArrayConfig()), (PPS.ps(1), 11, ArrayConfig(ROWS=8, LANES=3)),
          (PPS.psd(), 7, ArrayConfig(ROWS=5, LANES=2)), (PPS.dense(), 5, ArrayConfig(ROWS=7))]


@pytest.mark.parametrize("pps, C, cfg", CASES)
def test_tiles_cover_Lg_in_order(pps, C, cfg):
    for g in range(pps.period):
        tiles = tile_plan(pps.period, pps.patterns, C, cfg, g)
        assert tiles == tile_plan(pps.period, pps.masks, C, cfg, g)   # masks or positions
        flat = [e for t in tiles for e in t if e is not None]
        assert flat == L_g(pps, C, g) == reduction_list(pps.period, pps.masks, C, g)
        for i, t in enumerate(tiles):
            assert len(t) == cfg.ROWS
            en = [e is not None for e in t]
            assert en[0], "every tile starts with an enabled row"
            k = sum(en)
            assert en == [True] * k + [False] * (cfg.ROWS - k), "disabled rows form the tail"
            chans = [e[0] for e in t if e is not None]
            assert max(chans) - min(chans) < cfg.LANES            # LANES rule
            assert len({c % cfg.LANES for c in chans}) == len(set(chans))
            if i < len(tiles) - 1 and k < cfg.ROWS:
                # a non-final tile stops early only because of the LANES rule
                assert max(chans) - min(chans) == cfg.LANES - 1
                nxt = tiles[i + 1][0]
                assert nxt[0] == min(chans) + cfg.LANES and nxt == L_g(pps, C, g)[len(
                    [e for tt in tiles[:i + 1] for e in tt if e is not None])]


def test_known_tilings():
    cfg = ArrayConfig()
    t = tile_plan(4, PPS.ps(4).patterns, 13, cfg, 1)      # PS-4 defaults: 2 channels per tile
    assert len(t) == 7 and t[0] == [(0, 1), (0, 2), (0, 4), (0, 5), (1, 3), (1, 4), (1, 6), (1, 7)]
    assert t[-1] == [(12, 1), (12, 2), (12, 4), (12, 5)] + [None] * 4
    t = tile_plan(1, [(4,)], 10, ArrayConfig(ROWS=8, LANES=3), 0)   # LANES rule: 3 rows per tile
    assert [sum(e is not None for e in x) for x in t] == [3, 3, 3, 1]
    ch, pos = tile_arrays(t)
    assert ch[1].tolist() == [3, 4, 5, -1, -1, -1, -1, -1] and (pos[ch >= 0] == 4).all()


@pytest.mark.parametrize("args, word", [
    ((2, [(1,)], 4, 0), "P=2"), ((1, [()], 4, 0), "pattern 0"), ((1, [0x200], 4, 0), "9-bit"),
    ((1, [(1,)], 0, 0), "C must"), ((2, [(1,), (2,)], 4, 2), "g=2"),
    ((0, [], 4, 0), r"pattern table is empty \(P must be >= 1\)")])
def test_walker_errors(args, word):
    P, pats, C, g = args
    with pytest.raises(ValueError, match=word):
        tile_plan(P, pats, C, ArrayConfig(), g)


def test_lanes_rule_condition():
    """ARCHITECTURE.md 3: the LANES rule never triggers when (LANES-1)*min_size + 1 >= ROWS, and
    for PS-n with n | ROWS when LANES*n >= ROWS; it can trigger when only LANES*min_size >= ROWS."""
    rng = np.random.default_rng(99)
    for _ in range(300):
        pps = random_pps(rng, int(rng.integers(1, 5)))
        cfg = ArrayConfig(ROWS=int(rng.integers(1, 17)), LANES=int(rng.integers(1, 9)))
        mn = min(len(p) for p in pps.patterns)
        if (cfg.LANES - 1) * mn + 1 >= cfg.ROWS:
            for g in range(pps.period):
                tiles = tile_plan(pps.period, pps.patterns, 11, cfg, g)
                assert all(None not in t for t in tiles[:-1])
    for n in (1, 2, 4):
        for rows in range(n, 17, n):
            cfg = ArrayConfig(ROWS=rows, LANES=-(-rows // n))
            for g in range(4):
                assert all(None not in t for t in tile_plan(4, PPS.ps(n).patterns, 13, cfg, g)[:-1])
    cfg = ArrayConfig(ROWS=8, LANES=2)                       # 2*4 >= 8 but sizes (5, 4) misalign
    tiles = tile_plan(2, [(0, 1, 2, 3, 4), (0, 1, 2, 3)], 6, cfg, 0)
    assert tiles[1][-2:] == [None, None]
