"""cocotb tests of the window generator with the activation buffer (tb/hdl/sps_wgen_tb.v: sps_act_buffer
write port -> sps_window_gen, wired as in sps_top).

Models (docs/ARCHITECTURE.md sections 2, 3, 5 and the rtl/sps_window_gen.v header):
  * buffer image: a band holds B = BATCH images; a write of beat (wsub, waddr, wdata) stores, per
    the section 5.2 rule address = (cb*B + b)*H3*W3 + (y div 3)*W3 + (x div 3), sub-bank
    3*(y mod 3) + (x mod 3), byte l = channel cb*LANES + l of image b at (y, x); the model inverts
    the rule to keep the images X_b[c][y][x];
  * a pass accepted in cycle n (start and can_start) issues pixel p = (b*HOUT + oy)*WOUT + ox
    (image by image, raster within each) in cycle n + 1 + p (issue, issue_tag = the pass's tag;
    pass_end with the tag on the last pixel, p = B*HOUT*WOUT - 1), gives its window geometry in
    cycle n + 2 + p: with the origin (y0, x0) = (oy*S - PAD_TOP, ox*S - PAD_LEFT) in image b,
    f1_y0m = y0 mod 3, f1_x0m = x0 mod 3, f1_row_in[dy] = (0 <= y0 + dy < H), f1_col_in[dx] likewise
    (padding per image); and its sub-bank words on `win` in cycle n + 3 + p: for every (dy, dx)
    inside the input, lane l of sub-bank ((y0m + dy) mod 3, (x0m + dx) mod 3) =
    X_b[cb*LANES + l][y0 + dy][x0 + dx], cb = base_chaddr / (HW3*B) (words of elements outside the
    input are not looked at: the indexing unit masks them); win_pixel = p, win_last on the last
    pixel, win_sb = the pass's sideband; win_valid exactly then, never otherwise;
  * can_start is high when idle and in a pass's last pixel cycle (back-to-back passes, no bubble),
    low in the pass's other issue cycles.
Stimulus: per layer random H, W (odd ones included), channels, B (1 .. 5), stride 1/2, PAD_TOP /
PAD_LEFT 0..2, bottom/right padding 0..2 (implicit), buffer loaded through the write port with random
gaps, then several passes with random channel block/tag/sideband, most of them back to back; the
`batches` test forces B > 1 with 1-pixel, 1-row and 1-column images among the others.
"""
from __future__ import annotations

import cocotb
import pytest

from tb.env.block import (BlockTb, CycleDriver, Monitor, Scoreboard, dut_params, pack, seeded_rng,
                          unpack, val, wait_until)
from tb.blocks import CFG, HDL, run_block, unique

MODULE = "tb.blocks.test_sps_window_gen"

GEOM = ("h", "w", "hout", "wout", "stride2", "pad_top", "pad_left", "w3", "hw3", "batch")
PASS = ("start", "base_chaddr", "tag", "sb")
WRITE = ("we", "wsub", "waddr", "wdata")


def ceil3(n: int) -> int:
    return -(-n // 3)


class Layer:
    """One layer's geometry and input (B images), as the test chooses it. `shape`: None (any), "px"
    (1-pixel images), "row" (1-row images), "col" (1-column images)."""

    def __init__(self, rng, p, stride: int, pad_top: int, batch: int = 1, shape: str | None = None):
        L, depth = p["LANES"], p["ACT_DEPTH"]
        wide = shape is None and rng.random() < 0.25     # a long row or column: the div-3 counters run far
        while True:
            B = batch
            H, W = rng.randint(1, 11), rng.randint(1, 11)
            if shape in ("px", "row"):
                H = rng.randint(1, 4)
            if shape in ("px", "col"):
                W = rng.randint(1, 4)
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
            if (shape in ("px", "row") and hout != 1) or (shape in ("px", "col") and wout != 1):
                continue
            if nblk * B * ceil3(H) * ceil3(W) <= depth and B * hout * wout <= p["ACC_DEPTH"] \
                    and max(H, W) < (1 << p["DIM_BITS"]):
                break
        self.H, self.W, self.C, self.nblk, self.L, self.B = H, W, C, nblk, L, B
        self.stride, self.pad_top, self.pad_left, self.hout, self.wout = stride, pad_top, pl, hout, wout
        self.w3, self.hw3 = ceil3(W), ceil3(H) * ceil3(W)
        # channels >= C are zero (the activation stream's rule); x[b][c][y][x]
        self.x = [[[[rng.randint(-128, 127) if c < C else 0 for _ in range(W)] for _ in range(H)]
                   for c in range(nblk * L)] for _ in range(B)]

    def geometry(self) -> dict:
        return dict(h=self.H, w=self.W, hout=self.hout, wout=self.wout, stride2=int(self.stride == 2),
                    pad_top=self.pad_top, pad_left=self.pad_left, w3=self.w3, hw3=self.hw3, batch=self.B)

    def beats(self):
        """The buffer writes of the activation stream, section 5.2 (independent of compiler/):
        for cb: for b: for y: for x."""
        for cb in range(self.nblk):
            for b in range(self.B):
                for y in range(self.H):
                    for x in range(self.W):
                        yield dict(we=1, wsub=3 * (y % 3) + (x % 3),
                                   waddr=(cb * self.B + b) * self.hw3 + (y // 3) * self.w3 + (x // 3),
                                   wdata=pack([self.x[b][cb * self.L + l][y][x] for l in range(self.L)], 8))



class WindowModel:
    def __init__(self, lanes: int):
        self.L = lanes
        self.img: dict[tuple, int] = {}          # (channel, image, y, x) -> int8, this layer
        self.geom = None
        self.expected: dict[int, dict] = {}      # cycle -> expected window outputs
        self.issue: dict[int, tuple] = {}        # cycle -> (tag, last pixel)
        self.geo: dict[int, dict] = {}           # cycle -> expected window geometry
        self.passes = 0
        self.resets = 0

    def on_input(self, n: int, t: dict) -> None:
        if t.get("rst"):                        # everything in flight is gone (the buffer keeps its words)
            for d in (self.expected, self.issue, self.geo):
                for k in [k for k in d if k > n]:
                    del d[k]
            return
        g = {k: t[k] for k in GEOM}
        if g != self.geom:                      # a new layer: the image starts over
            self.geom, self.img = g, {}
        if t["we"]:
            w3, hw3 = g["w3"], ceil3(g["h"]) * g["w3"]
            k, rem = divmod(t["waddr"], hw3)
            cb, b = divmod(k, g["batch"])
            y = 3 * (rem // w3) + t["wsub"] // 3
            x = 3 * (rem % w3) + t["wsub"] % 3
            for l, v in enumerate(unpack(t["wdata"], self.L, 8, signed=True)):
                self.img[(cb * self.L + l, b, y, x)] = v
        if t["start"] and t["can_start"]:
            self._pass(n, g, t)

    def _pass(self, n: int, g: dict, t: dict) -> None:
        self.passes += 1
        s = 2 if g["stride2"] else 1
        B = g["batch"]
        cb = t["base_chaddr"] // (ceil3(g["h"]) * g["w3"] * B)
        npix = B * g["hout"] * g["wout"]
        for p in range(npix):
            b, q = divmod(p, g["hout"] * g["wout"])
            oy, ox = divmod(q, g["wout"])
            y0, x0 = oy * s - g["pad_top"], ox * s - g["pad_left"]
            row_in = [int(0 <= y0 + d < g["h"]) for d in range(3)]
            col_in = [int(0 <= x0 + d < g["w"]) for d in range(3)]
            win = {}                                 # (sub-bank, lane) -> value, elements inside only
            for dy in range(3):
                for dx in range(3):
                    if row_in[dy] and col_in[dx]:
                        sub = ((y0 + dy) % 3) * 3 + (x0 + dx) % 3
                        for l in range(self.L):
                            win[(sub, l)] = self.img[(cb * self.L + l, b, y0 + dy, x0 + dx)]
            self.issue[n + 1 + p] = (t["tag"], int(p == npix - 1))
            self.geo[n + 2 + p] = (f"pixel {p} (image {b}, oy {oy}, ox {ox}) of {B}x{g['hout']}x{g['wout']}",
                                   dict(y0m=y0 % 3, x0m=x0 % 3, row_in=pack(row_in, 1), col_in=pack(col_in, 1)))
            assert n + 3 + p not in self.expected, f"cycle {n + 3 + p}: two passes overlap (test bug)"
            self.expected[n + 3 + p] = dict(valid=1, p=p, last=int(p == npix - 1), sb=t["sb"], win=win)


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


def batch_width(acc_depth: int) -> int:
    """BW of rtl/sps_widths.vh: bits of a count 0..ACC_DEPTH."""
    return acc_depth.bit_length()


async def run_layers(dut, name: str, layers, resets: float = 0.0) -> None:
    """`layers(rng, p)`: the layers to run, each loaded through the buffer's write port and read by
    3-6 passes (most of them back to back); every window element, win_pixel/last/tag/sb, `issue`,
    `pass_end` and `can_start` checked every cycle. `resets`: the chance that rst rises for 1-3
    cycles at a random point of a pass (its pixels and windows in flight are gone; then nothing
    comes out and can_start is high until the next pass)."""
    p = dut_params(dut, ("LANES", "ACT_DEPTH", "ACC_DEPTH", "DIM_BITS", "SBW", "AW", "PXW"))
    bw = batch_width(p["ACC_DEPTH"])
    if hasattr(dut, "BW"):
        assert val(dut.BW) == bw, f"DUT localparam BW = {val(dut.BW)}, expected {bw} (SPS_COUNT_W(ACC_DEPTH))"
    L = p["LANES"]
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
        t["rst"] = val(dut.rst)
        return t

    def sample_out():
        o = dict(valid=val(dut.win_valid), issue=val(dut.issue), pass_end=val(dut.pass_end),
                 can_start=val(dut.can_start))
        if o["issue"]:
            o["issue_tag"] = val(dut.issue_tag)
        if o["pass_end"]:
            o["pass_end_tag"] = val(dut.pass_end_tag)
        o["geo"] = dict(y0m=val(dut.f1_y0m), x0m=val(dut.f1_x0m), row_in=val(dut.f1_row_in),
                        col_in=val(dut.f1_col_in))
        if o["valid"]:
            o.update(p=val(dut.win_pixel), last=val(dut.win_last), sb=val(dut.win_sb))
            w = val(dut.win)
            o["win"] = unpack(w, 9 * L, 8, signed=True) if w is not None else None
        return o

    def on_output(u, o):
        exp = dict(model.expected.pop(u, dict(valid=0)))
        got = dict(o)
        tag, last = model.issue.pop(u, (None, 0))
        e_iss = dict(issue=int(tag is not None), pass_end=last, can_start=int(tag is None or bool(last)))
        g_iss = dict(issue=got.pop("issue"), pass_end=got.pop("pass_end"), can_start=got.pop("can_start"))
        if tag is not None:
            e_iss["issue_tag"], g_iss["issue_tag"] = tag, got.pop("issue_tag", None)
        if last:
            e_iss["pass_end_tag"], g_iss["pass_end_tag"] = tag, got.pop("pass_end_tag", None)
        sb.check(u, g_iss, e_iss, "issue / pass end")
        geo, e_geo = got.pop("geo"), model.geo.pop(u, None)
        if e_geo is not None:
            sb.check(u, geo, e_geo[1], f"window geometry (F1) of {e_geo[0]}")
        if exp["valid"] and got["valid"] and got.get("win") is not None:
            ew, gw = exp.pop("win"), got.pop("win")
            bad = [k for k, v in ew.items() if gw[k[0] * L + k[1]] != v]
            exp["win_errors"], got["win_errors"] = 0, len(bad)
            if bad:
                k = bad[0]
                key = f"first bad element (sub-bank {k[0]}, lane {k[1]})"
                exp[key], got[key] = ew[k], gw[k[0] * L + k[1]]
            windows_seen[0] += 1
        elif exp["valid"]:
            exp.pop("win")
        got.pop("win", None)
        sb.check(u, got, exp, f"window p={exp.get('p')}")

    Monitor(tb, sample_in, "in").add_callback(model.on_input)
    Monitor(tb, sample_out, "out").add_callback(on_output)

    for layer in layers(rng, p):
        drv.apply(layer.geometry())
        await load(tb, drv, layer, rng)
        drv.apply(dict(we=0))
        dut._log.info(f"layer B={layer.B} H={layer.H} W={layer.W} C={layer.C} pad_top={layer.pad_top} "
                      f"pad_left={layer.pad_left} stride={layer.stride} -> {layer.B}x{layer.hout}x{layer.wout}")
        for _ in range(rng.randint(3, 6)):
            item = dict(base_chaddr=rng.randrange(layer.nblk) * layer.hw3 * layer.B,
                        tag=rng.getrandbits(1), sb=rng.getrandbits(p["SBW"]))
            await run_pass(tb, dut, drv, item)
            if resets and rng.random() < resets:
                await tb.cycles(rng.randint(0, layer.B * layer.hout * layer.wout + 3))
                tb.rst.value = 1
                await tb.cycles(rng.randint(1, 3))
                tb.rst.value = 0
                model.resets += 1
            elif rng.random() < 0.35:
                # leave a gap: wait for the pass to finish, then some idle cycles
                await wait_until(tb, lambda: val(dut.issue) == 0)
                await tb.cycles(rng.randint(0, 3))
        await wait_until(tb, lambda: val(dut.issue) == 0)   # geometry stays until the last pixel
        await tb.cycles(4)
    sb.finish()
    assert not model.expected, f"{len(model.expected)} expected windows never checked"
    assert windows_seen[0] > 0 and model.passes > 0, "no window was compared"
    dut._log.info(f"{name}: {model.passes} passes, {windows_seen[0]} windows compared, {model.resets} resets")
    assert model.resets > 0 or not resets, "no reset was drawn"


@cocotb.test(timeout_time=5000, timeout_unit="us")
@cocotb.parametrize(stride=[1, 2], pad_top=[0, 1, 2])
async def windows(dut, stride, pad_top):
    """Three layers, one image (BATCH = 1) or a few."""
    name = f"windows[stride={stride},pad_top={pad_top}]"
    await run_layers(dut, name, lambda rng, p: (Layer(rng, p, stride, pad_top, rng.choice([1, 1, 2, 3]))
                                                for _ in range(3)))


@cocotb.test(timeout_time=5000, timeout_unit="us")
@cocotb.parametrize(stride=[1, 2], pad_top=[0, 1, 2])
async def batches(dut, stride, pad_top):
    """BATCH 2-5: 1-pixel images, 1-row images, 1-column images and any shape; the image stride,
    the per-image padding and masks, and the last-image flags (pass_end, can_start) at each."""
    name = f"batches[stride={stride},pad_top={pad_top}]"

    def layers(rng, p):
        for shape in ("px", "row", "col", None):
            yield Layer(rng, p, stride, pad_top, rng.randint(2, 5), shape)
    await run_layers(dut, name, layers)


@cocotb.test(timeout_time=5000, timeout_unit="us")
async def reset_mid_pass(dut):
    """rst for 1-3 cycles at a random point of half of the passes (also before the first pixel
    and after the last): no window, issue or pass end of the interrupted pass comes out after it,
    can_start is high, and the next pass over the same buffer runs exactly."""
    name = "reset_mid_pass"
    await run_layers(dut, name, lambda rng, p: (Layer(rng, p, rng.choice([1, 2]), rng.randint(0, 2),
                                                      rng.choice([1, 2])) for _ in range(4)), resets=0.5)


# ---- pytest entries -------------------------------------------------------------------------------

def wgen_params(lanes, act_depth, acc_depth, dim_bits, sbw):
    return dict(LANES=lanes, ACT_DEPTH=act_depth, ACC_DEPTH=acc_depth, DIM_BITS=dim_bits, SBW=sbw)


# ACT_DEPTH 48: not a power of two (out-of-range addresses of masked window elements); ACC_DEPTH 60:
# BATCH's width (6 bits) is not the pixel index's + 1
WGEN = unique([wgen_params(3, 48, 128, 6, 3), wgen_params(2, 40, 60, 5, 2),
               wgen_params(CFG.LANES, CFG.ACT_DEPTH, CFG.ACC_DEPTH, CFG.DIM_BITS, 4)])


@pytest.mark.sim
@pytest.mark.parametrize("params", WGEN, ids=[f"L{p['LANES']}-D{p['ACT_DEPTH']}" for p in WGEN])
def test_sps_window_gen(simulator, params):
    """sps_act_buffer + sps_window_gen through the testbench wrapper tb/hdl/sps_wgen_tb.v."""
    run_block(simulator, "sps_wgen_tb", MODULE, params, "wgen", extra_sources=[HDL / "sps_wgen_tb.v"])
