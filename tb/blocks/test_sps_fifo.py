"""cocotb tests of sps_fifo (first-word-fall-through FIFO, the output stage's result FIFO).

Model (rtl/sps_fifo.v header): a queue of at most DEPTH words. In every cycle the outputs show the
state left by the previous cycles: empty = (no word), count = words, dout = oldest word (compared
when not empty). A cycle's push stores din unless the FIFO is full; its pop removes the oldest word
unless it is empty (both ignored otherwise, also when pushing and popping a full / empty FIFO).
"""
from __future__ import annotations

import cocotb
import pytest

from tb.env.block import BlockTb, CycleDriver, Monitor, Scoreboard, dut_params, seeded_rng, val
from tb.blocks import CFG, run_block, unique

MODULE = "tb.blocks.test_sps_fifo"

INPUTS = ("push", "din", "pop")


class FifoModel:
    def __init__(self, depth: int):
        self.depth = depth
        self.q: list[int] = []
        self.stats = dict(full_push=0, empty_pop=0, both=0)

    def expected(self) -> dict:
        e = dict(empty=int(not self.q), count=len(self.q))
        if self.q:
            e["dout"] = self.q[0]
        return e

    def update(self, t: dict) -> None:
        do_push = t["push"] and len(self.q) < self.depth
        do_pop = t["pop"] and len(self.q) > 0
        self.stats["full_push"] += int(bool(t["push"]) and not do_push)
        self.stats["empty_pop"] += int(bool(t["pop"]) and not do_pop)
        self.stats["both"] += int(do_push and do_pop)
        if do_pop:
            self.q.pop(0)
        if do_push:
            self.q.append(t["din"])


@cocotb.test(timeout_time=1000, timeout_unit="us")
@cocotb.parametrize(bias=["fill", "drain", "balanced"])
async def fifo_random(dut, bias):
    """1000 cycles of random push/pop, biased to run the FIFO full (pushes into a full FIFO), empty
    (pops of an empty FIFO) or around half full; every cycle's dout/empty/count checked."""
    p = dut_params(dut, ("WIDTH", "DEPTH", "CW"))
    name = f"fifo_random[{bias}] WIDTH={p['WIDTH']} DEPTH={p['DEPTH']}"
    rng = seeded_rng(dut, name)
    tb = BlockTb(dut)
    drv = CycleDriver(tb, INPUTS, idle=dict(push=0, pop=0))
    drv.apply(dict(push=0, din=0, pop=0))
    await tb.reset()
    model = FifoModel(p["DEPTH"])
    sb = Scoreboard(dut._log, name)

    def sample():
        o = dict(empty=val(dut.empty), count=val(dut.count))
        if not o["empty"]:
            o["dout"] = val(dut.dout)
        return dict(i={n: val(getattr(dut, n)) for n in INPUTS}, o=o)

    def check(n, io):
        exp = model.expected()
        sb.check(n, {k: io["o"].get(k) for k in exp}, exp, "FIFO outputs")

    port = Monitor(tb, sample, "port")      # check the cycle's outputs, then apply its push/pop
    port.add_callback(check)
    port.add_callback(lambda n, io: model.update(io["i"]))
    pp, pq = dict(fill=(0.8, 0.3), drain=(0.3, 0.8), balanced=(0.5, 0.5))[bias]
    items = []
    for _ in range(1000):
        if rng.random() < 0.05:                     # switch the bias now and then
            pp, pq = pq, pp
        items.append(dict(push=int(rng.random() < pp), pop=int(rng.random() < pq),
                          din=rng.getrandbits(p["WIDTH"])))
    await drv.drive(items)
    await tb.cycles(2)
    sb.finish(min_checks=1000)
    dut._log.info(f"{name}: {model.stats}")
    # coverage (a one-word FIFO can never push and pop in the same cycle)
    assert model.stats["both"] > 0 or p["DEPTH"] == 1, "no simultaneous push and pop"
    if bias == "fill":
        assert model.stats["full_push"] > 0, "never pushed into a full FIFO"
    if bias == "drain":
        assert model.stats["empty_pop"] > 0, "never popped an empty FIFO"


# ---- pytest entries -------------------------------------------------------------------------------

def fifo_params(width, depth):
    return dict(WIDTH=width, DEPTH=depth)


# the default set: the output stage's result FIFO (COLS int32 + TLAST)
FIFO = unique([fifo_params(7, 1), fifo_params(33, 5), fifo_params(CFG.COLS * 32 + 1, CFG.OUT_FIFO_DEPTH)])


@pytest.mark.sim
@pytest.mark.parametrize("params", FIFO, ids=[f"W{p['WIDTH']}-D{p['DEPTH']}" for p in FIFO])
def test_sps_fifo(simulator, params):
    run_block(simulator, "sps_fifo", MODULE, params, "fifo")
