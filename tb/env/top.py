"""The top-level environment (cocotb side) for sps_top, simulated inside the testbench top
tb/hdl/sps_tb.v: clock/reset, the AXI4-Lite register driver, the three AXI4-Stream transports, and
`run_band`, which runs one band of a compiler program and returns its result beats and the hardware
counters.

Two transports carry the streams, chosen per environment (`transport=`):
  "axi"  cocotbext-axi sources and sink on sps_top's stream ports, a random pause generator on each,
         and cocotbext-axi's AXI4-Lite master: protocol-level work, every cycle passes through Python;
  "mem"  the testbench memories of tb/hdl/sps_tb.v replay the streams, each with a seeded stall
         generator in the HDL; Python loads them from files before a band, waits for done (one
         trigger), and reads the results from a file; registers go through a lean AXI4-Lite driver
         that only runs during a transaction. Python is off the per-cycle path.
Both give the same result beats, and without stalls the same counters (tb/top/test_transports.py).
Stalls on either: `Stall(p)`
pauses each cycle with probability p; `Stall(p, burst=L)` pauses in bursts of mean length L cycles
for the same long-run fraction p.

Registers are written only when their value differs from what the environment last wrote (the
register file holds its values between layers; reset clears the record): docs/ARCHITECTURE.md 5.1.

The scoreboard lives in the tests: they compare `LayerProgram.unpack_results` of what the transport
collected with models.reference (which shares no code with the compiler).
"""
from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import numpy as np
import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, with_timeout
from cocotb.utils import get_sim_time

from compiler import regs as R
from compiler.config import ArrayConfig

from tb.env.fault import Fault
from tb.env.fcov import process_coverage
from tb.env.runner import CLK_NS, STREAM_MEM_AW, TRANSPORTS
from tb.env.stall import Stall, as_stall

_FILES = {"act": "sps_tb_act.bin", "wgt": "sps_tb_wgt.bin", "res": "sps_tb_res.hex"}   # tb/hdl/sps_tb.v
# the protocol checkers of tb/hdl/sps_tb.v (sps_tb_axis_check), in their order on proto_err
PROTO_CHANNELS = ("s_axis_act", "s_axis_wgt", "m_axis_res", "s_axil AW", "s_axil W", "s_axil B",
                  "s_axil AR", "s_axil R")
PROTO_KINDS = {1: "VALID fell before READY", 2: "payload changed while VALID waited for READY",
               3: "VALID or READY X/Z"}
DONE_AFTER_LAST = 2         # done rises the cycle after the last result beat is taken; one cycle of slack


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


class LiteMaster:
    """A lean AXI4-Lite master: one transaction at a time, awaiting clock edges only while one is
    in flight (cocotbext-axi's master samples its five channels every cycle). Inputs change at the
    falling edge; a handshake is seen in the settled values after it (ReadOnly) and takes place at
    the next rising edge: no sampling right after the rising edge, whose values differ between
    simulators when the clock is generated in the HDL."""

    def __init__(self, dut):
        self.dut, self.clk = dut, dut.clk
        for name in ("awvalid", "wvalid", "bready", "arvalid", "rready", "awaddr", "araddr", "wdata",
                     "awprot", "arprot"):
            getattr(dut, f"s_axil_{name}").value = 0
        dut.s_axil_wstrb.value = 0xF

    async def write(self, addr: int, value: int) -> None:
        d = self.dut
        await FallingEdge(self.clk)
        d.s_axil_awaddr.value, d.s_axil_awvalid.value = addr, 1
        d.s_axil_wdata.value, d.s_axil_wvalid.value = value & 0xFFFFFFFF, 1
        d.s_axil_bready.value = 1
        await self._handshake("aw", "w")
        (resp,) = await self._response("b", "resp")
        if resp != 0:
            raise AssertionError(f"AXI4-Lite write {addr:#05x}: BRESP {resp}")

    async def read(self, addr: int) -> int:
        d = self.dut
        await FallingEdge(self.clk)
        d.s_axil_araddr.value, d.s_axil_arvalid.value, d.s_axil_rready.value = addr, 1, 1
        await self._handshake("ar")
        resp, data = await self._response("r", "resp", "data")
        if resp != 0:
            raise AssertionError(f"AXI4-Lite read {addr:#05x}: RRESP {resp}")
        return data

    async def _handshake(self, *channels: str) -> None:
        """Hold VALID of each request channel ("aw", "w", "ar") until it is taken, then drop it."""
        pending = set(channels)
        while pending:
            await ReadOnly()
            taken = {c for c in pending if getattr(self.dut, f"s_axil_{c}ready").value}
            await FallingEdge(self.clk)
            for c in taken:
                getattr(self.dut, f"s_axil_{c}valid").value = 0
            pending -= taken

    async def _response(self, channel: str, *fields: str) -> list[int]:
        """Wait for the response channel ("b", "r", READY already high) to be valid; its `fields`,
        read as it is taken, and READY dropped."""
        d = self.dut
        while True:
            await ReadOnly()
            if getattr(d, f"s_axil_{channel}valid").value:
                values = [int(getattr(d, f"s_axil_{channel}{f}").value) for f in fields]
                await FallingEdge(self.clk)
                getattr(d, f"s_axil_{channel}ready").value = 0
                return values
            await FallingEdge(self.clk)


class _ExtLite:
    """cocotbext-axi's AXI4-Lite master behind LiteMaster's interface."""

    def __init__(self, dut):
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster
        self.m = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk_in, dut.rst)
        self.m.write_if.log.setLevel("WARNING")
        self.m.read_if.log.setLevel("WARNING")

    async def write(self, addr: int, value: int) -> None:
        r = await self.m.write(addr, int(value & 0xFFFFFFFF).to_bytes(4, "little"))
        if int(r.resp) != 0:
            raise AssertionError(f"AXI4-Lite write {addr:#05x}: BRESP {int(r.resp)}")

    async def read(self, addr: int) -> int:
        r = await self.m.read(addr, 4)
        if int(r.resp) != 0:
            raise AssertionError(f"AXI4-Lite read {addr:#05x}: RRESP {int(r.resp)}")
        return int.from_bytes(r.data, "little")


class AxiStreams:
    """The "axi" transport: cocotbext-axi sources/sink with pause generators on every stream."""

    def __init__(self, dut, cfg: ArrayConfig):
        from cocotbext.axi import AxiStreamBus, AxiStreamSink, AxiStreamSource
        self.dut, self.cfg = dut, cfg
        dut.mem_mode.value = dut.mem_load.value = dut.mem_dump.value = 0
        self.act = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_act"), dut.clk_in, dut.rst)
        self.wgt = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_wgt"), dut.clk_in, dut.rst)
        self.res = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_res"), dut.clk_in, dut.rst)
        for s in (self.act, self.wgt, self.res):
            s.log.setLevel("WARNING")

    def set_stall(self, rng: random.Random, stall: Stall) -> None:
        for s in (self.act, self.wgt, self.res):
            gen = stall.generator(random.Random(rng.random()))
            s.set_pause_generator(gen)
            if gen is None:
                s.pause = False                     # the old generator may have left it paused

    async def load(self, band, fault: Fault | None = None) -> None:
        from cocotbext.axi import AxiStreamFrame
        if fault is not None:
            raise ValueError("fault injection needs the mem transport (its sources put TLAST on any beat)")
        self.act.send_nowait(AxiStreamFrame(band.act.astype(np.int8).tobytes()))
        self.wgt.send_nowait(AxiStreamFrame(band.wgt.astype(np.int8).tobytes()))

    async def collect(self, band, done) -> np.ndarray:
        frame = await self.res.recv()
        t_last = get_sim_time(unit="ns")
        t_done = await done
        late = round((t_done - t_last) / CLK_NS)
        assert late <= DONE_AFTER_LAST, f"done {late} cycles after the last result beat (at most {DONE_AFTER_LAST})"
        await FallingEdge(self.dut.clk)
        assert self.act.idle() and self.wgt.idle(), "input stream beats left over after done"
        assert self.res.empty() and self.res.idle(), "result beats after the frame's TLAST"
        return np.frombuffer(bytes(frame.tdata), dtype="<i4").reshape(-1, self.cfg.COLS)


class MemStreams:
    """The "mem" transport: the testbench memories of tb/hdl/sps_tb.v (files in the simulator's
    working directory, loaded with $fread, results written with $writememh)."""

    def __init__(self, dut, cfg: ArrayConfig):
        self.dut, self.cfg = dut, cfg
        self.dir = Path.cwd()                       # the run directory (tb.env.runner.run)
        self.cap = {k: 1 << int(v) for k, v in STREAM_MEM_AW.items()}
        dut.mem_mode.value = 1
        dut.mem_load.value = 0
        dut.mem_dump.value = 0
        self.set_stall(random.Random(0), Stall())

    def set_stall(self, rng: random.Random, stall: Stall) -> None:
        """The stall generators' rates; their seeds are drawn from `rng` at every load, so each band
        gets a new stall pattern (as the cocotbext-axi generators run on across bands)."""
        self.rng = rng
        enter, leave = stall.rates
        for s in ("act", "wgt", "res"):
            getattr(self.dut, f"{s}_enter").value = round(enter * 65536)
            getattr(self.dut, f"{s}_leave").value = round(leave * 65536)

    async def load(self, band, fault: Fault | None = None) -> None:
        """Load the band's two input streams (TLAST on each one's last beat), or with `fault`
        injected into one of them (tb.env.fault)."""
        d = self.dut
        streams = {"act": band.act, "wgt": band.wgt}
        last_at = {k: v.shape[0] - 1 for k, v in streams.items()}
        if fault is not None:
            streams[fault.stream], last_at[fault.stream] = fault.apply(streams[fault.stream])
        for name, beats, cap in (("act", streams["act"], self.cap["ACT_AW"]), ("wgt", streams["wgt"], self.cap["WGT_AW"])):
            if beats.shape[0] > cap:
                raise ValueError(f"band {band.index}: {beats.shape[0]:,} {name} beats, the testbench memory "
                                 f"holds {cap:,} (tb.env.runner.STREAM_MEM_AW); use the axi transport")
            # one word per beat, most significant byte (the highest lane) first: $fread's order
            (self.dir / _FILES[name]).write_bytes(np.ascontiguousarray(beats.astype(np.int8)[:, ::-1]).tobytes())
        if not 0 < band.res_beats <= self.cap["RES_AW"]:
            raise ValueError(f"band {band.index}: {band.res_beats:,} result beats, the testbench memory "
                             f"holds 1 to {self.cap['RES_AW']:,} (tb.env.runner.STREAM_MEM_AW); use the axi transport")
        await FallingEdge(d.clk)
        d.act_beats.value, d.wgt_beats.value = streams["act"].shape[0], streams["wgt"].shape[0]
        d.act_last_at.value, d.wgt_last_at.value = last_at["act"], last_at["wgt"]
        for s in ("act", "wgt", "res"):
            getattr(d, f"{s}_seed").value = self.rng.getrandbits(32)
        d.mem_load.value = 1
        await FallingEdge(d.clk)
        d.mem_load.value = 0
        await FallingEdge(d.clk)
        assert not d.act_load_err.value and not d.wgt_load_err.value, "testbench memory load failed"

    async def collect(self, band, done) -> np.ndarray:
        d = self.dut
        await done
        await FallingEdge(d.clk)                    # every register of the edge settled
        late = int(d.res_idle.value)                # edges from the one that took the last beat to done's
        assert late <= DONE_AFTER_LAST, f"done {late} cycles after the last result beat (at most {DONE_AFTER_LAST})"
        assert int(d.act_left.value) == 0 and int(d.wgt_left.value) == 0, (
            f"input stream beats left over after done: act {int(d.act_left.value)}, wgt {int(d.wgt_left.value)}")
        assert not d.res_overflow.value, "result memory overflow"
        n, lasts, last_at = int(d.res_count.value), int(d.res_lasts.value), int(d.res_last_at.value)
        assert n == band.res_beats, f"{n} result beats, expected {band.res_beats}"
        assert lasts == 1 and last_at == n - 1, (
            f"result TLAST on {lasts} beat(s), the last at beat {last_at}: expected once, on beat {n - 1}")
        path = self.dir / _FILES["res"]
        path.unlink(missing_ok=True)
        d.mem_dump.value = 1
        await FallingEdge(d.clk)
        d.mem_dump.value = 0
        await FallingEdge(d.clk)
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("//")]
        width = self.cfg.COLS * 8
        bad = [i for i, ln in enumerate(lines) if len(ln) != width]
        assert len(lines) == n and not bad, (f"{path}: {len(lines)} result words, expected {n}"
                                             + (f"; word {bad[0]} has {len(lines[bad[0]])} hex digits, not {width}" if bad else ""))
        raw = np.frombuffer(bytes.fromhex("".join(lines)), dtype=np.uint8).reshape(n, self.cfg.COLS * 4)
        return np.ascontiguousarray(raw[:, ::-1]).view("<i4")           # words were written MSB first


class SpsEnv:
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
        self.axil = LiteMaster(dut) if transport == "mem" else _ExtLite(dut)
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
