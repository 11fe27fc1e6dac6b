"""The top-level environment (cocotb side) for sps_top: clock/reset, the AXI4-Lite register driver, the three
AXI4-Stream drivers/monitors (cocotbext-axi) with random pause generators, and `run_band`, which
runs one band of a compiler program and returns its result beats and the hardware counters.

The scoreboard lives in the tests: they compare `LayerProgram.unpack_results` of what the monitor
collected with models.reference (which shares no code with the compiler).
"""
from __future__ import annotations

import json
import os
import random
import time

import numpy as np
import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSink,
                           AxiStreamSource)

from compiler import regs as R
from compiler.config import ArrayConfig
from tb.env.block import CLK_NS


def env_config() -> ArrayConfig:
    """The configuration the runner built the DUT with (SPS_CFG), else config/sps.json."""
    from compiler.config import load_config
    raw = os.environ.get("SPS_CFG")
    return ArrayConfig(**json.loads(raw)) if raw else load_config()


def sum_counters(stats: list[dict]) -> dict:
    """Per-band hardware counters -> the layer's (summed), with "bands" = the number of bands."""
    tot = {k: sum(s[k] for s in stats) for k in stats[0]}
    tot["bands"] = len(stats)
    return tot


class SimMeter:
    """Simulated clock cycles and simulator wall seconds since it was made, measured inside the
    simulator process (the build is not in it)."""

    def __init__(self):
        self.t0, self.s0 = time.perf_counter(), get_sim_time(unit="ns")

    def figures(self) -> dict:
        cycles = int(round((get_sim_time(unit="ns") - self.s0) / CLK_NS))
        secs = time.perf_counter() - self.t0
        return {"sim_cycles": cycles, "sim_seconds": secs, "sim_cycles_per_s": cycles / secs if secs else 0.0}


def pause_generator(rng: random.Random, p: float):
    """Random stalls: each cycle paused with probability p (p=0: never)."""
    while True:
        yield p > 0 and rng.random() < p


class SpsEnv:
    def __init__(self, dut, cfg: ArrayConfig, seed: int = 0, stall: float = 0.0):
        self.dut = dut
        self.cfg = cfg
        self.log = dut._log
        cocotb.start_soon(Clock(dut.clk, CLK_NS, unit="ns").start())
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.act = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_act"), dut.clk, dut.rst)
        self.wgt = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_wgt"), dut.clk, dut.rst)
        self.res = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_res"), dut.clk, dut.rst)
        for s in (self.act, self.wgt, self.res):
            s.log.setLevel("WARNING")
        self.axil.write_if.log.setLevel("WARNING")
        self.axil.read_if.log.setLevel("WARNING")
        self.reseed(seed, stall)

    def reseed(self, seed: int, stall: float) -> None:
        """New random stream: pause generators with probability `stall` on every stream."""
        self.rng = random.Random(seed)
        self.set_stall(stall)

    def set_stall(self, p: float) -> None:
        for s in (self.act, self.wgt, self.res):
            s.set_pause_generator(pause_generator(random.Random(self.rng.random()), p))

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    async def write_reg(self, addr: int, value: int) -> None:
        await self.axil.write(addr, int(value).to_bytes(4, "little"))

    async def read_reg(self, addr: int) -> int:
        r = await self.axil.read(addr, 4)
        return int.from_bytes(r.data, "little")

    async def check_config(self) -> None:
        """Parameters read from the DUT must be the ones the program was compiled for."""
        cfg0 = await self.read_reg(R.CFG0)
        got = (cfg0 & 0xFF, (cfg0 >> 8) & 0xFF, (cfg0 >> 16) & 0xFF, cfg0 >> 24,
               await self.read_reg(R.CFG1), await self.read_reg(R.CFG2))
        want = (self.cfg.ROWS, self.cfg.COLS, self.cfg.LANES, self.cfg.PMAX, self.cfg.ACT_DEPTH,
                self.cfg.ACC_DEPTH)
        assert got == want, f"DUT parameters (ROWS, COLS, LANES, PMAX, ACT_DEPTH, ACC_DEPTH) = {got}, expected {want}"

    async def counters(self) -> dict:
        out = {}
        for name in ("CYCLES", "BUSY", "STALL_ACT", "STALL_WGT", "STALL_RES", "PASSES"):
            out[name.lower()] = await self.read_reg(getattr(R, name))
        out["macs"] = await self.read_reg(R.MACS_LO) | (await self.read_reg(R.MACS_HI) << 32)
        return out

    async def run_band(self, band, timeout_cycles: int | None = None) -> tuple[np.ndarray, dict]:
        """Program one band: registers, start, both input streams, collect the result frame.
        Returns (int32 [beats, COLS] result beats, counters)."""
        if band.act is None:
            raise ValueError("band has no activation stream: compile the program with x=")
        for addr, value in band.regs:
            await self.write_reg(addr, value)
        await self.write_reg(R.CTRL, 1)
        self.act.send_nowait(AxiStreamFrame(band.act.astype(np.int8).tobytes()))
        self.wgt.send_nowait(AxiStreamFrame(band.wgt.astype(np.int8).tobytes()))
        if timeout_cycles is None:
            work = band.act.shape[0] + band.wgt.shape[0] + band.res_beats + band.passes * (band.res_beats + 64)
            timeout_cycles = 20 * work + 20000
        frame = await with_timeout(self.res.recv(), timeout_cycles * 10, "ns")
        # done must follow the last result beat
        for _ in range(4):
            await RisingEdge(self.dut.clk)
        status = await self.read_reg(R.STATUS)
        assert status & 0b0011 == 0b10, f"STATUS={status:#x} after the last result: expected done, not busy"
        assert status & 0b1100 == 0, f"STATUS={status:#x}: error bit set (stream framing or config)"
        assert self.act.empty() and self.wgt.empty(), "input stream beats left over after done"
        data = np.frombuffer(bytes(frame.tdata), dtype="<i4").reshape(-1, self.cfg.COLS)
        assert data.shape[0] == band.res_beats, f"{data.shape[0]} result beats, expected {band.res_beats}"
        return data, await self.counters()

    async def run_program(self, prog) -> tuple[np.ndarray, list[dict]]:
        results, stats = [], []
        for band in prog.bands:
            r, c = await self.run_band(band)
            results.append(r)
            stats.append(c)
        return prog.unpack_results(results), stats
