"""Integer networks: post-training int8 quantisation of a models.nets network, and the integer
reference that runs it. This is the golden model of whole-network execution; it shares no code
with the compiler (it uses models.reference and models.quant only).

A QNet is a list of nodes over named int8 tensors ("input" is the quantised image):

  conv    k x k conv (k = 3 or 1), stride, padding; int8 weights [F, C, k, k] (BN folded, per-filter
          scale), int32 bias; requantised to int8 by (M, shift) per filter with optional ReLU
          (docs/ARCHITECTURE.md section 6). `pps`: the layer's PPS (JSON), "dense", "any" or "auto"
          (compiler.infer.resolve_pps).
  maxpool 2x2, stride 2 (int8 max: exact, scale unchanged).
  add     ResNet's residual: out = clamp(relu?(rnd(a * Ma, sha) + rnd(b * Mb, shb))), where
          rnd(t, s) = (t + 2**(s-1)) >> s (floor; ties up; no rounding for s = 0): both inputs are
          brought to the output scale by their own fixed-point multipliers, then added exactly.
  linear  the classifier. Input: the int8 tensor flattened, or with gap=True its int32 sums over
          H x W (global average pooling without the division). Weights int8 with ONE scale for the
          whole layer, so the int64 logits  w . x + bias  are the float logits times one positive
          constant (HW / (s_in * s_w)): argmax is the prediction.

Scales: every tensor has one symmetric scale (max |x| / 127 over the calibration images).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .nets import BasicBlock, ConvBN, Net
from .quant import (fold_bn, quantize_activation, quantize_bias, quantize_multiplier, quantize_weights,
                    requant_params, requantize)
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
        with np.load(Path(path), allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            nodes = [Node(d["op"], d["name"], d["inputs"], d["out"], d["attrs"],
                          {k: np.asarray(z[f"{i}.{k}"]) for k in d["arrays"]})
                     for i, d in enumerate(meta["nodes"])]
        return cls(meta["name"], tuple(meta["input_shape"]), float(meta["input_scale"]), nodes, meta["scales"])


# ---- quantisation ---------------------------------------------------------------------------------

def _calibrate(model: Net, images: torch.Tensor) -> dict[nn.Module, float]:
    """max |output| of every ConvBN and BasicBlock over `images` (eval mode)."""
    amax: dict[nn.Module, float] = {}
    hooks = []
    for m in model.modules():
        if isinstance(m, (ConvBN, BasicBlock)):
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out: amax.__setitem__(mod, max(amax.get(mod, 0.0), float(out.abs().max())))))
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(images), 256):
                model(images[i:i + 256])
    finally:
        for h in hooks:
            h.remove()
    return amax


def _scale(amax: float) -> float:
    return amax / 127.0 if amax > 0 else 1.0


def quantize_net(model: Net, calib_images: torch.Tensor, name: str = "net",
                 pps: dict[str, dict] | None = None) -> QNet:
    """Post-training static quantisation of a models.nets.Net (eval mode, BN folded).

    calib_images: float [N, C, H, W] used to choose the activation scales. pps: module name of the
    conv (as in named_modules) -> PPS JSON, recorded per layer as its "pps" attribute; a conv not
    in the dict is recorded "dense". pps=None (not known, e.g. a bare state_dict): every conv is
    recorded "any" and the compiler infers the PPS from the weights' zero pattern (the cheapest
    cover; with no declared PPS there is nothing to reject). The compiler checks the weights
    against a recorded PPS."""
    if not isinstance(model, Net):
        raise ValueError(f"quantize_net: expected a models.nets.Net, got {type(model).__name__}")
    model = model.eval()
    amax = _calibrate(model, calib_images)
    mod_name = {m: n for n, m in model.named_modules()}
    s_in = _scale(float(calib_images.abs().max()))
    nodes: list[Node] = []
    scales = {"input": s_in}

    def conv(cb: ConvBN, src: str, s_src: float, s_out: float, label: str) -> str:
        f = fold_bn(cb.conv, cb.bn)
        wq, s_w = quantize_weights(f.weight)
        bias = quantize_bias(f.bias.detach().double().numpy(), s_src, s_w)
        M, sh = requant_params(s_src, s_w, s_out)
        conv_name = mod_name[cb.conv]
        out = f"t{len(nodes)}"
        nodes.append(Node("conv", label, [src], out,
                          {"stride": int(cb.conv.stride[0]), "padding": int(cb.conv.padding[0]),
                           "relu": bool(cb.relu), "module": conv_name,
                           "pps": "any" if pps is None else pps.get(conv_name, "dense")},
                          {"weight": wq, "bias": bias, "M": M, "shift": sh}))
        scales[out] = s_out
        return out

    cur, s_cur = "input", s_in
    n_conv = n_pool = n_block = 0
    for m in model.features:
        if isinstance(m, ConvBN):
            n_conv += 1
            s_o = _scale(amax[m])
            cur, s_cur = conv(m, cur, s_cur, s_o, f"conv{n_conv}"), s_o
        elif isinstance(m, nn.MaxPool2d):
            n_pool += 1
            out = f"t{len(nodes)}"
            nodes.append(Node("maxpool", f"pool{n_pool}", [cur], out))
            scales[out] = s_cur
            cur = out
        elif isinstance(m, BasicBlock):
            n_block += 1
            blk = f"block{n_block}"
            s_a, s_b = _scale(amax[m.a]), _scale(amax[m.b])
            a = conv(m.a, cur, s_cur, s_a, f"{blk}.a")
            b = conv(m.b, a, s_a, s_b, f"{blk}.b")
            if m.short is None:
                sc, s_sc = cur, s_cur
            else:
                s_sc = _scale(amax[m.short])
                sc = conv(m.short, cur, s_cur, s_sc, f"{blk}.short")
            s_o = _scale(amax[m])
            Ma, sha = quantize_multiplier(s_b / s_o)
            Mb, shb = quantize_multiplier(s_sc / s_o)
            out = f"t{len(nodes)}"
            nodes.append(Node("add", f"{blk}.add", [b, sc], out,
                              {"Ma": int(Ma), "sha": int(sha), "Mb": int(Mb), "shb": int(shb), "relu": True}))
            scales[out] = s_o
            cur, s_cur = out, s_o
        else:
            raise ValueError(f"quantize_net: cannot quantise a {type(m).__name__} in features")
    w = model.fc.weight.detach().double().numpy()
    s_w = float(np.abs(w).max()) / 127.0 or 1.0
    wq = np.clip(np.rint(w / s_w), -127, 127).astype(np.int8)
    _, H, W = _shape_after(model, calib_images)
    hw = H * W if model.gap else 1
    bias = np.rint(model.fc.bias.detach().double().numpy() * hw / (s_cur * s_w)).astype(np.int64)
    nodes.append(Node("linear", "fc", [cur], "logits", {"gap": bool(model.gap)}, {"weight": wq, "bias": bias}))
    return QNet(name, tuple(int(v) for v in calib_images.shape[1:]), s_in, nodes, scales)


def _shape_after(model: Net, images: torch.Tensor) -> tuple[int, int, int]:
    with torch.no_grad():
        return tuple(model.features(images[:1]).shape[1:])


# ---- the integer reference ----------------------------------------------------------------------------

def _rnd(t: np.ndarray, s: int) -> np.ndarray:
    return (t + (1 << (s - 1))) >> s if s > 0 else t


def run_node(node: Node, inputs: list[np.ndarray]) -> np.ndarray:
    """One node of the reference on one image (int8 [C, H, W] tensors)."""
    a = node.attrs
    if node.op == "conv":
        acc = conv2d_int(inputs[0], node.arrays["weight"], None, a["stride"], a["padding"], name=node.name)
        return requantize(acc, node.arrays["bias"], node.arrays["M"], node.arrays["shift"], a["relu"])
    if node.op == "maxpool":
        x = inputs[0]
        C, H, W = x.shape
        return np.max(np.stack([x[:, i:H - H % 2:2, j:W - W % 2:2] for i in (0, 1) for j in (0, 1)]), axis=0)
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


