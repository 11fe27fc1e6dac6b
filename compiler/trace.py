"""The golden trace of a layer program: every transaction the hardware's block boundaries must
carry, computed from what the hardware gets (the registers and the two streams of each band) with
the functional model's pieces (compiler/funcmodel.py), never from the RTL. `sps debug` compares it
with what the monitors of a debug build (tb/hdl/sps_tb_debug.v) saw.

Per band, per pass (loop order, docs/ARCHITECTURE.md section 4: phase group g, column tile ct, row
tile rt) over the pass's npix = BATCH x HOUT x WOUT pixels (image, oy, ox):
  * `act`  int64 [npix, ROWS]: the activation each array row must see (0 for a disabled row and
    for a padding position): the index select's output, what enters the array (boundary array_in);
  * `psum` int64 [npix, COLS]: the dot product each column must produce (array_out);
  * `acc`  int64 [npix, COLS]: the accumulator word written for each pixel, i.e. its contents after
    the pass (the first row tile overwrites, the others add; int32 wrap) (accumulator);
and per column tile `v` int64 [npix, COLS]: acc + bias (int32 wrap), the output stage's value
before requantisation (output), and `res`, the result beats (the section 6 rule; result).

    bands = golden_trace(prog)           # prog: a LayerProgram with activation streams
    bands[0].passes[3].psum[17, 2]       # column 2's partial sum for pixel 17 in the band's pass 3
"""
from __future__ import annotations

import dataclasses

import numpy as np

from compiler import regs as R
from compiler.config import ceil_div
from compiler.funcmodel import _gather, _parse_header, _windows, _wrap32, load_band, output_stage
from compiler.walker import tile_plan


@dataclasses.dataclass
class PassTrace:
    index: int              # pass number in the band (the hardware's order)
    group: int              # phase group g
    col_tile: int           # column tile of the group (ct)
    col_tile_seq: int       # column tiles before it in the band (its accumulator bank = this mod 2)
    row_tile: int           # row tile of the group (rt)
    row_tiles: int          # row tiles of the group
    tile: list              # the walker's tile: per array row (channel, position) or None
    act: np.ndarray         # int64 [npix, ROWS]
    psum: np.ndarray        # int64 [npix, COLS]
    acc: np.ndarray         # int64 [npix, COLS]

    @property
    def bank(self) -> int:
        return self.col_tile_seq % 2

    @property
    def first(self) -> bool:
        return self.row_tile == 0

    @property
    def last(self) -> bool:
        return self.row_tile == self.row_tiles - 1


@dataclasses.dataclass
class ColTileTrace:
    index: int              # column tile number in the band
    group: int
    col_tile: int
    v: np.ndarray           # int64 [npix, COLS]: acc + bias, before requantisation
    res: np.ndarray         # int64 [npix, COLS]: the result beats (raw: v; else requantised)


@dataclasses.dataclass
class BandTrace:
    index: int
    npix: int
    hout: int
    wout: int
    batch: int
    passes: list            # [PassTrace]
    col_tiles: list         # [ColTileTrace]

    def pixel(self, n: int) -> tuple[int, int, int]:
        """Pixel index of a pass -> (image, band-local oy, ox)."""
        img, p = divmod(int(n), self.hout * self.wout)
        return img, p // self.wout, p % self.wout


def band_trace(regs, wgt_beats, act_beats, cfg, index: int = 0) -> BandTrace:
    """The golden trace of one band, from its registers and streams (as the hardware gets them)."""
    r, npix, buf, wgt = load_band(regs, wgt_beats, act_beats, cfg)
    wins = _windows(r)
    P = r["NPAT"]
    passes, cts = [], []
    ptr = 0
    for g in range(P):
        if r["FG"][g] == 0:
            continue
        tiles = tile_plan(P, r["PAT"][:P], r["C"], cfg, g)
        A, en = _gather(buf, tiles, wins, r, cfg)            # float64 [T, npix, ROWS], [T, ROWS]
        for ct in range(ceil_div(r["FG"][g], cfg.COLS)):
            bias, M, sh = _parse_header(wgt[ptr:ptr + R.HEADER_BEATS], cfg)
            ptr += R.HEADER_BEATS
            acc = np.zeros((npix, cfg.COLS), np.int64)
            for t in range(len(tiles)):
                w = wgt[ptr:ptr + cfg.ROWS].astype(np.float64)
                ptr += cfg.ROWS
                w[~en[t]] = 0.0
                ps = (A[t] @ w).astype(np.int64)
                acc = _wrap32(ps if t == 0 else acc + ps)
                passes.append(PassTrace(len(passes), g, ct, len(cts), t, len(tiles), tiles[t],
                                        A[t].astype(np.int64), ps, acc.copy()))
            cts.append(ColTileTrace(len(cts), g, ct, _wrap32(acc + bias[None, :]),
                                    output_stage(acc, bias, M, sh, r["MODE"]).astype(np.int64)))
    return BandTrace(index, npix, r["HOUT"], r["WOUT"], r["BATCH"], passes, cts)


def golden_trace(prog) -> list[BandTrace]:
    """The golden trace of every band of a LayerProgram (which must carry its activation streams)."""
    out = []
    for b in prog.bands:
        if b.act is None:
            raise ValueError(f"layer {prog.name!r} band {b.index}: the program has no activation stream "
                             "(compile it with x=... or call set_input)")
        out.append(band_trace(b.regs, b.wgt, b.act, prog.cfg, b.index))
    return out
