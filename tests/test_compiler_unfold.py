"""Host-side unfolding of small-C layers (compiler.unfold, ARCHITECTURE.md section 3): the unfolded
input against its definition, unfolded programs bit-exact against the integer reference through the
functional model, the choice (fewer predicted cycles only), the program file round trip."""
import numpy as np
import pytest

from compiler.compile import compile_layer
from compiler.config import ArrayConfig
from compiler.funcmodel import run_band
from compiler.layer import QLayer
from compiler.progfile import load_program, save_program
from compiler.unfold import unfold_input
from models.pps import PPS
from tb.env.cases import reference_output


def test_unfold_input_definition():
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (3, 7, 6)).astype(np.int8)
    for s, p in ((1, 1), (2, 0), (2, 1), (1, 0)):
        Hout, Wout = (7 + 2 * p - 3) // s + 1, (6 + 2 * p - 3) // s + 1
        pos = [0, 4, 8, 5]
        v = unfold_input(x, s, p, pos, Hout, Wout)
        assert v.shape == (3 * 4, Hout, Wout) and v.dtype == np.int8
        for c in range(3):
            for i, k in enumerate(pos):
                for oy in range(Hout):
                    for ox in range(Wout):
                        y, xx = oy * s - p + k // 3, ox * s - p + k % 3
                        want = x[c, y, xx] if 0 <= y < 7 and 0 <= xx < 6 else 0
                        assert v[c * 4 + i, oy, ox] == want


def _layer(rng, pps, F, C, stride, padding, requant):
    w = (rng.integers(-128, 128, (F, C, 3, 3)) * pps.kernel_mask(F, C)).astype(np.int8)
    b = rng.integers(-50000, 50000, F).astype(np.int32)
    rq = (rng.integers(1, 65536, F).astype(np.uint16), rng.integers(8, 24, F).astype(np.uint8),
          bool(rng.integers(0, 2))) if requant else None
    return QLayer("u", w, b, stride, padding, rq)


CASES = [                    # the first two unfold with the defaults (VGG-16's and the digits net's first layers)(PPS.dense(), 3, 1, 1, 12, 10), (PPS.dense(), 1, 2, 0, 9, 7), (PPS.ps(1), 5, 1, 1, 8, 8),
         (PPS.ps(4, 1), 2, 2, 1, 11, 9), (PPS.dense(), 7, 1, 0, 6, 5)]


@pytest.mark.parametrize("pps, C, s, p, H, W", CASES)
@pytest.mark.parametrize("cfg", [ArrayConfig(), ArrayConfig(ROWS=6, COLS=5, LANES=3, ACT_DEPTH=60)])
def test_unfolded_programs_are_bit_exact(pps, C, s, p, H, W, cfg):
    rng = np.random.default_rng(C * 100 + H)
    layer = _layer(rng, pps, 13, C, s, p, requant=bool(C % 2))
    x = rng.integers(-128, 128, (C, H, W)).astype(np.int8)
    prog = compile_layer(layer, cfg, pps, x=x)
    folded = compile_layer(layer, cfg, pps, x=x, unfold="never")
    unfolded = compile_layer(layer, cfg, pps, x=x, unfold="always")
    assert folded.unfold is None
    if C < cfg.LANES:
        assert unfolded.unfold is not None and unfolded.C == C * len(pps.patterns[0])
        assert "unfolded to" in unfolded.pps_text
        best = min(folded.cycles["total"], unfolded.cycles["total"])
        assert prog.cycles["total"] == best and (prog.unfold is not None) == (unfolded.cycles["total"] < folded.cycles["total"])
    else:
        assert prog.unfold is None and unfolded.unfold is None
    for pr in (prog, folded, unfolded):
        y = pr.unpack_results([run_band(pr, b) for b in pr.bands])
        assert np.array_equal(y, reference_output(layer, x))


def test_unfold_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(5)
    layer = _layer(rng, PPS.dense(), 9, 3, 1, 1, requant=False)
    prog = compile_layer(layer, ArrayConfig(), H=10, W=10)
    assert prog.unfold["C"] == 3 and compile_layer(_layer(rng, PPS.dense(), 9, 1, 2, 0, True), H=9, W=7).unfold and prog.cycles["dense_equivalent"]["total"] == prog.cycles["total"]
    save_program(prog, tmp_path / "u.npz")
    back = load_program(tmp_path / "u.npz")
    assert back.unfold == prog.unfold
    x = rng.integers(-128, 128, (3, 10, 10)).astype(np.int8)
    assert all(np.array_equal(a, b) for a, b in zip(back.activation_streams(x), prog.activation_streams(x)))
    with pytest.raises(ValueError, match=r"input has shape \[27, 10, 10\], program expects \[3, 10, 10\]"):
        prog.set_input(np.zeros((27, 10, 10), np.int8))
    with pytest.raises(ValueError, match="unfold must be"):
        compile_layer(layer, ArrayConfig(), H=10, W=10, unfold=True)
    # several patterns (P > 1) are never unfolded
    assert compile_layer(_layer(rng, PPS.ps(4), 8, 2, 1, 1, False), ArrayConfig(), PPS.ps(4), H=6, W=6).unfold is None
