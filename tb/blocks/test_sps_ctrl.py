"""cocotb tests of sps_ctrl (the controller: geometry, descriptor checks, pass feeder, accumulator
bank ownership, counters, done, the soft abort). The blocks around it -- activation loader, weight
loader, window generator, output stage -- are models here (`Blocks`): they react to its outputs as
sps_top wires them and drive its handshake inputs with random timing.

Every output is compared in every cycle after the first reset with the cycle model of the
contract (`CtrlModel`, tb/blocks/sps_ctrl_model.py, where the rules are listed); the neighbours
are modelled in tb/blocks/sps_ctrl_neighbours.py, the random descriptors and weight programs come
from tb/blocks/sps_ctrl_stimulus.py. This file holds the bench (monitor, model, scoreboard,
driver) and the tests.
"""
from __future__ import annotations

import cocotb
import pytest

from tb.env.block import BlockTb, CycleDriver, Monitor, Scoreboard, dut_params, seeded_rng, val
from tb.blocks import CFG, run_block, unique
from tb.blocks.sps_ctrl_model import (CHECK, GEOM, GO, INPUTS, LOAD, OUTPUTS, RUN, SB_FIELDS, CtrlModel,
                                      batch_width, descriptor_error, geom_cycles)
from tb.blocks.sps_ctrl_neighbours import Blocks, Inject
from tb.blocks.sps_ctrl_stimulus import (bad_descriptors, boundary_batch, boundary_dims, extreme_desc, good_desc,
                                         program)

MODULE = "tb.blocks.test_sps_ctrl"


# ---- the bench: monitor, model, scoreboard, driver ------------------------------------------------

class Bench:
    def __init__(self, dut, name: str):
        self.p = dut_params(dut, ("LANES", "PMAX", "ACT_DEPTH", "ACC_DEPTH", "DIM_BITS", "CH_BITS", "MW",
                                  "PW", "AW", "PXW", "BW"))
        assert self.p["BW"] == batch_width(self.p["ACC_DEPTH"]), "SPS_BW against section 5.1's BATCH width"
        self.dut, self.log, self.name = dut, dut._log, name
        self.tb = BlockTb(dut)
        self.rng = seeded_rng(dut, name)
        sb_pos = {k: int(getattr(dut, v).value) for k, v in SB_FIELDS.items()}
        assert sorted(sb_pos.values()) == list(range(len(SB_FIELDS))), f"pass sideband layout {sb_pos}"
        g = val(dut.GEOM_CYCLES) if hasattr(dut, "GEOM_CYCLES") else None
        assert g in (None, geom_cycles(self.p)), f"GEOM_CYCLES = {g}, section 7 says {geom_cycles(self.p)}"
        dut._log.info(f"G = {geom_cycles(self.p)} geometry cycles (section 7; DUT localparam GEOM_CYCLES: {g})")
        self.model = CtrlModel(self.p, sb_pos)
        self.blocks = Blocks(self.rng, self.p)
        self.sb = Scoreboard(dut._log, name)
        self.drv = CycleDriver(self.tb, INPUTS)
        self.drv.apply({k: 0 for k in INPUTS} | dict(rst=1))
        self.blocks.rst_cycles = 3
        self.next = None
        self.finished = []                    # (layer, done cycle, STATUS bits)
        Monitor(self.tb, self.sample, "ports").add_callback(self.on_cycle)
        cocotb.start_soon(self._drive())

    def sample(self) -> dict:
        return {k: val(getattr(self.dut, k)) for k in INPUTS + OUTPUTS}

    def on_cycle(self, n: int, s: dict) -> None:
        exp = self.model.expected(s)
        if exp is not None:
            self.sb.check(n, {k: s[k] for k in exp}, exp, f"outputs ({self.model.phase})")
        self.model.update(s)
        lay = self.blocks.layer
        if lay and n > lay["start"] + 1 and s["done"] and not s["busy"]:
            lay["done"] = n
            self.finished.append(lay)
            self.blocks.layer = None
        self.next = self.blocks.step(n, s)

    async def _drive(self):
        while True:
            await cocotb.triggers.RisingEdge(self.tb.clk)
            if self.next is not None:
                self.drv.apply(self.next)

    async def layer(self, desc: dict, prog: list | None = None, inject: Inject | None = None,
                    act_len: int | None = None, limit: int = 4000) -> dict:
        """Run one layer: start it with `desc`, the weight loader holding `prog`; returns its record
        once done (failing if it is not done within `limit` cycles)."""
        self.blocks.req = (desc, prog if prog is not None else program(self.rng, self.p), inject, act_len)
        count = len(self.finished)
        for _ in range(limit):
            await cocotb.triggers.FallingEdge(self.tb.clk)
            if len(self.finished) > count:
                break
        else:
            raise AssertionError(f"layer {desc} not done within {limit} cycles")
        await self.quiet()
        return self.finished[-1]

    async def quiet(self, extra: int | None = None) -> None:
        """Wait until every neighbour is idle, then a random gap (0-3 cycles)."""
        for _ in range(200):
            if self.blocks.quiet():
                break
            await cocotb.triggers.FallingEdge(self.tb.clk)
        await self.tb.cycles(self.rng.randint(0, 3) if extra is None else extra)

    async def reset(self, cycles: int) -> None:
        self.blocks.rst_cycles = cycles + 1
        await self.tb.cycles(cycles + 2)

    def finish(self, min_checks: int) -> None:
        self.log.info(f"{self.name}: model {self.model.stats}")
        self.sb.finish(min_checks=min_checks)


def check_end(bench: Bench, lay: dict, want: str) -> None:
    """The layer ended as `want` says ("ok", "config", "stream", "aborted"): a done cycle where the
    documented rule puts it (the model checked every cycle; this states it per layer in the log)."""
    s, G = lay["start"], geom_cycles(bench.p)
    if want == "config":
        assert lay["done"] == s + G + 3, f"config error: done in cycle {lay['done'] - s} after start, expected {G + 3}"
    elif want == "ok":
        assert lay["last_taken"] is not None and lay["done"] == lay["last_taken"] + 2, \
            f"done in cycle {lay['done']}, last result beat in {lay['last_taken']}: expected 2 cycles after it"
    else:
        # the kill: at the abort, a cycle after a stream error (registered); the flush 2 cycles
        f, late = lay["inject"].fired, 3 if want == "aborted" else 4
        assert lay["done"] == f + late, f"{want}: fault in cycle {f}, done in {lay['done']} (expected {late} cycles later)"


async def fault_then_good(bench: Bench, desc: dict, kind: str, when, prog: list | None = None,
                          act_len: int | None = None, again: bool = False) -> bool:
    """A layer with a fault (`kind`, fired by `when`), then a good layer without a reset. Returns
    whether the fault fired (a trigger may never come, e.g. a second pass in a one-pass program)."""
    inject = Inject(kind, when, again)
    lay = await bench.layer(desc, prog, inject=inject, act_len=act_len)
    if inject.fired is None:
        check_end(bench, lay, "config" if descriptor_error(desc, bench.p) else "ok")
        return False
    want = "stream" if kind == "stream_err" else "aborted"        # "both": the abort is first
    if kind == "stream_err" and lay["done"] == inject.fired + 1:
        # raised in the layer's last busy cycle, the error is registered after it ended (a loader's
        # never comes then: the loaders finish before the results, and before go on a bad descriptor)
        want = "config" if descriptor_error(desc, bench.p) else "ok"
    check_end(bench, lay, want)
    check_end(bench, await bench.layer(good_desc(bench.rng, bench.p)), "ok")
    return True


# ---- tests ----------------------------------------------------------------------------------------

@cocotb.test(timeout_time=20, timeout_unit="ms")
async def geometry(dut):
    """Random descriptors, most at the corners of DIM_BITS / CH_BITS, some at the buffer boundaries:
    the geometry outputs from the go cycle, go exactly G + 2 cycles after start or err_config and
    done at G + 3; the good ones run a short program."""
    bench = Bench(dut, "geometry")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    counts = {"good": 0, "bad": 0}
    for i in range(160):
        if i % 4 == 3:
            target = rng.choice([p["ACC_DEPTH"], p["ACT_DEPTH"]])
            d = dict(good_desc(rng, p), **boundary_dims(rng, p, target, rng.random() < 0.5, rng.random() < 0.5,
                                                        boundary_batch(rng, target)))
        else:
            d = extreme_desc(rng, p) if i % 2 else good_desc(rng, p, small=False)
        err = descriptor_error(d, p)
        lay = await bench.layer(d)
        check_end(bench, lay, "config" if err else "ok")
        counts["bad" if err else "good"] += 1
    dut._log.info(f"descriptors: {counts}")
    assert min(counts.values()) >= 20, f"too few of one kind: {counts}"
    bench.finish(min_checks=5000)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def descriptor_checks(dut):
    """Every check of 5.1 alone (err_config, done, no go, no pass), with the products that wrap the
    controller's bits (NPIXB = 2^(PXW+1), CBB = 2^(AW+1)), the allowed boundaries (BATCH*HOUT*WOUT
    == ACC_DEPTH, activations == ACT_DEPTH, BATCH 1 and 2, entries beyond NPAT ignored) run; twice each."""
    bench = Bench(dut, "descriptor_checks")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    seen = set()
    for _ in range(2):
        for name, d in bad_descriptors(rng, p):
            err = descriptor_error(d, p)
            assert (err is None) == name.endswith("(allowed)"), f"test bug: {name} -> {err}"
            lay = await bench.layer(d)
            check_end(bench, lay, "config" if err else "ok")
            dut._log.info(f"{name}: {'ERR_CONFIG (' + err + ')' if err else 'ran'}")
            seen.add(err)
    assert len(seen) == 11, f"checks exercised: {seen}"
    bench.finish(min_checks=500)


@cocotb.test(timeout_time=40, timeout_unit="ms")
@cocotb.parametrize(stalls=["none", "light", "heavy"])
async def passes(dut, stalls):
    """Layers of 1-9 passes under random handshake timing, MAC counts near 2^32 (the counter's
    carry split) or small: the feeder's starts, tags, sideband, slot release, all issued, bank
    ownership, done and every counter, cycle by cycle."""
    bench = Bench(dut, f"passes[{stalls}]")
    p, rng = bench.p, bench.rng
    bench.blocks.stall = dict(none=dict(act=0.0, wgt=0.0, res=0.0, can=1.0, valid=1.0),
                              light=dict(act=0.2, wgt=0.2, res=0.2, can=0.8, valid=0.8),
                              heavy=dict(act=0.6, wgt=0.6, res=0.7, can=0.4, valid=0.4))[stalls]
    await bench.reset(3)
    npass = 0
    for i in range(25):
        prog = program(rng, p, big_macs=i % 2 == 0)
        lay = await bench.layer(good_desc(rng, p), prog)
        check_end(bench, lay, "ok")
        assert lay["passes"] == len(prog), f"{lay['passes']} passes taken, program of {len(prog)}"
        npass += len(prog)
    dut._log.info(f"{npass} passes in 25 layers")
    st = bench.model.stats
    assert st["carry"] > 0, "no MAC add carried into the high word"
    assert st["blocked_issued"] > 0, "never a full slot held back because its pass was not released yet"
    assert st["b2b"] > 0, "no pass started back to back with the previous one"
    bench.finish(min_checks=1000)


def at_cycle(k: int):
    """Fire k cycles after the start cycle."""
    return lambda b, m, s, nxt: b.layer is not None and m == b.layer["start"] + k


def issuing(j: int):
    """Fire in a cycle the window generator issues a pixel of pass j (counted from 1), a random one."""
    return lambda b, m, s, nxt: bool(b.pix) and b.layer["passes"] >= j and b.rng.random() < 0.5


def draining(b, m, s, nxt):
    """Every pass issued, results still to come."""
    return (b.layer["passes"] == len(b.layer["prog"]) and not b.pix and b.layer["last_taken"] is None
            and b.rng.random() < 0.3)


def last_beat(b, m, s, nxt):
    """In the cycle of the last result beat."""
    return nxt["res_valid"] and nxt["res_last"] and nxt["res_ready"]


def abort_points(G: int, rng) -> list[tuple[str, object, int | None, bool]]:
    """(name, trigger, act_len, with passes) of every busy phase a fault must end."""
    return [("geometry, first step", at_cycle(1), None, True), ("geometry", at_cycle(rng.randint(2, G)), None, True),
            ("geometry, last step", at_cycle(G), None, True), ("check", at_cycle(G + 1), None, True),
            ("go", at_cycle(G + 2), None, True), ("load", at_cycle(G + 3 + rng.randint(0, 4)), 8, True),
            ("run, no slot full yet", at_cycle(G + 4 + rng.randint(0, 5)), 0, False),
            ("run, first pass in flight", issuing(1), None, True),
            ("run, a later pass in flight", issuing(2), None, True), ("run, draining", draining, None, True),
            ("run, the last result beat", last_beat, None, True)]


@cocotb.test(timeout_time=60, timeout_unit="ms")
@cocotb.parametrize(kind=["abort", "stream_err", "both"])
async def soft_abort(dut, kind):
    """An abort / stream error in every busy phase (geometry, check, go, load, run with passes in
    flight, draining, the last result beat): dp_rst for one cycle two cycles after it, done the cycle
    after that, ERR_STREAM / ABORTED; then a good layer runs right (the feeder was cleared). Small
    MAC counts: a carry in the flush cycle is `abort_macs_carry`'s case."""
    bench = Bench(dut, f"soft_abort[{kind}]")
    p, rng, G = bench.p, bench.rng, geom_cycles(bench.p)
    await bench.reset(3)
    for _ in range(3):
        for name, when, act_len, with_passes in abort_points(G, rng):
            prog = program(rng, p) if with_passes else []
            fired = await fault_then_good(bench, good_desc(rng, p), kind, when, prog, act_len, again=rng.random() < 0.3)
            dut._log.info(f"{kind} at '{name}': {'ended the layer' if fired else 'never came (the layer ran)'}")
    kills = bench.model.stats["kills"]
    assert set(kills) == {GEOM, CHECK, GO, LOAD, RUN}, f"faults seen in {kills}"
    bench.finish(min_checks=2000)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def abort_ignored_while_idle(dut):
    """abort and stream_err pulses in idle cycles (noise, 10% of them), also in the start cycle and
    in the done cycle: nothing happens; dp_rst stays low."""
    bench = Bench(dut, "abort_ignored_while_idle")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    for _ in range(10):
        inject = Inject("abort", lambda b, m, s, nxt: nxt["start"])     # abort in the start cycle
        lay = await bench.layer(good_desc(rng, p), inject=inject)
        check_end(bench, lay, "ok")
        await bench.tb.cycles(rng.randint(5, 20))
    bench.finish(min_checks=500)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def reset(dut):
    """rst (1-4 cycles) in every phase of a layer: dp_rst high two cycles after each rst cycle
    (registered), everything back to its reset value, the next layer runs right."""
    bench = Bench(dut, "reset")
    p, rng, G = bench.p, bench.rng, geom_cycles(bench.p)
    await bench.reset(3)
    for point in (1, G // 2, G + 1, G + 2, G + 4, G + 10, G + 20):
        bench.blocks.req = (good_desc(rng, p), program(rng, p, big_macs=True), None, None)
        await cocotb.triggers.FallingEdge(bench.tb.clk)
        await bench.tb.cycles(point)
        await bench.reset(rng.randint(1, 4))
        bench.blocks.layer = None
        await bench.quiet()
        lay = await bench.layer(good_desc(rng, p))
        check_end(bench, lay, "ok")
    bench.finish(min_checks=300)


# ---- the abort's corner cycles (each was an RTL bug this test found: the kill did not override the
# done / err_config of its cycle, and the MAC counter's high word took a carry only while busy) ----

@cocotb.test(timeout_time=20, timeout_unit="ms")
async def abort_at_config_error(dut):
    """An abort in the go cycle of a bad descriptor must end the layer like any other (dp_rst, done
    the cycle after it, ABORTED, no ERR_CONFIG): not done and err_config in the flush, while busy.
    (A stream error there is registered after the layer ended: `fault_then_good` knows.)"""
    bench = Bench(dut, "abort_at_config_error")
    p, rng, G = bench.p, bench.rng, geom_cycles(bench.p)
    await bench.reset(3)
    for _, d in bad_descriptors(rng, p):
        if descriptor_error(d, p) is None:
            continue
        assert await fault_then_good(bench, d, rng.choice(["abort", "both"]), at_cycle(G + 2))
    bench.finish(min_checks=500)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def abort_after_last_beat(dut):
    """An abort in the cycle after the last result beat (the layer's last busy cycle) must flush
    and raise done the cycle after dp_rst, not in the flush with busy high."""
    bench = Bench(dut, "abort_after_last_beat")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    for _ in range(6):
        assert await fault_then_good(bench, good_desc(rng, p), rng.choice(["abort", "both"]),
                                     lambda b, m, s, nxt: bool(s["res_valid"] and s["res_ready"] and s["res_last"]))
    bench.finish(min_checks=500)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def abort_macs_carry(dut):
    """An abort while a pass is issuing, MAC counts >= 2^(MW-1): the window generator still issues
    in the flush cycle (its reset takes effect at the end of it), BUSY counts that pixel and its
    add to MACS carries into the high word in about half the layers. MACS must end as the exact
    sum (the high word takes the carry in the idle cycle after the flush)."""
    bench = Bench(dut, "abort_macs_carry")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    for _ in range(12):
        inject = Inject("abort", lambda b, m, s, nxt: len(b.pix) >= 2 and b.rng.random() < 0.5)
        lay = await bench.layer(good_desc(rng, p), program(rng, p, big_macs=True), inject=inject)
        check_end(bench, lay, "aborted" if inject.fired else "ok")
    assert bench.model.stats["flush_carry"] > 0, "no add in a flush cycle carried: the case was not made"
    bench.finish(min_checks=300)


# ---- pytest entries ---------------------------------------------------------------------------------

KEYS = ("LANES", "PMAX", "ACT_DEPTH", "ACC_DEPTH", "DIM_BITS", "CH_BITS")
PARAMS = unique([{k: getattr(CFG, k) for k in KEYS} | dict(MW=32),
                 dict(LANES=6, PMAX=5, ACT_DEPTH=48, ACC_DEPTH=20, DIM_BITS=7, CH_BITS=9, MW=32),
                 dict(LANES=1, PMAX=1, ACT_DEPTH=7, ACC_DEPTH=5, DIM_BITS=4, CH_BITS=3, MW=32)])


IDS = [f"L{p['LANES']}-P{p['PMAX']}-D{p['DIM_BITS']}" for p in PARAMS]


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAMS, ids=IDS)
def test_sps_ctrl(simulator, params):
    run_block(simulator, "sps_ctrl", MODULE, params, "ctrl")
