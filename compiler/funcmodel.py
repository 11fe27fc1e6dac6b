"""Functional model of the SPS dataflow, written from docs/ARCHITECTURE.md.

run_program consumes ONLY what the hardware gets -- the register values and the two input streams --
and returns the result stream. It models:
  * the activation buffer: 9 sub-banks of ACT_DEPTH words of LANES bytes; pixel (y, x) of channel
    c = cb*LANES + l of image b goes to lane l of sub-bank (y mod 3, x mod 3), word
    (cb*BATCH + b)*H3*W3 + (y div 3)*W3 + (x div 3) (section 5.2), with a capacity check;
  * the weight stream parser: per column tile a 7-beat header (bias, M, shift), then ROWS beats per
    row tile; the tiles come from the walker rule applied to NPAT/PAT/FG/C (section 3, loop order 4);
  * the window generator: pixels in (image, oy, ox) order, origin (oy*STRIDE - PAD_TOP,
    ox*STRIDE - PAD_LEFT) in the image's own rows, positions outside [0, H) x [0, W) read 0; array
    row r reads lane r mod LANES of the tile's channel block (section 3);
  * the passes (one per row tile and column tile, all output pixels of all BATCH images), the accumulator (2 ping-pong
    banks of ACC_DEPTH pixels x COLS, bank = column tiles so far mod 2, first row tile overwrites),
    and the output stage: bias + the section 6 requantisation rule (its own copy).
Stream length mismatches raise ValueError. The MAC arithmetic is vectorised over pixels (exact:
float64 products of int8 values summed over ROWS rows stay far below 2**53).
"""
from __future__ import annotations

import numpy as np

from compiler import regs as R
from compiler.config import ceil_div
from compiler.compile import compile_layer
from compiler.walker import tile_arrays, tile_plan


def _wrap32(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int64)


def _check_regs(r: dict, cfg) -> None:
    dim_max = (1 << cfg.DIM_BITS) - 1
    ch_max = (1 << cfg.CH_BITS) - 1
    if not 1 <= r["C"] <= ch_max:
        raise ValueError(f"registers: C={r['C']} outside 1..{ch_max}")
    for k in ("H", "W", "HOUT", "WOUT"):
        if not 1 <= r[k] <= dim_max:
            raise ValueError(f"registers: {k}={r[k]} outside 1..{dim_max}")
    if r["STRIDE"] not in (1, 2):
        raise ValueError(f"registers: STRIDE={r['STRIDE']} is not 1 or 2")
    for k in ("PAD_TOP", "PAD_LEFT"):
        if r[k] not in (0, 1):
            raise ValueError(f"registers: {k}={r[k]} is not 0 or 1")
    if r["MODE"] & ~3:
        raise ValueError(f"registers: MODE={r['MODE']:#x} has bits other than 0, 1")
    P = r["NPAT"]
    if not 1 <= P <= cfg.PMAX:
        raise ValueError(f"registers: NPAT={P} outside 1..PMAX={cfg.PMAX}")
    for i in range(P):
        if not 0 < r["PAT"][i] < 512:
            raise ValueError(f"registers: PAT[{i}]={r['PAT'][i]:#x} is not a non-empty 9-bit mask")
    for g in range(cfg.PMAX):
        if r["FG"][g] > ch_max or (g >= P and r["FG"][g]):
            raise ValueError(f"registers: FG[{g}]={r['FG'][g]} invalid (NPAT={P}, max {ch_max})")
    if sum(r["FG"]) == 0:
        raise ValueError("registers: every FG[g] is 0 (no filter to compute)")
    if not 1 <= r["BATCH"] <= cfg.ACC_DEPTH:
        raise ValueError(f"registers: BATCH={r['BATCH']} outside 1..ACC_DEPTH={cfg.ACC_DEPTH}")
    # the last window must start inside the input (a sanity check of H/HOUT consistency)
    for n_out, n_in, pad, name in ((r["HOUT"], r["H"], r["PAD_TOP"], "HOUT"),
                                   (r["WOUT"], r["W"], r["PAD_LEFT"], "WOUT")):
        if (n_out - 1) * r["STRIDE"] - pad > n_in - 1:
            raise ValueError(f"registers: {name}={n_out} windows do not fit the {n_in} input rows/columns")


def _load_activations(act: np.ndarray, r: dict, cfg) -> np.ndarray:
    """Activation stream -> buffer [LANES, 9 sub-banks, ACT_DEPTH] int8."""
    C, H, W, B = r["C"], r["H"], r["W"], r["BATCH"]
    CB = ceil_div(C, cfg.LANES)
    expect = CB * B * H * W
    act = np.asarray(act)
    if act.ndim != 2 or act.shape[1] != cfg.LANES:
        raise ValueError(f"activation stream: beats have shape {list(act.shape)}, expected [{expect}, {cfg.LANES}]")
    if act.shape[0] != expect:
        kind = "too few" if act.shape[0] < expect else "too many"
        raise ValueError(f"activation stream: {kind} beats: got {act.shape[0]}, expected {expect} "
                         f"(ceil(C/LANES)*BATCH*H*W)")
    H3, W3 = ceil_div(H, 3), ceil_div(W, 3)
    if CB * B * H3 * W3 > cfg.ACT_DEPTH:
        raise ValueError(f"activation buffer overflow: {CB}*{B}*{H3}*{W3} words per sub-bank > ACT_DEPTH={cfg.ACT_DEPTH}")
    t = np.arange(expect)
    blk, y, x = t // (H * W), (t // W) % H, t % W         # blk = cb*BATCH + image
    sub = (y % 3) * 3 + x % 3
    addr = blk * H3 * W3 + (y // 3) * W3 + x // 3
    buf = np.zeros((cfg.LANES, 9, cfg.ACT_DEPTH), np.int8)
    buf[:, sub, addr] = np.asarray(act, np.int8).T
    return buf


def _windows(r: dict):
    """Per kernel position k, for every pixel (image, oy, ox) of a pass: sub-bank [9, npix], address
    inside the channel block's BATCH images [9, npix], valid [9, npix]."""
    H, W = r["H"], r["W"]
    W3 = ceil_div(W, 3)
    img, p = np.divmod(np.arange(r["BATCH"] * r["HOUT"] * r["WOUT"]), r["HOUT"] * r["WOUT"])
    oy, ox = np.divmod(p, r["WOUT"])
    ky, kx = np.divmod(np.arange(9), 3)
    y = (oy * r["STRIDE"] - r["PAD_TOP"])[None, :] + ky[:, None]
    x = (ox * r["STRIDE"] - r["PAD_LEFT"])[None, :] + kx[:, None]
    valid = (y >= 0) & (y < H) & (x >= 0) & (x < W)
    y, x = np.where(valid, y, 0), np.where(valid, x, 0)
    return (y % 3) * 3 + x % 3, img[None, :] * ceil_div(H, 3) * W3 + (y // 3) * W3 + x // 3, valid


def _gather(buf, tiles, wins, r: dict, cfg) -> tuple[np.ndarray, np.ndarray]:
    """Activation rows of every tile of a group: float64 [T, npix, ROWS] and enabled [T, ROWS]."""
    sub, addr, valid = wins
    blk_words = r["BATCH"] * ceil_div(r["H"], 3) * ceil_div(r["W"], 3)     # a channel block's images
    ch, pos = tile_arrays(tiles)
    en = ch >= 0
    L = cfg.LANES
    T, R = ch.shape
    lane = np.broadcast_to(np.arange(R) % L, (T, R))         # row r reads lane r mod LANES
    # the tile's channel block: every enabled row's channel is block*LANES + its lane
    blk = np.where(en, ch, np.iinfo(np.int64).max).min(axis=1, keepdims=True) // L
    if np.any(en & (blk * L + lane != ch)):
        raise AssertionError("walker produced a tile whose row r does not read lane r mod LANES of one block")
    blk = np.where(en, blk, 0)                               # disabled rows read nothing
    k = np.where(en, pos, 0)
    vals = buf[lane[:, :, None], sub[k], blk[:, :, None] * blk_words + addr[k]]      # [T, ROWS, npix]
    vals = np.where(valid[k] & en[:, :, None], vals, 0)
    return vals.transpose(0, 2, 1).astype(np.float64), en


def _parse_header(hdr: np.ndarray, cfg):
    raw = np.ascontiguousarray(hdr).view(np.uint8).reshape(-1)
    COLS = cfg.COLS
    bias = raw[:4 * COLS].copy().view("<i4").astype(np.int64)
    M = raw[4 * COLS:6 * COLS].copy().view("<u2").astype(np.int64)
    sh = raw[6 * COLS:7 * COLS].astype(np.int64)
    if np.any(sh > 63):
        raise ValueError(f"weight stream: requant shift {int(sh.max())} > 63 in a header")
    return bias, M, sh


def output_stage(acc: np.ndarray, bias, M, sh, mode: int) -> np.ndarray:
    """Section 6: v = acc + bias (int32 wrap); raw: v; requant: t = v*M, rounding shift, ReLU, clamp."""
    v = _wrap32(np.asarray(acc, np.int64) + np.asarray(bias, np.int64))
    if not mode & R.MODE_REQUANT:
        return v.astype(np.int32)
    sh = np.asarray(sh, np.int64)
    t = v * np.asarray(M, np.int64)                       # |t| < 2**47: exact in int64
    rnd = np.where(sh > 0, np.left_shift(np.int64(1), np.maximum(sh, 1) - 1), 0)
    t = np.right_shift(t + rnd, sh)                        # arithmetic: floor; ties round up
    if mode & R.MODE_RELU:
        t = np.maximum(t, 0)
    return np.clip(t, -128, 127).astype(np.int32)


def expected_weight_beats(r: dict, cfg) -> int:
    n = 0
    P = r["NPAT"]
    for g in range(P):
        if r["FG"][g]:
            T = len(tile_plan(P, r["PAT"][:P], r["C"], cfg, g))
            n += ceil_div(r["FG"][g], cfg.COLS) * (R.HEADER_BEATS + cfg.ROWS * T)
    return n


def load_band(regs, wgt_beats, act_beats, cfg):
    """A band as the hardware gets it, checked: (decoded registers, pixels per pass, activation
    buffer, weight beats int8 [beats, COLS]); ValueError on a bad register or stream."""
    r = R.decode(regs, cfg)
    _check_regs(r, cfg)
    npix = r["BATCH"] * r["HOUT"] * r["WOUT"]
    if npix > cfg.ACC_DEPTH:
        raise ValueError(f"accumulator overflow: BATCH*HOUT*WOUT={npix} > ACC_DEPTH={cfg.ACC_DEPTH}")
    buf = _load_activations(act_beats, r, cfg)
    wgt = np.asarray(wgt_beats)
    expect = expected_weight_beats(r, cfg)
    if wgt.ndim != 2 or wgt.shape[1] != cfg.COLS:
        raise ValueError(f"weight stream: beats have shape {list(wgt.shape)}, expected [{expect}, {cfg.COLS}]")
    if wgt.shape[0] != expect:
        kind = "too few" if wgt.shape[0] < expect else "too many"
        raise ValueError(f"weight stream: {kind} beats: got {wgt.shape[0]}, expected {expect}")
    return r, npix, buf, wgt.astype(np.int8)


def run_program(regs, wgt_beats, act_beats, cfg) -> np.ndarray:
    """Run one band: regs = [(address, value)] or {address: value} (every RW register), wgt_beats
    int8 [beats, COLS], act_beats int8 [beats, LANES]. Returns the result beats int32 [beats, COLS]."""
    r, npix, buf, wgt = load_band(regs, wgt_beats, act_beats, cfg)
    wins = _windows(r)
    P = r["NPAT"]
    acc = np.zeros((2, cfg.ACC_DEPTH, cfg.COLS), np.int64)
    out = []
    ptr = 0
    col_tiles = 0
    for g in range(P):
        if r["FG"][g] == 0:
            continue
        tiles = tile_plan(P, r["PAT"][:P], r["C"], cfg, g)
        A, en = _gather(buf, tiles, wins, r, cfg)
        for _ct in range(ceil_div(r["FG"][g], cfg.COLS)):
            bias, M, sh = _parse_header(wgt[ptr:ptr + R.HEADER_BEATS], cfg)
            ptr += R.HEADER_BEATS
            bank = col_tiles % 2
            for t in range(len(tiles)):
                w = wgt[ptr:ptr + cfg.ROWS].astype(np.float64)
                ptr += cfg.ROWS
                w[~en[t]] = 0.0                            # disabled rows issue no MAC
                ps = (A[t] @ w).astype(np.int64)           # [npix, COLS]
                if t == 0:
                    acc[bank, :npix] = ps
                else:
                    acc[bank, :npix] += ps
            out.append(output_stage(acc[bank, :npix], bias, M, sh, r["MODE"]))
            col_tiles += 1
    assert ptr == wgt.shape[0]
    return np.concatenate(out, axis=0)


def run_band(prog, band) -> np.ndarray:
    if band.act is None:
        raise ValueError(f"layer {prog.name!r} band {band.index}: the program has no activation stream "
                         "(compile it with x=... or call set_input)")
    return run_program(band.regs, band.wgt, band.act, prog.cfg)


def run_layer_model(layer, x, cfg=None, pps="auto") -> np.ndarray:
    """Compile `layer` for input x ([C, H, W], or a batch [B, C, H, W] run as one program), run
    every band through the model, unpack: int32 Y[F][Hout][Wout] (Y[B][F][Hout][Wout]) in raw
    mode, int8 in requant mode."""
    prog = compile_layer(layer, cfg, pps, x=x)
    Y = prog.unpack_results([run_band(prog, b) for b in prog.bands])
    return Y.astype(np.int8) if prog.requant else Y
