"""The functional model against the independent reference (models.reference / models.quant),
bit-exact, over random layers, PPS and array configurations; and its stream checks."""
import numpy as np
import pytest

from compiler import regs as R
from compiler.config import ArrayConfig
from compiler.funcmodel import run_layer_model, run_program
from compiler.layer import QLayer
from compiler.compile import compile_layer
from compiler.walker import tile_plan
from models.pps import PPS
from models.quant import requantize
from models.reference import conv2d_int
from tb.env.cases import random_lanes, random_pps


def make_case(seed):
    rng = np.random.default_rng(seed)
    kind = seed % 8
    if kind == 0:
        pps = PPS.dense()
    elif kind == 1:
        pps = PPS.psd(int(rng.choice([1, 2, 4])), int(rng.choice([2, 4, 8])), int(rng.integers(0, 8)))
    elif kind == 2:
        pps = PPS.ps(int(rng.choice([1, 2, 4])), int(rng.choice([1, 2, 4, 8])), int(rng.integers(0, 8)))
    else:
        pps = random_pps(rng, int(rng.choice([1, 2, 4, 8])), [1, 2, 4, None][seed % 4])
    cfgk = (seed // 8) % 4
    if cfgk == 0:
        cfg = ArrayConfig()
    elif cfgk == 1:   # LANES < ROWS: several rows per lane; odd ROWS/COLS
        rows = int(rng.choice([6, 9, 10]))
        cfg = ArrayConfig(ROWS=rows, COLS=int(rng.choice([3, 5, 7])),
                          LANES=int(rng.choice([d for d in (1, 2, 3) if rows % d == 0])))
    elif cfgk == 2:   # small buffers: several bands
        rows = int(rng.integers(2, 9))
        cfg = ArrayConfig(ROWS=rows, COLS=int(rng.integers(1, 9)),
                          LANES=random_lanes(rng, rows), ACT_DEPTH=int(rng.integers(12, 40)),
                          ACC_DEPTH=int(rng.integers(13, 60)))
    else:
        rows = int(rng.integers(1, 12))
        cfg = ArrayConfig(ROWS=rows, COLS=int(rng.integers(1, 12)),
                          LANES=random_lanes(rng, rows), ACC_DEPTH=int(rng.integers(40, 200)))
    C, F = int(rng.integers(1, 24)), int(rng.integers(1, 24))
    s, p = int(rng.integers(1, 3)), int(rng.integers(0, 2))
    H, W = (int(rng.integers(3 - 2 * p, 14)) | 1 if seed % 3 else int(rng.integers(3 - 2 * p, 14)),
            int(rng.integers(3 - 2 * p, 14)) | (seed % 2))
    w = (rng.integers(-128, 128, (F, C, 3, 3)) * pps.kernel_mask(F, C)).astype(np.int8)
    b = rng.integers(-2 ** 24, 2 ** 24, F).astype(np.int32)
    x = rng.integers(-128, 128, (C, H, W)).astype(np.int8)
    rq = None
    if seed % 5 in (1, 3):
        rq = (rng.integers(0, 1 << 16, F).astype(np.uint16), rng.integers(0, 40, F).astype(np.uint8),
              bool(seed % 5 == 3))
    return cfg, pps, QLayer(f"case{seed}", w, b, s, p, rq), x


SEEDS = list(range(160))


def reference(layer, x):
    if layer.requant is None:
        return conv2d_int(x, layer.weight, layer.bias, layer.stride, layer.padding)
    acc = conv2d_int(x, layer.weight, None, layer.stride, layer.padding)
    return requantize(acc, layer.bias, layer.requant.M, layer.requant.shift, layer.requant.relu)


@pytest.mark.parametrize("seed", SEEDS)
def test_model_matches_reference(seed):
    cfg, pps, layer, x = make_case(seed)
    try:
        prog = compile_layer(layer, cfg, pps, x=x)
    except ValueError as e:      # a one-row band does not fit the tiny buffers: a valid outcome
        assert ("ACT_DEPTH" in str(e) or "ACC_DEPTH" in str(e)) and f"'case{seed}'" in str(e)
        return
    results = [run_program(b.regs, b.wgt, b.act, cfg) for b in prog.bands]
    for b, r in zip(prog.bands, results):
        assert r.dtype == np.int32 and r.shape == (b.res_beats, cfg.COLS)
        assert b.act.shape == (b.act_beats, cfg.LANES) and b.wgt.shape == (b.wgt_beats, cfg.COLS)
    Y = prog.unpack_results(results)
    ref = reference(layer, x)
    if layer.requant is not None:
        Y = Y.astype(np.int8)
        assert Y.dtype == ref.dtype == np.int8
    assert np.array_equal(Y, ref)
    # an inferred PPS gives the same result: the cheapest cover ("any") always, "auto" (a regular
    # PPS) when the layer's PPS is regular
    modes = ["any"] + (["auto"] if pps.is_regular else [])
    for mode in modes:
        Y2 = run_layer_model(layer, x, cfg, mode)
        assert np.array_equal(Y2, ref) and Y2.dtype == ref.dtype, mode


def test_cases_cover_the_interesting_configurations():
    bands, lanes_rule, both_strides, pads = 0, 0, set(), set()
    for seed in SEEDS:
        cfg, pps, layer, x = make_case(seed)
        try:
            prog = compile_layer(layer, cfg, pps, H=x.shape[1], W=x.shape[2])
        except ValueError:
            continue
        bands += len(prog.bands) > 1
        both_strides.add(layer.stride)
        pads.add(layer.padding)
        for g in range(pps.period):
            tiles = tile_plan(pps.period, pps.masks, layer.C, cfg, g)
            lanes_rule += any(None in t for t in tiles[:-1])
    assert bands >= 10 and lanes_rule >= 5 and both_strides == {1, 2} and pads == {0, 1}


def test_bias_wrap_and_requant_edges():
    """acc + bias wraps in int32; requant rounding ties up, shift 0 and 63, ReLU, clamps."""
    cfg = ArrayConfig(ROWS=4, COLS=3, LANES=2)
    rng = np.random.default_rng(11)
    F, C = 6, 3
    w = rng.integers(-128, 128, (F, C, 3, 3)).astype(np.int8)
    x = rng.integers(-128, 128, (C, 5, 5)).astype(np.int8)
    b = np.array([2 ** 31 - 1, -2 ** 31, 0, 5, -7, 2 ** 30], np.int32)
    acc = conv2d_int(x, w, None, 1, 1).astype(np.int64)
    Y = run_layer_model(QLayer("wrap", w, b, 1, 1), x, cfg)
    assert np.array_equal(Y, ((acc + b[:, None, None] + 2 ** 31) % 2 ** 32 - 2 ** 31).astype(np.int32))
    M = np.array([65535, 1, 3, 0, 40000, 2], np.uint16)
    sh = np.array([63, 0, 1, 5, 20, 2], np.uint8)
    for relu in (False, True):
        Y = run_layer_model(QLayer("rq", w, b, 1, 1, (M, sh, relu)), x, cfg)
        assert Y.dtype == np.int8
        assert np.array_equal(Y, requantize(conv2d_int(x, w, None, 1, 1), b, M, sh, relu))


def hand_program(w_center, bias, x3x3):
    """A program written by hand from ARCHITECTURE.md (not by the compiler): ROWS=COLS=LANES=1,
    C=1, 3x3 input, stride 1, no padding, P=1 pattern {4}: out = w * x[1][1] + bias."""
    cfg = ArrayConfig(ROWS=1, COLS=1, LANES=1, PMAX=2)
    regs = {R.C: 1, R.H: 3, R.W: 3, R.HOUT: 1, R.WOUT: 1, R.STRIDE: 1, R.PAD_TOP: 0, R.PAD_LEFT: 0,
            R.MODE: 0, R.NPAT: 1, 0x30: 1 << 4, 0x34: 0, 0x38: 1, 0x3C: 0, R.BATCH: 1}
    hdr = list(int(bias).to_bytes(4, "little", signed=True)) + [0, 0, 0]
    wgt = np.array([[v] for v in hdr] + [[w_center & 0xFF]], np.uint8).view(np.int8)
    act = np.asarray(x3x3, np.int8).reshape(9, 1)
    return regs, wgt, act, cfg


def test_hand_written_program():
    x = np.arange(9).reshape(3, 3) - 4
    regs, wgt, act, cfg = hand_program(-3, 1000, x)
    out = run_program(regs, wgt, act, cfg)
    assert out.tolist() == [[-3 * x[1, 1] + 1000]]
    regs[R.MODE] = 3                                   # requant + relu with M=0 -> 0
    assert run_program(regs, wgt, act, cfg).tolist() == [[0]]
    # BATCH = 2 by hand: the second image follows the first in the stream, its result the first's
    regs[R.MODE], regs[R.BATCH] = 0, 2
    out = run_program(regs, wgt, np.concatenate([act, -act]), cfg)
    assert out.tolist() == [[-3 * x[1, 1] + 1000], [3 * x[1, 1] + 1000]]


def test_stream_length_errors():
    regs, wgt, act, cfg = hand_program(1, 1, np.ones((3, 3)))
    with pytest.raises(ValueError, match="activation stream: too few beats: got 8, expected 9"):
        run_program(regs, wgt, act[:8], cfg)
    with pytest.raises(ValueError, match="activation stream: too many beats: got 10"):
        run_program(regs, wgt, np.concatenate([act, act[:1]]), cfg)
    with pytest.raises(ValueError, match="weight stream: too few beats: got 7, expected 8"):
        run_program(regs, wgt[:7], act, cfg)
    with pytest.raises(ValueError, match="weight stream: too many beats"):
        run_program(regs, np.concatenate([wgt, wgt]), act, cfg)
    with pytest.raises(ValueError, match="activation stream: beats have shape"):
        run_program(regs, wgt, act.reshape(1, 9), cfg)
    with pytest.raises(ValueError, match="weight stream: beats have shape"):
        run_program(regs, wgt.reshape(1, 8), act, cfg)


def test_header_requant_shift_range():
    """The header's shift byte (beat 6 with COLS=1) is used as is up to 63; above, the stream is bad."""
    regs, wgt, act, cfg = hand_program(1, 1, np.ones((3, 3)))    # acc + bias = 1 * 1 + 1 = 2
    regs[R.MODE] = R.MODE_REQUANT
    wgt = wgt.view(np.uint8).copy()
    wgt[4:6, 0] = [3, 0]                                          # M = 3 (little-endian)
    for sh, expect in ((1, 3), (2, 2), (63, 0)):                  # (6 + 2**(sh-1)) >> sh
        wgt[6, 0] = sh
        assert run_program(regs, wgt.view(np.int8), act, cfg).tolist() == [[expect]]
    for sh in (64, 255):
        wgt[6, 0] = sh
        with pytest.raises(ValueError, match=f"weight stream: requant shift {sh} > 63 in a header"):
            run_program(regs, wgt.view(np.int8), act, cfg)


@pytest.mark.parametrize("change, word", [
    ({R.NPAT: 0}, "NPAT"), ({R.NPAT: 3}, "NPAT"), ({0x30: 0}, "PAT\\[0\\]"), ({0x30: 512}, "PAT\\[0\\]"),
    ({R.STRIDE: 3}, "STRIDE"), ({R.PAD_TOP: 2}, "PAD_TOP"), ({R.MODE: 4}, "MODE"), ({R.C: 0}, "C="),
    ({R.H: 1024}, "H="), ({0x38: 0}, "every FG"), ({0x3C: 1}, "FG\\[1\\]"), ({R.HOUT: 4}, "HOUT"),
    ({0x40: 0}, "unknown"), ({R.WOUT: None}, "missing"), ({R.BATCH: 0}, "BATCH"), ({R.BATCH: 10 ** 6}, "BATCH"),
])
def test_register_errors(change, word):
    regs, wgt, act, cfg = hand_program(1, 1, np.ones((3, 3)))
    for k, v in change.items():
        if v is None:
            del regs[k]
        else:
            regs[k] = v
    with pytest.raises(ValueError, match=word):
        run_program(regs, wgt, act, cfg)


def test_buffer_capacity_errors():
    regs, wgt, act, cfg = hand_program(1, 1, np.ones((3, 3)))
    wide = dict(regs)
    wide[R.W], wide[R.WOUT] = 4, 2                     # 2 output pixels > ACC_DEPTH=1
    with pytest.raises(ValueError, match="ACC_DEPTH=1"):
        run_program(wide, wgt, np.ones((12, 1), np.int8), cfg.replace(ACC_DEPTH=1))
    tall = dict(regs)
    tall[R.H], tall[R.HOUT] = 7, 5                     # ceil(7/3) = 3 words > ACT_DEPTH=2
    with pytest.raises(ValueError, match="ACT_DEPTH=2"):
        run_program(tall, wgt, np.ones((21, 1), np.int8), cfg.replace(ACT_DEPTH=2))


@pytest.mark.parametrize("pps, C, F, H, W, s", [
    (PPS.ps(4), 64, 64, 16, 16, 1),
    (PPS.psd(), 96, 24, 31, 33, 1),          # needs bands with the default buffers
    (PPS.ps(2, 8, 3), 40, 36, 33, 17, 2),
])
def test_larger_layers_default_config(pps, C, F, H, W, s):
    rng = np.random.default_rng(C + F)
    cfg = ArrayConfig()
    w = (rng.integers(-128, 128, (F, C, 3, 3)) * pps.kernel_mask(F, C)).astype(np.int8)
    b = rng.integers(-2 ** 20, 2 ** 20, F).astype(np.int32)
    x = rng.integers(-128, 128, (C, H, W)).astype(np.int8)
    layer = QLayer("big", w, b, s, 1)
    prog = compile_layer(layer, cfg, x=x)
    assert np.array_equal(prog.pps.kernel_mask(F, C), pps.kernel_mask(F, C))
    Y = prog.unpack_results([run_program(bd.regs, bd.wgt, bd.act, cfg) for bd in prog.bands])
    assert np.array_equal(Y, conv2d_int(x, w, b, s, 1))
    if C == 96:
        assert len(prog.bands) > 1


@pytest.mark.parametrize("seed", SEEDS[:64])
def test_batch_matches_reference_per_image(seed):
    """A batch of B images in one program (BATCH = B): every pass runs over all of them while the
    weights stay; each image's output equals the reference of that image alone."""
    cfg, pps, layer, x = make_case(seed)
    rng = np.random.default_rng(1000 + seed)
    B = int(rng.integers(2, 5))
    xs = np.stack([x] + [rng.integers(-128, 128, x.shape).astype(np.int8) for _ in range(B - 1)])
    try:
        prog = compile_layer(layer, cfg, pps, x=xs)
    except ValueError as e:      # the batch does not fit the (tiny) buffers even as one-row bands
        assert ("ACT_DEPTH" in str(e) or "ACC_DEPTH" in str(e)) and f"'case{seed}'" in str(e)
        return
    assert prog.batch == B and prog.input_shape()[0] == B
    regs = R.decode(prog.bands[0].regs, cfg)
    assert regs["BATCH"] == B
    results = [run_program(b.regs, b.wgt, b.act, cfg) for b in prog.bands]
    for b, r in zip(prog.bands, results):
        assert r.shape == (b.res_beats, cfg.COLS) and b.act.shape == (b.act_beats, cfg.LANES)
    Y = prog.unpack_results(results)
    assert Y.shape == (B, layer.F) + layer.out_size(x.shape[1], x.shape[2])
    for i in range(B):
        ref = reference(layer, xs[i])
        assert np.array_equal(Y[i].astype(ref.dtype), ref), f"image {i}"
    Y2 = run_layer_model(layer, xs, cfg, pps)
    assert np.array_equal(Y2.astype(np.int64), Y.astype(np.int8 if layer.requant is not None else np.int32))


def test_batch_streams_and_errors():
    """The batched activation stream is for cb: for image: for y: for x; a batch that cannot fit
    says so; a wrong batch or input shape is refused."""
    cfg = ArrayConfig(ROWS=4, COLS=3, LANES=2)
    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, (5, 3, 3, 3)).astype(np.int8)
    L = QLayer("b", w, np.zeros(5, np.int32), 1, 1)
    xs = rng.integers(-128, 128, (3, 3, 4, 5)).astype(np.int8)
    prog = compile_layer(L, cfg, PPS.dense(), x=xs, unfold="never")
    act = prog.bands[0].act.reshape(2, 3, 4, 5, 2)              # [cb, image, y, x, lane]
    assert np.array_equal(act[0, :, :, :, 0], xs[:, 0]) and np.array_equal(act[1, :, :, :, 0], xs[:, 2])
    assert np.all(act[1, :, :, :, 1] == 0)                       # channel 3 does not exist
    one = compile_layer(L, cfg, PPS.dense(), x=xs[0], unfold="never")
    assert one.batch == 1 and prog.cycles["total"] < 3 * one.cycles["total"]
    with pytest.raises(ValueError, match="batch=2 disagrees"):
        compile_layer(L, cfg, PPS.dense(), x=xs, batch=2)
    with pytest.raises(ValueError, match="batch=2 needs an input"):
        compile_layer(L, cfg, PPS.dense(), x=xs[0], batch=2)
    with pytest.raises(ValueError, match="program expects \\[3, 3, 4, 5\\]"):
        prog.set_input(xs[:2])
    with pytest.raises(ValueError, match="ACC_DEPTH"):
        compile_layer(L, cfg.replace(ACC_DEPTH=12), PPS.dense(), x=xs)
