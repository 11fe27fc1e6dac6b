"""Integer networks: post-training int8 quantisation of a models.nets network, and the integer
reference that runs it. This is the golden model of whole-network execution; it shares no code
with the compiler (it uses models.reference and models.quant only).

A QNet is a list of nodes over named int8 tensors ("input" is the quantised image):

  conv    k x k conv (k = 3 or 1), stride, padding; int8 weights [F, C, k, k] (BN folded, per-filter
          scale), int32 bias; requantised to int8 by (M, shift) per filter with optional ReLU
          (docs/ARCHITECTURE.md section 6). `pps`: the layer's PPS (JSON), "dense", "any" or "auto"
          (compiler.infer.resolve_pps).
  maxpool k x k window (k, stride, padding attributes; default 2, 2, 0), padding never wins (int8
          max: exact, scale unchanged). Output floor((H + 2p - k) / s) + 1 (ONNX ceil_mode 0).
  avgpool k x k window (k, stride, padding, count_include_pad): the int8 mean of the window,
          round(sum / n) with ties to even (n = k*k, or the in-bounds count when count_include_pad
          is false), scale unchanged.
  gap     global average pooling: [C, H, W] -> [C, 1, 1], round(sum / (H*W)) with ties to even,
          scale unchanged (a pooled vector that feeds an inner dense layer; in front of the
          classifier `linear` takes the sums itself, gap=True).
  relu    max(x, 0), scale unchanged (a ReLU that could not be fused into the node before it).
  flatten [C, H, W] -> [C*H*W, 1, 1] (C-order), so that a dense layer in the middle of a network is a
          1x1 conv; scale unchanged.
  add     ResNet's residual: out = clamp(relu?(rnd(a * Ma, sha) + rnd(b * Mb, shb))), where
          rnd(t, s) = (t + 2**(s-1)) >> s (floor; ties up; no rounding for s = 0): both inputs are
          brought to the output scale by their own fixed-point multipliers, then added exactly.
  linear  the classifier. Input: the int8 tensor flattened, or with gap=True its int32 sums over
          H x W (global average pooling without the division). Weights int8 with ONE scale for the
          whole layer, so the int64 logits  w . x + bias  are the float logits times one positive
          constant (HW / (s_in * s_w)): argmax is the prediction.

Scales: every tensor has one symmetric scale (max |x| / 127 over the calibration images).
This module is numpy only (no torch): the RTL runs load QNet files with it. models.ptq makes a
QNet from a trained float network.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from .fileio import READ_ERRORS, first_line
from .quant import quantize_activation, requantize
from .reference import conv2d_int

@dataclasses.dataclass
class Node:
    op: str
    name: str
    inputs: list[str]
    out: str
    attrs: dict = dataclasses.field(default_factory=dict)    # ints, floats, bools, str, PPS json
    arrays: dict = dataclasses.field(default_factory=dict)   # numpy arrays


@dataclasses.dataclass
class QNet:
    name: str
    input_shape: tuple[int, int, int]
    input_scale: float
    nodes: list[Node]
    scales: dict                # tensor name -> float scale (for reading values back as floats)

    def quantize_input(self, x) -> np.ndarray:
        """float image(s) [C, H, W] or [N, C, H, W] -> int8 at the input scale."""
        return quantize_activation(x, self.input_scale)

    def save(self, path) -> None:
        meta = {"name": self.name, "input_shape": list(self.input_shape), "input_scale": self.input_scale,
                "scales": self.scales,
                "nodes": [{"op": n.op, "name": n.name, "inputs": n.inputs, "out": n.out, "attrs": n.attrs,
                           "arrays": sorted(n.arrays)} for n in self.nodes]}
        arrays = {f"{i}.{k}": v for i, n in enumerate(self.nodes) for k, v in n.arrays.items()}
        np.savez(path, meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path) -> "QNet":
        """Read a QNet file (.npz from save); ValueError naming the file if it is not one."""
        try:
            z = np.load(Path(path), allow_pickle=False)
        except FileNotFoundError:
            raise
        except READ_ERRORS as e:
            raise ValueError(f"QNet file {path}: cannot read: {first_line(e)}") from None
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError(f"QNet file {path}: a single .npy array, not a QNet (.npz)")
        with z:
            try:
                meta = json.loads(str(z["meta"]))
                nodes = [Node(d["op"], d["name"], d["inputs"], d["out"], d["attrs"],
                              {k: np.asarray(z[f"{i}.{k}"]) for k in d["arrays"]})
                         for i, d in enumerate(meta["nodes"])]
                return cls(meta["name"], tuple(meta["input_shape"]), float(meta["input_scale"]), nodes,
                           meta["scales"])
            except (*READ_ERRORS, KeyError, TypeError, AttributeError, IndexError, OverflowError) as e:
                raise ValueError(f"QNet file {path}: malformed: {first_line(e)}") from None


# ---- the integer reference ----------------------------------------------------------------------------

def _rnd(t: np.ndarray, s: int) -> np.ndarray:
    return (t + (1 << (s - 1))) >> s if s > 0 else t


def _pool(op: str, x: np.ndarray, k: int, s: int, p: int, include_pad: bool) -> np.ndarray:
    """k x k max or mean pool, one output pixel at a time (the reference favours plainness)."""
    C, H, W = x.shape
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    out = np.zeros((C, Ho, Wo), np.int8)
    for oy in range(Ho):
        for ox in range(Wo):
            y0, x0 = oy * s - p, ox * s - p
            win = x[:, max(y0, 0):min(y0 + k, H), max(x0, 0):min(x0 + k, W)].astype(np.int64)
            if op == "maxpool":
                out[:, oy, ox] = win.max(axis=(1, 2))
                continue
            n = k * k if include_pad else win.shape[1] * win.shape[2]
            q, r = np.divmod(win.sum(axis=(1, 2)), n)          # floor division: 0 <= r < n
            up = (2 * r > n) | ((2 * r == n) & (q % 2 == 1))   # round half to even
            out[:, oy, ox] = q + up
    return out


def _global_mean(x: np.ndarray) -> np.ndarray:
    """int8 [C, 1, 1]: each channel's mean, round(sum / (H*W)) with ties to even."""
    C, H, W = x.shape
    out = np.zeros((C, 1, 1), np.int8)
    for c in range(C):
        total, n = int(x[c].astype(np.int64).sum()), H * W
        q, r = divmod(total, n)
        out[c, 0, 0] = q + (1 if 2 * r > n or (2 * r == n and q % 2) else 0)
    return out


def run_node(node: Node, inputs: list[np.ndarray]) -> np.ndarray:
    """One node of the reference on one image (int8 [C, H, W] tensors)."""
    a = node.attrs
    if node.op == "conv":
        acc = conv2d_int(inputs[0], node.arrays["weight"], None, a["stride"], a["padding"], name=node.name)
        return requantize(acc, node.arrays["bias"], node.arrays["M"], node.arrays["shift"], a["relu"])
    if node.op in ("maxpool", "avgpool"):
        return _pool(node.op, inputs[0], int(a.get("k", 2)), int(a.get("stride", 2)), int(a.get("padding", 0)),
                     bool(a.get("count_include_pad", False)))
    if node.op == "gap":
        return _global_mean(inputs[0])
    if node.op == "relu":
        return np.maximum(inputs[0], 0).astype(np.int8)
    if node.op == "flatten":
        return inputs[0].reshape(-1, 1, 1)
    if node.op == "add":
        t = (_rnd(inputs[0].astype(np.int64) * a["Ma"], a["sha"]) +
             _rnd(inputs[1].astype(np.int64) * a["Mb"], a["shb"]))
        if a["relu"]:
            t = np.maximum(t, 0)
        return np.clip(t, -128, 127).astype(np.int8)
    if node.op == "linear":
        x = inputs[0].astype(np.int64)
        v = x.sum(axis=(1, 2)) if a["gap"] else x.reshape(-1)
        return node.arrays["weight"].astype(np.int64) @ v + node.arrays["bias"]
    raise ValueError(f"node {node.name!r}: unknown op {node.op!r}")


def run_reference(qnet: QNet, x_int8: np.ndarray) -> dict[str, np.ndarray]:
    """Run the whole integer network on one int8 image [C, H, W]; returns every tensor by name
    ("input", the node outputs, "logits" int64 [classes])."""
    x = np.asarray(x_int8)
    if x.dtype != np.int8 or tuple(x.shape) != tuple(qnet.input_shape):
        raise ValueError(f"{qnet.name}: input must be int8 {list(qnet.input_shape)}, got {x.dtype} {list(x.shape)}")
    t = {"input": x}
    for node in qnet.nodes:
        t[node.out] = run_node(node, [t[i] for i in node.inputs])
    return t


def predict(qnet: QNet, x_int8: np.ndarray) -> int:
    return int(np.argmax(run_reference(qnet, x_int8)["logits"]))


