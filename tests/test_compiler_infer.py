"""PPS inference (auto: a regular PPS or an error; any: the cheapest cover) and checking."""
import numpy as np
import pytest

from compiler.infer import check_pps, cover_pps, infer_pps, pps_from_spec, resolve_pps
from models.pps import PPS, PPSError
from tb.env.cases import random_pps


def pps_weight(rng, pps, F, C):
    """Random int8 weights, non-zero exactly at the kept positions of pps."""
    v = rng.integers(1, 128, (F, C, 3, 3)) * rng.choice([-1, 1], (F, C, 3, 3))
    return (v * pps.kernel_mask(F, C)).astype(np.int8)


CASES = [PPS.dense(), PPS.psd(), PPS.psd(2, 8, 3, 5), PPS.ps(4), PPS.ps(2, 8, 5), PPS.ps(1, 8, 7),
         PPS.ps(1, 2, 0), PPS.ps(4, 1, 0)]
_rng = np.random.default_rng(7)
for P in (1, 2, 4, 8):
    for n in (1, 2, 4, None):
        for _ in range(3):
            CASES.append(random_pps(_rng, P, n))


@pytest.mark.parametrize("i", range(len(CASES)))
def test_inference_recovers_masks(i):
    """Weights non-zero at every kept position: the cover has exactly the PPS's kernel mask; auto
    gives the same for a regular PPS, and for a mixed one a regular PPS that covers the weights
    (smaller patterns padded) or an error naming a kernel."""
    pps = CASES[i]
    rng = np.random.default_rng(i)
    for F, C in [(int(rng.integers(1, 20)), int(rng.integers(1, 20))), (9, 13), (1, 1)]:
        w = pps_weight(rng, pps, F, C)
        got = cover_pps(w, 8)
        assert np.array_equal(got.kernel_mask(F, C), pps.kernel_mask(F, C)), (pps, got, F, C)
        assert got.offset == 0 and got.period <= 8
        check_pps(w, got)
        if pps.is_regular:
            auto = infer_pps(w, 8)
            assert np.array_equal(auto.kernel_mask(F, C), pps.kernel_mask(F, C)), (pps, auto, F, C)
        else:
            try:
                auto = infer_pps(w, 8, "mixed")
            except PPSError as e:             # a kernel outside the nearest regular PPS, or sizes too mixed
                assert "'mixed'" in str(e) and "not a regular PPS" in str(e)
                assert "filter " in str(e) or "x the" in str(e)
                continue
            assert auto.is_regular and auto.offset == 0 and auto.period <= 8
            check_pps(w, auto)


def regular_case(rng):
    P = int(rng.choice([1, 2, 4, 8]))
    kind = int(rng.integers(0, 3))
    n = int(rng.choice([1, 2, 4]))
    if kind == 0:
        return PPS.ps(n, P, int(rng.integers(0, P)))
    if kind == 1 and P > 1:
        return PPS.psd(n, P, int(rng.integers(0, P)), int(rng.integers(0, P)))
    return random_pps(rng, P, n)


@pytest.mark.parametrize("seed", range(40))
def test_auto_on_quantised_regular_layers(seed):
    """Regular PPS layers where quantisation zeroed some kept weights (C, F not multiples of P or
    8): with enough kernels per phase auto finds exactly the true kernel mask. With few kernels
    the zeros can make a PSD layer's lone dense kernel look like stray weights in a PS-n layer:
    auto then finds a regular PPS that covers the weights, or says they are not a regular PPS."""
    rng = np.random.default_rng(seed)
    pps = regular_case(rng)
    F, C = int(rng.integers(1, 30)), int(rng.integers(1, 30))
    w = pps_weight(rng, pps, F, C) * (rng.random((F, C, 3, 3)) > 0.2)
    try:
        got = infer_pps(w, 8)
    except PPSError as e:
        assert F * C < 40 * pps.period and "not a regular PPS" in str(e), (pps, F, C)
        return
    assert got.is_regular and got.period <= 8
    check_pps(w, got)
    if F * C >= 40 * pps.period:        # every kept position survives in some kernel of its phase
        assert np.array_equal(got.kernel_mask(F, C), pps.kernel_mask(F, C)), (pps, got, F, C)


@pytest.mark.parametrize("seed", range(30))
def test_auto_rejects_stray_weights_naming_filter_and_channel(seed):
    """A regular PPS layer with stray non-zeros in one kernel is not a PPS: auto names that kernel,
    any accepts the (mixed) cover, and the given PPS is rejected the same way."""
    rng = np.random.default_rng(100 + seed)
    pps = regular_case(rng)
    if pps.is_dense:
        pps = PPS.ps(4)
    F, C = int(rng.integers(6, 25)), int(rng.integers(6, 25))
    w = pps_weight(rng, pps, F, C)
    f, c = int(rng.integers(0, F)), int(rng.integers(0, C))
    while len(pps.patterns[pps.phase(f, c)]) == 9:          # a PSD's dense phase has no outside
        f, c = int(rng.integers(0, F)), int(rng.integers(0, C))
    outside = [q for q in range(9) if q not in pps.patterns[pps.phase(f, c)]]
    w[f, c].flat[rng.choice(outside, min(2, len(outside)), replace=False)] = 7
    with pytest.raises(PPSError) as e:
        resolve_pps(w, "auto", 8, "conv7")
    msg = str(e.value)
    assert "'conv7'" in msg and f"filter {f}, channel {c} " in msg and "(1 kernel(s)" in msg
    assert "not a regular PPS" in msg and "\n" not in msg
    with pytest.raises(PPSError, match=f"filter {f}, channel {c} "):
        resolve_pps(w, pps, 8, "conv7")
    anyp = resolve_pps(w, "any", 8)
    check_pps(w, anyp)
    assert anyp.nonzeros(F, C) < 9 * F * C


def test_dense_and_ties():
    rng = np.random.default_rng(0)
    w = rng.integers(1, 100, (5, 6, 3, 3)).astype(np.int8)
    assert infer_pps(w) == cover_pps(w) == PPS.dense()
    a, b = (0, 1, 3, 4), (4, 5, 7, 8)
    w = pps_weight(rng, PPS((a, b, a, b), 0), 6, 7)          # period 4 that is really period 2
    assert infer_pps(w) == cover_pps(w) == PPS((a, b), 0)
    w = pps_weight(rng, PPS.ps(4, 4, 1), 6, 7)
    got = infer_pps(w)
    assert got.period == 4 and got.patterns == PPS.ps(4, 4, 1).with_offset(0).patterns
    w[0, 0] = 1                             # one dense kernel among PS-4 ones: a stray, not a PSD
    assert [len(p) for p in cover_pps(w).patterns].count(9) == 1
    with pytest.raises(PPSError, match="filter 0, channel 0 has non-zero"):
        infer_pps(w)
    w = pps_weight(rng, PPS.psd(4, 4, 1, 2), 6, 7)            # every kernel of phase 2 dense: PSD
    got = infer_pps(w)
    assert sorted({len(p) for p in got.patterns}) == [4, 9] and "PSD/P4" in got.describe()


def test_zero_phases_and_all_zero():
    zero = np.zeros((3, 2, 3, 3), np.int8)
    assert cover_pps(zero) == infer_pps(zero) == PPS(((4,),), 0)
    w = np.zeros((1, 4, 3, 3), np.int8)
    w[0, 0, 0, 0] = w[0, 2, 0, 0] = 5
    assert cover_pps(w, 2) == infer_pps(w, 2) == PPS(((0,),), 0)   # tie (cost 4) -> smallest P
    w[0, 0, 0, 1] = w[0, 2, 0, 1] = -5                        # now P=2 is cheaper (6 < 8)
    assert cover_pps(w, 2) == PPS(((0, 1), (4,)), 0)          # all-zero phase 1 -> (4,)
    assert infer_pps(w, 2) == PPS(((0, 1),), 0)               # auto: the empty phase repeats (0, 1)
    check_pps(w, cover_pps(w, 2))


def test_inferred_covers_random_sparse():
    rng = np.random.default_rng(3)
    for _ in range(20):
        w = rng.integers(-3, 4, (int(rng.integers(1, 9)), int(rng.integers(1, 9)), 3, 3)).astype(np.int8)
        pmax = int(rng.integers(1, 9))
        check_pps(w, cover_pps(w, pmax))
        try:
            check_pps(w, infer_pps(w, pmax))
        except PPSError as e:
            assert "not a regular PPS" in str(e)


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
    assert got == resolve_pps(w, "auto", 8, "l") == resolve_pps(w, "any", 8, "l")
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
    with pytest.raises(ValueError, match="pmax"):
        cover_pps(w, True)
    with pytest.raises(ValueError, match="shape"):
        infer_pps(np.zeros((2, 2, 3), np.int8))


def test_pps_from_spec(tmp_path):
    assert pps_from_spec("auto") == "auto" and pps_from_spec(" ANY ") == "any"
    assert pps_from_spec("ps4") == PPS.ps(4) and pps_from_spec("psd") == PPS.psd()
    assert pps_from_spec("dense") == PPS.dense() and pps_from_spec("ps1") == PPS.ps(1)
    f = tmp_path / "p.json"
    f.write_text('{"patterns": [[0, 4], [2, 6]], "offset": 1}')
    assert pps_from_spec(str(f)) == PPS(((0, 4), (2, 6)), 1)
    with pytest.raises(ValueError, match="no such file"):
        pps_from_spec(str(tmp_path / "missing.json"))
    for text, match in [("{", "Expecting|JSON"), ("[1]", "expected an object"),
                        ('{"patterns": [[0]], "ofset": 1}', "unknown key.*ofset"),
                        ('{"offset": 1}', "missing"), ('{"patterns": "0134"}', "list of lists"),
                        ('{"patterns": [[0, 1.5]]}', "not an integer"),
                        ('{"patterns": [[0]], "offset": true}', "offset must be an integer"),
                        ('{"patterns": [[0, 9]]}', "outside 0..8")]:
        f.write_text(text)
        with pytest.raises(ValueError, match=match) as e:
            pps_from_spec(str(f))
        assert str(f) in str(e.value) and "\n" not in str(e.value)


def test_auto_sweep_strays_and_quantisation_zeros():
    """The measurement in docs/GUIDE.md (PPS inference): random PS-4/PS-2/PS-1/PSD layers with 5-30%
    of the kept weights zeroed. Every layer with 1-5 stray non-zeros in one kernel is rejected naming that kernel;
    stray-free layers are accepted (with a PPS that covers them) except a few tiny ones."""
    rng = np.random.default_rng(1)
    rejected, total, tiny = 0, 0, True
    for pps in [PPS.ps(4), PPS.ps(2), PPS.ps(1), PPS.psd(), PPS.ps(4, 8, 3), PPS.ps(2, 2, 0)]:
        for F, C in [(2, 2), (3, 3), (4, 4), (8, 3), (8, 8), (16, 16), (64, 32)]:
            for drop in [0.05, 0.1, 0.2, 0.3]:
                for _ in range(40):
                    m = pps.kernel_mask(F, C)
                    w = np.where(m & (rng.random(m.shape) >= drop), 5, 0).astype(np.int8)
                    total += 1
                    try:
                        check_pps(w, infer_pps(w))
                    except PPSError:
                        rejected += 1
                        tiny &= F * C <= 64
    assert tiny and rejected <= 0.02 * total, (rejected, total)
    named = strays = 0
    for pps in [PPS.ps(4), PPS.ps(2, 8, 1), PPS.psd(), PPS.ps(1, 4, 0)]:
        for F, C in [(8, 8), (16, 16), (32, 16), (64, 64)]:
            for _ in range(30):
                m = pps.kernel_mask(F, C)
                w = np.where(m & (rng.random(m.shape) >= 0.1), 5, 0).astype(np.int8)
                f, c = rng.integers(0, F), rng.integers(0, C)
                out = [q for q in range(9) if q not in pps.patterns[pps.phase(f, c)]]
                if not out:
                    continue
                w[f, c].flat[rng.choice(out, min(len(out), int(rng.integers(1, 6))), replace=False)] = 3
                strays += 1
                with pytest.raises(PPSError) as e:
                    infer_pps(w)
                named += f"filter {f}, channel {c} " in str(e.value)
    assert strays > 400 and named == strays
