"""sps show (compiler.show): the beat maps it prints are checked against the streams themselves and
against the functional model's results, on a layer with several bands, groups and column tiles."""
import numpy as np
import pytest

from compiler import regs as R
from compiler.config import ArrayConfig
from compiler.funcmodel import run_band
from compiler.layer import QLayer
from compiler.compile import compile_layer
from compiler.progfile import save_program
from compiler.show import act_beat, res_beat, weight_segments
from sps.cli import main as sps
from models.pps import PPS
from models.quant import requantize
from models.reference import conv2d_int


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    rng = np.random.default_rng(4)
    cfg = ArrayConfig(ROWS=6, COLS=3, LANES=3, ACT_DEPTH=30, ACC_DEPTH=40)
    pps = PPS.psd(2, 4, 1, 2)
    F, C, H, W = 14, 7, 11, 9
    w = (rng.integers(-128, 128, (F, C, 3, 3)) * pps.kernel_mask(F, C)).astype(np.int8)
    b = rng.integers(-9000, 9000, F).astype(np.int32)
    M = rng.integers(1, 1 << 16, F).astype(np.uint16)
    sh = rng.integers(10, 20, F).astype(np.uint8)
    layer = QLayer("show", w, b, 1, 1, (M, sh, False))
    x = rng.integers(-128, 128, (C, H, W)).astype(np.int8)
    prog = compile_layer(layer, cfg, pps, x=x)
    path = tmp_path_factory.mktemp("show") / "p.npz"
    save_program(prog, path)
    return layer, x, prog, path


def test_case_is_interesting(case):
    _, _, prog, _ = case
    assert len(prog.bands) > 1 and prog.pps.period == 4 and max(prog.fg) > prog.cfg.COLS


def test_weight_map_matches_the_stream(case):
    layer, _, prog, _ = case
    cols = prog.cfg.COLS
    segs = weight_segments(prog)
    assert segs[0]["first"] == 0 and segs[-1]["last"] == prog.bands[0].wgt_beats - 1
    assert all(a["last"] + 1 == b["first"] for a, b in zip(segs, segs[1:]))   # contiguous
    wgt = prog.bands[0].wgt
    for s in segs:
        f = np.asarray(s["filters"])
        if s["kind"] == "header":
            raw = wgt[s["first"]:s["last"] + 1].view(np.uint8).reshape(-1)
            assert np.array_equal(raw[:4 * cols].view("<i4")[:len(f)], layer.bias[f])
            assert np.array_equal(raw[4 * cols:6 * cols].view("<u2")[:len(f)], layer.requant.M[f])
            assert np.array_equal(raw[6 * cols:7 * cols][:len(f)], layer.requant.shift[f])
            continue
        for r, e in enumerate(s["rows"]):
            beat = wgt[s["first"] + r]
            want = np.zeros(cols, np.int8)
            if e is not None:
                c, pos = e
                want[:len(f)] = layer.weight[f, c, pos // 3, pos % 3]
            assert np.array_equal(beat, want), (s, r)


def test_activation_and_result_maps(case):
    layer, x, prog, _ = case
    ref = requantize(conv2d_int(x, layer.weight, None, 1, 1), layer.bias, layer.requant.M,
                     layer.requant.shift, False)
    L = prog.cfg.LANES
    for bi, band in enumerate(prog.bands):
        for n in range(band.act_beats):
            cb, img, y, xx = act_beat(prog, bi, n)
            assert img == 0
            for l in range(L):
                c = cb * L + l
                assert band.act[n, l] == (x[c, y, xx] if c < prog.C else 0)
        res = run_band(prog, band)
        for n in range(band.res_beats):
            g, ct, cols, img, oy, ox = res_beat(prog, bi, n)
            assert img == 0
            assert cols == prog.out_filter[g][ct * prog.cfg.COLS:(ct + 1) * prog.cfg.COLS]
            assert np.array_equal(res[n, :len(cols)], ref[cols, oy, ox])


def test_cli(case, capsys):
    _, _, prog, path = case
    last = prog.bands[0].wgt_beats - 1
    assert sps(["show", str(path), "--tiles", "--map", "--band", "1", "--wgt-beat", "0", "--wgt-beat", str(last),
                 "--act-beat", "3", "--res-beat", "0"]) == 0
    out = capsys.readouterr().out
    assert "PPS: PSD/P4" in out and "registers (band 1)" in out and f"PAD_TOP={prog.bands[1].pad_top}" in out
    assert "L_0 has" in out and "weight stream beats" in out
    assert "header beat 0: bias vector bytes 0..2" in out and "(last beat of the stream: TLAST)" in out
    assert "act beat 3 (band 1)" in out and "res beat 0 (band 1): group 0 column tile 0" in out
    d = R.decode(prog.bands[1].regs, prog.cfg)
    assert f"HOUT={d['HOUT']}" in out


@pytest.mark.parametrize("args, words", [
    (["--band", "9"], "--band 9: the program has"),
    (["--wgt-beat", "-1"], "--wgt-beat -1: the weight stream has"),
    (["--act-beat", "100000"], "--act-beat 100000"),
    (["--res-beat", "100000"], "--res-beat 100000"),
])
def test_cli_errors(case, capsys, args, words):
    _, _, _, path = case
    assert sps(["show", str(path)] + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps show: error: ") and words in err and err.count("\n") == 1


def test_cli_unreadable_file(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a program")
    assert sps(["show", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps show: error: program file") and err.count("\n") == 1


def test_batch_maps(tmp_path, capsys):
    """With a batch, the activation and result beat maps name the image, checked against the streams
    and the functional model."""
    rng = np.random.default_rng(5)
    cfg = ArrayConfig(ROWS=4, COLS=3, LANES=2, ACT_DEPTH=60, ACC_DEPTH=80)
    F, C, H, W = 5, 3, 6, 5
    w = rng.integers(-128, 128, (F, C, 3, 3)).astype(np.int8)
    layer = QLayer("showb", w, rng.integers(-99, 99, F).astype(np.int32), 1, 1)
    xs = rng.integers(-128, 128, (3, C, H, W)).astype(np.int8)
    prog = compile_layer(layer, cfg, PPS.dense(), x=xs, unfold="never")
    assert prog.batch == 3 and len(prog.bands) > 1
    for bi, band in enumerate(prog.bands):
        for n in range(band.act_beats):
            cb, img, y, xx = act_beat(prog, bi, n)
            for l in range(cfg.LANES):
                c = cb * cfg.LANES + l
                assert band.act[n, l] == (xs[img, c, y, xx] if c < C else 0)
        res = run_band(prog, band)
        for n in range(band.res_beats):
            g, ct, cols, img, oy, ox = res_beat(prog, bi, n)
            ref = conv2d_int(xs[img], w, layer.bias, 1, 1)
            assert np.array_equal(res[n, :len(cols)], ref[cols, oy, ox])
    save_program(prog, tmp_path / "b.npz")
    assert sps(["show", str(tmp_path / "b.npz"), "--act-beat", "31", "--res-beat", "31"]) == 0
    out = capsys.readouterr().out
    assert "batch of 3 images per band" in out and "BATCH=3" in out
    assert "act beat 31 (band 0): channel block 0 (channels 0..1, byte l = channel 0 + l), image 1, " in out
    assert "res beat 31 (band 0): group 0 column tile 0, image 1, output pixel (row 1, column 1)" in out
