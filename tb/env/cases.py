"""Random layer cases for the RTL tests: a case is a small JSON-able dict, so pytest can show and
sweep it and the cocotb process can rebuild exactly the same layer from it."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from compiler.layer import QLayer, Requant
from models.pps import KERNEL_POSITIONS, PPS, is_int
from models.quant import requantize
from models.reference import conv2d_int


def reference_output(layer: QLayer, x: np.ndarray) -> np.ndarray:
    """What the hardware must produce, from the reference convolution (independent of the
    compiler): int32 acc + bias, or the requantised int8 values widened to int32; for a batch
    x [B, C, H, W], each image's, stacked."""
    if x.ndim == 4:
        return np.stack([reference_output(layer, xi) for xi in x])
    acc = conv2d_int(x, layer.weight, None, layer.stride, layer.padding)
    if layer.requant is None:
        return (acc.astype(np.int64) + layer.bias.astype(np.int64)[:, None, None]).astype(np.int32)
    return requantize(acc, layer.bias, layer.requant.M, layer.requant.shift, layer.relu).astype(np.int32)


def random_pps(rng: np.random.Generator, P: int, sizes: int | Sequence[int] | None = None,
               offset: int | None = None) -> PPS:
    """P random patterns. sizes: one size for every pattern, one size per pattern, or None (a random
    size 1..9 per pattern); offset: None draws one in 0..P-1. Draw order: sizes, patterns, offset."""
    if sizes is None:
        sizes = [int(rng.integers(1, 10)) for _ in range(P)]
    elif is_int(sizes):
        sizes = [sizes] * P
    pats = tuple(tuple(rng.choice(KERNEL_POSITIONS, int(s), replace=False)) for s in sizes)
    return PPS(pats, int(rng.integers(0, P)) if offset is None else offset)


def random_lanes(rng: np.random.Generator, rows: int) -> int:
    """A random LANES for an array of `rows` rows: one of the divisors of ROWS (the walker rule
    binds row r to lane r mod LANES)."""
    return int(rng.choice([d for d in range(1, rows + 1) if rows % d == 0]))


def pps_from_case(case: dict, rng: np.random.Generator) -> PPS:
    """The case's PPS: "dense"; "ps" (PS-n of the default pattern families, n 1/2/4, period P,
    offset o); "psd"; "ps4" without P (PS-4/P4); else P random patterns of n positions each (n a
    list: one size per pattern), offset o (drawn when absent)."""
    kind = case.get("pps", "ps4")
    if kind == "dense":
        return PPS.dense()
    if kind == "ps":
        return PPS.ps(case.get("n", 4), period=case.get("P", 4), offset=case.get("o", 1))
    if kind == "psd":
        return PPS.psd(n=case.get("n", 4), period=case.get("P", 4), offset=case.get("o", 1))
    if kind == "ps4" and "P" not in case:
        return PPS.ps(4)
    return random_pps(rng, case.get("P", 4), case.get("n", 4), case.get("o"))


def random_layer(rng: np.random.Generator, pps: PPS, C: int, F: int, H: int, W: int, *,
                 values: tuple[int, int] = (-128, 127), bias: int | str = 2**20, requant: bool = False,
                 relu: bool = False, stride: int = 1, padding: int = 1,
                 name: str = "case") -> tuple[QLayer, np.ndarray]:
    """A random layer that follows `pps`, and its input: (QLayer, x int8 [C, H, W]). Drawn from rng
    in this order: weights [F, C, 3, 3] in `values` (then zero where pps prunes them), the input in
    `values`, the bias (uniform in -bias..bias-1, or "extreme": near both ends of int32, so that
    acc + bias wraps around), with `requant` multipliers M in 2^15..2^16-1 and shifts in 16..29."""
    lo, hi = values
    w = rng.integers(lo, hi + 1, size=(F, C, 3, 3))
    w = np.where(pps.kernel_mask(F, C), w, 0).astype(np.int8)
    x = rng.integers(lo, hi + 1, size=(C, H, W)).astype(np.int8)
    if bias == "extreme":
        b = np.where(rng.random(F) < 0.5, 2**31 - 1 - rng.integers(0, 2**12, size=F),
                     -2**31 + rng.integers(0, 2**12, size=F)).astype(np.int32)
    else:
        b = rng.integers(-bias, bias, size=F).astype(np.int32)
    rq = None
    if requant:
        rq = Requant(M=rng.integers(2**15, 2**16, size=F).astype(np.uint16),
                     shift=rng.integers(16, 30, size=F).astype(np.uint8), relu=relu)
    return QLayer(name=name, weight=w, bias=b, stride=stride, padding=padding, requant=rq), x


def make_case(case: dict):
    """-> (QLayer, x int8 [C,H,W], PPS); with "batch": B > 1 in the case, x is [B, C, H, W] (the
    first image as without it, the others drawn after everything else)."""
    rng = np.random.default_rng(case.get("seed", 0))
    pps = pps_from_case(case, rng)
    values = case.get("range", (-128, 127))
    layer, x = random_layer(rng, pps, case["C"], case["F"], case["H"], case["W"],
                            values=values, bias=case.get("bias", 2**20),
                            requant=bool(case.get("requant")), relu=bool(case.get("relu")),
                            stride=case.get("stride", 1), padding=case.get("padding", 1),
                            name=case.get("name", "case"))
    B = case.get("batch", 1)
    if B > 1:
        more = rng.integers(values[0], values[1] + 1, size=(B - 1,) + x.shape).astype(np.int8)
        x = np.concatenate([x[None], more])
    return layer, x, pps
