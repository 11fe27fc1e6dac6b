"""Host-side unfolding of layers with few input channels (docs/ARCHITECTURE.md section 3).

The walker binds array row r to activation lane r mod LANES, so a layer with C < LANES channels
leaves LANES - C lanes (and their rows) idle: VGG-16's first layer (C = 3) would use 3 of 8 rows.
For a layer with one pattern (P = 1: dense or a single PS-n pattern of n positions) the host can
instead send the n shifted copies of every channel as separate channels, an im2col of the kernel
positions: virtual channel c*n + i at output pixel (oy, ox) holds X[c][oy*S - PAD + dy_i][ox*S -
PAD + dx_i] (0 outside the input), so the layer becomes a 1x1 convolution over C*n channels,
run on the array as a 3x3 layer with the single pattern {centre}, stride 1, padding 1, on an
Hout x Wout input. The results are the same integers; the compiler picks the form with fewer
predicted cycles (compiler.compile).
"""
from __future__ import annotations

import numpy as np

from compiler.layer import QLayer
from models.pps import PPS

CENTRE = 4                                  # kernel position (1, 1)
UNFOLDED_PPS = PPS(((CENTRE,),), 0)         # the unfolded layer's pattern table


def unfold_positions(pps: PPS) -> list[int] | None:
    """The kernel positions a layer under `pps` can be unfolded over, or None (P > 1)."""
    return sorted(int(k) for k in pps.patterns[0]) if pps.period == 1 else None


def unfold_layer(layer: QLayer, positions: list[int]) -> QLayer:
    """The 1x1 form of `layer`: weight [F, C*n, 3, 3], non-zero at the centre only."""
    F, C = layer.F, layer.C
    n = len(positions)
    w = np.zeros((F, C * n, 3, 3), np.int8)
    for i, k in enumerate(positions):
        w[:, i::n, 1, 1] = layer.weight[:, :, k // 3, k % 3]
    return QLayer(layer.name, w, layer.bias, stride=1, padding=1, requant=layer.requant)


def unfold_input(x: np.ndarray, stride: int, padding: int, positions: list[int], Hout: int,
                 Wout: int) -> np.ndarray:
    """int8 [C, H, W] -> int8 [C*n, Hout, Wout]: channel c*n + i = X[c] shifted by position i."""
    C, H, W = x.shape
    n = len(positions)
    xp = np.zeros((C, H + 2 * padding + 2, W + 2 * padding + 2), np.int8)   # room for any shift
    xp[:, padding:padding + H, padding:padding + W] = x
    v = np.empty((C * n, Hout, Wout), np.int8)
    for i, k in enumerate(positions):
        dy, dx = divmod(k, 3)
        v[i::n] = xp[:, dy:dy + (Hout - 1) * stride + 1:stride, dx:dx + (Wout - 1) * stride + 1:stride]
    return v
