"""PPS inference and checking."""
import numpy as np
import pytest

from compiler.infer import check_pps, infer_pps, resolve_pps
from models.pps import PPS, PPSError


def pps_weight(rng, pps, F, C):
    """Random int8 weights, non-zero exactly at the kept positions of pps."""
    v = rng.integers(1, 128, (F, C, 3, 3)) * rng.choice([-1, 1], (F, C, 3, 3))
    return (v * pps.kernel_mask(F, C)).astype(np.int8)


def random_pps(rng, P, n=None):
    sizes = [n or int(rng.integers(1, 10)) for _ in range(P)]
    return PPS(tuple(tuple(rng.choice(9, s, replace=False)) for s in sizes), int(rng.integers(0, P)))


CASES = [PPS.dense(), PPS.psd(), PPS.psd(2, 8, 3, 5), PPS.ps(4), PPS.ps(2, 8, 5), PPS.ps(1, 8, 7),
         PPS.ps(1, 2, 0), PPS.ps(4, 1, 0)]
_rng = np.random.default_rng(7)
for P in (1, 2, 4, 8):
    for n in (1, 2, 4, None):
        for _ in range(3):
            CASES.append(random_pps(_rng, P, n))


@pytest.mark.parametrize("i", range(len(CASES)))
def test_inference_recovers_masks(i):
    pps = CASES[i]
    rng = np.random.default_rng(i)
    for F, C in [(int(rng.integers(1, 20)), int(rng.integers(1, 20))), (9, 13), (1, 1)]:
        w = pps_weight(rng, pps, F, C)
        got = infer_pps(w, 8)
        assert np.array_equal(got.kernel_mask(F, C), pps.kernel_mask(F, C)), (pps, got, F, C)
        assert got.offset == 0 and got.period <= 8
        check_pps(w, got)


def test_dense_and_ties():
    rng = np.random.default_rng(0)
    w = rng.integers(1, 100, (5, 6, 3, 3)).astype(np.int8)
    assert infer_pps(w) == PPS.dense()
    a, b = (0, 1, 3, 4), (4, 5, 7, 8)
    w = pps_weight(rng, PPS((a, b, a, b), 0), 6, 7)          # period 4 that is really period 2
    assert infer_pps(w) == PPS((a, b), 0)
    w = pps_weight(rng, PPS.ps(4, 4, 1), 6, 7)
    got = infer_pps(w)
    assert got.period == 4 and got.patterns == PPS.ps(4, 4, 1).with_offset(0).patterns


def test_zero_phases_and_all_zero():
    assert infer_pps(np.zeros((3, 2, 3, 3), np.int8)) == PPS(((4,),), 0)
    w = np.zeros((1, 4, 3, 3), np.int8)
    w[0, 0, 0, 0] = w[0, 2, 0, 0] = 5
    assert infer_pps(w, 2) == PPS(((0,),), 0)                 # tie (cost 4) -> smallest P
    w[0, 0, 0, 1] = w[0, 2, 0, 1] = -5                        # now P=2 is cheaper (6 < 8)
    assert infer_pps(w, 2) == PPS(((0, 1), (4,)), 0)          # all-zero phase 1 -> (4,)
    check_pps(w, infer_pps(w, 2))


def test_inferred_covers_random_sparse():
    rng = np.random.default_rng(3)
    for _ in range(20):
        w = (rng.integers(-3, 4, (int(rng.integers(1, 9)), int(rng.integers(1, 9)), 3, 3))
             * (rng.random((1,)) < 2)).astype(np.int8)
        check_pps(w, infer_pps(w, int(rng.integers(1, 9))))


def test_check_pps_names_layer_filter_channel():
    rng = np.random.default_rng(5)
    pps = PPS.ps(4)
    w = pps_weight(rng, pps, 6, 5)
    check_pps(w, pps, "conv3")
    ph = pps.phase(4, 2)
    outside = [q for q in range(9) if q not in pps.patterns[ph]]
    w[4, 2].flat[outside[1]] = 9
    w[4, 2].flat[outside[3]] = -1
    w[5, 0].flat[[q for q in range(9) if q not in pps.patterns[pps.phase(5, 0)]][0]] = 3
    with pytest.raises(PPSError) as e:
        check_pps(w, pps, "conv3")
    msg = str(e.value)
    assert "'conv3'" in msg and "filter 4, channel 2" in msg and f"[{outside[1]}, {outside[3]}]" in msg
    assert "2 kernel(s)" in msg and "\n" not in msg
    assert isinstance(e.value, ValueError)


def test_resolve_pps():
    rng = np.random.default_rng(6)
    w = pps_weight(rng, PPS.ps(2, 8, 1), 8, 9)
    got = resolve_pps(w, None, 8, "l")
    assert np.array_equal(got.kernel_mask(8, 9), PPS.ps(2, 8, 1).kernel_mask(8, 9))
    assert resolve_pps(w, PPS.ps(2, 8, 1), 8) == PPS.ps(2, 8, 1)
    assert resolve_pps(w, PPS.dense(), 8) == PPS.dense()
    with pytest.raises(PPSError, match="'l'.*period 8 exceeds PMAX=4"):
        resolve_pps(w, PPS.ps(2, 8, 1), 4, "l")
    with pytest.raises(PPSError, match="'l'.*filter 0, channel"):
        resolve_pps(w, PPS.ps(4), 8, "l")
    with pytest.raises(PPSError, match="expected a PPS|must be a PPS"):
        resolve_pps(w, "ps4", 8, "l")
    with pytest.raises(ValueError, match="pmax"):
        infer_pps(w, 0)
    with pytest.raises(ValueError, match="shape"):
        infer_pps(np.zeros((2, 2, 3), np.int8))
