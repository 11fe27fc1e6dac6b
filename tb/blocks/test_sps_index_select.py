"""cocotb tests of sps_index_select, the SPS indexing unit's data path: array row r reads lane
r mod LANES and chooses, by the kernel position (dy, dx) of its weight in the pixel's tile slot, one
of the 9 unrotated activation sub-bank words; rows skewed for the systolic array.

Model (rtl/sps_index_select.v header, docs/ARCHITECTURE.md sections 2-3): an index write in cycle k
(slot, row, enable, position) is visible from cycle k + 1. A pixel issued in cycle t (issue,
issue_tag), with its window geometry in cycle t + 1 (f1_y0m, f1_x0m, f1_row_in, f1_col_in) and the
sub-bank words in cycle t + 2 (win), leaves on row r in cycle t + 4 + r:
    row_valid[r] = 1, row_tag[r] = issue_tag,
    row_a[r] = word ((y0m + dy) mod 3, (x0m + dx) mod 3), lane r mod LANES, if the row is enabled
               in slot issue_tag (as of cycle t) and row_in[dy] and col_in[dx]; else 0;
a cycle without issue leaves row_valid[r] = 0 and row_a[r] = 0 (idle rows carry no activation:
the array's multipliers do not toggle). The sideband given in cycle t + 2 (win_valid, win_sb)
leaves in cycle t + ROWS + 3. rst in cycle k clears both index slots (from k + 1) and everything in
flight: a pixel or sideband in the pipeline during k comes out as valid 0, tag 0, activation 0.
row_valid/row_tag/sb_valid are compared every cycle, row_a always, sb_out when valid.
"""
from __future__ import annotations

import cocotb
import pytest

from compiler.config import clog2
from tb.env.block import (History, Monitor, Scoreboard, dut_params, pack, rand_int, reset_pulses, seeded_rng,
                          start_block, unpack, val)
from tb.blocks import CFG, run_block, unique

MODULE = "tb.blocks.test_sps_index_select"

INPUTS = ("rst", "idx_wr_en", "idx_wr_slot", "idx_wr_row", "idx_wr_rowen", "idx_wr_pos", "issue", "issue_tag",
          "f1_y0m", "f1_x0m", "f1_row_in", "f1_col_in", "win", "win_valid", "win_sb")


class SelectModel:
    def __init__(self, rows: int, lanes: int):
        self.R, self.L = rows, lanes
        self.idx = [[History((0, 0)) for _ in range(rows)] for _ in range(2)]   # reset: disabled
        self.inputs: dict[int, dict] = {}

    def on_input(self, t: int, i: dict) -> None:
        self.inputs[t] = i
        if i["rst"]:
            for slot in self.idx:
                for h in slot:
                    h.write(t, (0, 0))
        elif i["idx_wr_en"] and i["idx_wr_row"] < self.R:
            self.idx[i["idx_wr_slot"]][i["idx_wr_row"]].write(t, (i["idx_wr_rowen"], i["idx_wr_pos"]))

    def row(self, u: int, r: int) -> dict | None:
        t = u - 4 - r
        i0, i1, i2 = (self.inputs.get(t + k) for k in range(3))
        if i0 is None or i1 is None or i2 is None:
            return None
        if self.reset_between(t, u):
            return dict(valid=0, tag=0, a=0)
        if not i0["issue"]:
            return dict(valid=0, a=0)
        en, pos = self.idx[i0["issue_tag"]][r].at(t)
        dy, dx = divmod(pos, 3)
        a = 0
        if en and (i1["f1_row_in"] >> dy) & 1 and (i1["f1_col_in"] >> dx) & 1:
            sub = ((i1["f1_y0m"] + dy) % 3) * 3 + (i1["f1_x0m"] + dx) % 3
            a = unpack(i2["win"] >> ((sub * self.L + r % self.L) * 8), 1, 8, signed=True)[0]
        return dict(valid=1, tag=i0["issue_tag"], a=a)

    def reset_between(self, t: int, u: int) -> bool:
        """rst in a cycle t..u-1 (a value issued or given in t is in the pipeline until u)."""
        return any(self.inputs.get(k, {}).get("rst") for k in range(t, u))

    def sideband(self, u: int) -> dict | None:
        i = self.inputs.get(u - self.R - 1)
        if i is None:
            return None
        if self.reset_between(u - self.R - 1, u):
            return dict(sb_valid=0)
        return dict(sb_valid=1, sb=i["win_sb"]) if i["win_valid"] else dict(sb_valid=0)


def stimulus(rng, R: int, L: int, sbw: int, n: int):
    """Runs of issued pixels with one tag (a pass), bubbles between/inside them, random window
    geometry (origin mod 3, rows / columns inside the input) and words, index rows written into
    the slot not in use (like the weight loader) and, sometimes, anywhere at any time."""
    items, tag, left = [], 0, 0
    for _ in range(n):
        if left == 0:
            tag, left = rng.getrandbits(1) if rng.random() < 0.3 else 1 - tag, rng.randint(1, 12)
        issue = int(rng.random() < 0.8)
        left -= issue
        inside = 0b111 if rng.random() < 0.6 else rng.getrandbits(3)
        it = dict(issue=issue, issue_tag=tag if issue or rng.random() < 0.5 else rng.getrandbits(1),
                  f1_y0m=rng.randrange(3), f1_x0m=rng.randrange(3),
                  f1_row_in=inside, f1_col_in=0b111 if rng.random() < 0.6 else rng.getrandbits(3),
                  win=pack([rand_int(rng, 8, True, 0.1) for _ in range(9 * L)], 8),
                  win_valid=rng.getrandbits(1), win_sb=rng.getrandbits(sbw), idx_wr_en=0,
                  idx_wr_slot=rng.getrandbits(1), idx_wr_row=rng.randrange(R), idx_wr_rowen=rng.getrandbits(1),
                  idx_wr_pos=rng.randrange(9))
        if rng.random() < 0.35:
            it.update(idx_wr_en=1, idx_wr_slot=(1 - tag) if rng.random() < 0.8 else tag,
                      idx_wr_rowen=int(rng.random() < 0.8))
        items.append(it)
    return items


async def checked_select(dut, test: str, n: int, resets: float = 0.0) -> dict:
    """n cycles of the random stimulus (with rst raised for 1-3 cycles at random times, a
    `resets` chance a cycle) through the block, every row's output and the sideband checked
    against the model each cycle. Returns the counts of valid row outputs (zero / nonzero
    activation) and of resets."""
    p = dut_params(dut, ("ROWS", "LANES", "RW", "SBW"))
    R, L, SBW = p["ROWS"], p["LANES"], p["SBW"]
    name = f"{test} ROWS={R} LANES={L}"
    rng = seeded_rng(dut, name)
    tb, drv = await start_block(dut, INPUTS)
    model = SelectModel(R, L)
    sb = Scoreboard(dut._log, name)
    counts = dict(nonzero=0, zero=0, resets=0)

    def sample_out():
        return dict(valid=val(dut.row_valid), tag=val(dut.row_tag), a=val(dut.row_a),
                    sb_valid=val(dut.sb_valid), sb=val(dut.sb_out))

    def on_output(u, o):
        for exp in sb.check_lanes(u, o, R, "a", 8, model.row, "row"):
            if exp["valid"]:
                counts["nonzero" if exp["a"] else "zero"] += 1
        exp = model.sideband(u)
        if exp is not None:
            got = dict(sb_valid=o["sb_valid"], sb=o["sb"]) if exp["sb_valid"] else dict(sb_valid=o["sb_valid"])
            sb.check(u, got, exp, "sideband")

    Monitor(tb, drv.sample, "in").add_callback(model.on_input)
    Monitor(tb, sample_out, "out").add_callback(on_output)
    items = stimulus(rng, R, L, SBW, n)
    for it, r in zip(items, reset_pulses(rng, n, resets)):
        it["rst"] = r
    counts["resets"] = sum(1 for k in range(n) if items[k]["rst"] and (k == 0 or not items[k - 1]["rst"]))
    await drv.drive(items)
    await tb.cycles(R + 5)
    sb.finish(min_checks=n * R)
    dut._log.info(f"{name}: valid row outputs checked: {counts}")
    return counts


@cocotb.test(timeout_time=2000, timeout_unit="us")
async def select_random(dut):
    """800 cycles of random pixels, tags, window geometry, bubbles and index writes; every row's
    output and the sideband checked against the model (selection from both slots, zero for
    disabled rows and padding, lane r mod LANES, skew)."""
    counts = await checked_select(dut, "select_random", 800)
    assert counts["nonzero"] > 0 and counts["zero"] > 0


@cocotb.test(timeout_time=2000, timeout_unit="us")
async def select_reset_mid_stream(dut):
    """The random stimulus with rst raised for 1-3 cycles at random times: pixels and sidebands in
    flight vanish (valid 0, tag 0, activation 0 on every row), both index slots are disabled, and
    the pixels issued after it come out as the model says."""
    counts = await checked_select(dut, "select_reset_mid_stream", 600, resets=0.03)
    assert counts["resets"] >= 5, f"only {counts['resets']} resets drawn"


# ---- pytest entries -------------------------------------------------------------------------------

def select_params(rows, lanes, sbw):
    return dict(ROWS=rows, LANES=lanes, SBW=sbw)


# SBW of the default set: the sideband sps_top sends through (pass bits, pixel, last pixel)
SELECT = unique([select_params(6, 3, 5), select_params(5, 1, 1), select_params(4, 4, 2),
                 select_params(CFG.ROWS, CFG.LANES, 4 + clog2(CFG.ACC_DEPTH) + 1)])


@pytest.mark.sim
@pytest.mark.parametrize("params", SELECT, ids=[f"R{p['ROWS']}-L{p['LANES']}" for p in SELECT])
def test_sps_index_select(simulator, params):
    run_block(simulator, "sps_index_select", MODULE, params, "select")
