"""cocotb tests of the window generator with the activation buffer (tb/hdl/sps_wgen_tb.v: sps_act_buffer
write port -> sps_window_gen, wired as in sps_top).

Models (docs/ARCHITECTURE.md sections 2, 3, 5 and the rtl/sps_window_gen.v header):
  * buffer image: a write of beat (wsub, waddr, wdata) stores, per the section 5.2 rule
    address = cb*H3*W3 + (y div 3)*W3 + (x div 3), sub-bank 3*(y mod 3) + (x mod 3), byte l =
    channel cb*LANES + l at (y, x); the model inverts the rule to keep the image X[c][y][x];
  * a pass accepted in cycle n (start and can_start) issues pixel p = oy*WOUT + ox (raster) in cycle
    n + 1 + p and puts its windows on `win` in cycle n + 3 + p: bank b, element (dy, dx) =
    X[c_b][oy*S - PAD_TOP + dy][ox*S - PAD_LEFT + dx], 0 outside [0, H) x [0, W), with
    c_b = (base_chaddr / HW3 + (b < base_bank)) * LANES + b; win_pixel = p, win_last on the last pixel,
    win_tag / win_sb = the pass's tag / sideband; win_valid exactly then, never otherwise;
  * can_start is high when idle and in a pass's last pixel cycle (back-to-back passes, no bubble).
Stimulus: per layer random H, W (odd ones included), channels, stride 1/2, PAD_TOP / PAD_LEFT 0..2,
bottom/right padding 0..2 (implicit), buffer loaded through the write port with random gaps, then
several passes with random base_bank/base_chaddr/tag/sideband, most of them back to back.
"""
from __future__ import annotations

import cocotb
import pytest

from tb.env.block import (BlockTb, CycleDriver, Monitor, Scoreboard, dut_params, pack, seeded_rng,
                          unpack, val, wait_until)
from tb.blocks import CFG, HDL, run_block, unique

MODULE = "tb.blocks.test_sps_window_gen"

GEOM = ("h", "w", "hout", "wout", "stride2", "pad_top", "pad_left", "w3", "hw3")
PASS = ("start", "base_bank", "base_chaddr", "tag", "sb")
WRITE = ("we", "wsub", "waddr", "wdata")


def ceil3(n: int) -> int:
    return -(-n // 3)


class Layer:
    """One layer's geometry and input, as the test chooses it."""

    def __init__(self, rng, p, stride: int, pad_top: int):
        L, depth = p["LANES"], p["ACT_DEPTH"]
        wide = rng.random() < 0.25                 # a long row or column: the div-3 counters run far
        while True:
            H, W = rng.randint(1, 11), rng.randint(1, 11)
            if wide:
                big = rng.randint(12, min(40, (1 << p["DIM_BITS"]) - 1))
                H, W = (big, rng.randint(1, 4)) if rng.random() < 0.5 else (rng.randint(1, 4), big)
            pb, pr, pl = rng.randint(0, 2), rng.randint(0, 2), rng.randint(0, 2)
            C = rng.randint(1, 3 * L)
            nblk = -(-C // L)
            if H + pad_top + pb < 3 or W + pl + pr < 3:
                continue
            hout = (H + pad_top + pb - 3) // stride + 1
            wout = (W + pl + pr - 3) // stride + 1
            if nblk * ceil3(H) * ceil3(W) <= depth and hout * wout <= p["ACC_DEPTH"] \
                    and max(H, W) < (1 << p["DIM_BITS"]):
                break
        self.H, self.W, self.C, self.nblk, self.L = H, W, C, nblk, L
        self.stride, self.pad_top, self.pad_left, self.hout, self.wout = stride, pad_top, pl, hout, wout
        self.w3, self.hw3 = ceil3(W), ceil3(H) * ceil3(W)
        # channels >= C are zero (the activation stream's rule)
        self.x = [[[rng.randint(-128, 127) if c < C else 0 for _ in range(W)] for _ in range(H)]
                  for c in range(nblk * L)]

    def geometry(self) -> dict:
        return dict(h=self.H, w=self.W, hout=self.hout, wout=self.wout, stride2=int(self.stride == 2),
                    pad_top=self.pad_top, pad_left=self.pad_left, w3=self.w3, hw3=self.hw3)

    def beats(self):
        """The buffer writes of the activation stream, section 5.2 (independent of compiler/)."""
        for cb in range(self.nblk):
            for y in range(self.H):
                for x in range(self.W):
                    yield dict(we=1, wsub=3 * (y % 3) + (x % 3),
                               waddr=cb * self.hw3 + (y // 3) * self.w3 + (x // 3),
                               wdata=pack([self.x[cb * self.L + l][y][x] for l in range(self.L)], 8))

    def bases(self):
        """Tile channel bases c_base a pass may start from: every block it reads is loaded."""
        return [c for c in range(self.nblk * self.L) if c % self.L == 0 or c // self.L + 1 < self.nblk]


class WindowModel:
    def __init__(self, lanes: int):
        self.L = lanes
        self.img: dict[tuple, int] = {}          # (channel, y, x) -> int8, this layer
        self.geom = None
        self.expected: dict[int, dict] = {}      # cycle -> expected window outputs
        self.issue: set[int] = set()
        self.passes = 0

    def on_input(self, n: int, t: dict) -> None:
        g = {k: t[k] for k in GEOM}
        if g != self.geom:                      # a new layer: the image starts over
            self.geom, self.img = g, {}
        if t["we"]:
            w3, hw3 = g["w3"], g["hw3"]
            cb, rem = divmod(t["waddr"], hw3)
            y = 3 * (rem // w3) + t["wsub"] // 3
            x = 3 * (rem % w3) + t["wsub"] % 3
            for l, v in enumerate(unpack(t["wdata"], self.L, 8, signed=True)):
                self.img[(cb * self.L + l, y, x)] = v
        if t["start"] and t["can_start"]:
            self._pass(n, g, t)

    def _pass(self, n: int, g: dict, t: dict) -> None:
        self.passes += 1
        s = 2 if g["stride2"] else 1
        blk0 = t["base_chaddr"] // g["hw3"]
        chans = [(blk0 + (b < t["base_bank"])) * self.L + b for b in range(self.L)]
        npix = g["hout"] * g["wout"]
        for p in range(npix):
            oy, ox = divmod(p, g["wout"])
            y0, x0 = oy * s - g["pad_top"], ox * s - g["pad_left"]
            win = []
            for c in chans:
                for dy in range(3):
                    for dx in range(3):
                        y, x = y0 + dy, x0 + dx
                        inside = 0 <= y < g["h"] and 0 <= x < g["w"]
                        win.append(self.img[(c, y, x)] if inside else 0)
            self.issue.add(n + 1 + p)
            assert n + 3 + p not in self.expected, f"cycle {n + 3 + p}: two passes overlap (test bug)"
            self.expected[n + 3 + p] = dict(valid=1, p=p, last=int(p == npix - 1), tag=t["tag"],
                                            sb=t["sb"], win=win)


async def load(tb, drv: CycleDriver, layer: Layer, rng) -> None:
    for beat in layer.beats():
        while rng.random() < 0.15:                 # the stream pauses
            await drv.drive([dict(we=0, wsub=rng.randrange(9), waddr=0, wdata=rng.getrandbits(8 * layer.L))])
        await drv.drive([beat])


async def run_pass(tb, dut, drv: CycleDriver, item: dict) -> None:
    """Hold `start` with the pass inputs until the generator takes it (can_start)."""
    drv.apply(dict(item, start=1))
    await wait_until(tb, lambda: val(dut.can_start) == 1)
    drv.apply(dict(start=0))


@cocotb.test(timeout_time=5000, timeout_unit="us")
@cocotb.parametrize(stride=[1, 2], pad_top=[0, 1, 2])
async def windows(dut, stride, pad_top):
    """Three layers, each loaded through the buffer's write port and read by 3-6 passes (most of
    them back to back); every window element, win_pixel/last/tag/sb and `issue` checked every cycle."""
    p = dut_params(dut, ("LANES", "ACT_DEPTH", "ACC_DEPTH", "DIM_BITS", "SBW", "XW", "LW", "AW", "PXW"))
    L = p["LANES"]
    name = f"windows[stride={stride},pad_top={pad_top}] LANES={L}"
    rng = seeded_rng(dut, name)
    tb = BlockTb(dut)
    drv = CycleDriver(tb, GEOM + PASS + WRITE)
    drv.apply({n: 0 for n in GEOM + PASS + WRITE})
    await tb.reset()
    model = WindowModel(L)
    sb = Scoreboard(dut._log, name)
    windows_seen = [0]

    def sample_in():
        t = {n: val(getattr(dut, n)) for n in GEOM + PASS + WRITE}
        t["can_start"] = val(dut.can_start)
        return t

    def sample_out():
        o = dict(valid=val(dut.win_valid), issue=val(dut.issue))
        if o["valid"]:
            o.update(p=val(dut.win_pixel), last=val(dut.win_last), tag=val(dut.win_tag), sb=val(dut.win_sb))
            w = val(dut.win)
            o["win"] = unpack(w, 9 * L, 8, signed=True) if w is not None else None
        return o

    def on_output(u, o):
        exp = dict(model.expected.pop(u, dict(valid=0)))
        got = dict(o)
        sb.check(u, dict(issue=got.pop("issue")), dict(issue=int(u in model.issue)), "issue")
        model.issue.discard(u)
        if exp["valid"] and got["valid"] and got.get("win") is not None:
            ew, gw = exp.pop("win"), got.pop("win")
            bad = [i for i in range(len(ew)) if ew[i] != gw[i]]
            exp["win_errors"], got["win_errors"] = 0, len(bad)
            if bad:
                i = bad[0]
                key = f"first bad element (bank {i // 9}, dy {i % 9 // 3}, dx {i % 3})"
                exp[key], got[key] = ew[i], gw[i]
            windows_seen[0] += 1
        sb.check(u, got, exp, f"window p={exp.get('p')}")

    Monitor(tb, sample_in, "in").add_callback(model.on_input)
    Monitor(tb, sample_out, "out").add_callback(on_output)

    for _ in range(3):
        layer = Layer(rng, p, stride, pad_top)
        drv.apply(layer.geometry())
        await load(tb, drv, layer, rng)
        drv.apply(dict(we=0))
        dut._log.info(f"layer H={layer.H} W={layer.W} C={layer.C} pad_top={pad_top} "
                      f"pad_left={layer.pad_left} stride={stride} -> {layer.hout}x{layer.wout}")
        for _ in range(rng.randint(3, 6)):
            c_base = rng.choice(layer.bases())
            item = dict(base_bank=c_base % L, base_chaddr=(c_base // L) * layer.hw3,
                        tag=rng.getrandbits(1), sb=rng.getrandbits(p["SBW"]))
            await run_pass(tb, dut, drv, item)
            if rng.random() < 0.35:
                # leave a gap: wait for the pass to finish, then some idle cycles
                await wait_until(tb, lambda: val(dut.issue) == 0)
                await tb.cycles(rng.randint(0, 3))
        await wait_until(tb, lambda: val(dut.issue) == 0)   # geometry stays until the last pixel
        await tb.cycles(4)
    sb.finish()
    assert not model.expected, f"{len(model.expected)} expected windows never checked"
    assert windows_seen[0] > 0 and model.passes > 0, "no window was compared"
    dut._log.info(f"{name}: {model.passes} passes, {windows_seen[0]} windows compared")


# ---- pytest entries -------------------------------------------------------------------------------

def wgen_params(lanes, act_depth, acc_depth, dim_bits, sbw):
    return dict(LANES=lanes, ACT_DEPTH=act_depth, ACC_DEPTH=acc_depth, DIM_BITS=dim_bits, SBW=sbw, XW=24)


# ACT_DEPTH 48: not a power of two (out-of-range addresses of masked window elements)
WGEN = unique([wgen_params(3, 48, 128, 6, 3),
               wgen_params(CFG.LANES, CFG.ACT_DEPTH, CFG.ACC_DEPTH, CFG.DIM_BITS, 4)])


@pytest.mark.sim
@pytest.mark.parametrize("params", WGEN, ids=[f"L{p['LANES']}-D{p['ACT_DEPTH']}" for p in WGEN])
def test_sps_window_gen(simulator, params):
    """sps_act_buffer + sps_window_gen through the testbench wrapper tb/hdl/sps_wgen_tb.v."""
    run_block(simulator, "sps_wgen_tb", MODULE, params, "wgen", extra_sources=[HDL / "sps_wgen_tb.v"])
