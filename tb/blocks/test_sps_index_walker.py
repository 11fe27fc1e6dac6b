"""cocotb tests of sps_index_walker, the SPS indexing unit's sequencer (docs/ARCHITECTURE.md section 3).

The walker is stepped like the weight loader steps it: group_start, then ROWS steps per row tile
(with random idle cycles between steps), looking at group_end and tile_chaddr in the cycle after a
tile's last step. Two references:
  * rule_tiles, written here from the section 3 rule: array row r reads lane r mod LANES; a tile
    covers one channel block; lane l's rows take, in row order, the next positions of channel
    cb*LANES + l's pattern PAT[(g + c) mod P] (none past C); a block gets tiles while a lane has
    positions left. Every step's (row_en, row_pos), every tile's block address (cb * HW3 mod
    2**AW) and group_end (after the group's last tile only) are compared with it.
  * compiler.walker.tile_plan (the compiler's implementation) must give the same tiles.
"""
from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import FallingEdge, RisingEdge

from compiler.config import ArrayConfig
from compiler.walker import tile_plan
from tb.blocks import CFG, run_block, unique
from tb.env.block import BlockTb, CycleDriver, Scoreboard, dut_params, pack, seeded_rng, val

MODULE = "tb.blocks.test_sps_index_walker"
INPUTS = ("pat", "npat", "n_ch", "hw3b", "group_start", "group", "step")


def rule_tiles(masks: list[int], C: int, rows: int, lanes: int, g: int) -> list[list]:
    """Section 3, written out: the tiles of group g, each ROWS entries (channel, position) or None."""
    P, rpl = len(masks), rows // lanes
    tiles = []
    for cb in range(-(-C // lanes)):
        pos = [[k for k in range(9) if (masks[(g + c) % P] >> k) & 1] if c < C else []
               for c in range(cb * lanes, cb * lanes + lanes)]
        for t in range(-(-max(len(p) for p in pos) // rpl)):
            tile = []
            for r in range(rows):
                lane, j = r % lanes, t * rpl + r // lanes
                tile.append((cb * lanes + lane, pos[lane][j]) if j < len(pos[lane]) else None)
            tiles.append(tile)
    return tiles


async def walk_group(tb, dut, drv, rng, sb, g, tiles, hw3b, p, abort: bool) -> int:
    """Walk group g; compare every step and tile end. Returns the rows compared."""
    rows, lanes, aw = p["ROWS"], p["LANES"], p["AW"]

    def idle():
        return dict(group_start=0, group=rng.getrandbits(len(dut.group)), step=0)

    # like the loader: the group index is set 3 cycles (in the loader, 8 or more) before group_start
    await drv.drive([dict(idle(), group=g)] * 3 + [dict(idle(), group_start=1, group=g)])
    n = 0
    for t, tile in enumerate(tiles):
        for r, e in enumerate(tile):
            while rng.random() < 0.2:
                await drv.drive([idle()])
            drv.apply(dict(idle(), step=1))
            await FallingEdge(tb.clk)                     # outputs describe the row this step emits
            got = dict(row_en=val(dut.row_en))
            exp = dict(row_en=int(e is not None))
            if e is not None:
                got["row_pos"], exp["row_pos"] = val(dut.row_pos), e[1]
            sb.check(tb.cycle, got, exp, f"group {g} tile {t} row {r}")
            n += 1
            await RisingEdge(tb.clk)
            if abort and t == 0 and r == rows // 2:
                drv.apply(idle())
                return n                                  # restart mid-walk (the next group_start)
        drv.apply(idle())                                 # like the loader's finalise cycle
        await FallingEdge(tb.clk)
        cb = next(x for x in tile if x is not None)[0] // lanes
        sb.check(tb.cycle, dict(group_end=val(dut.group_end), tile_chaddr=val(dut.tile_chaddr)),
                 dict(group_end=int(t == len(tiles) - 1), tile_chaddr=(cb * hw3b) % (1 << aw)),
                 f"group {g} end of tile {t}")
        await RisingEdge(tb.clk)
        if rng.random() < 0.3:
            await drv.drive([idle()] * rng.randint(1, 2))
    return n


@cocotb.test(timeout_time=5000, timeout_unit="us")
async def walker_random_programs(dut):
    """Random pattern tables (P = 1..PMAX, masks from single positions to dense), channel counts
    (blocks with idle lanes at the end), HW3 values (block addresses wrap at 2**AW); every group
    walked, some twice, some restarted half way."""
    p = dut_params(dut, ("ROWS", "LANES", "PMAX", "CH_BITS", "ACT_DEPTH", "AW", "PW"))
    rows, L, PMAX = p["ROWS"], p["LANES"], p["PMAX"]
    name = f"walker_random_programs ROWS={rows} LANES={L} PMAX={PMAX} CH_BITS={p['CH_BITS']}"
    rng = seeded_rng(dut, name)
    tb = BlockTb(dut)
    drv = CycleDriver(tb, INPUTS)
    drv.apply({n: 0 for n in INPUTS})
    await tb.reset()
    sb = Scoreboard(dut._log, name)
    cmax = min(30, (1 << p["CH_BITS"]) - 1)
    steps = groups = 0
    for prog in range(14):
        P = rng.randint(1, PMAX)
        style = rng.choice(("random", "single", "dense", "mixed"))
        masks = []
        for _ in range(P):
            if style == "single" or (style == "mixed" and rng.random() < 0.4):
                masks.append(1 << rng.randrange(9))
            elif style == "dense":
                masks.append(0x1FF if rng.random() < 0.5 else 0x1FF & ~(1 << rng.randrange(9)))
            else:
                masks.append(rng.randint(1, 0x1FF))
        table = masks + [rng.getrandbits(9) for _ in range(PMAX - P)]     # unused entries: garbage
        C = rng.randint(1, cmax) if prog else min(cmax, 2 * L + 1)        # a last block with idle lanes
        hw3b = rng.choice((rng.randint(1, 40), rng.getrandbits(p["AW"])))
        drv.apply(dict(pat=pack(table, 9), npat=P, n_ch=C, hw3b=hw3b))
        await tb.cycles(4)              # the layer's table is static: the walker registers its counts
        for g in list(range(P)) + [rng.randrange(P) for _ in range(rng.randint(0, 2))]:
            tiles = rule_tiles(masks, C, rows, L, g)
            assert tiles == tile_plan(P, masks, C, ArrayConfig(ROWS=rows, LANES=L), g), \
                f"compiler.walker.tile_plan differs from the section 3 rule (P={P} C={C} g={g})"
            steps += await walk_group(tb, dut, drv, rng, sb, g, tiles, hw3b, p, abort=rng.random() < 0.1)
            groups += 1
        await tb.cycles(2)
    sb.finish(min_checks=100)
    dut._log.info(f"{groups} groups, {steps} steps compared")


# ---- pytest entries -------------------------------------------------------------------------------

def walker_params(rows, lanes, pmax, ch_bits, act_depth=1024):
    return dict(ROWS=rows, LANES=lanes, PMAX=pmax, CH_BITS=ch_bits, ACT_DEPTH=act_depth)


WALKER = unique([walker_params(6, 3, 5, 6, 64), walker_params(1, 1, 1, 4, 16), walker_params(4, 1, 2, 5, 32),
                 walker_params(CFG.ROWS, CFG.LANES, CFG.PMAX, CFG.CH_BITS, CFG.ACT_DEPTH)])


@pytest.mark.sim
@pytest.mark.parametrize("params", WALKER, ids=[f"R{p['ROWS']}-L{p['LANES']}-P{p['PMAX']}" for p in WALKER])
def test_sps_index_walker(simulator, params):
    run_block(simulator, "sps_index_walker", MODULE, params, "walker")
