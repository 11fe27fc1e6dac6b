"""The two stream transports of the top-level environment (tb.env.top), one interface
(`set_stall(rng, stall)`, `load(band, fault)`, `collect(band, done)` -> the result beats):
  "axi"  `AxiStreams`: cocotbext-axi sources and sink on sps_top's stream ports, a random pause
         generator on each: protocol-level work, every cycle passes through Python;
  "mem"  `MemStreams`: the testbench memories of tb/hdl/sps_tb.v replay the streams, each with a
         seeded stall generator in the HDL; Python loads them from files before a band, waits for
         done (one trigger), and reads the results from a file. Python is off the per-cycle path.
Both give the same result beats, and without stalls the same counters (tb/top/test_transports.py).
Both check the band's end: done within DONE_AFTER_LAST cycles of the last result beat, every input
beat taken, no result beat after the frame."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from cocotb.triggers import FallingEdge
from cocotb.utils import get_sim_time

from compiler.config import ArrayConfig

from tb.env.fault import Fault
from tb.env.runner import CLK_NS, STREAM_MEM_AW
from tb.env.stall import Stall

_FILES = {"act": "sps_tb_act.bin", "wgt": "sps_tb_wgt.bin", "res": "sps_tb_res.hex"}   # tb/hdl/sps_tb.v
DONE_AFTER_LAST = 2         # done rises the cycle after the last result beat is taken; one cycle of slack


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
