"""The integer reference convolution: what the compiler and the RTL are checked against.

Pure numpy, and deliberately sharing no code with ``compiler/`` so that a compiler bug cannot hide
in it. Inputs are int8, the bias int32; products are accumulated exactly in int64, the bias is
added, and the result must fit in int32 (the accumulator width of the hardware), otherwise an
``OverflowError`` is raised. No requantisation here: see ``models.quant.requantize``.

    conv2d_int(x, w, bias=None, stride=1, padding=0)   x [C,H,W] or [N,C,H,W], w [F,C,KH,KW]
    linear_int(x, w, bias=None)                         x [K] or [N,K], w [F,K]
"""
from __future__ import annotations

import numbers

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _as_array(a, what: str, dtype, ndims: tuple[int, ...]) -> np.ndarray:
    """Return `a` as an ndarray of exactly `dtype` with one of the allowed ranks, or raise."""
    if hasattr(a, "detach"):            # a torch tensor: accept it, the dtype is still checked
        a = a.detach().cpu().numpy()
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(a).__name__}")
    if a.dtype != dtype:
        raise ValueError(f"{what} dtype must be {np.dtype(dtype).name}, got {a.dtype}")
    if a.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{what} must be {want}, got shape {a.shape}")
    return a


def _check_int(value, what: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    return int(value)


def _to_int32(acc: np.ndarray, name: str | None, index_names: tuple[str, ...]) -> np.ndarray:
    """Check that the int64 result fits in int32 and return it as int32."""
    bad = (acc < INT32_MIN) | (acc > INT32_MAX)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(f"{n}={i}" for n, i in zip(index_names, idx))
        layer = f"layer {name!r}: " if name else ""
        raise OverflowError(f"{layer}result {int(acc[idx])} at {where} does not fit in int32 "
                            f"({np.count_nonzero(bad)} values out of range)")
    return acc.astype(np.int32)


def conv2d_int(x, w, bias=None, stride: int = 1, padding: int = 0, *,
               name: str | None = None) -> np.ndarray:
    """Integer 2-D convolution (cross-correlation, as ``torch.nn.functional.conv2d``).

    x: int8 [C, H, W] or [N, C, H, W]; w: int8 [F, C, KH, KW] (any kernel size, e.g. 3x3, 1x1);
    bias: int32 [F] or None; stride >= 1; zero padding `padding` >= 0 on all four sides.
    Returns int32 [F, Hout, Wout] (or [N, F, Hout, Wout]) with Hout = (H + 2p - KH)//s + 1,
    Wout = (W + 2p - KW)//s + 1:

        y[f, oy, ox] = bias[f] + sum_{c, ky, kx} w[f, c, ky, kx] * xpad[c, oy*s + ky, ox*s + kx]

    computed exactly in int64. Raises ValueError for bad inputs and OverflowError (naming the
    layer `name`, the value and its position) if a result does not fit in int32.
    """
    x = _as_array(x, "x", np.int8, (3, 4))
    w = _as_array(w, "w", np.int8, (4,))
    stride = _check_int(stride, "stride", 1)
    padding = _check_int(padding, "padding", 0)
    batched = x.ndim == 4
    xb = x if batched else x[None]
    N, C, H, W = xb.shape
    F, Cw, KH, KW = w.shape
    if Cw != C:
        raise ValueError(f"channel mismatch: x has {C} channels, w expects {Cw}")
    if min(F, C, KH, KW) < 1 or min(H, W) < 1:
        raise ValueError(f"empty dimension: x shape {x.shape}, w shape {w.shape}")
    if bias is not None:
        bias = _as_array(bias, "bias", np.int32, (1,))
        if bias.shape[0] != F:
            raise ValueError(f"bias has {bias.shape[0]} entries, w has {F} filters")
    Hp, Wp = H + 2 * padding, W + 2 * padding
    if Hp < KH or Wp < KW:
        raise ValueError(f"output size < 1: padded input {Hp}x{Wp} is smaller than kernel {KH}x{KW}")
    Hout = (Hp - KH) // stride + 1
    Wout = (Wp - KW) // stride + 1

    xp = np.zeros((N, C, Hp, Wp), dtype=np.int64)
    xp[:, :, padding:padding + H, padding:padding + W] = xb
    wl = w.astype(np.int64)
    acc = np.zeros((N, F, Hout, Wout), dtype=np.int64)
    # One kernel offset (ky, kx) at a time: the input pixels it meets form a strided sub-grid.
    for ky in range(KH):
        for kx in range(KW):
            patch = xp[:, :, ky:ky + stride * (Hout - 1) + 1:stride,
                             kx:kx + stride * (Wout - 1) + 1:stride]       # [N, C, Hout, Wout]
            acc += np.einsum("fc,nchw->nfhw", wl[:, :, ky, kx], patch)
    if bias is not None:
        acc += bias.astype(np.int64)[None, :, None, None]
    out = _to_int32(acc, name, ("n", "f", "oy", "ox"))
    return out if batched else out[0]


def linear_int(x, w, bias=None, *, name: str | None = None) -> np.ndarray:
    """Integer fully connected layer: y[n, f] = bias[f] + sum_k w[f, k] * x[n, k].

    x: int8 [K] or [N, K]; w: int8 [F, K]; bias: int32 [F] or None. Returns int32 [F] or [N, F],
    computed exactly in int64; OverflowError if a result does not fit in int32.
    """
    x = _as_array(x, "x", np.int8, (1, 2))
    w = _as_array(w, "w", np.int8, (2,))
    batched = x.ndim == 2
    xb = x if batched else x[None]
    F, K = w.shape
    if xb.shape[1] != K:
        raise ValueError(f"feature mismatch: x has {xb.shape[1]} features, w expects {K}")
    if min(F, K) < 1:
        raise ValueError(f"empty dimension: w shape {w.shape}")
    acc = xb.astype(np.int64) @ w.astype(np.int64).T                      # [N, F]
    if bias is not None:
        bias = _as_array(bias, "bias", np.int32, (1,))
        if bias.shape[0] != F:
            raise ValueError(f"bias has {bias.shape[0]} entries, w has {F} outputs")
        acc += bias.astype(np.int64)[None, :]
    out = _to_int32(acc, name, ("n", "f"))
    return out if batched else out[0]
