"""Random layer cases for the RTL tests: a case is a small JSON-able dict, so pytest can show and
sweep it and the cocotb process can rebuild exactly the same layer from it."""
from __future__ import annotations

import numpy as np

from compiler.layer import QLayer, Requant
from models.pps import PPS
from models.quant import requantize
from models.reference import conv2d_int


def reference_output(layer: QLayer, x: np.ndarray) -> np.ndarray:
    """What the hardware must produce, from the reference convolution (independent of the
    compiler): int32 acc + bias, or the requantised int8 values widened to int32."""
    acc = conv2d_int(x, layer.weight, None, layer.stride, layer.padding)
    if layer.requant is None:
        return (acc.astype(np.int64) + layer.bias.astype(np.int64)[:, None, None]).astype(np.int32)
    return requantize(acc, layer.bias, layer.requant.M, layer.requant.shift, layer.relu).astype(np.int32)


def random_pps(rng: np.random.Generator, P: int, n: int | None = None) -> PPS:
    """P random patterns of n positions each (n=None: a random size 1..9 per pattern), random offset."""
    sizes = [n or int(rng.integers(1, 10)) for _ in range(P)]
    return PPS(tuple(tuple(rng.choice(9, s, replace=False)) for s in sizes), int(rng.integers(0, P)))


def pps_from_case(case: dict, rng: np.random.Generator) -> PPS:
    kind = case.get("pps", "ps4")
    if kind == "dense":
        return PPS.dense()
    if kind == "psd":
        return PPS.psd(n=case.get("n", 4), period=case.get("P", 4), offset=case.get("o", 1))
    if kind == "ps4" and "P" not in case:
        return PPS.ps(4)
    # random patterns of size n and period P
    n, P = case.get("n", 4), case.get("P", 4)
    pats = tuple(tuple(sorted(rng.choice(9, size=n, replace=False).tolist())) for _ in range(P))
    return PPS(pats, int(case.get("o", rng.integers(0, P))))


def make_case(case: dict):
    """-> (QLayer, x int8 [C,H,W], PPS)"""
    rng = np.random.default_rng(case.get("seed", 0))
    C, F, H, W = case["C"], case["F"], case["H"], case["W"]
    pps = pps_from_case(case, rng)
    lo, hi = case.get("range", (-128, 127))
    w = rng.integers(lo, hi + 1, size=(F, C, 3, 3)).astype(np.int8)
    w = np.where(pps.kernel_mask(F, C), w, 0).astype(np.int8)
    x = rng.integers(lo, hi + 1, size=(C, H, W)).astype(np.int8)
    if case.get("bias") == "extreme":          # near both ends of int32: acc + bias wraps around
        bias = np.where(rng.random(F) < 0.5, 2**31 - 1 - rng.integers(0, 2**12, size=F),
                        -2**31 + rng.integers(0, 2**12, size=F)).astype(np.int32)
    else:
        bias = rng.integers(-2**20, 2**20, size=F).astype(np.int32)
    rq = None
    if case.get("requant"):
        rq = Requant(M=rng.integers(2**15, 2**16, size=F).astype(np.uint16),
                     shift=rng.integers(16, 30, size=F).astype(np.uint8), relu=bool(case.get("relu")))
    layer = QLayer(name=case.get("name", "case"), weight=w, bias=bias, stride=case.get("stride", 1),
                   padding=case.get("padding", 1), requant=rq)
    return layer, x, pps
