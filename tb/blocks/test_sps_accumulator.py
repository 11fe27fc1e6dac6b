"""cocotb tests of sps_accumulator: the two accumulator banks, their read-modify-write with forwarding
of in-flight sums, the drain read port and the bank-done pulse.

Testbench pieces:
  * array driver: plays the bottom of the PE array in loop order (section 4): programs of column
    tiles, column tile ct in bank ct mod 2, each of 1-4 row tiles (passes), a pass = pixels
    0..npix-1 in order with its pixel sideband (rtl/sps_sideband.vh: last pixel, pixel, bank, first
    / last row tile, last pass); column j's psum one cycle after the sideband plus j (the header);
    bubbles between pixels from a pause generator (none / random cycles / bursts); npix down to 1,
    so the same pixel comes back 1, 2, 3, 4 cycles later (forwarding of the in-flight sums); a
    column tile waits until its bank's previous contents are drained; random sideband and psums
    in the cycles without a pixel;
  * drain driver: plays the output stage: after each bank-done pulse, in order, reads the bank's
    npix words (drain_active held, drain_bank, drain_addr; gaps with other addresses of the bank
    from a pause generator), then releases the bank;
  * one monitor, model and scoreboard, from the rtl/sps_accumulator.v header: per bank, pixel and
    column an int32 sum, set to the psum on the first row tile, else incremented (wrap); a pixel
    with `last pixel` and `last row tile` seen in cycle t makes done_valid high in cycle
    t + COLS + 5 (column COLS-1's psum at t + COLS, written 4 cycles after, done 1 cycle later)
    with done_bank and done_last (= last pass), and never otherwise; a drain read in cycle r gives
    the bank's words in cycle r + 3; `rst` drops everything in flight (no done from before it).
"""
from __future__ import annotations

import collections

import cocotb
import pytest
from cocotb.triggers import RisingEdge

from tb.blocks import CFG, run_block, unique
from tb.env.block import (BlockTb, Monitor, Scoreboard, dut_params, mask, pack, pauses, rand_int,
                          seeded_rng, sext, unpack, val)

MODULE = "tb.blocks.test_sps_accumulator"
DONE_LAT = 5            # done_valid: cycles after column COLS-1's psum
DRAIN_LAT = 3           # drain_data: cycles after the read


def pixel_sideband(pxw: int, pixel: int, last_px: int, bank: int, first_rt: int, last_rt: int, last_pass: int) -> int:
    """rtl/sps_sideband.vh: last pixel in bit 0, the pixel index in PXW bits, then the pass
    sideband (bank, first row tile, last row tile, last pass)."""
    return last_px | (pixel << 1) | ((bank | first_rt << 1 | last_rt << 2 | last_pass << 3) << (1 + pxw))


def sideband_fields(pxw: int, sb: int) -> dict:
    pas = sb >> (1 + pxw)
    return dict(last_px=sb & 1, pixel=(sb >> 1) & ((1 << pxw) - 1), bank=pas & 1, first=(pas >> 1) & 1,
                last_rt=(pas >> 2) & 1, last_pass=(pas >> 3) & 1)


class AccModel:
    """Sums, expected done pulses and drain words (see the module docstring)."""

    def __init__(self, cols: int, pxw: int, sb: Scoreboard):
        self.C, self.pxw, self.sb = cols, pxw, sb
        self.acc = [collections.defaultdict(lambda: [None] * cols) for _ in range(2)]
        self.events: dict[int, dict] = {}          # cycle -> pixel sideband seen then
        self.done: dict[int, dict] = {}            # cycle -> expected done_bank / done_last
        self.drain: dict[int, tuple] = {}          # cycle -> (bank, addr, expected words)
        self.last_upd: dict[tuple, int] = {}       # (bank, pixel, column) -> cycle of its last psum
        self.distance = collections.Counter()      # cycles between two psums of one word (<= 5)
        self.dones = self.drained = 0

    def on_cycle(self, n: int, t: dict) -> None:
        # the outputs of this cycle
        e = self.done.pop(n, None)
        got = dict(done_valid=t["done_valid"])
        exp = dict(done_valid=int(e is not None))
        if e is not None:
            got.update(done_bank=t["done_bank"], done_last=t["done_last"])
            exp.update(e)
            self.dones += 1
        self.sb.check(n, got, exp, "bank done")
        d = self.drain.pop(n, None)
        if d is not None:
            bank, addr, words = d
            self.sb.check(n, dict(words=unpack(t["drain_data"], self.C, 32, signed=True)), dict(words=words),
                          f"drain read of bank {bank} pixel {addr} in cycle {n - DRAIN_LAT}")
            self.drained += 1
        # the inputs of this cycle
        if t["rst"]:
            self.events.clear()
            self.drain.clear()
            self.done = {c: v for c, v in self.done.items() if c <= n}
            for bank in self.acc:
                bank.clear()                       # unknown: in-flight writes may or may not be done
            return
        if t["sb_valid"]:
            ev = sideband_fields(self.pxw, t["sb"])
            self.events[n] = ev
            if ev["last_px"] and ev["last_rt"]:
                self.done[n + self.C + DONE_LAT] = dict(done_bank=ev["bank"], done_last=ev["last_pass"])
        psums = unpack(t["psum_in"], self.C, 32, signed=True)
        for j in range(self.C):
            ev = self.events.get(n - 1 - j)
            if ev is None:
                continue
            word = self.acc[ev["bank"]][ev["pixel"]]
            old = 0 if ev["first"] else word[j]
            word[j] = None if old is None else sext(old + psums[j], 32)
            key = (ev["bank"], ev["pixel"], j)
            if key in self.last_upd and n - self.last_upd[key] <= 5:
                self.distance[n - self.last_upd[key]] += 1
            self.last_upd[key] = n
        self.events.pop(n - self.C, None)
        if t["drain_active"]:
            bank, addr = t["drain_bank"], t["drain_addr"]
            words = self.acc[bank][addr]
            assert None not in words, f"cycle {n}: the test drains bank {bank} pixel {addr}, never written since reset"
            self.drain[n + DRAIN_LAT] = (bank, addr, list(words))


class Env:
    def __init__(self, dut, name: str, stall: str):
        self.p = dut_params(dut, ("COLS", "ACC_DEPTH", "PXW"))
        self.C, self.pxw = self.p["COLS"], self.p["PXW"]
        assert len(dut.sb) == self.pxw + 5, f"sb is {len(dut.sb)} bits, the sideband layout needs PXW + 5"
        self.dut, self.name = dut, name
        self.rng = seeded_rng(dut, name)
        self.tb = BlockTb(dut)
        self.sb = Scoreboard(dut._log, name)
        self.model = AccModel(self.C, self.pxw, self.sb)
        self.sb_pause = pauses(stall, self.rng)
        self.drain_pause = pauses(stall, self.rng)
        self.sched: dict[int, dict] = collections.defaultdict(dict)   # driver cycle -> {column: psum}
        self.k = 0                                 # the array driver's cycle
        self.done_q: collections.deque = collections.deque()          # banks done, not yet drained
        self.drained = [0, 0]                      # drains finished per bank
        self.npix = 1
        self.abort = False
        for s in ("sb_valid", "drain_active", "drain_bank", "drain_addr"):
            getattr(dut, s).value = 0
        self.step_idle()
        sig = ("rst", "sb_valid", "sb", "psum_in", "drain_active", "drain_bank", "drain_addr", "drain_data",
               "done_valid", "done_bank", "done_last")
        Monitor(self.tb, lambda: {s: val(getattr(dut, s)) for s in sig}, "port").add_callback(self.model.on_cycle)
        Monitor(self.tb, lambda: val(dut.done_bank) if val(dut.done_valid) else None,
                "done").add_callback(lambda n, bank: self.done_q.append(bank))
        cocotb.start_soon(self._drain())

    # ---- array side ---------------------------------------------------------------------------
    def step_idle(self) -> None:
        self.dut.sb_valid.value = 0
        self.dut.sb.value = self.rng.getrandbits(len(self.dut.sb))
        self._psums()

    def _psums(self) -> None:
        cols = self.sched.pop(self.k, {})
        self.dut.psum_in.value = pack([cols[j] if j in cols else self.rng.getrandbits(32) for j in range(self.C)], 32)

    async def step(self, sb: int | None) -> None:
        """One cycle: the pixel sideband `sb` (None: no pixel) and the psums due now."""
        if sb is None:
            self.step_idle()
        else:
            self.dut.sb_valid.value = 1
            self.dut.sb.value = sb
            for j in range(self.C):
                self.sched[self.k + 1 + j][j] = mask(rand_int(self.rng, 32, True, 0.1), 32)
            self._psums()
        await RisingEdge(self.tb.clk)
        self.k += 1

    async def program(self, npix: int, n_ct: int, stop_after: int | None = None, min_rt: int = 1) -> int:
        """Column tiles 0..n_ct-1 of npix pixels (bank ct mod 2, min_rt..4 row tiles each); with
        stop_after, returns once that many pixels are issued. Returns the pixels issued."""
        self.npix = npix
        base = list(self.drained)
        issued = 0
        for ct in range(n_ct):
            bank, rts = ct % 2, self.rng.choice([n for n in (1, 1, 2, 3, 4) if n >= min_rt])
            waited = 0
            while self.drained[bank] - base[bank] < (ct - 2) // 2 + 1 and ct >= 2:
                await self.step(None)              # the bank still holds ct-2's sums
                waited += 1
                assert waited < 200 * npix + 500, f"bank {bank} never done or drained (column tile {ct - 2})"
            for rt in range(rts):
                for p in range(npix):
                    while next(self.sb_pause):
                        await self.step(None)
                    if stop_after is not None and issued == stop_after:
                        return issued
                    await self.step(pixel_sideband(
                        self.pxw, p, int(p == npix - 1), bank, int(rt == 0), int(rt == rts - 1),
                        int(ct == n_ct - 1 and rt == rts - 1)))
                    issued += 1
        return issued

    async def settle(self, n_ct: int, base: list[int]) -> None:
        """Bubbles until every column tile of the program is drained."""
        for _ in range(200 * self.npix + 500):
            if sum(self.drained) - sum(base) == n_ct:
                return
            await self.step(None)
        raise AssertionError(f"only {sum(self.drained) - sum(base)} of {n_ct} column tiles done and drained")

    # ---- output-stage side ----------------------------------------------------------------------
    async def _drain(self):
        dut = self.dut
        while True:
            await RisingEdge(self.tb.clk)
            if self.abort or not self.done_q:
                continue
            bank = self.done_q.popleft()
            while next(self.drain_pause) and not self.abort:
                await RisingEdge(self.tb.clk)
            dut.drain_active.value, dut.drain_bank.value = 1, bank
            addr = 0
            while addr < self.npix and not self.abort:
                if next(self.drain_pause):
                    dut.drain_addr.value = self.rng.randrange(self.npix)   # a read the stage ignores
                else:
                    dut.drain_addr.value = addr
                    addr += 1
                await RisingEdge(self.tb.clk)
            dut.drain_active.value = 0
            if not self.abort:
                self.drained[bank] += 1

    async def reset_pulse(self, cycles: int) -> None:
        self.abort = True
        self.done_q.clear()
        self.dut.rst.value = 1
        for _ in range(cycles):
            await self.step(None)
        self.dut.rst.value = 0
        await self.step(None)
        self.done_q.clear()                        # done pulses seen before the reset took effect
        self.abort = False


def npix_choices(rng, depth: int) -> list[int]:
    small = [n for n in (1, 2, 3, 4, 5) if n <= depth]
    return small + [rng.randint(1, min(depth, 40)), min(depth, rng.choice((depth, 64)))]


@cocotb.test(timeout_time=20000, timeout_unit="us")
@cocotb.parametrize(stall=["none", "random", "bursts"])
async def acc_programs(dut, stall):
    """Programs of 1-5 column tiles over 1..5 pixels (2-4 row tiles: one pixel is the same word every cycle), a
    random count and ACC_DEPTH (up to 64), with pixel bubbles and drain gaps from the pause
    generator; every done pulse and every drained word checked."""
    env = Env(dut, f"acc_programs[{stall}]", stall)
    await env.tb.reset()
    cts = 0
    for npix in npix_choices(env.rng, env.p["ACC_DEPTH"]):
        n_ct = env.rng.randint(1, 5) if npix > 5 else 5
        base = list(env.drained)
        await env.program(npix, n_ct, min_rt=1 if npix > 5 else 2)     # a pixel again npix cycles later
        await env.settle(n_ct, base)
        cts += n_ct
    for _ in range(DRAIN_LAT + 2):
        await env.step(None)
    m = env.model
    dut._log.info(f"{cts} column tiles, {m.dones} done pulses, {m.drained} drained words; cycles between "
                  f"two psums of one word (forwarding distance): {dict(sorted(m.distance.items()))}")
    env.sb.finish(min_checks=m.drained)
    assert m.dones == cts
    if stall == "none":        # back to back: forwarding from each of the four stages ahead
        want = range(1, min(4, env.p["ACC_DEPTH"]) + 1)
        assert all(m.distance[d] for d in want), f"forwarding distances hit: {dict(m.distance)}"


@cocotb.test(timeout_time=20000, timeout_unit="us")
async def acc_reset_mid_program(dut):
    """rst (1-3 cycles) in the middle of a program (while sums are in flight, a bank done or being
    drained): no done pulse from before it appears, and the next program is exact."""
    env = Env(dut, "acc_reset_mid_program", "random")
    await env.tb.reset()
    for i in range(5):
        npix = env.rng.choice(npix_choices(env.rng, env.p["ACC_DEPTH"]))
        if i % 2:                                  # a column tile's last pixel still in the pipe
            await env.program(npix, 1)
            later = env.rng.randint(0, env.C + DONE_LAT - 1)
        else:
            await env.program(npix, 4, stop_after=env.rng.randint(1, 3 * npix))
            later = env.rng.choice((0, 1, env.C + 3))
        for _ in range(later):
            await env.step(None)
        await env.reset_pulse(env.rng.randint(1, 3))
        npix = env.rng.choice(npix_choices(env.rng, env.p["ACC_DEPTH"]))
        n_ct = env.rng.randint(1, 3)
        base = list(env.drained)
        await env.program(npix, n_ct)
        await env.settle(n_ct, base)
    for _ in range(DRAIN_LAT + 2):
        await env.step(None)
    env.sb.finish(min_checks=env.model.drained)
    assert env.model.drained > 0


# ---- pytest entries -------------------------------------------------------------------------------

def acc_params(cols, acc_depth):
    return dict(COLS=cols, ACC_DEPTH=acc_depth)


# small odd shapes: a one-column, one-word accumulator; a depth that is not a power of two
ACC = unique([acc_params(1, 1), acc_params(3, 5), acc_params(CFG.COLS, CFG.ACC_DEPTH)])


@pytest.mark.sim
@pytest.mark.parametrize("params", ACC, ids=[f"C{p['COLS']}-D{p['ACC_DEPTH']}" for p in ACC])
def test_sps_accumulator(simulator, params):
    run_block(simulator, "sps_accumulator", MODULE, params, "acc")
