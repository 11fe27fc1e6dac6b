"""A quantised 3x3 conv layer as the compiler takes it, with validation.

QLayer holds int8 weights [F, C, 3, 3], an int32 bias [F] (None -> zeros), stride 1 or 2, zero
padding 0 or 1, and optional requantisation parameters (M uint16 [F], shift [F] in 0..63, relu).
Every check raises a one-line ValueError that names the layer and what is wrong.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

INT8 = (-128, 127)
INT32 = (-(2 ** 31), 2 ** 31 - 1)
UINT16 = (0, 2 ** 16 - 1)
SHIFT = (0, 63)


class Requant(NamedTuple):
    """Per-filter fixed-point requantisation (docs/ARCHITECTURE.md section 6)."""
    M: np.ndarray       # uint16 [F]
    shift: np.ndarray   # uint8  [F], 0..63
    relu: bool = False


def as_int_array(a, what: str, layer: str, lo: int, hi: int, dtype, shape=None) -> np.ndarray:
    """Check that `a` is an integer array (optionally of `shape`) with values in [lo, hi]; return it
    as `dtype`. Raises a one-line ValueError naming the layer and the problem."""
    if isinstance(a, (list, tuple, int, np.integer)):
        a = np.asarray(a)
    if not isinstance(a, np.ndarray):
        raise ValueError(f"layer {layer!r}: {what} must be a numpy array, got {type(a).__name__}")
    if a.dtype.kind not in "iu":
        raise ValueError(f"layer {layer!r}: {what} has dtype {a.dtype}, expected an integer array "
                         f"({np.dtype(dtype).name})")
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise ValueError(f"layer {layer!r}: {what} has shape {list(a.shape)}, expected {list(shape)}")
    if a.size:
        mn, mx = int(a.min()), int(a.max())
        if mn < lo or mx > hi:
            raise ValueError(f"layer {layer!r}: {what} values must be in {lo}..{hi} "
                             f"({np.dtype(dtype).name}), got {mn}..{mx}")
    return a.astype(dtype)


def _as_small_int(v, what: str, layer: str, allowed) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) not in allowed:
        raise ValueError(f"layer {layer!r}: {what} must be one of {sorted(allowed)}, got {v!r}")
    return int(v)


@dataclasses.dataclass
class QLayer:
    name: str
    weight: np.ndarray                     # int8 [F, C, 3, 3]
    bias: np.ndarray | None = None         # int32 [F]; None -> zeros
    stride: int = 1                        # 1 or 2
    padding: int = 1                       # 0 or 1
    requant: Requant | tuple | None = None  # (M uint16 [F], shift [F] 0..63, relu bool)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"layer name must be a non-empty string, got {self.name!r}")
        n = self.name
        w = self.weight
        if not isinstance(w, np.ndarray):
            raise ValueError(f"layer {n!r}: weight must be a numpy array, got {type(w).__name__}")
        if w.ndim != 4 or w.shape[2:] != (3, 3) or w.shape[0] < 1 or w.shape[1] < 1:
            raise ValueError(f"layer {n!r}: weight has shape {list(w.shape)}, expected [F, C, 3, 3] "
                             "with F, C >= 1")
        self.weight = as_int_array(w, "weight", n, *INT8, np.int8)
        F = self.weight.shape[0]
        if self.bias is None:
            self.bias = np.zeros(F, np.int32)
        else:
            self.bias = as_int_array(self.bias, "bias", n, *INT32, np.int32, shape=(F,))
        self.stride = _as_small_int(self.stride, "stride", n, {1, 2})
        self.padding = _as_small_int(self.padding, "padding", n, {0, 1})
        if self.requant is not None:
            rq = self.requant
            if not isinstance(rq, tuple) or len(rq) not in (2, 3):
                raise ValueError(f"layer {n!r}: requant must be (M, shift, relu), got {type(rq).__name__}")
            relu = rq[2] if len(rq) == 3 else False
            if not isinstance(relu, (bool, np.bool_)):
                raise ValueError(f"layer {n!r}: requant relu must be a bool, got {relu!r}")
            M = as_int_array(rq[0], "requant M", n, *UINT16, np.uint16, shape=(F,))
            sh = as_int_array(rq[1], "requant shift", n, *SHIFT, np.uint8, shape=(F,))
            self.requant = Requant(M, sh, bool(relu))

    # ---- shape helpers ------------------------------------------------------------------------
    @property
    def F(self) -> int:
        return int(self.weight.shape[0])

    @property
    def C(self) -> int:
        return int(self.weight.shape[1])

    @property
    def relu(self) -> bool:
        return bool(self.requant is not None and self.requant.relu)

    def out_size(self, H: int, W: int) -> tuple[int, int]:
        """Output (Hout, Wout) for an H x W input; raises if the padded input is smaller than 3x3."""
        for what, v in (("H", H), ("W", W)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"layer {self.name!r}: input {what} must be a positive integer, got {v!r}")
            if v + 2 * self.padding < 3:
                raise ValueError(f"layer {self.name!r}: input {what}={v} with padding {self.padding} "
                                 "is smaller than the 3x3 kernel")
        s, p = self.stride, self.padding
        return (int(H) + 2 * p - 3) // s + 1, (int(W) + 2 * p - 3) // s + 1

    def check_input(self, x) -> np.ndarray:
        """Validate an input activation tensor: integer [C, H, W] (or a batch [B, C, H, W]) with
        int8 values; returns int8."""
        return check_input(x, self)


def check_input(x, layer: QLayer) -> np.ndarray:
    n = layer.name
    if not isinstance(x, np.ndarray):
        raise ValueError(f"layer {n!r}: input must be a numpy array, got {type(x).__name__}")
    if x.ndim not in (3, 4) or x.shape[-3] != layer.C or (x.ndim == 4 and x.shape[0] < 1):
        raise ValueError(f"layer {n!r}: input has shape {list(x.shape)}, expected [C={layer.C}, H, W] "
                         f"or a batch [B, C={layer.C}, H, W]")
    x = as_int_array(x, "input", n, *INT8, np.int8)
    layer.out_size(x.shape[-2], x.shape[-1])
    return x
