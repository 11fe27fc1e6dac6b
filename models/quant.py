"""int8 quantisation and the bit-exact output-stage requantisation rule (numpy only: no torch;
tensors are accepted through their .detach()). BN folding is models.fold.

Scheme (symmetric, no zero points):
  * weights: per output channel, scale s_w[f] = max|w_f| / 127, w_q = round(w / s_w) in -127..127
    (zero stays exactly zero, so pruned PPS weights stay pruned);
  * activations: per tensor, scale s_x = max|x| / 127 (or a percentile), x_q in -128..127;
  * bias: int32, b_q = round(b / (s_x * s_w[f]));
  * output: acc (int32) = conv(x_q, w_q) + b_q approximates y / (s_x * s_w[f]); the next layer's
    int8 input is requantize(acc, ...) with M / 2**shift ~= s_x * s_w[f] / s_y
    (see ``requant_params``).
All rounding to integers is round-half-to-even (numpy.rint) except in ``requantize``, whose rule is
that of the hardware (docs/ARCHITECTURE.md section 6).
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
M_BITS = 16          # requant multiplier M is uint16
MAX_SHIFT = 63       # requant shift is 0..63


def _is_tensor(a) -> bool:
    """A torch tensor (anything with .detach() and .cpu()), without importing torch."""
    return hasattr(a, "detach") and hasattr(a, "cpu")


def _to_numpy(a, what: str) -> np.ndarray:
    if _is_tensor(a):
        return a.detach().cpu().numpy()
    if isinstance(a, (np.ndarray, np.generic, int, float, list, tuple)):
        return np.asarray(a)
    raise ValueError(f"{what} must be a tensor or array, got {type(a).__name__}")


def _to_float64(a, what: str) -> np.ndarray:
    arr = _to_numpy(a, what)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{what} must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or infinity")
    return arr


# ---- quantisation of weights, activations, bias ------------------------------------------------

def quantize_weights(w, min_scale=None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel int8 quantisation of w [F, ...] (tensor or array).

    scale[f] = max|w[f]| / 127 (1.0 for an all-zero filter), raised to min_scale[f] when given
    ([F] or a scalar); q = clamp(rint(w / scale), -127, 127) with round-half-to-even.
    Returns (q int8 [F, ...], scale float64 [F]). Zeros stay zero.
    """
    a = _to_float64(w, "weights")
    if a.ndim < 1 or a.shape[0] < 1:
        raise ValueError(f"weights must have a leading output-channel axis, got shape {a.shape}")
    amax = np.abs(a.reshape(a.shape[0], -1)).max(axis=1) if a.size else np.zeros(a.shape[0])
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    if min_scale is not None:
        scale = np.maximum(scale, _to_float64(min_scale, "min_scale"))
    q = np.clip(np.rint(a / scale.reshape(-1, *([1] * (a.ndim - 1)))), -127, 127)
    return q.astype(np.int8), scale.astype(np.float64)


def activation_scale(amax: float) -> float:
    """The symmetric activation scale of a tensor whose largest |value| is amax: amax / 127
    (1.0 when amax is 0)."""
    return amax / 127.0 if amax > 0 else 1.0


def quantize_classifier(w, b, s_in: float, hw: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The classifier (models.qnet `linear`) of float weights w [K, F] and bias b [K] on an input of
    scale s_in: ONE weight scale s_w = max|w| / 127 for the whole matrix (so the int64 logits of all
    classes share a scale and their argmax is that of the float logits), int8 weights
    clip(rint(w / s_w), -127, 127) and int64 biases rint(b * hw / (s_in * s_w)), where hw is the
    number of pixels summed in front of it (global average pooling as a sum; 1 without).
    Returns (weight int8 [K, F], bias int64 [K])."""
    w = _to_float64(w, "classifier weights")
    b = _to_float64(b, "classifier bias")
    s_w = float(np.abs(w).max()) / 127.0 or 1.0
    wq = np.clip(np.rint(w / s_w), -127, 127).astype(np.int8)
    return wq, np.rint(b * hw / (s_in * s_w)).astype(np.int64)


def calibrate_activation_scale(tensors_or_iterable, percentile: float | None = None) -> float:
    """Symmetric per-tensor activation scale: max|x| / 127, or percentile(|x|, p) / 127.

    Accepts one tensor/array or an iterable of them (e.g. activations of calibration batches);
    the statistic is taken over all their values. Returns 1.0 if every value is zero.
    """
    if percentile is not None and not (0 < percentile <= 100):
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    if isinstance(tensors_or_iterable, np.ndarray) or _is_tensor(tensors_or_iterable):
        items = [tensors_or_iterable]
    else:
        try:
            items = iter(tensors_or_iterable)
        except TypeError:
            raise ValueError(f"expected a tensor, an array or an iterable of them, got "
                             f"{type(tensors_or_iterable).__name__}") from None
    amax = 0.0
    kept = []
    n = 0
    for i, t in enumerate(items):
        if not (isinstance(t, np.ndarray) or _is_tensor(t)):
            raise ValueError(f"calibration item {i} is a {type(t).__name__}, not a tensor or array")
        a = np.abs(_to_float64(t, f"calibration item {i}")).ravel()
        n += 1
        if a.size == 0:
            continue
        if percentile is None:
            amax = max(amax, float(a.max()))
        else:
            kept.append(a)
    if n == 0:
        raise ValueError("no calibration tensors given")
    if percentile is not None and kept:
        amax = float(np.percentile(np.concatenate(kept), percentile))
    return activation_scale(amax)


def quantize_activation(x, scale: float) -> np.ndarray:
    """int8 activation: clamp(rint(x / scale), -128, 127), round-half-to-even."""
    if not (isinstance(scale, (int, float, np.floating, np.integer)) and math.isfinite(scale)
            and scale > 0):
        raise ValueError(f"activation scale must be a finite number > 0, got {scale!r}")
    a = _to_float64(x, "activation")
    return np.clip(np.rint(a / float(scale)), -128, 127).astype(np.int8)


def quantize_bias(b, s_in: float, s_w, clamp: bool = False) -> np.ndarray:
    """int32 bias for accumulators in units of s_in * s_w[f]: rint(b[f] / (s_in * s_w[f])).

    b: [F] (None means zeros); s_w: [F] or a scalar. A value outside int32 raises OverflowError
    naming the filter, or is saturated to the int32 range if clamp=True.
    """
    s_w = _to_float64(s_w, "weight scale")
    if not (isinstance(s_in, (int, float, np.floating, np.integer)) and math.isfinite(s_in)
            and s_in > 0):
        raise ValueError(f"input scale must be a finite number > 0, got {s_in!r}")
    if np.any(s_w <= 0):
        raise ValueError("weight scales must be > 0")
    if b is None:
        if s_w.ndim != 1:
            raise ValueError("bias None needs per-filter weight scales [F] to know F")
        b = np.zeros(s_w.shape)
    b = _to_float64(b, "bias")
    if b.ndim != 1:
        raise ValueError(f"bias must be 1-D [F], got shape {b.shape}")
    if s_w.ndim not in (0, 1) or (s_w.ndim == 1 and s_w.shape[0] != b.shape[0]):
        raise ValueError(f"weight scale must be a scalar or [{b.shape[0]}], got shape {s_w.shape}")
    q = np.rint(b / (float(s_in) * s_w))
    bad = (q < INT32_MIN) | (q > INT32_MAX)
    if bad.any() and not clamp:
        f = int(np.flatnonzero(bad)[0])
        raise OverflowError(f"bias of filter {f} quantises to {q[f]:.0f}, outside int32")
    return np.clip(q, INT32_MIN, INT32_MAX).astype(np.int32)


# ---- fixed-point requantisation ----------------------------------------------------------------

def _multiplier_scalar(r: float) -> tuple[int, int]:
    if not math.isfinite(r) or r <= 0 or r >= 2.0 ** M_BITS:
        raise ValueError(f"requant scale must be > 0 and < 2**16, got {r!r}")
    mant, exp = math.frexp(r)                  # r = mant * 2**exp, mant in [0.5, 1)
    shift = M_BITS - exp                       # then r * 2**shift in [2**15, 2**16)
    if shift > MAX_SHIFT:                      # tiny scale: best we can do is shift 63, M < 2**15
        shift = MAX_SHIFT
        m = round(math.ldexp(r, shift))
        if m == 0:
            raise ValueError(f"requant scale {r!r} is too small: it rounds to 0 with shift 63")
        return m, shift
    m = round(math.ldexp(mant, M_BITS))        # exact product, round half to even
    if m == 1 << M_BITS:                       # mantissa rounded up to 2**16
        if shift > 0:
            m, shift = 1 << (M_BITS - 1), shift - 1
        else:
            m = (1 << M_BITS) - 1              # r in [65535.5, 65536): saturate
    return m, shift


def quantize_multiplier(real_scale):
    """Fixed-point form of a requant scale: real_scale ~= M / 2**shift.

    M is an unsigned 16-bit integer in [2**15, 2**16) whenever possible (so the relative error is
    at most 2**-16), shift is in 0..63. real_scale must be > 0 and < 2**16; scales below 2**-48
    need shift > 63 and get M < 2**15 with shift 63 (ValueError if M would be 0).
    A scalar gives (M: int, shift: int); an array gives (M uint16 [..], shift uint8 [..]).
    """
    arr = _to_numpy(real_scale, "requant scale")
    if arr.ndim == 0:
        return _multiplier_scalar(float(arr))
    flat = arr.astype(np.float64).ravel()
    pairs = [_multiplier_scalar(float(r)) for r in flat]
    M = np.array([p[0] for p in pairs], dtype=np.uint16).reshape(arr.shape)
    shift = np.array([p[1] for p in pairs], dtype=np.uint8).reshape(arr.shape)
    return M, shift


def requant_params(s_in: float, s_w, s_out: float):
    """(M, shift) for requantising accumulators of scale s_in * s_w[f] to int8 of scale s_out:
    the fixed-point form of s_in * s_w[f] / s_out (see ``quantize_multiplier``)."""
    for what, v in (("input scale", s_in), ("output scale", s_out)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{what} must be a finite number > 0, got {v!r}")
    return quantize_multiplier(_to_float64(s_w, "weight scale") * float(s_in) / float(s_out))


def _per_filter(p, name: str, F: int, dtype_ok, lo: int, hi: int) -> np.ndarray:
    a = _to_numpy(p, name)
    if not dtype_ok(a.dtype):
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    if a.ndim == 0:
        a = np.full(F, a.item())
    if a.shape != (F,):
        raise ValueError(f"{name} must be a scalar or [{F}] (one per filter), got shape {a.shape}")
    a = a.astype(np.int64)
    if a.size and (a.min() < lo or a.max() > hi):
        raise ValueError(f"{name} must be in {lo}..{hi}, got values {a.min()}..{a.max()}")
    return a


def requantize(acc, bias, M, shift, relu: bool, axis: int = 0) -> np.ndarray:
    """The output stage of the hardware, bit-exact (docs/ARCHITECTURE.md section 6).

    acc: int32 accumulators with the filter axis `axis` (default 0: [F, ...]); bias (int32),
    M (0..65535) and shift (0..63) are per filter ([F]) or scalars; bias None means 0. Per value:

        v = acc + bias                    int32 two's-complement wrap
        t = v * M                         exact (|t| < 2**47)
        if shift > 0:
            t = (t + 2**(shift-1)) >> shift   arithmetic shift = floor, so ties round UP
                                              (+2.5 -> 3, -2.5 -> -2)
        if relu: t = max(t, 0)
        out = min(max(t, -128), 127)      int8

    All arithmetic is int64 and exact: |t + 2**62| < 2**47 + 2**62 < 2**63 for any shift <= 63.
    """
    a = _to_numpy(acc, "acc")
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"acc must be integers (int32), got dtype {a.dtype}")
    if a.ndim < 1:
        raise ValueError("acc must have a filter axis, got a scalar")
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"axis {axis} out of range for acc of shape {a.shape}")
    a = a.astype(np.int64)
    if a.size and (a.min() < INT32_MIN or a.max() > INT32_MAX):
        raise ValueError("acc values must fit in int32")
    axis %= a.ndim
    F = a.shape[axis]
    is_int = lambda dt: np.issubdtype(dt, np.integer)
    b = np.zeros(F, np.int64) if bias is None else _per_filter(bias, "bias", F, is_int, INT32_MIN, INT32_MAX)
    m = _per_filter(M, "M", F, is_int, 0, (1 << M_BITS) - 1)
    sh = _per_filter(shift, "shift", F, is_int, 0, MAX_SHIFT)
    shape = [1] * a.ndim
    shape[axis] = F
    b, m, sh = (p.reshape(shape) for p in (b, m, sh))

    v = a + b                                                     # |v| < 2**32: exact in int64
    v = ((v - INT32_MIN) & 0xFFFFFFFF) + INT32_MIN                # int32 two's-complement wrap
    t = v * m                                                     # |t| < 2**47
    half = np.where(sh > 0, np.left_shift(1, np.maximum(sh - 1, 0)), 0)
    t = np.right_shift(t + half, sh)                              # floor((t + half) / 2**sh)
    if relu:
        t = np.maximum(t, 0)
    return np.clip(t, -128, 127).astype(np.int8)
