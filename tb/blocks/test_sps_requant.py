"""cocotb tests of sps_requant, one output-stage lane (docs/ARCHITECTURE.md section 6).

Model: `requant_ref` below, written from section 6 (test_requant_reference_matches_models_quant
at the end checks it against models.quant.requantize on random vectors). A raw-mode input of
cycle n gives out_valid and out = v in cycle n + 2; a requant-mode input gives the sign-extended
int8 in cycle n + 9. The lane's contract (the output stage keeps it): in requant mode in_valid
is never high in two consecutive cycles, and the mode changes only when the lane is empty.
out_valid is compared every cycle, out when valid.
"""
from __future__ import annotations

import os

import cocotb
import pytest

from tb.env.block import (Monitor, Scoreboard, mask, rand_int, seeded_rng, sext, start_block, val)
from tb.blocks import run_block

MODULE = "tb.blocks.test_sps_requant"

INPUTS = ("in_valid", "v", "mult", "shift", "requant", "relu")


def requant_ref(v: int, M: int, sh: int, requant: bool, relu: bool) -> int:
    """Section 6 for an int32 v = acc + bias; returns the lane's int32 output value."""
    if not requant:
        return v
    t = v * M
    if sh > 0:
        t = (t + (1 << (sh - 1))) >> sh           # Python >> on ints is floor: ties round up
    if relu:
        t = max(t, 0)
    return min(max(t, -128), 127)


def corner_inputs(rng):
    """Values aimed at the rule's edges: exact ties, the clamp thresholds, 64-bit extremes."""
    kind = rng.randrange(4)
    sh = rng.randint(0, 63)
    if kind == 0:                                 # a tie: v*M = (2q+1) * 2**(sh-1)
        a = rng.randint(0, 15)
        M = 1 << a
        if sh - 1 >= a:
            v = (rng.randint(-300, 300) << (sh - a)) + (1 << (sh - 1 - a))
        else:
            v = rng.randint(-300, 300)
    elif kind == 1:                               # just around t = -129..-127, 126..128, -1..1
        M = rng.randint(1, 0xFFFF)
        target = rng.choice((-129, -128, -127, -1, 0, 1, 126, 127, 128))
        v = (((target << sh) + rng.randint(-2, 2) * max(1, M // 2)) // M) + rng.randint(-1, 1)
    elif kind == 2:                               # largest |v * M|
        M = rng.choice((0xFFFF, 0xFFFE, 0x8000, 1, 0))
        v = rng.choice((-(1 << 31), (1 << 31) - 1, -(1 << 31) + 1, -1, 0, 1))
    else:
        M, v = rand_int(rng, 16, False), rand_int(rng, 32, True)
    v = sext(v, 32)
    return dict(v=v, mult=M, shift=sh)


class RequantModel:
    def __init__(self):
        self.inputs: dict[int, dict] = {}

    def on_input(self, n: int, t: dict) -> None:
        self.inputs[n] = t

    def expected(self, u: int) -> dict | None:
        raw, rq = self.inputs.get(u - 2), self.inputs.get(u - 9)
        if raw is None or rq is None:
            return None
        t = raw if raw["in_valid"] and not raw["requant"] else rq if rq["in_valid"] and rq["requant"] else None
        if t is None:
            return dict(valid=0)
        out = requant_ref(sext(t["v"], 32), t["mult"], t["shift"], bool(t["requant"]), bool(t["relu"]))
        return dict(valid=1, out=mask(out, 32))


def schedule(rng, values):
    """The values as a cycle schedule that keeps the lane's contract: runs of one mode, requant
    inputs at least two cycles apart, 10 idle cycles (the lane drains) before a mode change."""
    items, mode, i = [], None, 0
    while i < len(values):
        run = rng.randint(5, 40)
        requant = int(rng.random() < 0.7)
        if mode is not None and requant != mode:
            items += [dict(in_valid=0, v=0, mult=0, shift=0, requant=mode, relu=0)] * 10
        mode = requant
        for it in values[i:i + run]:
            items.append(dict(it, in_valid=1, requant=requant))
            gap = 1 if requant else 0
            gap += rng.randint(1, 3) if rng.random() < 0.15 else 0
            items += [dict(it, in_valid=0, requant=requant)] * gap
        i += run
    return items


@cocotb.test(timeout_time=500, timeout_unit="us")
@cocotb.parametrize(stimulus=["uniform", "corners"])
async def requant_random(dut, stimulus):
    """1000 values (uniform over the input ranges, or aimed at ties, clamp limits and the
    largest products), in runs of raw / requant mode, relu random per value (raw mode with relu
    set must stay raw), gaps at random."""
    name = f"requant_random[{stimulus}]"
    rng = seeded_rng(dut, name)
    tb, drv = await start_block(dut, INPUTS)
    model = RequantModel()
    sb = Scoreboard(dut._log, name)
    modes = dict()

    def on_output(u, o):
        exp = model.expected(u)
        if exp is not None:
            sb.check(u, o if exp["valid"] else dict(valid=o["valid"]), exp, "lane output")

    Monitor(tb, drv.sample, "in").add_callback(model.on_input)
    Monitor(tb, lambda: dict(valid=val(dut.out_valid), out=val(dut.out)), "out").add_callback(on_output)
    values = []
    for _ in range(1000):
        if stimulus == "corners":
            it = corner_inputs(rng)
        else:
            it = dict(v=rand_int(rng, 32, True, 0.05), mult=rand_int(rng, 16, False, 0.05),
                      shift=rng.randint(0, 63))
        it["relu"] = rng.getrandbits(1)
        values.append(it)
    items = schedule(rng, values)
    for it in items:
        if it["in_valid"]:
            key = (it["requant"], it["relu"])
            modes[key] = modes.get(key, 0) + 1
    await drv.drive(items)
    await tb.cycles(11)
    sb.finish(min_checks=len(items))
    dut._log.info(f"{name}: (requant, relu) mix {modes}")


@cocotb.test(timeout_time=500, timeout_unit="us")
async def requant_every_shift(dut):
    """Every shift 0..63 with the extreme products (v = INT32_MIN/MAX, M = 65535) and a tie."""
    name = "requant_every_shift"
    tb, drv = await start_block(dut, INPUTS)
    model = RequantModel()
    sb = Scoreboard(dut._log, name)
    Monitor(tb, drv.sample, "in").add_callback(model.on_input)

    def on_output(u, o):
        exp = model.expected(u)
        if exp is not None:
            sb.check(u, o if exp["valid"] else dict(valid=o["valid"]), exp, "lane output")
    Monitor(tb, lambda: dict(valid=val(dut.out_valid), out=val(dut.out)), "out").add_callback(on_output)
    items = []
    for sh in range(64):
        for v, M in (((1 << 31) - 1, 0xFFFF), (-(1 << 31), 0xFFFF), (-(1 << 31), 1), (3, 1 << 15),
                     (-3, 1 << 15), (255, 1), (-257, 1)):
            for relu in (0, 1):
                items.append(dict(in_valid=1, v=v, mult=M, shift=sh, requant=1, relu=relu))
                items.append(dict(in_valid=0, v=0, mult=0, shift=0, requant=1, relu=0))
    await drv.drive(items)
    await tb.cycles(11)
    sb.finish(min_checks=len(items))


# ---- pytest entries -------------------------------------------------------------------------------

@pytest.mark.sim
def test_sps_requant(simulator):
    run_block(simulator, "sps_requant", MODULE, {}, "requant")


def test_requant_reference_matches_models_quant():
    """This file's own section-6 model agrees with models.quant.requantize (no simulator)."""
    import random

    import numpy as np

    from models.quant import requantize

    rng = random.Random(f"{os.environ.get('SPS_SEED', '1')}:requant_ref")
    ins = [corner_inputs(rng) for _ in range(3000)]
    v = np.array([i["v"] for i in ins], np.int64).astype(np.int32)
    M = np.array([i["mult"] for i in ins], np.int64)
    sh = np.array([i["shift"] for i in ins], np.int64)
    for relu in (False, True):
        want = requantize(v, None, M, sh, relu)
        got = [requant_ref(int(a), int(m), int(s), True, relu) for a, m, s in zip(v, M, sh)]
        assert list(map(int, want)) == got
