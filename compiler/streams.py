"""Stream and register encoding (docs/ARCHITECTURE.md sections 5.1-5.3): the activation stream of a
band's input, the weight stream (column-tile headers and reordered row tiles), the register values."""
from __future__ import annotations

import numpy as np

from compiler import regs as R
from compiler.config import ArrayConfig, ceil_div
from compiler.grouping import group_filters, group_tiles
from compiler.layer import QLayer
from compiler.walker import tile_arrays
from models.pps import KERNEL_POSITIONS, PPS


def activation_stream(x_band: np.ndarray, cfg: ArrayConfig) -> np.ndarray:
    """Section 5.2: int8 [ceil(C/LANES)*B*H*W, LANES]; for cb: for b: for y: for x: byte l =
    X_b[cb*LANES+l][y][x] (0 for channels >= C). x_band is one image [C, H, W] (B = 1) or a batch
    [B, C, H, W]."""
    x = np.asarray(x_band)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"activation stream: input must be [C, H, W] or [B, C, H, W], got shape {list(x.shape)}")
    B, C, H, W = x.shape
    cb = ceil_div(C, cfg.LANES)
    xp = np.zeros((B, cb * cfg.LANES, H, W), np.int8)
    xp[:, :C] = x
    return np.ascontiguousarray(xp.reshape(B, cb, cfg.LANES, H, W).transpose(1, 0, 3, 4, 2)
                                .reshape(cb * B * H * W, cfg.LANES))


def header_beats(bias, M, shift, cfg: ArrayConfig) -> np.ndarray:
    """Section 5.3 column-tile header: int8 [7, COLS]. bias/M/shift hold the tile's n <= COLS
    columns; columns past n are 0."""
    n = len(bias)
    b = np.zeros(cfg.COLS, "<i4")
    m = np.zeros(cfg.COLS, "<u2")
    s = np.zeros(cfg.COLS, np.uint8)
    b[:n], m[:n], s[:n] = bias, M, shift
    raw = np.concatenate([b.view(np.uint8), m.view(np.uint8), s])
    return raw.view(np.int8).reshape(R.HEADER_BEATS, cfg.COLS)


def weight_stream(layer: QLayer, pps: PPS, cfg: ArrayConfig, tiles=None) -> np.ndarray:
    """Section 5.3: int8 [beats, COLS] in loop order (section 4): per column tile of each non-empty
    group, the 7-beat header then ROWS beats per row tile (walker rule)."""
    F, C = layer.F, layer.C
    w9 = layer.weight.reshape(F, C, KERNEL_POSITIONS)
    tiles = tiles if tiles is not None else group_tiles(pps, C, cfg)
    if layer.requant is not None:
        M, sh = layer.requant.M, layer.requant.shift
    else:   # raw mode: the output stage ignores M and shift; they are sent as 0
        M, sh = np.zeros(F, np.uint16), np.zeros(F, np.uint8)
    chunks = []
    for g, fl in enumerate(group_filters(F, pps)):
        if not fl:
            continue
        ch, pos = tile_arrays(tiles[g])
        en = ch >= 0
        fl = np.asarray(fl)
        wg = w9[fl][:, np.where(en, ch, 0), np.where(en, pos, 0)]       # [F_g, T, ROWS]
        wg = np.where(en[None], wg, 0).astype(np.int8)
        T = ch.shape[0]
        for ct in range(ceil_div(len(fl), cfg.COLS)):
            cols = fl[ct * cfg.COLS:(ct + 1) * cfg.COLS]
            n = len(cols)
            chunks.append(header_beats(layer.bias[cols], M[cols], sh[cols], cfg))
            body = np.zeros((T, cfg.ROWS, cfg.COLS), np.int8)
            body[:, :, :n] = wg[ct * cfg.COLS:ct * cfg.COLS + n].transpose(1, 2, 0)
            chunks.append(body.reshape(T * cfg.ROWS, cfg.COLS))
    return np.concatenate(chunks, axis=0)


def band_registers(C: int, H: int, W: int, Hout: int, Wout: int, stride: int, pad_top: int,
                   pad_left: int, mode: int, pps: PPS, fg: list[int], cfg: ArrayConfig,
                   batch: int = 1) -> list[tuple[int, int]]:
    """Every RW register (section 5.1) as (address, value) in address order; unused PAT/FG are 0."""
    vals = {"C": C, "H": H, "W": W, "HOUT": Hout, "WOUT": Wout, "STRIDE": stride, "PAD_TOP": pad_top,
            "PAD_LEFT": pad_left, "MODE": mode, "NPAT": pps.period, "BATCH": batch}
    out = []
    for a, name in R.rw_registers(cfg):
        if name.startswith("PAT["):
            i = int(name[4:-1])
            v = pps.masks[i] if i < pps.period else 0
        elif name.startswith("FG["):
            g = int(name[3:-1])
            v = fg[g] if g < len(fg) else 0
        else:
            v = vals[name]
        out.append((a, int(v)))
    return out
