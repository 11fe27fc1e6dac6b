"""models.pps: the PPS description (phase rule, constructors, pattern table, errors, helpers)."""
import dataclasses
import itertools

import numpy as np
import pytest

from models.pps import CORNERS_2X2, PPS, PPSError
from tb.env.cases import random_pps


def positions(mask3x3):
    return tuple(int(q) for q in np.flatnonzero(mask3x3.reshape(9)))


def phase_rule_case(seed):
    """A random PPS (PS-n with n in 1, 2, 4 for P in 1, 2, 4, 8; PSD; dense; mixed sizes) and a
    random F, C (mostly not multiples of P or of the 8x8 array)."""
    rng = np.random.default_rng(seed)
    P = int(rng.choice([1, 2, 4, 8]))
    kind = seed % 4
    if kind == 0:
        pps = PPS.ps(int(rng.choice([1, 2, 4])), P, int(rng.integers(-P, 2 * P)))
    elif kind == 1:
        pps = PPS.psd(int(rng.choice([1, 2, 4])), P, int(rng.integers(0, P)), int(rng.integers(0, P)))
    elif kind == 2:
        pps = random_pps(rng, P, rng.integers(1, 10, size=P)) if seed % 8 else PPS.dense()
    else:
        pps = random_pps(rng, P, int(rng.choice([1, 2, 4])))
    return pps, int(rng.integers(1, 20)), int(rng.integers(1, 20))


@pytest.mark.parametrize("seed", range(48))
def test_kernel_mask_follows_phase_rule(seed):
    pps, F, C = phase_rule_case(seed)
    m = pps.kernel_mask(F, C)
    assert m.shape == (F, C, 3, 3) and m.dtype == bool
    for f, c in itertools.product(range(F), range(C)):
        ph = (f + c + pps.offset) % pps.period
        assert pps.phase(f, c) == ph
        assert positions(m[f, c]) == pps.patterns[ph]
        assert pps.phase(f, c) == (pps.group_of(f) + c) % pps.period
    assert pps.nonzeros(F, C) == int(m.sum())


def test_default_ps4_and_families():
    p = PPS.ps(4)
    assert p.patterns == CORNERS_2X2 and p.offset == 1 and p.period == 4
    assert p.masks == (0b000011011, 0b000110110, 0b011011000, 0b110110000)
    assert p.nonzeros(8, 8) == 4 * 64
    for n in (1, 2):
        q = PPS.ps(n, period=8)
        assert q.pattern_sizes == (n,) * 8 and q.nonzeros(8, 8) == n * 64
    assert PPS.ps(4, period=6).patterns[4:] == CORNERS_2X2[:2]     # taken cyclically


def test_dense_and_psd():
    d = PPS.dense()
    assert d.period == 1 and d.is_dense and d.masks == (0x1FF,) and d.nonzeros(3, 5) == 3 * 5 * 9
    s = PPS.psd(n=4, period=4, offset=1, dense_phase=2)
    assert s.patterns[2] == tuple(range(9)) and s.patterns[0] == CORNERS_2X2[0]
    assert not s.is_dense and s.pattern_sizes == (4, 4, 9, 4)


def test_offset_is_normalised_and_patterns_sorted():
    p = PPS(((4, 0, 1, 3), (2, 1)), offset=-1)
    assert p.offset == 1 and p.patterns == ((0, 1, 3, 4), (1, 2))
    assert PPS(((0,),), offset=np.int64(5)).offset == 0
    assert PPS([np.array([4, 0]), [np.int8(2)]]).patterns == ((0, 4), (2,))   # numpy ints accepted
    assert PPS(((q for q in (4, 0)), map(int, "2"))).patterns == ((0, 4), (2,))  # one-shot iterables


def test_masks_json_round_trip():
    p = PPS.psd(n=2, period=5, offset=3, dense_phase=1)
    assert PPS.from_masks(p.masks, p.offset) == p
    assert PPS.from_json(p.to_json()) == p
    assert PPS.from_json({"patterns": [[0, 8]]}) == PPS(((0, 8),), 0)


@pytest.mark.parametrize("pps,kind", [(PPS.dense(), "dense"), (PPS.ps(4), "PS-4"),
                                      (PPS.ps(1, 2), "PS-1"), (PPS.psd(), "PSD"),
                                      (PPS(((0, 1), (2, 3, 4))), "PS-mixed")])
def test_describe(pps, kind):
    d = pps.describe()
    assert d.startswith(f"{kind}/P{pps.period} o={pps.offset}")


@pytest.mark.parametrize("make,match", [
    (lambda: PPS(()), "pattern list is empty"),
    (lambda: PPS(((0, 1), ())), "pattern 1 is empty"),
    (lambda: PPS(((0, 0, 1),)), "pattern 0 repeats a position"),
    (lambda: PPS(((0, 9),)), "pattern 0 has a position outside 0..8"),
    (lambda: PPS(((-1, 2),)), "outside 0..8"),
    (lambda: PPS(((0,),), offset=1.5), "offset must be an integer"),
    (lambda: PPS(((0,),), offset=True), "offset must be an integer"),
    (lambda: PPS(((0.9, 1.7, 3, 4),)), "pattern 0 has a position that is not an integer: 0.9"),
    (lambda: PPS(((0,), (True, 2))), "pattern 1 has a position that is not an integer: True"),
    (lambda: PPS(("0134",)), "pattern 0 must be a list of positions"),
    (lambda: PPS("0134"), "patterns must be a list of patterns"),
    (lambda: PPS(5), "patterns must be a list of patterns"),
    (lambda: PPS(((0,), 4)), "pattern 1 must be a list of positions"),
    (lambda: PPS.from_json([[0, 1]]), "PPS JSON: expected an object"),
    (lambda: PPS.from_json({"offset": 1}), 'missing "patterns"'),
    (lambda: PPS.from_json({"patterns": [[0]], "ofset": 1}), r"unknown key\(s\) \['ofset'\]"),
    (lambda: PPS.from_json({"patterns": [0, 1]}), '"patterns" must be a list of lists'),
    (lambda: PPS.from_json({"patterns": [[0]], "offset": 1.7}), "offset must be an integer, got 1.7"),
    (lambda: PPS.ps(3), "PS-n needs n in 1, 2, 4"),
    (lambda: PPS.ps(4, period=0), "period must be >= 1"),
    (lambda: PPS.ps(4).with_offset(0.5), "offset must be an integer"),
])
def test_errors(make, match):
    with pytest.raises(PPSError, match=match):
        make()
    assert issubclass(PPSError, ValueError)


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PPS.ps(4).offset = 2


def test_with_offset_keeps_every_kernel_mask():
    rng = np.random.default_rng(1)
    for P in (1, 2, 3, 4, 7):
        p = random_pps(rng, P, rng.integers(1, 10, size=P))
        for o in range(-P, 2 * P):
            q = p.with_offset(o)
            assert q.offset == o % P and q.period == P
            np.testing.assert_array_equal(q.kernel_mask(9, 10), p.kernel_mask(9, 10))
        assert p.with_offset(p.offset) == p
