"""cocotb tests of sps_array (ROWS x COLS weight-stationary systolic array of sps_pe).

Model (rtl/sps_array.v header and docs/ARCHITECTURE.md section 2): row r's activation moves right
one PE per cycle, partial sums move down one PE per cycle starting from 0; so the activation that
row r receives in cycle s meets PE (r, j) in cycle s + j, and column j's output in cycle u is

    psum_out[j](u) = sum_r  W[tag_r(s_r)][r][j] (as written before cycle s_r) * a_r(s_r),
                     s_r = u - ROWS - j - L + r  (a PE adds its product L cycles after the activation:
                                                  L = 2 for sps_pe, 3 for sps_pe_pair),
    valid_out[j](u), tag_out[j](u) = row_valid/row_tag of row ROWS-1 in cycle u - L - 1 - j,
    sb_out(u) = sb_in(u - L);

for a pixel fed skewed (row r in cycle t + r) that is "column j at t + ROWS + j + L". A weight-row write
in cycle k is used by the pixels that enter row r from cycle k + 1 on, in every column (the array
skews it as the activations that use it: j cycles, or j - j mod 2 with pairs). psum_out is compared when valid_out is set, valid_out always.

Stimulus: tiles back to back, alternating weight slot (tag) as the weight loader does, each tile's
weights written into its slot row by row while the previous tile computes from the other slot:
either as early as the contract allows (row r as soon as the tile two back has entered it: its last pixel is still in the row)
or as late as it allows (row r one cycle before the tile's first pixel reaches it), so the tag switch
travels through the array as a wavefront while the other slot changes under it. Bubbles inside and
between tiles carry random (invalid) activations and tags.
"""
from __future__ import annotations

import cocotb
import pytest

from tb.env.block import (History, Monitor, Scoreboard, dut_params, pack, rand_int, seeded_rng, sext,
                          start_block, unpack, val)
from tb.blocks import CFG, run_block, unique

MODULE = "tb.blocks.test_sps_array"

INPUTS = ("wr_en", "wr_slot", "wr_row", "wr_data", "row_valid", "row_tag", "row_a", "sb_in")


class ArrayModel:
    def __init__(self, rows: int, cols: int, lat: int):
        self.R, self.C, self.L = rows, cols, lat     # lat: PE_SUM_LAT, 2 (sps_pe) or 3 (sps_pe_pair)
        self.w = [[History([0] * cols) for _ in range(rows)] for _ in range(2)]   # reset: zeros
        self.rows: dict[int, tuple] = {}           # cycle -> (valid[], tag[], a[])
        self.sb: dict[int, int] = {}

    def on_input(self, cycle: int, t: dict) -> None:
        self.rows[cycle] = (unpack(t["row_valid"], self.R, 1), unpack(t["row_tag"], self.R, 1),
                            unpack(t["row_a"], self.R, 8, signed=True))
        self.sb[cycle] = t["sb_in"]
        if t["wr_en"] and t["wr_row"] < self.R:
            self.w[t["wr_slot"]][t["wr_row"]].write(cycle, unpack(t["wr_data"], self.C, 8, signed=True))

    def expected(self, u: int, j: int) -> dict | None:
        last = self.rows.get(u - self.L - 1 - j)
        if last is None:
            return None
        valid, tag = last[0][self.R - 1], last[1][self.R - 1]
        if not valid:
            return dict(valid=0)
        acc = 0
        for r in range(self.R):
            s = u - self.R - j - self.L + r
            if s not in self.rows:
                return None
            _, tags, a = self.rows[s]
            acc += self.w[tags[r]][r].at(s)[j] * a[r]      # column j: write skewed as its activation
        return dict(valid=1, tag=tag, psum=sext(acc, 32))


def make_schedule(rng, R: int, C: int, style: str, ntiles: int, sbw: int):
    """Per-cycle input dicts for `ntiles` tiles, and the number of valid pixels."""
    writes: dict[int, tuple] = {}        # cycle -> (slot, row, weights)
    pixels: dict[int, tuple] = {}        # row-0 entry cycle -> (tag, a[R])
    t_last: list[int] = []
    port_free = 0
    npix_total = 0

    def value():
        return rng.choice((-128, 127, -127)) if style == "extremes" else rand_int(rng, 8, True, 0.15)

    for i in range(ntiles):
        slot = i % 2
        W = [[value() for _ in range(C)] for _ in range(R)]
        for r in range(R):
            if style != "extremes" and rng.random() < 0.15:
                W[r] = [0] * C                     # a disabled row
        # row r of slot `slot` is free once tile i-2's last pixel has entered the row (PE (r, 0)):
        # the write reaches PE (r, j) j cycles later, right behind that pixel
        e = [(t_last[i - 2] + r) if i >= 2 else 0 for r in range(R)]
        prev_end = t_last[i - 1] if i >= 1 else 0
        gap = 0 if rng.random() < 0.6 else rng.randint(1, 4)
        if rng.random() < 0.5:                     # early: rows as soon as the slot row is free
            k = []
            for r in range(R):
                port_free = max(port_free, e[r]) + (rng.randint(0, 2) if rng.random() < 0.2 else 0)
                k.append(port_free)
                port_free += 1
            t_first = max(prev_end + 1 + gap, max(k[r] - r + 1 for r in range(R)))
        else:                                      # late: row r one cycle before its first use
            t_first = max(prev_end + 1 + gap, port_free + 1, max(e[r] - r + 1 for r in range(R)))
            k = [t_first + r - 1 for r in range(R)]
            port_free = k[-1] + 1
        for r in range(R):
            writes[k[r]] = (slot, r, W[r])
        npix = 1 if style == "one_pixel_tiles" else rng.choice((1, 2, 3, rng.randint(4, 12)))
        t = t_first
        for p in range(npix):
            if p and rng.random() < 0.15:
                t += rng.randint(1, 3)             # bubble inside the tile
            pixels[t] = (slot, [value() for _ in range(R)])
            t += 1
        t_last.append(t - 1)
        npix_total += npix

    end = max(max(pixels) + R, max(writes)) + 1
    items = []
    for c in range(end):
        valid, tag, a = [], [], []
        for r in range(R):
            px = pixels.get(c - r)
            if px is None:                         # bubble: random garbage, not valid
                valid.append(0), tag.append(rng.getrandbits(1)), a.append(rand_int(rng, 8, True))
            else:
                valid.append(1), tag.append(px[0]), a.append(px[1][r])
        it = dict(row_valid=pack(valid, 1), row_tag=pack(tag, 1), row_a=pack(a, 8),
                  wr_en=0, wr_slot=rng.getrandbits(1), wr_row=rng.randrange(R), wr_data=rng.getrandbits(8 * C),
                  sb_in=rng.getrandbits(sbw))
        if c in writes:
            slot, r, w = writes[c]
            it.update(wr_en=1, wr_slot=slot, wr_row=r, wr_data=pack(w, 8))
        items.append(it)
    return items, npix_total


@cocotb.test(timeout_time=2000, timeout_unit="us")
@cocotb.parametrize(style=["random", "extremes", "one_pixel_tiles"])
async def array_tiles(dut, style):
    """Back-to-back tiles with alternating tags against the dataflow model; every column's output
    at t + ROWS + j + L, the sideband L cycles after it entered (L = 2, or 3 with two MACs per DSP). style: random values / only -128, -127, 127 (largest sums) / one-pixel tiles
    (the tag flips every cycle)."""
    p = dut_params(dut, ("ROWS", "COLS", "RW", "SBW", "MACS_PER_DSP"))
    R, C, L = p["ROWS"], p["COLS"], 2 + (p["MACS_PER_DSP"] == 2)
    name = f"array_tiles[{style}] {R}x{C} x{p['MACS_PER_DSP']}"
    rng = seeded_rng(dut, name)
    tb, drv = await start_block(dut, INPUTS)
    model = ArrayModel(R, C, L)
    sb = Scoreboard(dut._log, name)
    n_valid = [0]

    def sample_out():
        return dict(valid=val(dut.valid_out), tag=val(dut.tag_out), psum=val(dut.psum_out), sb=val(dut.sb_out))

    def on_output(u, o):
        n_valid[0] += sum(e["valid"] for e in sb.check_lanes(u, o, C, "psum", 32, model.expected, "column"))
        if u - L in model.sb:
            sb.check(u, dict(sb=o["sb"]), dict(sb=model.sb[u - L]), "sideband")

    Monitor(tb, drv.sample, "in").add_callback(model.on_input)
    Monitor(tb, sample_out, "out").add_callback(on_output)
    # Icarus evaluates the whole array every cycle: keep big arrays to fewer tiles
    ntiles = max(8, min(24, 400 // (R * C)))
    items, npix = make_schedule(rng, R, C, style, 2 * ntiles if style == "one_pixel_tiles" else ntiles, p["SBW"])
    await drv.drive(items)
    await tb.cycles(R + C + 5)
    sb.finish(min_checks=npix * C)
    assert n_valid[0] == npix * C, f"{n_valid[0]} valid column outputs checked, expected {npix * C}"


# ---- pytest entries -------------------------------------------------------------------------------

def array_params(rows, cols, macs, sbw=3):
    return dict(ROWS=rows, COLS=cols, SBW=sbw, MACS_PER_DSP=macs)


# both PEs (one and two MACs per multiplier), an odd column count (a lone last column in a pair)
ARRAY = unique([array_params(3, 5, m) for m in (1, 2)] + [array_params(4, 4, 1), array_params(4, 6, 2)] +
               [array_params(CFG.ROWS, CFG.COLS, m) for m in (1, 2)])


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("params", ARRAY, ids=[f"{p['ROWS']}x{p['COLS']}x{p['MACS_PER_DSP']}" for p in ARRAY])
def test_sps_array(simulator, params):
    run_block(simulator, "sps_array", MODULE, params, "array")
