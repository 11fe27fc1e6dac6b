"""cocotb tests of sps_pe: int8 x int8 MAC into a PSW-bit partial sum with two weight registers
selected by the activation's tag, in three register stages (weight select, product, sum).

Model (from the rtl/sps_pe.v header contract): a weight write in cycle k is visible from cycle k+1;
the activation outputs in cycle n+1 are (a_valid, a_tag, a_in) of cycle n; psum_q in cycle n+3 is
psum_in of cycle n+2 + w[a_tag] * a_in of cycle n (w[] the weight registers during cycle n),
mod 2**PSW, signed.
"""
from __future__ import annotations

import cocotb
import pytest

from tb.env.block import History, dut_params, rand_int, reset_pulses, seeded_rng, sext, start_checked_block, val
from tb.blocks import run_block

MODULE = "tb.blocks.test_sps_pe"

INPUTS = ("rst", "wr_en", "wr_slot", "wr_w", "a_valid", "a_tag", "a_in", "psum_in")
IDLE = {n: 0 for n in INPUTS}
RESET_OUT = dict(valid=0, tag=0, a=0, psum=0)


class PeModel:
    """rst in cycle k clears the weight slots and every pipeline register (the outputs in k + 1,
    the product register and the multiplier's operand registers): a product whose operands or
    product were registered in a reset cycle is 0."""

    def __init__(self, psw: int):
        self.psw = psw
        self.w = [History(0), History(0)]        # reset clears both slots
        self.inputs: dict[int, dict] = {}

    def on_input(self, cycle: int, t: dict) -> None:
        self.inputs[cycle] = t
        if t["rst"]:
            self.w[0].write(cycle, 0)
            self.w[1].write(cycle, 0)
        elif t["wr_en"]:
            self.w[t["wr_slot"]].write(cycle, t["wr_w"])

    def expected(self, cycle: int) -> dict | None:
        t, t1, t0 = self.inputs.get(cycle - 1), self.inputs.get(cycle - 2), self.inputs.get(cycle - 3)
        if t is None:
            return None
        if t["rst"]:
            return RESET_OUT
        if t1 is None or t0 is None:
            return None
        prod = 0 if (t0["rst"] or t1["rst"]) else self.w[t0["a_tag"]].at(cycle - 3) * t0["a_in"]
        return dict(valid=t["a_valid"], tag=t["a_tag"], a=t["a_in"], psum=sext(t["psum_in"] + prod, self.psw))


def sample_inputs(dut, psw):
    t = {n: val(getattr(dut, n)) for n in INPUTS}
    t["wr_w"] = sext(t["wr_w"], 8)
    t["a_in"] = sext(t["a_in"], 8)
    t["psum_in"] = sext(t["psum_in"], psw)
    return t


def sample_outputs(dut, psw):
    return dict(valid=val(dut.a_valid_q), tag=val(dut.a_tag_q), a=sext(val(dut.a_q), 8),
                psum=sext(val(dut.psum_q), psw))


async def setup(dut, name):
    psw = dut_params(dut, ("PSW",))["PSW"]
    tb, drv, sb = await start_checked_block(dut, name, INPUTS, PeModel(psw), lambda: sample_inputs(dut, psw),
                                            lambda: sample_outputs(dut, psw), "PE outputs")
    return tb, drv, sb, psw


@cocotb.test(timeout_time=200, timeout_unit="us")
async def pe_random(dut):
    """Random weights written into either slot at random times, random tags/valids/activations
    and partial sums (a quarter of them corner values: -128, 127, INT32_MIN/MAX, ...)."""
    rng = seeded_rng(dut, "pe_random")
    tb, drv, sb, psw = await setup(dut, "pe_random")
    items = []
    for _ in range(800):
        items.append(dict(wr_en=int(rng.random() < 0.3), wr_slot=rng.getrandbits(1),
                          wr_w=rand_int(rng, 8, True), a_valid=rng.getrandbits(1),
                          a_tag=rng.getrandbits(1), a_in=rand_int(rng, 8, True),
                          psum_in=rand_int(rng, psw, True)))
    await drv.drive(items)
    await tb.cycles(3)
    sb.finish(min_checks=len(items))


@cocotb.test(timeout_time=200, timeout_unit="us")
async def pe_extremes(dut):
    """Every combination of corner weights/activations (-128*-128, 127*-128, ...) in both slots,
    with partial sums at the PSW-bit limits (the sum wraps), and a write to one slot in the same
    cycle as a MAC on the other one."""
    tb, drv, sb, psw = await setup(dut, "pe_extremes")
    corners = (-128, -127, -1, 0, 1, 127)
    lo, hi = -(1 << (psw - 1)), (1 << (psw - 1)) - 1
    psums = (lo, lo + 16384, -1, 0, hi - 16384, hi)
    items = []
    for w0 in corners:
        w1 = -w0 - 1                                  # the other slot always holds something else
        items.append(dict(IDLE, wr_en=1, wr_slot=0, wr_w=w0))
        items.append(dict(IDLE, wr_en=1, wr_slot=1, wr_w=w1))
        for a in corners:
            for ps in psums:
                for tag in (0, 1):
                    items.append(dict(IDLE, a_valid=1, a_tag=tag, a_in=a, psum_in=ps))
        # write slot 1 while slot 0 computes (and vice versa): the MAC must use the old value
        items.append(dict(IDLE, wr_en=1, wr_slot=1, wr_w=w0, a_valid=1, a_tag=1, a_in=-128, psum_in=hi))
        items.append(dict(IDLE, a_valid=1, a_tag=1, a_in=-128, psum_in=lo))
    await drv.drive(items)
    await tb.cycles(3)
    sb.finish(min_checks=len(items))


@cocotb.test(timeout_time=200, timeout_unit="us")
async def pe_reset_mid_stream(dut):
    """Random MACs and weight writes with rst raised for 1-3 cycles at random times while the
    inputs keep changing: every output in the cycles during and after each reset (zeros, then
    products of cleared operands and weights) against the model."""
    rng = seeded_rng(dut, "pe_reset_mid_stream")
    tb, drv, sb, psw = await setup(dut, "pe_reset_mid_stream")
    items = []
    for r in reset_pulses(rng, 600, 0.04):
        items.append(dict(rst=r, wr_en=int(rng.random() < 0.3), wr_slot=rng.getrandbits(1),
                          wr_w=rand_int(rng, 8, True), a_valid=rng.getrandbits(1), a_tag=rng.getrandbits(1),
                          a_in=rand_int(rng, 8, True), psum_in=rand_int(rng, psw, True)))
    await drv.drive(items)
    await tb.cycles(3)
    sb.finish(min_checks=len(items))


# ---- pytest entries -------------------------------------------------------------------------------

@pytest.mark.sim
@pytest.mark.parametrize("psw", [19, 17])
def test_sps_pe(simulator, psw):
    run_block(simulator, "sps_pe", MODULE, {"PSW": psw}, "pe")
