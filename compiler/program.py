"""The layer program: what the compiler emits and the RTL consumes (docs/ARCHITECTURE.md section 5).

A LayerProgram holds, per band of output rows, the register values (5.1), the weight stream (5.3)
and, once an input is attached, the activation stream (5.2); the output map (5.5) that turns the
result beats back into Y[F][Hout][Wout]; the expected beat counts and the cycle prediction.
compiler.compile builds it, compiler.progfile stores it (5.6).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from compiler import regs as R
from compiler.config import ArrayConfig, ceil_div
from compiler.streams import activation_stream
from compiler.unfold import unfold_input
from models.pps import PPS


@dataclasses.dataclass
class Band:
    index: int
    oy0: int
    oy1: int
    iy0: int
    iy1: int
    pad_top: int
    regs: list            # [(address, value)], every RW register, address order
    wgt: np.ndarray       # int8 [beats, COLS]
    act: np.ndarray | None = None   # int8 [beats, LANES] when built for an input
    act_beats: int = 0
    res_beats: int = 0
    passes: int = 0

    @property
    def H(self) -> int:
        return self.iy1 - self.iy0

    @property
    def Hout(self) -> int:
        return self.oy1 - self.oy0

    @property
    def wgt_beats(self) -> int:
        return int(self.wgt.shape[0])

    def beats(self) -> dict:
        return {"act": self.act_beats, "wgt": self.wgt_beats, "res": self.res_beats}


@dataclasses.dataclass
class LayerProgram:
    name: str
    cfg: ArrayConfig
    C: int
    F: int
    H: int
    W: int
    Hout: int
    Wout: int
    stride: int
    padding: int
    requant: bool
    relu: bool
    pps: PPS
    out_filter: list          # out_filter[g][ct*COLS + j] = original filter f
    bands: list               # [Band]
    cycles: dict = dataclasses.field(default_factory=dict)
    # set when the layer runs unfolded (compiler.unfold): the original C, H, W, stride, padding,
    # kernel positions and PPS; C..padding above then describe what the array runs
    unfold: dict | None = None
    # images per band (the BATCH register): every pass runs over the same pixels of `batch` images
    # while the weights stay; inputs and outputs then carry a leading batch axis
    batch: int = 1

    # -- derived ----------------------------------------------------------------------------
    @property
    def fg(self) -> list[int]:
        return [len(x) for x in self.out_filter]

    @property
    def col_tiles(self) -> int:
        """Column tiles per band over all groups (result beats per band = col_tiles * batch * Hout_b * Wout)."""
        return sum(ceil_div(n, self.cfg.COLS) for n in self.fg)

    @property
    def mode(self) -> int:
        return R.mode_bits(self.requant, self.relu)

    def expected_beats(self) -> list[dict]:
        """Per band: {'act', 'wgt', 'res'} beat counts."""
        return [b.beats() for b in self.bands]

    # -- activations ------------------------------------------------------------------------
    @property
    def pps_text(self) -> str:
        """The PPS in words (the original one, and the unfolding, for an unfolded layer)."""
        if self.unfold:
            return f"{self.unfold['pps'].split(' patterns=')[0]}, unfolded to {self.C} channels"
        return self.pps.describe()

    def input_shape(self) -> list[int]:
        """The input the program takes: [C, H, W], or [batch, C, H, W] when batch > 1 (the original
        layer's shape for an unfolded layer)."""
        u = self.unfold
        one = [u["C"], u["H"], u["W"]] if u else [self.C, self.H, self.W]
        return [self.batch] + one if self.batch > 1 else one

    def band_inputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Per band, the input rows it reads: [C, H_band, W] (batch 1) or [batch, C, H_band, W]."""
        x = np.asarray(x)
        want = self.input_shape()
        if list(x.shape) == want[-3:] and self.batch == 1:
            x = x[None]
        elif list(x.shape) == [self.batch] + want[-3:]:
            pass
        else:
            raise ValueError(f"layer {self.name!r}: input has shape {list(x.shape)}, program expects {want}")
        u = self.unfold
        if u:
            x = np.stack([unfold_input(xi, u["stride"], u["padding"], u["positions"], self.Hout, self.Wout)
                          for xi in x])
        parts = [x[:, :, b.iy0:b.iy1, :] for b in self.bands]
        return parts if self.batch > 1 else [p[0] for p in parts]

    def activation_streams(self, x: np.ndarray) -> list[np.ndarray]:
        return [activation_stream(xb, self.cfg) for xb in self.band_inputs(x)]

    def set_input(self, x: np.ndarray) -> "LayerProgram":
        """Attach the activation streams of input x to the bands (returns self)."""
        for b, a in zip(self.bands, self.activation_streams(x)):
            b.act = a
        return self

    # -- results ----------------------------------------------------------------------------
    def unpack_results(self, results) -> np.ndarray:
        """Per-band result beats (int32 [beats, COLS], section 5.4) -> int32 Y[F][Hout][Wout], or
        Y[batch][F][Hout][Wout] when batch > 1 (a column tile's beats are in (image, oy, ox) order)."""
        if len(results) != len(self.bands):
            raise ValueError(f"layer {self.name!r}: got results for {len(results)} band(s), "
                             f"the program has {len(self.bands)}")
        B = self.batch
        Y = np.zeros((B, self.F, self.Hout, self.Wout), np.int32)
        COLS = self.cfg.COLS
        for b, res in zip(self.bands, results):
            res = np.asarray(res)
            if res.ndim != 2 or res.shape[1] != COLS:
                raise ValueError(f"layer {self.name!r} band {b.index}: result beats have shape "
                                 f"{list(res.shape)}, expected [{b.res_beats}, {COLS}]")
            if res.shape[0] != b.res_beats:
                raise ValueError(f"layer {self.name!r} band {b.index}: got {res.shape[0]} result beats, "
                                 f"expected {b.res_beats}")
            if res.dtype.kind not in "iu":
                raise ValueError(f"layer {self.name!r} band {b.index}: result dtype {res.dtype} is not integer")
            npix = B * b.Hout * self.Wout
            k = 0
            for fl in self.out_filter:
                for ct in range(ceil_div(len(fl), COLS)):
                    blk = res[k * npix:(k + 1) * npix]
                    for j, f in enumerate(fl[ct * COLS:(ct + 1) * COLS]):
                        Y[:, f, b.oy0:b.oy1, :] = blk[:, j].reshape(B, b.Hout, self.Wout)
                    k += 1
        return Y if B > 1 else Y[0]
