"""cocotb tests of sps_index_walker, the SPS indexing unit's sequencer (docs/ARCHITECTURE.md section 3).

Two independent references:
  * WalkerModel, written here from the section 3 rule, one event at a time: group_start(g) -> c = 0,
    ph = g, j = lowest bit of PAT[ph], c_base = 0; tile_start -> c_base = c; step of an enabled row
    (c < C and c - c_base < LANES) -> j = next bit of PAT[ph] above j, or c += 1, ph = (ph+1) mod P,
    j = lowest bit. Outputs describe the row the next step emits and follow an event by one cycle:
    row_en, row_bank = c mod LANES, row_pos = j, base_bank = c_base mod LANES,
    base_chaddr = (c_base div LANES) * HW3 mod 2**XW, group_end = (c >= C). Compared every cycle
    (row_bank/row_pos only for enabled rows).
  * compiler.walker.tile_plan (the compiler's implementation): the rows the DUT emitted, grouped in
    tiles of ROWS steps, must be its tiles, with (c mod LANES, position) per enabled row and the tile
    base (base_bank, base_chaddr) of its first channel; the walk ends (group_end) after its last tile.
ROWS is not a walker parameter: the test picks it per program (1..12), like an array of that height.
"""
from __future__ import annotations

import cocotb
import pytest

from compiler.config import ArrayConfig
from compiler.walker import tile_plan
from tb.env.block import (BlockTb, CycleDriver, Monitor, Scoreboard, dut_params, pack, seeded_rng,
                          unpack, val)
from tb.blocks import CFG, run_block, unique

MODULE = "tb.blocks.test_sps_index_walker"
from cocotb.triggers import FallingEdge, RisingEdge

INPUTS = ("pat", "npat", "n_ch", "hw3", "group_start", "group", "tile_start", "step")
OUTPUTS = ("row_en", "row_bank", "row_pos", "base_bank", "base_chaddr", "group_end")


def bits(m: int) -> list[int]:
    return [k for k in range(9) if (m >> k) & 1]


class WalkerModel:
    """State (c, ph, ji, c_base) after the events seen so far; config = (pat, npat, n_ch, hw3) of the
    walk. A config change (a new program) makes the state unknown until the next group_start."""

    def __init__(self, lanes: int, pmax: int, xw: int):
        self.L, self.PMAX, self.XW = lanes, pmax, xw
        self.st = None
        self.cfg = None

    @staticmethod
    def config(t: dict) -> tuple:
        return (t["pat"], t["npat"], t["n_ch"], t["hw3"])

    def expected(self, t: dict) -> dict | None:
        """Outputs during the cycle whose inputs are t (before its event takes effect)."""
        if self.st is None or self.config(t) != self.cfg:
            return None
        c, ph, ji, cb = self.st
        C, masks = t["n_ch"], unpack(t["pat"], self.PMAX, 9)
        en = int(c < C and c - cb < self.L)
        e = dict(row_en=en, base_bank=cb % self.L,
                 base_chaddr=((cb // self.L) * t["hw3"]) % (1 << self.XW), group_end=int(c >= C))
        if en:
            e.update(row_bank=c % self.L, row_pos=bits(masks[ph])[ji])
        return e

    def update(self, t: dict) -> None:
        """Apply the cycle's event (visible from the next cycle)."""
        if self.config(t) != self.cfg:
            self.cfg, self.st = self.config(t), None
        P, C = t["npat"], t["n_ch"]
        masks = unpack(t["pat"], self.PMAX, 9)
        if t["group_start"]:
            self.st = (0, t["group"], 0, 0)
        elif self.st is not None and t["tile_start"]:
            c, ph, ji, _ = self.st
            self.st = (c, ph, ji, c)
        elif self.st is not None and t["step"]:
            c, ph, ji, cb = self.st
            if c < C and c - cb < self.L:
                ji += 1
                if ji == len(bits(masks[ph])):
                    c, ph, ji = c + 1, (ph + 1) % P, 0
            self.st = (c, ph, ji, cb)


class TilePlanChecker:
    """Groups the emitted rows into tiles and compares each finished group with tile_plan."""

    def __init__(self, sb: Scoreboard, lanes: int, xw: int):
        self.sb, self.L, self.XW = sb, lanes, xw
        self.prog = None
        self.tiles = None
        self.groups = 0
        self.lanes_rule = 0                      # tiles cut short by the LANES rule (coverage)

    def program(self, P, masks, C, rows, hw3):
        self.prog = (P, masks, C, rows, hw3)

    def on_events(self, n: int, evs: list) -> None:
        for ev in evs:
            self._event(n, ev)

    def _event(self, n: int, ev: dict) -> None:
        kind = ev["kind"]
        if kind == "group":
            self.g, self.tiles = ev["group"], []
        elif kind == "tile" and self.tiles is not None:
            self.tiles.append([])
        elif kind == "step" and self.tiles:
            self.tiles[-1].append(ev)
        elif kind == "end" and self.tiles is not None:
            self._compare(n)
            self.tiles = None

    def _compare(self, n: int) -> None:
        P, masks, C, rows, hw3 = self.prog
        cfg = ArrayConfig(ROWS=rows, LANES=self.L)
        plan = tile_plan(P, masks, C, cfg, self.g)
        self.groups += 1
        what = f"group {self.g} (P={P} C={C} ROWS={rows} LANES={self.L})"
        self.sb.check(n, dict(tiles=len(self.tiles)), dict(tiles=len(plan)), what)
        self.lanes_rule += sum(1 for t in plan[:-1] if t[-1] is None)
        for t, (got, want) in enumerate(zip(self.tiles, plan)):
            g_rows = [(e["row_bank"], e["row_pos"]) if e["row_en"] else None for e in got]
            w_rows = [(e[0] % self.L, e[1]) if e is not None else None for e in want]
            c0 = want[0][0]
            self.sb.check(n, dict(rows=g_rows, base_bank=got[0]["base_bank"], base_chaddr=got[0]["base_chaddr"]),
                          dict(rows=w_rows, base_bank=c0 % self.L,
                               base_chaddr=((c0 // self.L) * hw3) % (1 << self.XW)), f"{what} tile {t}")


async def walk_group(tb, dut, drv, rng, g: int, rows: int, max_tiles: int, events, abort: bool):
    def idle():
        return dict(group_start=0, group=rng.getrandbits(len(dut.group)), tile_start=0, step=0)

    await drv.drive([dict(idle(), group_start=1, group=g)])
    for t in range(max_tiles):
        if rng.random() < 0.3:
            await drv.drive([idle()] * rng.randint(1, 2))
        await drv.drive([dict(idle(), tile_start=1)])
        for r in range(rows):
            while rng.random() < 0.2:
                await drv.drive([idle()])
            await drv.drive([dict(idle(), step=1)])
            if abort and t == 0 and r == rows // 2:
                return                              # restart mid-walk (the next group_start)
        # like the weight loader: look at group_end the cycle after the tile's last step
        drv.apply(idle())
        await FallingEdge(tb.clk)
        ended = val(dut.group_end) == 1
        await RisingEdge(tb.clk)
        if ended:
            events.append("end")
            return
    raise AssertionError(f"group {g}: group_end not reached after {max_tiles} tiles")


@cocotb.test(timeout_time=5000, timeout_unit="us")
async def walker_random_programs(dut):
    """Random pattern tables (P = 1..PMAX, masks from single positions to dense), channel counts,
    HW3 values (base_chaddr wraps at 2**XW), array heights ROWS = 1..12 (so the LANES rule
    triggers too); every group walked, some twice, some restarted half way."""
    p = dut_params(dut, ("LANES", "PMAX", "CH_BITS", "XW", "LW", "PW"))
    L, PMAX, XW = p["LANES"], p["PMAX"], p["XW"]
    name = f"walker_random_programs LANES={L} PMAX={PMAX} CH_BITS={p['CH_BITS']}"
    rng = seeded_rng(dut, name)
    tb = BlockTb(dut)
    drv = CycleDriver(tb, INPUTS)
    drv.apply({n: 0 for n in INPUTS})
    await tb.reset()
    model = WalkerModel(L, PMAX, XW)
    sb = Scoreboard(dut._log, name)
    sb_plan = Scoreboard(dut._log, name + " vs compiler.walker.tile_plan")
    plan = TilePlanChecker(sb_plan, L, XW)
    events: list[str] = []

    def sample_out():
        return {n: val(getattr(dut, n)) for n in OUTPUTS}

    def sample_port():
        return dict(i={n: val(getattr(dut, n)) for n in INPUTS}, o=sample_out())

    def sample_events():
        evs = [dict(kind=e) for e in events]           # "end": the driver saw group_end
        events.clear()
        if val(dut.group_start):
            evs.append(dict(kind="group", group=val(dut.group)))
        elif val(dut.tile_start):
            evs.append(dict(kind="tile"))
        elif val(dut.step):
            evs.append(dict(kind="step", **sample_out()))
        return evs or None

    def check(u, io):
        exp = model.expected(io["i"])
        if exp is not None:
            sb.check(u, {k: io["o"][k] for k in exp}, exp, "walker outputs")

    # outputs depend on the state and (combinationally) on the current config: one monitor sees the
    # inputs and outputs of a cycle; the scoreboard checks them before the model applies the event
    port = Monitor(tb, sample_port, "port")
    port.add_callback(check)
    port.add_callback(lambda u, io: model.update(io["i"]))
    Monitor(tb, sample_events, "rows").add_callback(plan.on_events)

    cmax = min(30, (1 << p["CH_BITS"]) - 1)
    for prog in range(14):
        P = rng.randint(1, PMAX)
        style = rng.choice(("random", "single", "dense", "mixed"))
        masks = []
        for _ in range(P):
            if style == "single" or (style == "mixed" and rng.random() < 0.4):
                m = 1 << rng.randrange(9)
            elif style == "dense":
                m = 0x1FF if rng.random() < 0.5 else 0x1FF & ~(1 << rng.randrange(9))
            else:
                m = rng.randint(1, 0x1FF)
            masks.append(m)
        table = masks + [rng.getrandbits(9) for _ in range(PMAX - P)]     # unused entries: garbage
        C = rng.randint(1, cmax)
        rows = rng.choice((1, 2, 3, 5, 8, 9, 12, rng.randint(1, 12)))
        if prog == 0:          # make sure the LANES rule triggers: 1-position patterns, ROWS > LANES
            masks = table[:P] = [1 << rng.randrange(9) for _ in range(P)]
            rows, C = L + 2, min(cmax, 2 * L + 3)
        hw3 = rng.choice((rng.randint(1, 40), rng.getrandbits(XW)))
        drv.apply(dict(pat=pack(table, 9), npat=P, n_ch=C, hw3=hw3))
        plan.program(P, masks, C, rows, hw3)
        order = list(range(P)) + [rng.randrange(P) for _ in range(rng.randint(0, 2))]
        for g in order:
            max_tiles = len(tile_plan(P, masks, C, ArrayConfig(ROWS=rows, LANES=L), g)) + 2
            abort = rng.random() < 0.1
            await walk_group(tb, dut, drv, rng, g, rows, max_tiles, events, abort)
        await tb.cycles(2)
    await tb.cycles(2)
    sb.finish(min_checks=100)
    sb_plan.finish(min_checks=14)
    assert plan.groups >= 14, f"only {plan.groups} complete groups compared with tile_plan"
    dut._log.info(f"{plan.groups} groups compared with tile_plan, {plan.lanes_rule} tiles cut by the LANES rule")
    assert plan.lanes_rule > 0, "coverage: the LANES rule never triggered"


# ---- pytest entries -------------------------------------------------------------------------------

def walker_params(lanes, pmax, ch_bits):
    return dict(LANES=lanes, PMAX=pmax, CH_BITS=ch_bits, XW=24)


WALKER = unique([walker_params(3, 5, 6), walker_params(1, 1, 4), walker_params(CFG.LANES, CFG.PMAX, CFG.CH_BITS)])


@pytest.mark.sim
@pytest.mark.parametrize("params", WALKER, ids=[f"L{p['LANES']}-P{p['PMAX']}" for p in WALKER])
def test_sps_index_walker(simulator, params):
    run_block(simulator, "sps_index_walker", MODULE, params, "walker")
