"""The cycle model: structure and invariants. Its agreement with the RTL counters is checked by the
RTL tests (tb/top/test_sps_top.py) and reported by `make bench`."""
import numpy as np

from compiler.config import ArrayConfig
from compiler.layer import QLayer
from compiler.perf import (DONE_LAT, DRAIN_LAT, OUT_LAT, RUN_LAT, dense_equivalent, geom_cycles,
                           predict_cycles)
from compiler.compile import compile_layer
from models.pps import PPS
from tb.env.cases import random_lanes, random_pps


def layer(pps, F, C, **kw):
    rng = np.random.default_rng(0)
    return QLayer("p", (rng.integers(-9, 9, (F, C, 3, 3)) * pps.kernel_mask(F, C)).astype(np.int8), **kw)


def test_breakdown_single_band():
    cfg = ArrayConfig()
    prog = compile_layer(layer(PPS.ps(4), 32, 16), cfg, PPS.ps(4), H=16, W=16)
    c = predict_cycles(prog, cfg)
    npix = 256
    passes = 4 * 1 * 8                       # 4 groups x 1 column tile x 2 channel blocks x 4 positions
    assert c["passes"] == passes and c["pass_cycles"] == passes * npix
    assert c["act_load"] == 2 * 256 and c["bubbles"] == 0
    assert geom_cycles(cfg) == 13 + 11 + 12           # / 3, / LANES; H3 x W3; x ceil(C / LANES)
    assert c["start"] == geom_cycles(cfg) + 512 + RUN_LAT + 1   # weights are ready before the activations
    # the last column tile drains after its last pass has left the array (fill: the pipeline)
    assert c["fill"] == 8 + 8 + DONE_LAT + cfg.pe_sum_lat
    # two MACs per DSP: the products are separated in a stage of their own, one cycle more
    packed = predict_cycles(prog, cfg.replace(MACS_PER_DSP=2))
    assert packed["fill"] == c["fill"] + 1 and packed["total"] == c["total"] + 1
    assert c["drain"] == c["fill"] + DRAIN_LAT + (npix - 1) + OUT_LAT
    assert c["total"] == c["start"] + passes * npix + c["drain"]
    assert c["macs"] == c["macs_issued"] == 4 * 32 * 16 * npix
    assert c["ideal"] == -(-c["macs"] // 64) <= c["total"]
    d = c["dense_equivalent"]
    assert d == dense_equivalent(prog) and d["passes"] == 4 * 18 and d["macs"] == 9 * 32 * 16 * npix
    assert c["speedup_vs_dense"] > 2.0
    assert prog.cycles == c


def test_bubbles_and_bands():
    cfg = ArrayConfig(ROWS=8, COLS=4, LANES=4, ACC_DEPTH=6)
    prog = compile_layer(layer(PPS.ps(1, 2), 6, 9, stride=2), cfg, PPS.ps(1, 2), H=5, W=5)
    c = predict_cycles(prog)
    assert len(c["bands"]) == len(prog.bands) > 1
    assert c["total"] == sum(b["total"] for b in c["bands"])
    for b, band in zip(c["bands"], prog.bands):
        assert b["total"] == b["start"] + b["pass_cycles"] + b["bubbles"] + b["drain"]
        assert b["pass_cycles"] == b["passes"] * band.Hout * prog.Wout
        npix = band.Hout * prog.Wout
        assert npix < 8 and b["bubbles"] > 0          # passes shorter than a tile load
        assert b["passes"] == band.passes
        # the stream lengths the energy model counts from are the program's
        assert (b["act_load"], b["wgt_beats"], b["res_beats"]) == (band.act_beats, band.wgt_beats, band.res_beats)
    assert c["macs"] == c["macs_issued"]


def test_issued_macs_match_nonzeros():
    rng = np.random.default_rng(9)
    for _ in range(10):
        P = int(rng.choice([1, 2, 4, 8]))
        pps = random_pps(rng, P, offset=1)
        rows = int(rng.integers(1, 10))
        cfg = ArrayConfig(ROWS=rows, COLS=int(rng.integers(1, 10)),
                          LANES=random_lanes(rng, rows))
        prog = compile_layer(layer(pps, int(rng.integers(1, 20)), int(rng.integers(1, 20))), cfg, pps, H=5, W=6)
        c = prog.cycles
        assert c["macs_issued"] == c["macs"] and c["dense_equivalent"]["macs"] >= c["macs"]
        for r in (c, c["dense_equivalent"]):          # the breakdown adds up, layer and bands
            assert r["total"] == r["start"] + r["pass_cycles"] + r["bubbles"] + r["drain"]
