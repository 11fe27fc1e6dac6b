"""Layer programs: registers, streams, bands, output map, program files (ARCHITECTURE.md 5)."""
import json

import numpy as np
import pytest

from compiler import regs as R
from compiler.config import ArrayConfig
from compiler.funcmodel import run_band
from compiler.layer import QLayer
from compiler.compile import compile_layer
from compiler.progfile import load_program, save_program
from compiler.streams import activation_stream, header_beats
from models.pps import PPS, PPSError
from models.reference import conv2d_int
from tb.env.cases import random_pps


def ceil_div(a, b):
    return -(-a // b)


def pps_layer(rng, pps, F, C, name="L", stride=1, padding=1, requant=False, relu=False):
    w = (rng.integers(-128, 128, (F, C, 3, 3)) * pps.kernel_mask(F, C)).astype(np.int8)
    b = rng.integers(-2 ** 31, 2 ** 31, F).astype(np.int32)
    rq = (rng.integers(0, 65536, F).astype(np.uint16), rng.integers(0, 64, F).astype(np.uint8), relu) \
        if requant else None
    return QLayer(name, w, b, stride, padding, rq)


def test_registers_exact():
    rng = np.random.default_rng(0)
    L = pps_layer(rng, PPS.ps(4), 10, 13, stride=2, padding=1, requant=True, relu=True)
    prog = compile_layer(L, ArrayConfig(), PPS.ps(4), H=9, W=11)
    assert (prog.Hout, prog.Wout) == (5, 6) and len(prog.bands) == 1
    expect = [(0x08, 13), (0x0C, 9), (0x10, 11), (0x14, 5), (0x18, 6), (0x1C, 2), (0x20, 1), (0x24, 1),
              (0x28, 3), (0x2C, 4),
              (0x30, 0x1B), (0x34, 0x36), (0x38, 0xD8), (0x3C, 0x1B0), (0x40, 0), (0x44, 0), (0x48, 0), (0x4C, 0),
              (0x50, 2), (0x54, 3), (0x58, 3), (0x5C, 2), (0x60, 0), (0x64, 0), (0x68, 0), (0x6C, 0),
              (0xFC, 1)]
    assert prog.bands[0].regs == expect
    assert prog.out_filter == [[3, 7], [0, 4, 8], [1, 5, 9], [2, 6]]
    prog = compile_layer(pps_layer(rng, PPS.dense(), 3, 2), ArrayConfig(PMAX=2), None, H=4, W=4, unfold="never")
    assert prog.bands[0].regs == [(0x08, 2), (0x0C, 4), (0x10, 4), (0x14, 4), (0x18, 4), (0x1C, 1),
                                  (0x20, 1), (0x24, 1), (0x28, 0), (0x2C, 1), (0x30, 0x1FF), (0x34, 0),
                                  (0x38, 3), (0x3C, 0), (0xFC, 1)]


def test_header_packing():
    cfg = ArrayConfig(COLS=3)
    h = header_beats(np.array([0x01020304, -1], np.int32), np.array([0xABCD, 7], np.uint16),
                     np.array([63, 1], np.uint8), cfg).view(np.uint8)
    assert h.tolist() == [[0x04, 0x03, 0x02], [0x01, 0xFF, 0xFF], [0xFF, 0xFF, 0], [0, 0, 0],
                          [0xCD, 0xAB, 0x07], [0, 0, 0], [63, 1, 0]]


def independent_stream(layer, pps, cfg):
    """The weight stream rebuilt from sections 3, 4 and 5.3 directly: per channel block, tile t,
    row r carries channel cb*LANES + r mod LANES at its pattern's position t*ROWS/LANES + r div LANES."""
    F, C, P = layer.F, layer.C, pps.period
    L, rpl = cfg.LANES, cfg.ROWS // cfg.LANES
    beats = []
    for g in range(P):
        fl = [f for f in range(F) if (f + pps.offset) % P == g]
        if not fl:
            continue
        pos = [sorted(pps.patterns[(g + c) % P]) for c in range(C)]
        rows = []                                 # (channel, position) or None, tile by tile
        for cb in range(ceil_div(C, L)):
            chans = range(cb * L, min(C, cb * L + L))
            for t in range(ceil_div(max(len(pos[c]) for c in chans), rpl)):
                for r in range(cfg.ROWS):
                    c, j = cb * L + r % L, t * rpl + r // L
                    rows.append((c, pos[c][j]) if c < C and j < len(pos[c]) else None)
        for ct in range(ceil_div(len(fl), cfg.COLS)):
            cols = fl[ct * cfg.COLS:(ct + 1) * cfg.COLS]
            vec = b""
            for j in range(cfg.COLS):
                vec += int(layer.bias[cols[j]] if j < len(cols) else 0).to_bytes(4, "little", signed=True)
            for j in range(cfg.COLS):
                vec += int(layer.requant.M[cols[j]] if j < len(cols) and layer.requant else 0).to_bytes(2, "little")
            for j in range(cfg.COLS):
                vec += int(layer.requant.shift[cols[j]] if j < len(cols) and layer.requant else 0).to_bytes(1, "little")
            beats += [list(vec[k * cfg.COLS:(k + 1) * cfg.COLS]) for k in range(7)]
            for e in rows:
                beats.append([int(layer.weight[cols[j], e[0], e[1] // 3, e[1] % 3]) & 0xFF
                              if e is not None and j < len(cols) else 0 for j in range(cfg.COLS)])
    return np.array(beats, np.uint8).view(np.int8)


@pytest.mark.parametrize("seed", range(12))
def test_weight_stream_layout(seed):
    rng = np.random.default_rng(100 + seed)
    P = int(rng.choice([1, 2, 4, 8]))
    pps = random_pps(rng, P)
    rows = int(rng.integers(1, 10))
    cfg = ArrayConfig(ROWS=rows, COLS=int(rng.integers(1, 10)), LANES=rows)
    L = pps_layer(rng, pps, int(rng.integers(1, 20)), int(rng.integers(1, 20)), requant=bool(seed % 2))
    prog = compile_layer(L, cfg, pps, H=3, W=5)
    assert np.array_equal(prog.bands[0].wgt, independent_stream(L, pps, cfg))
    assert prog.bands[0].wgt.dtype == np.int8


def test_activation_stream_layout():
    cfg = ArrayConfig(LANES=4)
    x = np.arange(6 * 2 * 3).reshape(6, 2, 3).astype(np.int8)
    a = activation_stream(x, cfg)
    assert a.shape == (2 * 2 * 3, 4) and a.dtype == np.int8
    for cb in range(2):
        for y in range(2):
            for xx in range(3):
                beat = a[cb * 6 + y * 3 + xx]
                for lane in range(4):
                    c = cb * 4 + lane
                    assert beat[lane] == (x[c, y, xx] if c < 6 else 0)
    assert np.array_equal(activation_stream(x[None], cfg), a)  # a batch of one
    b2 = activation_stream(np.stack([x, -x]), cfg)             # for cb: for image: for y: for x
    assert np.array_equal(b2.reshape(2, 2, 6, 4)[:, 0], a.reshape(2, 6, 4))
    assert np.array_equal(b2.reshape(2, 2, 6, 4)[:, 1], -a.reshape(2, 6, 4))
    for bad in (x[0], x[None, None]):                         # [H, W] and [1, 1, C, H, W]
        with pytest.raises(ValueError, match=r"activation stream: input must be \[C, H, W\] or \[B, C, H, W\], got shape"):
            activation_stream(bad, cfg)


@pytest.mark.parametrize("seed", range(30))
def test_bands(seed):
    rng = np.random.default_rng(200 + seed)
    s, p = int(rng.integers(1, 3)), int(rng.integers(0, 2))
    C, H, W = int(rng.integers(1, 20)), int(rng.integers(3, 40)), int(rng.integers(3, 30))
    cfg = ArrayConfig(LANES=int(rng.choice([1, 2, 4, 8])), ACT_DEPTH=int(rng.integers(10, 200)),
                      ACC_DEPTH=int(rng.integers(15, 300)))
    L = pps_layer(rng, PPS.ps(4), 5, C, stride=s, padding=p)
    Hout, Wout = (H + 2 * p - 3) // s + 1, (W + 2 * p - 3) // s + 1
    cb, W3 = ceil_div(C, cfg.LANES), ceil_div(W, 3)

    def band_ok(oy0, oy1):
        iy0, iy1 = max(0, oy0 * s - p), min(H, (oy1 - 1) * s - p + 3)
        return cb * ceil_div(iy1 - iy0, 3) * W3 <= cfg.ACT_DEPTH and (oy1 - oy0) * Wout <= cfg.ACC_DEPTH

    def split_ok(n):
        return all(band_ok(o, min(o + n, Hout)) for o in range(0, Hout, n))

    try:
        prog = compile_layer(L, cfg, PPS.ps(4), H=H, W=W)
    except ValueError as e:
        assert not split_ok(1) and f"'{L.name}'" in str(e) and ("ACT_DEPTH" in str(e) or "ACC_DEPTH" in str(e))
        return
    bands = prog.bands
    n = bands[0].Hout
    assert bands[0].oy0 == 0 and bands[-1].oy1 == Hout
    assert all(a.oy1 == b.oy0 for a, b in zip(bands, bands[1:]))
    assert all(b.Hout == n for b in bands[:-1]) and split_ok(n)
    assert all(not split_ok(m) for m in range(n + 1, Hout + 1)), "largest band that fits"
    for b in bands:
        assert b.iy0 == max(0, b.oy0 * s - p) and b.iy1 == min(H, (b.oy1 - 1) * s - p + 3)
        assert b.pad_top == b.iy0 - (b.oy0 * s - p) == (p if b.index == 0 else 0)
        regs = dict(b.regs)
        assert (regs[R.H], regs[R.HOUT], regs[R.W], regs[R.WOUT]) == (b.H, b.Hout, W, Wout)
        assert (regs[R.PAD_TOP], regs[R.PAD_LEFT], regs[R.STRIDE]) == (b.pad_top, p, s)
        assert b.beats() == {"act": cb * b.H * W, "wgt": prog.bands[0].wgt_beats,
                             "res": prog.col_tiles * b.Hout * Wout}
    assert prog.expected_beats() == [b.beats() for b in bands]


def test_beat_counts_formula():
    rng = np.random.default_rng(3)
    cfg = ArrayConfig(ROWS=8, COLS=8, LANES=8)
    L = pps_layer(rng, PPS.ps(4), 20, 13)
    prog = compile_layer(L, cfg, PPS.ps(4), H=7, W=9)
    # PS-4, a row per lane: 2 channel blocks x 4 positions = 8 tiles per group; F_g = 5 each -> 1 column tile
    assert prog.bands[0].beats() == {"act": 2 * 7 * 9, "wgt": 4 * (7 + 8 * 8), "res": 4 * 7 * 9}
    assert prog.bands[0].passes == 32


def test_compile_errors():
    rng = np.random.default_rng(4)
    L = pps_layer(rng, PPS.ps(4), 6, 10, name="conv7")
    cfg = ArrayConfig()
    with pytest.raises(ValueError, match="'conv7'.*ACT_DEPTH=4"):
        compile_layer(L, cfg.replace(ACT_DEPTH=4), H=8, W=30)
    with pytest.raises(ValueError, match="'conv7'.*ACC_DEPTH=7"):
        compile_layer(L, cfg.replace(ACC_DEPTH=7), H=8, W=8)
    with pytest.raises(ValueError, match="'conv7'.*DIM_BITS"):
        compile_layer(L, cfg.replace(DIM_BITS=4, ACC_DEPTH=10 ** 5, ACT_DEPTH=10 ** 5), H=3, W=16)
    with pytest.raises(ValueError, match="'conv7'.*CH_BITS"):
        compile_layer(L, cfg.replace(CH_BITS=3), H=3, W=3)
    with pytest.raises(PPSError, match="'conv7'.*PMAX=2"):
        compile_layer(L, cfg.replace(PMAX=2), PPS.ps(4), H=3, W=3)
    with pytest.raises(PPSError, match="'conv7'.*filter"):
        compile_layer(L, cfg, PPS.ps(1), H=3, W=3)
    with pytest.raises(ValueError, match="PMAX=27"):
        compile_layer(L, cfg.replace(PMAX=27), H=3, W=3)
    with pytest.raises(ValueError, match="'conv7'.*input size is unknown"):
        compile_layer(L, cfg, H=3)
    with pytest.raises(ValueError, match="'conv7'.*disagree"):
        compile_layer(L, cfg, H=4, W=3, x=np.zeros((10, 3, 3), np.int8))
    with pytest.raises(ValueError, match="'conv7'.*input has shape"):
        compile_layer(L, cfg, x=np.zeros((9, 3, 3), np.int8))
    with pytest.raises(ValueError, match="smaller than the 3x3 kernel"):
        compile_layer(QLayer("p0", L.weight, padding=0), cfg, H=2, W=5)
    with pytest.raises(ValueError, match="QLayer"):
        compile_layer("conv", cfg, H=3, W=3)


def test_unpack_results_checks():
    rng = np.random.default_rng(5)
    cfg = ArrayConfig(ROWS=4, COLS=3, LANES=2, ACC_DEPTH=20)
    L = pps_layer(rng, PPS.ps(2, 4, 1), 7, 5)
    x = rng.integers(-128, 128, (5, 6, 5)).astype(np.int8)
    prog = compile_layer(L, cfg, x=x)
    assert len(prog.bands) == 2
    res = [run_band(prog, b) for b in prog.bands]
    Y = prog.unpack_results(res)
    assert np.array_equal(Y, conv2d_int(x, L.weight, L.bias, 1, 1))
    with pytest.raises(ValueError, match="1 band"):
        prog.unpack_results(res[:1])
    with pytest.raises(ValueError, match="band 1: got .* result beats, expected"):
        prog.unpack_results([res[0], res[1][:-1]])
    with pytest.raises(ValueError, match="band 0: result beats have shape"):
        prog.unpack_results([res[0][:, :2], res[1]])
    with pytest.raises(ValueError, match="dtype"):
        prog.unpack_results([res[0].astype(np.float32), res[1]])
    with pytest.raises(ValueError, match="input has shape"):
        prog.activation_streams(x[:, :5])


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    cfg = ArrayConfig(ROWS=6, COLS=3, LANES=2, ACT_DEPTH=30)
    L = pps_layer(rng, PPS.psd(2, 4, 3), 8, 7, name="blk.conv", stride=2, requant=True, relu=True)
    x = rng.integers(-128, 128, (7, 15, 9)).astype(np.int8)
    for with_x in (True, False):
        prog = compile_layer(L, cfg, x=x) if with_x else compile_layer(L, cfg, H=15, W=9)
        assert len(prog.bands) > 1
        path = tmp_path / f"p{with_x}.npz"
        save_program(prog, path)
        z = np.load(path, allow_pickle=False)
        names = set(z.files)
        assert {"meta"} | {f"regs_{i}" for i in range(len(prog.bands))} <= names
        assert any(n.startswith("act_") for n in names) == with_x
        assert z["regs_0"].dtype == np.uint32 and z["regs_0"].shape[1] == 2 and z["wgt_0"].dtype == np.int8
        meta = json.loads(str(z["meta"]))
        assert meta["layer"]["C"] == 7 and meta["pps"]["patterns"] == [list(p) for p in prog.pps.patterns]
        assert meta["out_filter"] == prog.out_filter and meta["cycles"]["total"] == prog.cycles["total"]
        back = load_program(path)
        for k in ("name", "cfg", "C", "F", "H", "W", "Hout", "Wout", "stride", "padding", "requant", "relu",
                  "pps", "out_filter", "cycles"):
            assert getattr(back, k) == getattr(prog, k), k
        for a, b in zip(prog.bands, back.bands):
            assert a.regs == b.regs and np.array_equal(a.wgt, b.wgt) and a.beats() == b.beats()
            assert (a.oy0, a.oy1, a.iy0, a.iy1, a.pad_top, a.passes) == (b.oy0, b.oy1, b.iy0, b.iy1, b.pad_top, b.passes)
            assert (a.act is None and b.act is None) or np.array_equal(a.act, b.act)
        if with_x:
            Y = back.unpack_results([run_band(back, b) for b in back.bands])
            from models.quant import requantize
            ref = requantize(conv2d_int(x, L.weight, None, 2, 1), L.bias, L.requant.M, L.requant.shift, True)
            assert np.array_equal(Y.astype(np.int8), ref)
        else:
            with pytest.raises(ValueError, match="no activation stream"):
                run_band(back, back.bands[0])
            assert np.array_equal(back.set_input(x).bands[0].act, prog.activation_streams(x)[0])


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        load_program(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read"):
        load_program(tmp_path / "junk.npz")
    np.savez(tmp_path / "nometa.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="no 'meta'"):
        load_program(tmp_path / "nometa.npz")
    np.savez(tmp_path / "badver.npz", meta=np.array(json.dumps({"format": "x", "version": 9})))
    with pytest.raises(ValueError, match="malformed"):
        load_program(tmp_path / "badver.npz")
    rng = np.random.default_rng(0)
    prog = compile_layer(pps_layer(rng, PPS.ps(4), 4, 4), ArrayConfig(), H=3, W=3)
    save_program(prog, tmp_path / "ok.npz")
    z = dict(np.load(tmp_path / "ok.npz"))
    z["wgt_0"] = z["wgt_0"][:-1]
    np.savez(tmp_path / "short.npz", **z)
    with pytest.raises(ValueError, match="malformed.*weight beats"):
        load_program(tmp_path / "short.npz")
    L = pps_layer(rng, PPS.ps(4), 4, 4)
    save_program(compile_layer(L, ArrayConfig(), PPS.ps(4), x=np.ones((4, 3, 3), np.int8)), tmp_path / "okx.npz")
    z = dict(np.load(tmp_path / "okx.npz"))
    n = z["act_0"].shape[0]
    z["act_0"] = z["act_0"][:-1]
    np.savez(tmp_path / "shortact.npz", **z)
    with pytest.raises(ValueError, match=f"malformed: band 0: {n - 1} activation beats, meta says {n}"):
        load_program(tmp_path / "shortact.npz")
    z = dict(np.load(tmp_path / "okx.npz"))
    meta = json.loads(str(z["meta"]))
    meta["out_filter"] = meta["out_filter"] + [[]]           # a group more than the PPS has
    z["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "badgroups.npz", **z)
    with pytest.raises(ValueError, match="malformed: out_filter .* is not the phase grouping of F=4"):
        load_program(tmp_path / "badgroups.npz")


def test_batch_round_trip_and_version_1(tmp_path):
    """A batched program keeps its batch through the file; a version 1 file (before BATCH) reads as
    batch 1 with BATCH = 1 added to its registers."""
    rng = np.random.default_rng(8)
    L = pps_layer(rng, PPS.ps(4), 6, 5)
    xs = rng.integers(-128, 128, (3, 5, 4, 4)).astype(np.int8)
    prog = compile_layer(L, ArrayConfig(), PPS.ps(4), x=xs)
    save_program(prog, tmp_path / "b.npz")
    back = load_program(tmp_path / "b.npz")
    assert back.batch == 3 and back.bands[0].regs == prog.bands[0].regs and back.cycles == prog.cycles
    Y = back.unpack_results([run_band(back, b) for b in back.bands])
    assert Y.shape == (3, 6, 4, 4)
    for i in range(3):
        assert np.array_equal(Y[i], conv2d_int(xs[i], L.weight, L.bias, 1, 1))
    one = compile_layer(L, ArrayConfig(), PPS.ps(4), x=xs[0])
    save_program(one, tmp_path / "v2.npz")
    z = dict(np.load(tmp_path / "v2.npz"))
    meta = json.loads(str(z["meta"]))
    meta["version"] = 1
    del meta["batch"]
    z["meta"] = np.array(json.dumps(meta))
    z["regs_0"] = z["regs_0"][z["regs_0"][:, 0] != R.BATCH]
    np.savez(tmp_path / "v1.npz", **z)
    old = load_program(tmp_path / "v1.npz")
    assert old.batch == 1 and old.bands[0].regs == one.bands[0].regs
