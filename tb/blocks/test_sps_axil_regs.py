"""cocotb tests of sps_axil_regs (the AXI4-Lite register block; map in docs/ARCHITECTURE.md 5.1),
driven by cocotbext-axi's AXI4-Lite master with random stalls on all five channels (random
AWVALID/WVALID/ARVALID timing and BREADY/RREADY back-pressure).

Model (the 5.1 table and the module header): every RW register reads back what was written,
masked to its field width (C: CH_BITS, H..WOUT: DIM_BITS, STRIDE/PAD/MODE: 2 bits, NPAT: PW+1,
PAT[i]: 9, FG[g]: CH_BITS, BATCH at 0xFC: BW = the bits of a count 0..ACC_DEPTH), and reset values
C..MODE 0, STRIDE 1, NPAT 1, PAT 0x1FF, FG 0, BATCH 1; a write
with any byte strobe low, or while busy, changes nothing (but is answered, OKAY); STATUS =
{aborted, err_config, err_stream, done, busy}; the counters and CFG0..2 read their inputs and
parameters; every other address reads 0; a write of CTRL bit 0 while idle pulses `start` for one
cycle, the cycle after the write is taken, never while busy; a write of CTRL bit 1 (ABORT) while
busy pulses `abort` the same way, never while idle.
"""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from compiler import regs as R
from tb.env.block import BlockTb, dut_params, seeded_rng
from tb.blocks import CFG, run_block, unique

MODULE = "tb.blocks.test_sps_axil_regs"
BATCH = 0x0FC                   # the register block's last word (docs/ARCHITECTURE.md 5.1)
assert getattr(R, "BATCH", BATCH) == BATCH, "compiler/regs.py places BATCH elsewhere"
COUNTERS = {"cnt_cycles": R.CYCLES, "cnt_busy": R.BUSY, "cnt_stall_act": R.STALL_ACT,
            "cnt_stall_wgt": R.STALL_WGT, "cnt_stall_res": R.STALL_RES, "cnt_passes": R.PASSES}


def rw_map(p: dict) -> dict[int, tuple[int, int]]:
    """address -> (field width in bits, reset value) of every RW register."""
    dim, ch, pw = p["DIM_BITS"], p["CH_BITS"], p["PW"]
    m = {R.C: (ch, 0), R.H: (dim, 0), R.W: (dim, 0), R.HOUT: (dim, 0), R.WOUT: (dim, 0),
         R.STRIDE: (2, 1), R.PAD_TOP: (2, 0), R.PAD_LEFT: (2, 0), R.MODE: (2, 0), R.NPAT: (pw + 1, 1),
         BATCH: (p["BW"], 1)}
    for i in range(p["PMAX"]):
        m[R.PAT_BASE + 4 * i] = (9, 0x1FF)
        m[R.PAT_BASE + 4 * p["PMAX"] + 4 * i] = (ch, 0)
    return m


def _pauses(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


class Env:
    def __init__(self, dut, stall: float):
        self.dut = dut
        self.tb = BlockTb(dut)
        for name in ("busy", "done", "err_stream", "err_config", "aborted", "cnt_macs", *COUNTERS):
            getattr(dut, name).value = 0
        self.m = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.m.write_if.log.setLevel("WARNING")
        self.m.read_if.log.setLevel("WARNING")
        self.rng = seeded_rng(dut, f"axil stall={stall}")
        if stall:
            for ch in (self.m.write_if.aw_channel, self.m.write_if.w_channel, self.m.write_if.b_channel,
                       self.m.read_if.ar_channel, self.m.read_if.r_channel):
                ch.set_pause_generator(_pauses(random.Random(self.rng.random()), stall))
        self.starts = self.aborts = 0
        cocotb.start_soon(self._count_pulses())

    async def _count_pulses(self):
        while True:
            await FallingEdge(self.dut.clk)
            self.starts += int(self.dut.start.value)
            self.aborts += int(self.dut.abort.value)

    async def write(self, addr: int, value: int, nbytes: int = 4) -> None:
        """A write of `nbytes` bytes at byte address `addr` (fewer than 4: some WSTRB bits low)."""
        r = await self.m.write(addr, (int(value) & ((1 << 8 * nbytes) - 1)).to_bytes(nbytes, "little"))
        assert int(r.resp) == 0, f"write {addr:#05x}: BRESP {int(r.resp)}"

    async def read(self, addr: int) -> int:
        r = await self.m.read(addr, 4)
        assert int(r.resp) == 0, f"read {addr:#05x}: RRESP {int(r.resp)}"
        return int.from_bytes(r.data, "little")


def _unmapped(p: dict) -> list[int]:
    top = R.PAT_BASE + 8 * p["PMAX"]                   # the first word after FG[]: < BATCH
    return [R.CTRL, top, 0x0F8, R.PASSES + 4, 0x17C, R.CFG2 + 4, 0x1FC, 0x200, 0x5A0, 0xFFC]


@cocotb.test(timeout_time=2000, timeout_unit="us")
@cocotb.parametrize(stall=[0.0, 0.4])
async def registers_read_back(dut, stall):
    """Reset values; random values written to every RW register (one after another, then all at
    once: back-to-back transactions) and read back; unmapped addresses read 0."""
    p = dut_params(dut, ("PMAX", "ACC_DEPTH", "DIM_BITS", "CH_BITS", "PW", "BW"))
    env = Env(dut, stall)
    await env.tb.reset()
    regs = rw_map(p)
    for addr, (_, reset) in regs.items():
        got = await env.read(addr)
        assert got == reset, f"{addr:#05x} after reset: {got:#x}, expected {reset:#x}"
    for rnd in range(2):
        values = {a: env.rng.getrandbits(32) for a in regs}
        if rnd == 0:
            for a, v in values.items():
                await env.write(a, v)
        else:                                   # every write in flight at once, then every read
            await cocotb.triggers.Combine(*[cocotb.start_soon(env.write(a, v)) for a, v in values.items()])
        reads = [cocotb.start_soon(env.read(a)) for a in regs]
        await cocotb.triggers.Combine(*reads)
        for (a, (width, _)), t in zip(regs.items(), reads):
            want = values[a] & ((1 << width) - 1)
            assert t.result() == want, f"{a:#05x}: read {t.result():#x}, wrote {values[a]:#x} -> expected {want:#x}"
    for a in _unmapped(p):
        assert await env.read(a) == 0, f"unmapped {a:#05x} does not read 0"
    assert env.starts == 0 and env.aborts == 0, "start or abort pulsed without a CTRL write"


@cocotb.test(timeout_time=2000, timeout_unit="us")
async def strobes_busy_and_start(dut):
    """Partial strobes and writes while busy change nothing; CTRL.start pulses once per idle
    write of bit 0, in the cycle after the write, never while busy or for bit 0 = 0; CTRL.abort
    likewise for bit 1 while busy, never while idle."""
    p = dut_params(dut, ("PMAX", "ACC_DEPTH", "DIM_BITS", "CH_BITS", "PW", "BW"))
    env = Env(dut, 0.0)
    await env.tb.reset()
    await env.write(R.H, 17)
    await env.write(BATCH, 3)
    for offset, nbytes, strb in ((0, 1, 0x1), (0, 2, 0x3), (0, 3, 0x7), (1, 3, 0xE), (3, 1, 0x8)):
        await env.write(R.H + offset, 0x636363, nbytes)
        assert await env.read(R.H) == 17, f"H changed by a write with WSTRB={strb:#x}"
    await env.write(BATCH, 0x5, 1)
    await env.write(BATCH + 1, 0x5, 1)
    assert await env.read(BATCH) == 3, "BATCH changed by a write with a byte strobe low"
    dut.busy.value = 1
    await env.write(R.H, 23)
    await env.write(BATCH, 2)
    await env.write(R.CTRL, 1)
    assert await env.read(R.H) == 17, "H changed by a write while busy"
    assert await env.read(BATCH) == 3, "BATCH changed by a write while busy"
    dut.busy.value = 0
    await ClockCycles(dut.clk, 3)
    assert env.starts == 0, "start while busy"
    await env.write(R.CTRL, 0)
    await ClockCycles(dut.clk, 3)
    assert env.starts == 0, "start for CTRL bit 0 = 0"
    await env.write(R.CTRL, R.CTRL_ABORT)
    await ClockCycles(dut.clk, 3)
    assert env.aborts == 0, "abort while idle"
    # timing: the pulse, one cycle wide, in the cycle after AW/W are taken
    taken = cocotb.start_soon(_taken_edge(dut, "start"))
    await env.write(R.CTRL, R.CTRL_START | R.CTRL_ABORT)     # idle: the start, not the abort
    await ClockCycles(dut.clk, 3)
    assert env.starts == 1 and env.aborts == 0, f"{env.starts} start, {env.aborts} abort pulses for one CTRL write"
    assert taken.result() is not None
    dut.busy.value = 1
    taken = cocotb.start_soon(_taken_edge(dut, "abort"))
    await env.write(R.CTRL, R.CTRL_START | R.CTRL_ABORT)     # busy: the abort, not the start
    await ClockCycles(dut.clk, 3)
    assert env.starts == 1 and env.aborts == 1, f"{env.starts} start, {env.aborts} abort pulses while busy"
    assert taken.result() is not None
    await env.write(R.CTRL, R.CTRL_START)
    await ClockCycles(dut.clk, 3)
    assert env.aborts == 1, "abort for CTRL bit 1 = 0"
    dut.busy.value = 0


async def _taken_edge(dut, pulse: str):
    """Wait for the rising edge that takes a write, then check `pulse` over the next edges."""
    while True:
        await FallingEdge(dut.clk)
        if dut.s_axil_awvalid.value and dut.s_axil_awready.value:
            break
    seen = []
    for _ in range(3):
        await FallingEdge(dut.clk)
        seen.append(int(getattr(dut, pulse).value))
    assert seen == [1, 0, 0], f"{pulse} after the write's edge: {seen} (expected one cycle, right after it)"
    return seen


@cocotb.test(timeout_time=2000, timeout_unit="us")
async def status_counters_config(dut):
    """STATUS from busy/done/err/aborted inputs; every counter and CFG0..2 read their inputs/parameters."""
    p = dut_params(dut, ("ROWS", "COLS", "LANES", "PMAX", "ACT_DEPTH", "ACC_DEPTH"))
    env = Env(dut, 0.3)
    await env.tb.reset()
    for bits in range(32):
        for i, name in enumerate(("busy", "done", "err_stream", "err_config", "aborted")):
            getattr(dut, name).value = bits >> i & 1
        await RisingEdge(dut.clk)
        assert await env.read(R.STATUS) == bits, f"STATUS for inputs {bits:#06b}"
    dut.busy.value = 0
    for _ in range(3):
        vals = {n: env.rng.getrandbits(32) for n in COUNTERS}
        macs = env.rng.getrandbits(64)
        for n, v in vals.items():
            getattr(dut, n).value = v
        dut.cnt_macs.value = macs
        await RisingEdge(dut.clk)
        for n, a in COUNTERS.items():
            assert await env.read(a) == vals[n], f"{n} at {a:#05x}"
        assert await env.read(R.MACS_LO) == macs & 0xFFFFFFFF and await env.read(R.MACS_HI) == macs >> 32
    cfg0 = p["ROWS"] | p["COLS"] << 8 | p["LANES"] << 16 | p["PMAX"] << 24
    assert await env.read(R.CFG0) == cfg0
    assert await env.read(R.CFG1) == p["ACT_DEPTH"] and await env.read(R.CFG2) == p["ACC_DEPTH"]


# ---- pytest entries ---------------------------------------------------------------------------------

KEYS = ("ROWS", "COLS", "LANES", "PMAX", "ACT_DEPTH", "ACC_DEPTH", "DIM_BITS", "CH_BITS")
PARAMS = unique([{k: getattr(CFG, k) for k in KEYS},
                 dict(ROWS=12, COLS=10, LANES=6, PMAX=5, ACT_DEPTH=48, ACC_DEPTH=20, DIM_BITS=7, CH_BITS=9),
                 # the largest PMAX: FG[24] at 0xF8, right below BATCH; ACC_DEPTH 1000: BATCH 10 bits
                 dict(ROWS=4, COLS=4, LANES=2, PMAX=25, ACT_DEPTH=16, ACC_DEPTH=1000, DIM_BITS=5, CH_BITS=6)])


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAMS, ids=[f"P{p['PMAX']}-D{p['DIM_BITS']}" for p in PARAMS])
def test_sps_axil_regs(simulator, params):
    run_block(simulator, "sps_axil_regs", MODULE, params, "axil_regs")
