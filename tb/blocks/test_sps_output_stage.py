"""cocotb tests of sps_output_stage (+ its sps_fifo and sps_requant lanes): column-tile headers,
bank-done handshake with the accumulator, drain reads, bias + requantisation, result stream with
backpressure.

Testbench pieces:
  * header / done drivers: play the weight loader and the accumulator's completion side, in loop
    order (section 4): column tile ct uses bank ct mod 2; its 7 header beats (section 5.3 packing)
    are written once bank ct mod 2 is free again (its bank_free seen, from the next cycle), its done
    pulse (done_last on the program's last tile) comes after its header and after tile ct-1's done;
  * FakeAccumulator: holds the two banks, answers a drain read in cycle t with the word in cycle
    t + 2 (the accumulator registers its RAM's output; random garbage in other cycles), and checks the protocol: reads only of a bank that is
    done and not yet freed, addresses 0..npix-1 each once in order before that bank's bank_free;
    bank_free pulses in done order, one per column tile;
  * ready driver: random m_tready (never / some / mostly stalled);
  * monitor + scoreboard: every accepted beat (m_tvalid and m_tready) against the model's queue in
    order -- nothing dropped, duplicated or reordered; AXI4-Stream rule: while m_tvalid and not
    m_tready the beat stays the same.
Model (sections 5.3, 5.4, 6): beat p of column tile ct, lane j = requant(acc[p][j] + bias[j]) or
acc + bias (int32 wrap) in raw mode, with the header of the bank as written; TLAST exactly on the
last beat of a tile whose done carried done_last.
"""
from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import Event, FallingEdge, RisingEdge

from tb.env.block import (BlockTb, CycleDriver, Monitor, Scoreboard, dut_params, mask, pack,
                          rand_int, seeded_rng, sext, unpack, val, wait_until)
from tb.blocks import CFG, run_block, unique

MODULE = "tb.blocks.test_sps_output_stage"
from tb.blocks.test_sps_requant import requant_ref

HDR = ("hdr_wr_en", "hdr_wr_bank", "hdr_wr_beat", "hdr_wr_data")
DONE = ("done_valid", "done_bank", "done_last")
CTRL = ("start", "npix", "requant", "relu")


def header_beats(cols: int, bias, M, sh) -> list[int]:
    """Section 5.3: bias int32 per column as a COLS*32-bit little-endian vector in beats 0-3,
    M uint16 per column in beats 4-5, shift byte per column in beat 6."""
    w = cols * 8
    b, m = pack(bias, 32), pack(M, 16)
    return [(b >> (k * w)) & ((1 << w) - 1) for k in range(4)] + \
           [(m >> (k * w)) & ((1 << w) - 1) for k in range(2)] + [pack(sh, 8)]


def decode_header(cols: int, beats: list[int]):
    w = cols * 8
    b = sum(beats[k] << (k * w) for k in range(4))
    m = beats[4] | (beats[5] << w)
    return (unpack(b, cols, 32, signed=True), unpack(m, cols, 16), [s & 63 for s in unpack(beats[6], cols, 8)])


class FakeAccumulator:
    def __init__(self, tb, dut, cols: int, rng, sb: Scoreboard):
        self.tb, self.dut, self.C, self.rng, self.sb = tb, dut, cols, rng, sb
        self.mem = [[], []]
        self.live = [False, False]                 # done and not yet freed
        self.reads = [[], []]                      # (cycle, addr) since the bank's done
        self.order: list[int] = []                 # banks in done order, not yet freed
        self.frees: list[Event] = []               # one per column tile, set at its bank_free
        self.nfree = 0
        self.pending = [None, None]                # words read 1 and 2 cycles ago: like
                                                   # sps_accumulator, data 3 cycles after a read
        cocotb.start_soon(self._serve())

    def fill(self, bank: int, npix: int) -> None:
        vals = []
        for _ in range(npix):
            vals.append([rand_int(self.rng, 32, True, 0.1) for _ in range(self.C)])
        self.mem[bank], self.live[bank], self.reads[bank] = vals, True, []
        self.order.append(bank)

    async def _serve(self):
        while True:
            await FallingEdge(self.tb.clk)
            data = None
            if val(self.dut.drain_re):
                bank, addr, n = val(self.dut.drain_bank), val(self.dut.drain_addr), self.tb.cycle
                if not self.live[bank]:
                    self.sb.error(f"cycle {n}: drain read of bank {bank}, which is not done (or already freed)")
                elif addr >= len(self.mem[bank]):
                    self.sb.error(f"cycle {n}: drain read of bank {bank} address {addr} >= npix {len(self.mem[bank])}")
                else:
                    data = self.mem[bank][addr]
                    self.reads[bank].append((n, addr))
            await RisingEdge(self.tb.clk)
            word = self.pending.pop(0)
            self.pending.append(data)
            self.dut.drain_data.value = pack(word, 32) if word is not None else self.rng.getrandbits(32 * self.C)

    def on_free(self, f: int, bank: int) -> None:
        want = self.order.pop(0) if self.order else None
        self.sb.check(f, dict(bank_free_id=bank), dict(bank_free_id=want), "bank_free order")
        if want is None:
            return
        got = [a for _, a in self.reads[bank]]
        npix = len(self.mem[bank])
        self.sb.check(f, dict(in_order=got == list(range(npix))), dict(in_order=True),
                      f"drain reads of bank {bank} before its bank_free were addresses {got[:12]}"
                      f"{'...' if len(got) > 12 else ''}, expected 0..{npix - 1} once each in order")
        self.live[bank] = False
        self.frees[self.nfree].set()
        self.nfree += 1


class OutModel:
    def __init__(self, cols: int, acc: FakeAccumulator, sb: Scoreboard):
        self.C, self.acc, self.sb = cols, acc, sb
        self.hdr = [[0] * 7, [0] * 7]
        self.beats = 0

    def on_input(self, n: int, t: dict) -> None:
        if t["hdr_wr_en"]:
            self.hdr[t["hdr_wr_bank"]][t["hdr_wr_beat"]] = t["hdr_wr_data"]
        if t["done_valid"]:
            bank = t["done_bank"]
            bias, M, sh = decode_header(self.C, self.hdr[bank])
            npix = len(self.acc.mem[bank])
            for p, accs in enumerate(self.acc.mem[bank]):
                lanes = [mask(requant_ref(sext(accs[j] + bias[j], 32), M[j], sh[j], bool(t["requant"]),
                                          bool(t["relu"])), 32) for j in range(self.C)]
                self.sb.expect(dict(tdata=pack(lanes, 32), tlast=int(bool(t["done_last"]) and p == npix - 1)))
                self.beats += 1


class StreamMonitor:
    """Accepted beats, and the AXI4-Stream rule that a stalled beat does not change."""

    def __init__(self, tb, dut, sb: Scoreboard):
        self.dut, self.sb = dut, sb
        self.held = None
        self.accepted: list[int] = []              # cycles with a transfer
        Monitor(tb, self.sample, "m_axis").add_callback(self.on_sample)

    def sample(self):
        v = val(self.dut.m_tvalid)
        o = dict(tvalid=v, tready=val(self.dut.m_tready))
        if v:
            o.update(tdata=val(self.dut.m_tdata), tlast=val(self.dut.m_tlast))
        return o

    def on_sample(self, n: int, o: dict) -> None:
        if self.held is not None:
            self.sb.check(n, dict(tvalid=o["tvalid"], tdata=o.get("tdata"), tlast=o.get("tlast")),
                          dict(tvalid=1, **self.held), "stalled beat must stay")
        self.held = None
        if o["tvalid"] and o["tready"]:
            self.accepted.append(n)
            self.sb.observe(n, dict(tdata=o["tdata"], tlast=o["tlast"]), "result beat")
        elif o["tvalid"]:
            self.held = dict(tdata=o["tdata"], tlast=o["tlast"])


async def drive_ready(tb, dut, rng, p_stall: float):
    while True:
        dut.m_tready.value = int(not (p_stall > 0 and rng.random() < p_stall))
        await RisingEdge(tb.clk)


class Env:
    def __init__(self, dut, name, rng):
        self.p = dut_params(dut, ("COLS", "ACC_DEPTH", "OUT_FIFO_DEPTH", "PXW", "FCW"))
        self.C = self.p["COLS"]
        self.dut, self.rng = dut, rng
        self.tb = BlockTb(dut)
        self.hdrv = CycleDriver(self.tb, HDR, idle=dict(hdr_wr_en=0))
        self.ddrv = CycleDriver(self.tb, DONE, idle=dict(done_valid=0))
        self.cdrv = CycleDriver(self.tb, CTRL, idle=dict(start=0))
        for d, names in ((self.hdrv, HDR), (self.ddrv, DONE), (self.cdrv, CTRL)):
            d.apply({n: 0 for n in names})
        dut.m_tready.value = 0
        dut.drain_data.value = 0
        self.sb = Scoreboard(dut._log, name)
        self.acc = FakeAccumulator(self.tb, dut, self.C, rng, self.sb)
        self.model = OutModel(self.C, self.acc, self.sb)
        self.stream = StreamMonitor(self.tb, dut, self.sb)
        Monitor(self.tb, lambda: {n: val(getattr(dut, n)) for n in HDR + DONE + CTRL},
                "in").add_callback(self.model.on_input)
        Monitor(self.tb, lambda: val(dut.bank_free_id) if val(dut.bank_free_valid) else None,
                "bank_free").add_callback(self.acc.on_free)

    async def program(self, npix: int, requant: int, relu: int, n_ct: int, hdr_gap: float, done_delay: int):
        rng, C = self.rng, self.C
        await self.cdrv.drive([dict(start=1, npix=npix, requant=requant, relu=relu)])
        self.acc.frees = [Event() for _ in range(n_ct)]
        self.acc.nfree = 0
        hdr_done = [Event() for _ in range(n_ct)]

        async def headers():
            for ct in range(n_ct):
                if ct >= 2:                        # bank ct%2 is free again: in sps_top its first
                    await self.acc.frees[ct - 2].wait()   # header write lands 3 cycles after
                    await self.tb.cycles(2)               # bank_free (busy cleared, claim, the
                    await RisingEdge(self.tb.clk)         # loader's registered header write)
                bias = [rand_int(rng, 32, True, 0.2) for _ in range(C)]
                M = [rand_int(rng, 16, False, 0.1) for _ in range(C)]
                sh = [rng.choice((0, 1, rng.randint(0, 63), rng.randint(12, 24))) for _ in range(C)]
                for beat, data in enumerate(header_beats(C, bias, M, sh)):
                    while rng.random() < hdr_gap:
                        await self.hdrv.drive([dict(hdr_wr_en=0)])
                    await self.hdrv.drive([dict(hdr_wr_en=1, hdr_wr_bank=ct % 2, hdr_wr_beat=beat,
                                                hdr_wr_data=data)])
                self.hdrv.apply(dict(hdr_wr_en=0))
                hdr_done[ct].set()

        async def dones():
            for ct in range(n_ct):
                await hdr_done[ct].wait()
                if done_delay:
                    await self.tb.cycles(rng.randint(0, done_delay))
                self.acc.fill(ct % 2, npix)
                await self.ddrv.drive([dict(done_valid=1, done_bank=ct % 2, done_last=int(ct == n_ct - 1))])

        h = cocotb.start_soon(headers())
        d = cocotb.start_soon(dones())
        await h
        await d
        # every beat delivered and every bank freed, then nothing more
        await wait_until(self.tb, lambda: not self.sb.queue and self.acc.nfree == n_ct, max_cycles=50 * npix * n_ct + 500)
        await self.tb.cycles(12)
        assert val(self.dut.m_tvalid) == 0, "m_tvalid still set after the program's last beat"


@cocotb.test(timeout_time=5000, timeout_unit="us")
@cocotb.parametrize(ready=["always", "random", "heavy"])
async def output_random_programs(dut, ready):
    """Four programs (start, npix 1..ACC_DEPTH, raw / requant / requant+relu, 1-5 column tiles) with
    random header gaps and done timing, m_tready never / sometimes / mostly low."""
    name = f"output_random_programs[{ready}]"
    rng = seeded_rng(dut, name)
    env = Env(dut, name, rng)
    p_stall = dict(always=0.0, random=0.4, heavy=0.85)[ready]
    cocotb.start_soon(drive_ready(env.tb, dut, rng, p_stall))
    await env.tb.reset()
    maxpix = env.p["ACC_DEPTH"]                  # a pass has at most ACC_DEPTH pixels
    for prog in range(4):
        npix = rng.choice((1, 2, maxpix, rng.randint(1, min(maxpix, 24))))
        requant, relu = rng.choice(((0, 0), (0, 1), (1, 0), (1, 1)))
        n_ct = rng.randint(1, 5) if prog else 5
        dut._log.info(f"program {prog}: npix={npix} requant={requant} relu={relu} column tiles={n_ct}")
        await env.program(npix, requant, relu, n_ct, hdr_gap=rng.choice((0.0, 0.3)),
                          done_delay=rng.choice((0, 3, 2 * npix)))
        await env.tb.cycles(rng.randint(0, 3))
    env.sb.finish(min_checks=env.model.beats)
    assert len(env.stream.accepted) == env.model.beats > 0


@cocotb.test(timeout_time=2000, timeout_unit="us")
@cocotb.parametrize(requant=[0, 1])
async def output_full_rate(dut, requant):
    """m_tready always high, four column tiles done back to back: every drain runs at its full
    rate, one read per cycle raw and one per two cycles requantised (what compiler/perf.py assumes;
    needs OUT_FIFO_DEPTH >= 8, docs/ARCHITECTURE.md section 1), the result beats follow each other
    at the same rate, and the results are exact."""
    name = f"output_full_rate[requant={requant}]"
    step = 2 if requant else 1
    rng = seeded_rng(dut, name)
    env = Env(dut, name, rng)
    dut.m_tready.value = 1
    await env.tb.reset()
    npix = min(env.p["ACC_DEPTH"], 20)
    await env.program(npix, requant=requant, relu=0, n_ct=4, hdr_gap=0.0, done_delay=0)
    env.sb.finish(min_checks=4 * npix)
    gaps = []
    for bank in (0, 1):                            # the last drain of each bank
        cyc = [c for c, _ in env.acc.reads[bank]]
        gaps.append(cyc[-1] - cyc[0] + step - step * len(cyc))
    depth = env.p["OUT_FIFO_DEPTH"]
    dut._log.info(f"{name}: OUT_FIFO_DEPTH={depth}: bubbles in the last drain of each bank: {gaps}")
    assert gaps == [0, 0], (f"OUT_FIFO_DEPTH={depth}: drain not one read per {step} cycle(s) with m_tready high: "
                            f"bubbles {gaps}")
    beats = env.stream.accepted
    runs = [beats[i + 1] - beats[i] for i in range(len(beats) - 1)]
    assert all(d == step for d in runs[:npix - 1]), f"gaps between the first tile's result beats: {runs[:npix - 1]}"


@cocotb.test(timeout_time=3000, timeout_unit="us")
@cocotb.parametrize(requant=[0, 1])
async def output_reset_mid_drain(dut, requant):
    """rst (1-3 cycles) while a column tile drains, m_tready stalling randomly: from the reset on,
    nothing of that tile comes out (no result beat, no drain read, no bank_free for 30 cycles),
    and a new program after it runs exactly."""
    name = f"output_reset_mid_drain[requant={requant}]"
    rng = seeded_rng(dut, name)
    env = Env(dut, name, rng)
    cocotb.start_soon(drive_ready(env.tb, dut, rng, 0.3))
    await env.tb.reset()
    C, npix = env.C, min(env.p["ACC_DEPTH"], 16)
    for trial in range(3):
        await env.cdrv.drive([dict(start=1, npix=npix, requant=requant, relu=0)])
        env.acc.frees, env.acc.nfree = [Event()], 0
        bias = [rand_int(rng, 32, True, 0.2) for _ in range(C)]
        M = [rand_int(rng, 16, False, 0.1) for _ in range(C)]
        for beat, data in enumerate(header_beats(C, bias, M, [rng.randint(0, 24) for _ in range(C)])):
            await env.hdrv.drive([dict(hdr_wr_en=1, hdr_wr_bank=0, hdr_wr_beat=beat, hdr_wr_data=data)])
        env.acc.fill(0, npix)
        await env.ddrv.drive([dict(done_valid=1, done_bank=0, done_last=1)])
        cut = rng.randint(0, npix // 2)           # result beats out before the reset
        await wait_until(env.tb, lambda: len(env.stream.accepted) >= cut or val(dut.drain_re) and rng.random() < 0.2)
        env.tb.rst.value = 1
        await RisingEdge(env.tb.clk)              # the first reset edge: everything in flight is gone
        env.sb.queue.clear()
        env.stream.held = None
        env.acc.live, env.acc.order, env.acc.reads = [False, False], [], [[], []]
        await env.tb.cycles(rng.randint(0, 2))
        env.tb.rst.value = 0
        for _ in range(30):
            await FallingEdge(env.tb.clk)
            env.sb.check(env.tb.cycle, dict(m_tvalid=val(dut.m_tvalid), drain_re=val(dut.drain_re)),
                         dict(m_tvalid=0, drain_re=0), "after rst")
        await env.program(npix, requant, 0, n_ct=2, hdr_gap=0.0, done_delay=0)
    env.sb.finish(min_checks=env.model.beats)


# ---- pytest entries -------------------------------------------------------------------------------

def out_params(cols, acc_depth, depth):
    return dict(COLS=cols, ACC_DEPTH=acc_depth, OUT_FIFO_DEPTH=depth)


# OUT_FIFO_DEPTH 8 is the smallest compiler/config.py accepts (full-rate drain, ARCHITECTURE.md section 1)
OUT = unique([out_params(3, 16, 8), out_params(5, 8, 9),
              out_params(CFG.COLS, CFG.ACC_DEPTH, CFG.OUT_FIFO_DEPTH)])


@pytest.mark.sim
@pytest.mark.parametrize("params", OUT, ids=[f"C{p['COLS']}-D{p['OUT_FIFO_DEPTH']}" for p in OUT])
def test_sps_output_stage(simulator, params):
    """sps_output_stage with its sps_requant lanes and sps_fifo."""
    run_block(simulator, "sps_output_stage", MODULE, params, "out")
