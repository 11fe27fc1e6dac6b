"""The top-level environment (cocotb side) for sps_top, simulated inside the testbench top
tb/hdl/sps_tb.v: `SpsEnv` holds the clock and reset, the register access (an AXI4-Lite master of
tb.env.axil), the three AXI4-Stream transports (tb.env.transports) and the protocol checkers'
report, and runs one band of a compiler program (`run_band`), returning its result beats and the
hardware counters.

The transport is chosen per environment (`transport=`, else SPS_TRANSPORT): "mem" (the testbench
memories, the lean AXI4-Lite driver, the clock generated in the HDL) or "axi" (cocotbext-axi on
every port, the clock from cocotb). Stalls on either (tb.env.stall): `Stall(p)` pauses each cycle with probability
p; `Stall(p, burst=L)` pauses in bursts of mean length L cycles for the same long-run fraction p.

Registers are written only when their value differs from what the environment last wrote (the
register file holds its values between layers; reset clears the record): docs/ARCHITECTURE.md 5.1.

The scoreboard lives in the tests: they compare `LayerProgram.unpack_results` of what the transport
collected with models.reference (which shares no code with the compiler).
"""
from __future__ import annotations

import json
import os
import random

import numpy as np
import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout
from cocotb.utils import get_sim_time

from compiler import regs as R
from compiler.config import ArrayConfig

from tb.env.axil import ExtLiteMaster, LiteMaster
from tb.env.fault import Fault
from tb.env.fcov import process_coverage
from tb.env.runner import CLK_NS, TRANSPORTS
from tb.env.stall import as_stall
from tb.env.transports import AxiStreams, MemStreams

# the protocol checkers of tb/hdl/sps_tb.v (sps_tb_axis_check), in their order on proto_err
PROTO_CHANNELS = ("s_axis_act", "s_axis_wgt", "m_axis_res", "s_axil AW", "s_axil W", "s_axil B",
                  "s_axil AR", "s_axil R")
PROTO_KINDS = {1: "VALID fell before READY", 2: "payload changed while VALID waited for READY",
               3: "VALID or READY X/Z"}


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


class SpsEnv:
    """sps_top in its testbench: registers, streams, reset, protocol check, bands."""

    def __init__(self, dut, cfg: ArrayConfig, seed: int = 0, stall=0.0, transport: str | None = None):
        transport = transport or os.environ.get("SPS_TRANSPORT", "mem")
        if transport not in TRANSPORTS:
            raise ValueError(f"transport {transport!r}: expected one of {', '.join(TRANSPORTS)}")
        self.dut, self.cfg, self.transport = dut, cfg, transport
        self.log = dut._log
        dut.rst.value = 1           # in reset until reset(): no X on the handshakes at the first edge
        # "mem": the clock runs in the testbench HDL (tb/hdl/sps_tb.v, period CLK_NS); "axi": from
        # cocotb (clk_in), in the simulator (impl="gpi"), first rising edge after rst=1
        dut.clk_ext.value = int(transport == "axi")
        if transport == "axi":
            Clock(dut.clk_in, CLK_NS, unit="ns", impl="gpi").start(start_high=False)
        self.axil = LiteMaster(dut) if transport == "mem" else ExtLiteMaster(dut)
        self.streams = MemStreams(dut, cfg) if transport == "mem" else AxiStreams(dut, cfg)
        self.written: dict[int, int] = {}           # register -> value last written since reset
        self.fcov = process_coverage()              # functional coverage bins (tb.env.fcov)
        self.was_reset = False
        self.reseed(seed, stall)

    def reseed(self, seed: int, stall) -> None:
        """New random stream: stalls `stall` (see as_stall) on every stream, seeded from `seed`."""
        self.rng = random.Random(seed)
        self.set_stall(stall)

    def set_stall(self, stall) -> None:
        self.streams.set_stall(self.rng, as_stall(stall))

    def check_protocol(self) -> None:
        """Fail, naming the port and the cycle, if a protocol checker of sps_tb saw a violation
        since the last reset (on any stream or AXI4-Lite channel, on either transport)."""
        if not self.was_reset:
            return
        err = int(self.dut.proto_err.value)
        if err:
            kinds, cycles = int(self.dut.proto_kind.value), int(self.dut.proto_cycle.value)
            bad = [f"{name}: {PROTO_KINDS.get((kinds >> 2 * i) & 3, '?')} in cycle "
                   f"{(cycles >> 32 * i) & 0xFFFFFFFF} after reset"
                   for i, name in enumerate(PROTO_CHANNELS) if err >> i & 1]
            raise AssertionError("protocol violation: " + "; ".join(bad))

    async def reset(self, check: bool = True) -> None:
        """Reset sps_top and the testbench; first check the protocol since the last reset (unless
        check=False: a test that broke it on purpose)."""
        if check:
            self.check_protocol()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)
        self.written.clear()
        self.was_reset = True

    async def write_reg(self, addr: int, value: int) -> None:
        busy = bool(self.dut.busy.value)
        if addr == R.CTRL and value & R.CTRL_START and busy:
            self.fcov.hit("regs/start_while_busy")
        elif addr == R.CTRL and value & R.CTRL_ABORT and not busy:
            self.fcov.hit("regs/abort_while_idle")
        elif addr != R.CTRL and busy:
            self.fcov.hit("regs/write_while_busy")
        await self.axil.write(addr, int(value))

    async def read_reg(self, addr: int) -> int:
        return await self.axil.read(addr)

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

    async def program_registers(self, regs) -> int:
        """Write the band's registers whose value changed; returns how many were written."""
        n = 0
        for addr, value in regs:
            if self.written.get(addr) != int(value):
                await self.write_reg(addr, value)
                self.written[addr] = int(value)
                n += 1
        return n

    async def run_band(self, band, timeout_cycles: int | None = None) -> tuple[np.ndarray, dict]:
        """One band: both input streams ready, the registers that changed, start, the result frame
        collected and checked, done. Returns (int32 [beats, COLS] result beats, counters)."""
        if band.act is None:
            raise ValueError("band has no activation stream: compile the program with x=")
        done = await self.start_band(band)
        timeout_cycles = timeout_cycles or self.timeout_cycles(band)
        data = await with_timeout(self.streams.collect(band, done), timeout_cycles * CLK_NS, "ns")
        status = await self.read_reg(R.STATUS)
        assert status == R.ST_DONE, f"STATUS={status:#x} after the last result: expected done only"
        assert data.shape[0] == band.res_beats, f"{data.shape[0]} result beats, expected {band.res_beats}"
        counters = await self.counters()
        if self.dut.res_fifo_full.value:
            self.fcov.hit("res_fifo/full")
        self.check_protocol()
        return data, counters

    async def run_faulty_band(self, band, fault: Fault, hang_cycles: int = 2000) -> int:
        """One band with `fault` injected into an input stream ("mem" transport). A framing error
        (TLAST early or missing) must end the layer by itself; a stream that stops without TLAST
        must leave it busy for `hang_cycles`, after which the host's ABORT ends it. Returns STATUS
        after done; checks that done came with busy low, that the faulty stream gave no beat after
        its TLAST, and the protocol (the result stream may be withdrawn by the abort's flush)."""
        d = self.dut
        done = await self.start_band(band, fault)
        if fault.kind == "stops":
            await ClockCycles(d.clk, hang_cycles)
            assert not done.done() and d.busy.value, f"{fault}: the layer ended without its stream's end"
            await self.write_reg(R.CTRL, R.CTRL_ABORT)
        await with_timeout(done, self.timeout_cycles(band) * CLK_NS, "ns")
        await FallingEdge(d.clk)
        assert not d.busy.value, f"{fault}: done with busy high"
        if fault.kind == "tlast_early":             # the packet ended at TLAST: the rest is left
            after = getattr(band, fault.stream).shape[0] - 1 - fault.at
            left = int(getattr(d, f"{fault.stream}_left").value)
            assert left == after, f"{fault}: {after - left} beats taken after TLAST"
        status = await self.read_reg(R.STATUS)
        self.check_protocol()
        return status

    async def abort_at(self, band, cycle: int) -> int:
        """Start `band` and write ABORT `cycle` cycles after the start; returns STATUS after done
        (ABORTED set, or the band finished first: done only)."""
        d = self.dut
        done = await self.start_band(band)
        await ClockCycles(d.clk, cycle)
        await self.write_reg(R.CTRL, R.CTRL_ABORT)
        await with_timeout(done, self.timeout_cycles(band) * CLK_NS, "ns")
        await FallingEdge(d.clk)
        status = await self.read_reg(R.STATUS)
        self.check_protocol()
        return status

    async def start_band(self, band, fault: Fault | None = None, regs=None):
        """Load the band's streams (with `fault` injected, tb.env.fault), write the registers
        that changed (`regs`: instead of the band's), and start it. Returns the task that ends at
        done: done is high from the previous band until START clears it, or low after reset;
        either way it rises exactly once after START, when the band ends."""
        await self.streams.load(band, fault)
        await self.program_registers(band.regs if regs is None else regs)
        done = cocotb.start_soon(self._done_at())
        await self.write_reg(R.CTRL, R.CTRL_START)
        return done

    @staticmethod
    def timeout_cycles(band) -> int:
        """A generous bound on a band's cycles, stalls included (a hang fails, it does not wait)."""
        work = band.act.shape[0] + band.wgt.shape[0] + band.res_beats + band.passes * (band.res_beats + 64)
        return 20 * work + 20000

    async def _done_at(self) -> float:
        await RisingEdge(self.dut.done)
        return get_sim_time(unit="ns")

    async def run_program(self, prog) -> tuple[np.ndarray, list[dict]]:
        results, stats = [], []
        for band in prog.bands:
            r, c = await self.run_band(band)
            results.append(r)
            stats.append(c)
        return prog.unpack_results(results), stats
