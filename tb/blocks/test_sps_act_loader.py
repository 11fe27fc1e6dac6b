"""cocotb tests of sps_act_loader: the activation stream (section 5.2) written into the 3x3-interleaved
activation buffer.

Testbench pieces:
  * descriptor / start driver: n_blk (buffer blocks: channel blocks x BATCH images, each stored as
    a channel block is; 1..ACT_DEPTH, as the controller checks), h, w and the geometry the
    controller derives from them
    (W3 = ceil(W/3), HW3 = ceil(H/3) * W3), set two cycles before a one-cycle `start` and held
    until the load is over (the header: registered while the descriptor is static);
  * stream source (tb.env.block.StreamSource): the beats of section 5.2 with TVALID paused by a
    pause generator (none / random cycles / bursts), TLAST where the test puts it;
  * monitor + model, cycle by cycle, from the rtl/sps_act_loader.v header and section 5.2:
    after `start` the loader is busy and takes exactly n_blk*h*w beats; s_tready = busy,
    stall = busy and not s_tvalid; a beat is written (we, wsub, waddr, wdata) in the cycle it is
    accepted, beat (cb, y, x) to sub-bank 3*(y mod 3) + (x mod 3), word cb*HW3 + (y div 3)*W3 +
    (x div 3), data = the beat; busy falls after the last beat (low from the next cycle); a beat
    whose TLAST differs from "is the last beat" sets `err` from the next cycle, `start` and `rst`
    clear it; a beat with TLAST ends the packet (busy low from the next cycle: an early TLAST
    leaves the rest of the stream untaken); `rst` makes the loader idle from the next cycle.
"""
from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import RisingEdge

from tb.blocks import CFG, run_block, unique
from tb.env.block import (BlockTb, CycleDriver, Monitor, Scoreboard, StreamSource, dut_params, pauses,
                          seeded_rng, val, wait_until)

MODULE = "tb.blocks.test_sps_act_loader"
DESC = ("n_blk", "h", "w", "w3", "hw3")
OUTS = ("s_tready", "we", "wsub", "waddr", "wdata", "busy", "err", "stall")


def ceil3(n: int) -> int:
    return -(-n // 3)


def buffer_writes(n_blk: int, h: int, w: int) -> list[tuple[int, int]]:
    """Section 5.2: (sub-bank, word) of every beat, in stream order."""
    w3, hw3 = ceil3(w), ceil3(h) * ceil3(w)
    return [(3 * (y % 3) + (x % 3), cb * hw3 + (y // 3) * w3 + (x // 3))
            for cb in range(n_blk) for y in range(h) for x in range(w)]


class LoaderModel:
    """The loader's outputs cycle by cycle (see the module docstring)."""

    def __init__(self, sb: Scoreboard):
        self.sb = sb
        self.busy = self.err = 0
        self.writes: list[tuple[int, int]] = []
        self.next = 0                           # index of the next beat of the load
        self.written = 0                        # beats written, all loads
        self.err_cycles = 0

    def on_cycle(self, n: int, t: dict) -> None:
        busy = self.busy
        exp = dict(s_tready=busy, busy=busy, err=self.err, stall=int(busy and not t["s_tvalid"]),
                   we=int(busy and t["s_tvalid"] == 1))
        got = {k: t[k] for k in exp}
        if exp["we"]:
            sub, word = self.writes[self.next]
            exp.update(wsub=sub, waddr=word, wdata=t["s_tdata"])
            got.update(wsub=t["wsub"], waddr=t["waddr"], wdata=t["wdata"])
        self.sb.check(n, got, exp, f"beat {self.next} of {len(self.writes)}" if busy else "idle")
        self.err_cycles += self.err
        if t["rst"]:
            self.busy = self.err = 0
        elif t["start"]:
            self.busy, self.err, self.next = 1, 0, 0
            self.writes = buffer_writes(t["n_blk"], t["h"], t["w"])
        elif exp["we"]:
            last = self.next == len(self.writes) - 1
            if t["s_tlast"] != int(last):
                self.err = 1
            self.next += 1
            self.written += 1
            if last or t["s_tlast"]:
                self.busy = 0


class Env:
    def __init__(self, dut, name: str, stall: str):
        self.p = dut_params(dut, ("LANES", "ACT_DEPTH", "DIM_BITS", "AW"))
        self.dut, self.name = dut, name
        self.rng = seeded_rng(dut, name)
        self.tb = BlockTb(dut)
        self.drv = CycleDriver(self.tb, DESC + ("start",), idle=dict(start=0))
        self.drv.apply(dict(start=0, n_blk=1, h=1, w=1, w3=1, hw3=1))
        self.src = StreamSource(self.tb, self.rng, pauses(stall, self.rng))
        self.sb = Scoreboard(dut._log, name)
        self.model = LoaderModel(self.sb)
        sig = DESC + OUTS + ("start", "rst", "s_tvalid", "s_tlast", "s_tdata")
        Monitor(self.tb, lambda: {k: val(getattr(dut, k)) for k in sig}, "port").add_callback(self.model.on_cycle)

    def shapes(self, n: int) -> list[tuple[int, int, int]]:
        """n random (n_blk, h, w) within the buffer and the register widths."""
        p, rng, out = self.p, self.rng, []
        dmax, cmax = (1 << p["DIM_BITS"]) - 1, p["ACT_DEPTH"]
        while len(out) < n:
            h = rng.choice((rng.randint(1, min(8, dmax)), rng.randint(1, dmax)))
            w = rng.choice((rng.randint(1, min(8, dmax)), rng.randint(1, dmax)))
            c = rng.choice((1, 2, 3, cmax, rng.randint(1, cmax)))
            if c * ceil3(h) * ceil3(w) <= p["ACT_DEPTH"] and c <= cmax and c * h * w <= 600:
                out.append((c, h, w))
        return out

    def beats(self, c: int, h: int, w: int, bad: str = "none") -> tuple[list, int | None]:
        """The stream of a (c, h, w) load with random data; TLAST on the last beat, or (bad)
        "early": also on a random earlier beat, "missing": nowhere, "moved": on an earlier beat
        only. Returns (beats, index of the first beat with a wrong TLAST or None)."""
        n, rng = c * h * w, self.rng
        last = [i == n - 1 for i in range(n)]
        fault = None
        if bad in ("early", "moved") and n > 1:
            fault = rng.randrange(n - 1)
            last[fault] = True
            if bad == "moved":
                last[n - 1] = False
        elif bad == "missing":
            fault = n - 1
            last[n - 1] = False
        data = [rng.getrandbits(8 * self.p["LANES"]) for _ in range(n)]
        return list(zip(data, [int(x) for x in last])), fault

    async def load(self, c: int, h: int, w: int, beats: list, stop_after: int | None = None,
                   taken: int | None = None) -> None:
        """Descriptor, start, the beats; returns after the load (busy low), or, with stop_after,
        once that many beats are taken. `taken`: the beats the load must take (an early TLAST ends
        it there; the rest is flushed from the source)."""
        self.drv.apply(dict(n_blk=c, h=h, w=w, w3=ceil3(w), hw3=ceil3(h) * ceil3(w)))
        await self.tb.cycles(2)
        base = self.src.accepted
        self.src.send(beats)
        await self.drv.drive([dict(start=1)])
        if stop_after is not None:
            await wait_until(self.tb, lambda: self.src.accepted - base >= stop_after, 40 * len(beats) + 100)
            return
        if taken is None or taken == len(beats):
            await wait_until(self.tb, lambda: self.src.empty and not val(self.dut.busy), 40 * len(beats) + 100)
            assert self.src.accepted - base == len(beats)
            return
        await wait_until(self.tb, lambda: self.src.accepted - base >= taken and not val(self.dut.busy),
                         40 * len(beats) + 100)
        await self.tb.cycles(5)                     # nothing more is taken
        assert self.src.accepted - base == taken, f"{self.src.accepted - base} beats taken, expected {taken}"
        self.src.flush()

    async def reset_pulse(self, cycles: int) -> None:
        self.src.flush()
        self.dut.rst.value = 1
        await self.tb.cycles(cycles)
        self.dut.rst.value = 0


@cocotb.test(timeout_time=20000, timeout_unit="us")
@cocotb.parametrize(stall=["none", "random", "bursts"])
async def act_loads(dut, stall):
    """Every shape with h, w in 1..5 and 1-3 channel blocks (as far as the buffer holds them),
    then random shapes up to the register limits, with TVALID paused by the generator; every
    write's sub-bank, word and data, busy, s_tready, stall and err checked in every cycle."""
    env = Env(dut, f"act_loads[{stall}]", stall)
    await env.tb.reset()
    cmax = env.p["ACT_DEPTH"]
    shapes = [(c, h, w) for h in range(1, 6) for w in range(1, 6) for c in (1, 2, 3)
              if c <= cmax and c * ceil3(h) * ceil3(w) <= env.p["ACT_DEPTH"]]
    shapes = [s for i, s in enumerate(shapes) if stall == "none" or i % 3 == 0] + env.shapes(12)
    for c, h, w in shapes:
        await env.load(c, h, w, env.beats(c, h, w)[0])
        if env.rng.random() < 0.5:
            await env.tb.cycles(env.rng.randint(1, 4))        # else the next start right away
    await env.tb.cycles(3)
    dut._log.info(f"{len(shapes)} loads, {env.model.written} beats")
    env.sb.finish(min_checks=env.model.written)
    assert env.model.err_cycles == 0


@cocotb.test(timeout_time=5000, timeout_unit="us")
async def act_tlast_errors(dut):
    """TLAST early (on a non-last beat as well), moved (on an earlier beat only) and missing each
    set err from the cycle after the offending beat, until the next start clears it; an early or
    moved TLAST ends the load there (no beat after it is taken); a correct stream, after a faulty
    one, leaves it 0."""
    env = Env(dut, "act_tlast_errors", "random")
    await env.tb.reset()
    cases = ["early", "none", "missing", "none", "moved", "early", "missing", "none"]
    for bad, (c, h, w) in zip(cases, env.shapes(len(cases))):
        if bad in ("early", "moved") and c * h * w == 1:
            c, h, w = 1, 2, 1
        beats, fault = env.beats(c, h, w, bad)
        await env.load(c, h, w, beats, taken=fault + 1 if bad in ("early", "moved") else None)
        await env.tb.cycles(2)
        want = int(fault is not None)
        assert val(dut.err) == want, f"{bad} TLAST on a {c}x{h}x{w} load: err={val(dut.err)}, expected {want}"
    env.sb.finish(min_checks=10)
    assert env.model.err_cycles > 0


@cocotb.test(timeout_time=5000, timeout_unit="us")
async def act_reset_mid_load(dut):
    """rst (1-3 cycles) in the middle of a load, with err set or not: the loader is idle from the
    next cycle (busy, s_tready, we low, err 0) and ignores the beats still offered; the next load
    is exact."""
    env = Env(dut, "act_reset_mid_load", "random")
    await env.tb.reset()
    for i, (c, h, w) in enumerate(env.shapes(8)):
        if c * h * w < 3:
            c, h, w = 1, 3, 1
        beats, fault = env.beats(c, h, w, "early" if i % 2 else "none")
        end = c * h * w - 1 if fault is None else fault + 1        # an early TLAST ends the load
        await env.load(c, h, w, beats, stop_after=env.rng.randrange(1, max(end, 2)))
        await env.reset_pulse(env.rng.randint(1, 3))
        env.src.send(env.beats(1, 1, 3)[0])                  # beats offered to the idle loader
        await env.tb.cycles(6)
        env.src.flush()
        assert val(dut.busy) == 0 and val(dut.err) == 0
        await RisingEdge(env.tb.clk)
        c2, h2, w2 = env.shapes(1)[0]
        await env.load(c2, h2, w2, env.beats(c2, h2, w2)[0])
    await env.tb.cycles(2)
    env.sb.finish(min_checks=100)


# ---- pytest entries -------------------------------------------------------------------------------

def act_params(lanes, act_depth, dim_bits):
    return dict(LANES=lanes, ACT_DEPTH=act_depth, DIM_BITS=dim_bits)


# small odd shapes: a buffer depth that is not a power of two, one lane, narrow registers; a
# power of two (n_blk = ACT_DEPTH needs the top bit of n_blk)
ACT = unique([act_params(3, 40, 5), act_params(1, 7, 4), act_params(2, 16, 3),
              act_params(CFG.LANES, CFG.ACT_DEPTH, CFG.DIM_BITS)])


@pytest.mark.sim
@pytest.mark.parametrize("params", ACT, ids=[f"L{p['LANES']}-D{p['ACT_DEPTH']}" for p in ACT])
def test_sps_act_loader(simulator, params):
    run_block(simulator, "sps_act_loader", MODULE, params, "actld")
