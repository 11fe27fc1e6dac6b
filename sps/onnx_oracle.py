"""onnxruntime as a second oracle for the integer network (a models.qnet.QNet).

The QNet is written out as a QDQ ONNX model that carries OUR scales and integer weights, and
onnxruntime's results are compared with those of models.qnet.run_reference:

    qnet_to_qdq(qnet, int_relu=False) -> ModelProto
        the whole network: float "input" [N, C, H, W] -> QuantizeLinear -> int8 ... -> float
        "logits" [N, K] (N symbolic)
    layer_model(qnet, node, int_relu=False) -> ModelProto
        one conv node (Node or name): int8 "x" [N, C, H, W] -> int8 "y" [N, F, Ho, Wo]
    per_layer_agreement(qnet, tensors_per_image, path="float") -> {layer: {...}}
        each conv run on our own int8 inputs (tensors_per_image[i] = run_reference(...)), its int8
        output compared with ours: exact_fraction, max_abs_diff, n, diff_counts {ORT - ours: count}
    end_to_end(qnet, qdq_model, images_float, our_logits, float_model=None, labels=None,
               qdq_int8=False) -> {top1_agreement_qdq, logits_cosine_qdq, top1_agreement_float,
               accuracy {ours, qdq, float}}
    session(model, qdq_int8=False, what=None), optimized_op_types(model, qdq_int8=False)
        the onnxruntime sessions used (CPU, one thread, quiet) and the op types ORT runs after
        its graph optimisations
    run_batched(sess, images, names=None, what=None)
        a one-input model run over images in chunks of its fixed batch (64 when free)
    float_model_session(path, input_shape, what)
        a session on a user's float model, its input checked against the network's
    PATHS: "float" (int_relu=False, qdq_int8=False) and "qlinear" (True, True), see below.

Mapping of the nodes (activation zero points are all int8 0, the scales are the QNet's):
  conv     DQ(x, s_in) -> Conv(DQ(w int8, s_w[f], axis 0), DQ(bias int32, s_in*s_w[f], axis 0))
           -> Relu? -> Q(s_out). s_w[f] is not the float weight scale but an effective one, chosen
           so that onnxruntime's float32 requant ratio  float32(float32(s_in * s_w[f]) / s_out)
           (QLinearConv's ComputeOutputScale) is our M[f] * 2**-shift[f] (exact in float32: M has
           16 bits). Exact for most filters (3/4 on digits); where no float32 s_w[f] hits it (a
           step of s_w can move the ratio by more than one ulp) the nearest, within one ulp.
           With the float weight scale of the PTQ instead, M's own 16-bit rounding shows up:
           measured 5.9e-5 (digits) and 8e-5 (resnet18) of the outputs off by 1, vs <= 2e-6 here.
  maxpool, avgpool, relu   DQ -> MaxPool / AveragePool / Relu -> Q at the same scale.
  flatten  Reshape of the int8 tensor to [N, C*H*W, 1, 1].
  add      DQ(a, s_a) + DQ(b, s_b) -> Relu? -> Q(s_out) with float32(s_a / s_out) = Ma * 2**-sha
           where a float32 s_a achieves it (likewise b).
  linear   DQ(x, s_x) -> (gap: ReduceSum over H, W) -> Flatten -> Gemm(DQ(w int8, 1/s_x), bias):
           the float logits are our int64 logits up to float32 rounding.
  int_relu=True moves the ReLU of conv and add after the QuantizeLinear, onto the int8 tensor
  (Q -> Relu): the same values, since with zero point 0 max(round(t), 0) = round(max(t, 0)).

What onnxruntime 1.32 does (CPU EP, default graph optimisation ORT_ENABLE_ALL, x86-64 with
AVX512-VNNI), checked with optimized_op_types and tests/test_onnx_oracle.py:
  * Path "float" (the plain graph, default session options): a DQ -> Conv -> Relu -> Q group is NOT fused
    into QLinearConv: the Relu is only dropped when Q's zero point is the int8 minimum, and ORT
    refuses int8-activation QDQ groups on x86 unless session.qdqisint8allowed is set. It runs
    a float32 FusedConv (Conv + Relu) on the dequantised values, then QuantizeLinear
    (float32, round half to EVEN, saturate). In the whole model some convs without
    ReLU are still fused, to a uint8 (zero point 128) QLinearConv, after ORT turns their int8
    Q -> DQ pairs into uint8.
  * Path "qlinear" (int_relu=True, session qdq_int8=True): every DQ -> Conv -> Q becomes an
    NHWC QLinearConv (com.microsoft), with add a QLinearAdd. Its int8 x int8 sums are exact
    int32 (AVX512-VNNI here; plain AVX2's VPMADDUBSW can saturate int16 pair sums), the int32
    bias is added exactly, then  y = nearbyint(float32(acc) * float32(ratio)): ties to EVEN,
    and float32(acc) rounds sums above 2**24.
  * Ours is (acc*M + 2**(shift-1)) >> shift: exact, ties UP. Exact ties need acc*M to be an odd
    multiple of 2**(shift-1) and never occurred (0 in 7.4e6 resnet18 outputs), nor did any
    |acc| > 2**24. The differences seen are all near-ties: acc*M/2**shift within ~1e-5 of x.5,
    where a float32 rounding (of the product, of the ratio, or of the float32 conv sums) lands
    on the other side. Measured (tests/test_onnx_oracle.py, and 12 random-input images of the
    random-weight resnet18): digits 0 differences in 1,075,200 outputs (300 images); resnet18
    1.2e-6 (float) and 5.4e-7 (qlinear) of the outputs off by exactly 1, none by 2 or more.
    A difference of 2 or more is a real disagreement: per_layer_agreement reports max_abs_diff.
  * MaxPool, Relu and Reshape on int8 are exact. AveragePool's mean is computed in float32 and
    rounded to even, ours rounds sum/n to even exactly: equal but on a float32 near-tie.
  * add: ours rounds each input to the output scale and then adds (two roundings, ties up),
    onnxruntime rounds a*ra + b*rb once, so they can differ by 1 (a*ra = b*rb = 0.5: ours
    1 + 1 = 2, onnxruntime round(1.0) = 1); add nodes are checked end to end only (top-1
    agreement, logits cosine).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state

from models.qnet import Node, QNet

OPSET = 21                       # QuantizeLinear/DequantizeLinear-21; onnxruntime 1.32 runs it
_NEIGHBOURS = 64                 # float32 neighbours tried around an effective scale
PATHS = {"float": (False, False),    # path -> (int_relu, qdq_int8)
         "qlinear": (True, True)}
FREE_BATCH = 64                  # images per run when the model's batch dimension is free
# what onnxruntime raises on a model it cannot load or run (subclasses of Exception, not ValueError)
ORT_ERRORS = tuple(c for c in vars(_ort_state).values() if isinstance(c, type) and issubclass(c, Exception))


def _ort_error(what: str, doing: str, e: Exception) -> ValueError:
    """onnxruntime's error `e` on the user's model `what` as a one-line ValueError."""
    text = " ".join(str(e).split())
    return ValueError(f"{what}: {doing} ({text[:300] + '...' if len(text) > 300 else text})")


# ---- scales ---------------------------------------------------------------------------------------

def _f32(v) -> np.ndarray:
    return np.asarray(v, np.float64).astype(np.float32)


def _requant_f32(s_in, s_w, s_out) -> np.ndarray:
    """onnxruntime's QLinearConv output scale: (X_scale * W_scale / Y_scale) in float32."""
    return (np.float32(s_in) * np.asarray(s_w, np.float32)) / np.float32(s_out)


def _exact_scale(target: np.ndarray, first: np.ndarray, ratio) -> np.ndarray:
    """For each entry, the float32 s nearest to `first` (positive) with ratio(s) == target, among
    _NEIGHBOURS float32 neighbours either side; the s with the closest ratio if none is exact."""
    steps = np.arange(-_NEIGHBOURS, _NEIGHBOURS + 1, dtype=np.int32)
    order = np.argsort(np.abs(steps), kind="stable")              # 0, -1, +1, -2, +2, ...
    cand = (first.astype(np.float32).view(np.int32)[:, None] + steps[order][None, :]).view(np.float32)
    err = np.abs(ratio(cand).astype(np.float64) - target.astype(np.float64)[:, None])
    return cand[np.arange(target.size), np.argmin(err, axis=1)]   # argmin: the first (nearest) of equals


def _fixed_point(M, shift) -> np.ndarray:
    """M * 2**-shift as float32 (exact: M has 16 bits)."""
    return _f32(np.ldexp(np.asarray(M, np.float64), -np.asarray(shift, np.int64)))


def conv_weight_scales(s_in: float, s_out: float, M, shift) -> np.ndarray:
    """Effective float32 per-filter weight scales: ORT's float32 s_in*s_w/s_out equals M/2**shift."""
    target = np.atleast_1d(_fixed_point(M, shift))
    first = _f32(np.ldexp(np.asarray(M, np.float64), -np.asarray(shift, np.int64)) * s_out / s_in)
    return _exact_scale(target, np.atleast_1d(first), lambda c: _requant_f32(s_in, c, s_out))


def add_input_scale(M: int, shift: int, s_out: float) -> np.float32:
    """Effective float32 scale of an add input: float32(s / s_out) equals M/2**shift."""
    target = np.atleast_1d(_fixed_point(M, shift))
    first = np.atleast_1d(_f32(np.ldexp(float(M), -int(shift)) * s_out))
    return _exact_scale(target, first, lambda c: c / np.float32(s_out))[0]


# ---- graph building -------------------------------------------------------------------------------

class _Graph:
    """Nodes and initialisers of one ONNX graph, with unique names."""

    def __init__(self, int_relu: bool):
        self.int_relu = int_relu         # ReLU on the int8 output of Q instead of before it
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, stem: str, value: np.ndarray) -> str:
        n = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def op(self, op_type: str, inputs: list[str], stem: str, **attrs) -> str:
        out = self.name(stem)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def dq(self, x: str, scale, zero, stem: str, axis: int | None = None) -> str:
        attrs = {} if axis is None else {"axis": axis}
        return self.op("DequantizeLinear", [x, self.const(stem + "_scale", scale),
                                            self.const(stem + "_zp", zero)], stem + "_dq", **attrs)

    def q(self, x: str, scale: float, stem: str) -> str:
        return self.op("QuantizeLinear", [x, self.const(stem + "_scale", np.float32(scale)),
                                          self.const(stem + "_zp", np.int8(0))], stem + "_q")

    def act(self, x: str, scale: float, stem: str) -> str:
        """int8 activation -> float (scalar scale, zero point 0)."""
        return self.dq(x, np.float32(scale), np.int8(0), stem)

    def relu_q(self, y: str, relu: bool, scale: float, stem: str) -> str:
        """Optional ReLU and QuantizeLinear: Relu -> Q, or with int_relu Q -> Relu (on int8).
        The two are equal: with zero point 0, max(round(t), 0) = round(max(t, 0))."""
        if relu and not self.int_relu:
            y = self.op("Relu", [y], stem + "_relu")
        y = self.q(y, scale, stem)
        return self.op("Relu", [y], stem + "_relu8") if relu and self.int_relu else y


def _scale(qnet: QNet, tensor: str, node: Node) -> float:
    s = qnet.scales.get(tensor)
    if s is None or not np.isfinite(s) or s <= 0:
        raise ValueError(f"node {node.name!r}: tensor {tensor!r} has no positive scale in qnet.scales")
    return float(s)


def _array(node: Node, key: str, dtype) -> np.ndarray:
    a = node.arrays.get(key)
    if a is None:
        raise ValueError(f"node {node.name!r}: array {key!r} missing")
    a = np.asarray(a)
    if a.dtype != np.dtype(dtype):
        raise ValueError(f"node {node.name!r}: array {key!r} is {a.dtype}, expected {np.dtype(dtype).name}")
    return a


def _conv(g: _Graph, qnet: QNet, node: Node, x: str) -> str:
    w = _array(node, "weight", np.int8)
    bias, M, shift = (_array(node, k, t) for k, t in (("bias", np.int32), ("M", np.uint16), ("shift", np.uint8)))
    if w.ndim != 4 or w.shape[2] != w.shape[3] or not (bias.shape == M.shape == shift.shape == (w.shape[0],)):
        raise ValueError(f"node {node.name!r}: weight {list(w.shape)} and bias/M/shift "
                         f"{list(bias.shape)}/{list(M.shape)}/{list(shift.shape)} do not match")
    s_in, s_out = _scale(qnet, node.inputs[0], node), _scale(qnet, node.out, node)
    s_w = conv_weight_scales(s_in, s_out, M, shift)
    F, k = w.shape[0], w.shape[2]
    s, p = int(node.attrs.get("stride", 1)), int(node.attrs.get("padding", 0))
    wf = g.dq(g.const(node.name + "_w", w), s_w, np.zeros(F, np.int8), node.name + "_w", axis=0)
    bf = g.dq(g.const(node.name + "_b", bias), np.float32(s_in) * s_w, np.zeros(F, np.int32),
              node.name + "_b", axis=0)
    y = g.op("Conv", [g.act(x, s_in, node.name + "_x"), wf, bf], node.name + "_conv",
             kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p])
    return g.relu_q(y, bool(node.attrs.get("relu", False)), s_out, node.name + "_out")


def _pool(g: _Graph, qnet: QNet, node: Node, x: str) -> str:
    s = _scale(qnet, node.inputs[0], node)
    a = node.attrs
    k, st, p = int(a.get("k", 2)), int(a.get("stride", 2)), int(a.get("padding", 0))
    attrs = {"kernel_shape": [k, k], "strides": [st, st], "pads": [p, p, p, p]}
    if node.op == "avgpool":
        attrs["count_include_pad"] = int(bool(a.get("count_include_pad", False)))
    op = "MaxPool" if node.op == "maxpool" else "AveragePool"
    return g.q(g.op(op, [g.act(x, s, node.name + "_x")], node.name + "_pool", **attrs), s, node.name + "_out")


def _gap(g: _Graph, qnet: QNet, node: Node, x: str) -> str:
    s = _scale(qnet, node.inputs[0], node)
    return g.q(g.op("GlobalAveragePool", [g.act(x, s, node.name + "_x")], node.name + "_pool"), s, node.name + "_out")


def _relu(g: _Graph, qnet: QNet, node: Node, x: str) -> str:
    s = _scale(qnet, node.inputs[0], node)
    return g.q(g.op("Relu", [g.act(x, s, node.name + "_x")], node.name + "_relu"), s, node.name + "_out")


def _flatten(g: _Graph, qnet: QNet, node: Node, x: str) -> str:
    return g.op("Reshape", [x, g.const(node.name + "_shape", np.array([0, -1, 1, 1], np.int64))], node.name)


def _add(g: _Graph, qnet: QNet, node: Node, a: str, b: str) -> str:
    at = node.attrs
    s_out = _scale(qnet, node.out, node)
    for key in ("Ma", "sha", "Mb", "shb"):
        if not isinstance(at.get(key), (int, np.integer)) or at[key] < 0:
            raise ValueError(f"node {node.name!r}: attribute {key!r} must be a non-negative integer")
    fa = g.act(a, add_input_scale(at["Ma"], at["sha"], s_out), node.name + "_a")
    fb = g.act(b, add_input_scale(at["Mb"], at["shb"], s_out), node.name + "_b")
    y = g.op("Add", [fa, fb], node.name + "_add")
    return g.relu_q(y, bool(at.get("relu", False)), s_out, node.name + "_out")


def _linear(g: _Graph, qnet: QNet, node: Node, x: str) -> str:
    w = _array(node, "weight", np.int8)
    bias = _array(node, "bias", np.int64)
    if w.ndim != 2 or bias.shape != (w.shape[0],):
        raise ValueError(f"node {node.name!r}: weight {list(w.shape)} and bias {list(bias.shape)} do not match")
    s_x = _scale(qnet, node.inputs[0], node)
    y = g.act(x, s_x, node.name + "_x")
    if node.attrs.get("gap", False):
        y = g.op("ReduceSum", [y, g.const(node.name + "_axes", np.array([2, 3], np.int64))],
                 node.name + "_gap", keepdims=1)
    y = g.op("Flatten", [y], node.name + "_flat", axis=1)
    wf = g.dq(g.const(node.name + "_w", w), _f32(1.0 / s_x), np.int8(0), node.name + "_w")
    b = g.const(node.name + "_bias", bias.astype(np.float32))      # units of s_x * (1/s_x) = 1
    return g.op("Gemm", [y, wf, b], node.name + "_gemm", transB=1)


_BUILDERS = {"conv": _conv, "maxpool": _pool, "avgpool": _pool, "gap": _gap, "relu": _relu, "flatten": _flatten,
             "add": _add, "linear": _linear}
_ARITY = {"add": 2}


def _model(g: _Graph, inputs: list, outputs: list, name: str) -> onnx.ModelProto:
    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="sps.onnx_oracle")
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model


def _check_qnet(qnet: QNet) -> None:
    if not isinstance(qnet, QNet):
        raise ValueError(f"expected a QNet, got {type(qnet).__name__}")
    if len(qnet.input_shape) != 3:
        raise ValueError(f"{qnet.name}: input_shape must be (C, H, W), got {qnet.input_shape}")
    if not (np.isfinite(qnet.input_scale) and qnet.input_scale > 0):
        raise ValueError(f"{qnet.name}: input_scale must be > 0, got {qnet.input_scale}")
    if not qnet.nodes or qnet.nodes[-1].op != "linear":
        raise ValueError(f"{qnet.name}: the last node must be the linear classifier")


def qnet_to_qdq(qnet: QNet, int_relu: bool = False) -> onnx.ModelProto:
    """The whole QNet as a QDQ model: float "input" [N, C, H, W] -> float "logits" [N, K].
    int_relu: the ReLU of conv and add nodes after their QuantizeLinear (see _Graph.relu_q)."""
    _check_qnet(qnet)
    g = _Graph(int_relu)
    names = {"input": g.q("input", qnet.input_scale, "input")}
    for node in qnet.nodes:
        build = _BUILDERS.get(node.op)
        if build is None:
            raise ValueError(f"node {node.name!r}: unknown op {node.op!r}")
        if len(node.inputs) != _ARITY.get(node.op, 1) or any(i not in names for i in node.inputs):
            raise ValueError(f"node {node.name!r}: inputs {node.inputs} are not earlier tensors")
        names[node.out] = build(g, qnet, node, *(names[i] for i in node.inputs))
    K = qnet.nodes[-1].arrays["weight"].shape[0]
    g.nodes[-1].output[0] = "logits"
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *qnet.input_shape])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", K])
    return _model(g, [x], [y], f"{qnet.name}_qdq")


def _conv_node(qnet: QNet, node) -> Node:
    if isinstance(node, str):
        found = [n for n in qnet.nodes if n.name == node]
        if not found:
            raise ValueError(f"{qnet.name}: no node named {node!r}")
        node = found[0]
    if not isinstance(node, Node) or node.op != "conv":
        raise ValueError(f"{qnet.name}: layer_model needs a conv node, got {getattr(node, 'op', node)!r}")
    return node


def _conv_shapes(qnet: QNet, node: Node) -> tuple[list[int], list[int]]:
    """(input [C, H, W], output [F, Ho, Wo]) of a conv node, from the QNet's tensor shapes."""
    shapes = {"input": tuple(qnet.input_shape)}
    for n in qnet.nodes:
        if n.op == "linear":
            break
        shapes[n.out] = _out_shape(n, shapes[n.inputs[0]])
        if n is node:
            return list(shapes[n.inputs[0]]), list(shapes[n.out])
    raise ValueError(f"{qnet.name}: node {node.name!r} is not in the network")


def _out_shape(n: Node, shape) -> tuple[int, int, int]:
    C, H, W = shape
    if n.op == "flatten":
        return (C * H * W, 1, 1)
    if n.op == "gap":
        return (C, 1, 1)
    if n.op in ("relu", "add"):
        return (C, H, W)
    if n.op == "conv":
        F, _, k, _ = n.arrays["weight"].shape
        s, p = int(n.attrs.get("stride", 1)), int(n.attrs.get("padding", 0))
    else:
        F, k, s, p = C, int(n.attrs.get("k", 2)), int(n.attrs.get("stride", 2)), int(n.attrs.get("padding", 0))
    return (F, (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1)


def layer_model(qnet: QNet, node, int_relu: bool = False) -> onnx.ModelProto:
    """One conv node (a Node or its name) alone: int8 "x" [N, C, H, W] -> int8 "y" [N, F, Ho, Wo]."""
    _check_qnet(qnet)
    node = _conv_node(qnet, node)
    cin, cout = _conv_shapes(qnet, node)
    g = _Graph(int_relu)
    y = _conv(g, qnet, node, "x")
    g.nodes[-1].output[0] = "y"
    x = helper.make_tensor_value_info("x", TensorProto.INT8, ["N", *cin])
    yv = helper.make_tensor_value_info("y", TensorProto.INT8, ["N", *cout])
    return _model(g, [x], [yv], f"{qnet.name}_{node.name}")


# ---- running --------------------------------------------------------------------------------------

def session(model, qdq_int8: bool = False, optimized_path=None, what: str | None = None) -> ort.InferenceSession:
    """A CPU session (default optimisation level ORT_ENABLE_ALL) with one intra-op thread and quiet
    logging. qdq_int8: allow the fusion of int8-activation QDQ groups (session.qdqisint8allowed,
    off by default on x86). model: a ModelProto or a path. what: the model is the user's (e.g.
    "--onnx m.onnx"); onnxruntime's refusal becomes a one-line ValueError naming it."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 4              # fatal only: a failure is the exception, not a log line too
    if qdq_int8:
        so.add_session_config_entry("session.qdqisint8allowed", "1")
    if optimized_path is not None:
        so.optimized_model_filepath = str(optimized_path)
    src = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    try:
        return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
    except ORT_ERRORS as e:
        if what is None:
            raise
        raise _ort_error(what, "onnxruntime cannot load it", e) from None


def float_model_session(path, input_shape, what: str) -> ort.InferenceSession:
    """A session on the user's float model at `path`, checked to take one float32 input
    [N, C, H, W] with (C, H, W) = input_shape (a symbolic dimension passes); ValueError with one
    line naming `what` otherwise."""
    sess = session(path, what=what)
    ins = sess.get_inputs()
    if len(ins) != 1:
        raise ValueError(f"{what}: {len(ins)} inputs; expected one image input")
    inp, want = ins[0], [int(v) for v in input_shape]
    if inp.type != "tensor(float)" or len(inp.shape) != 4 or \
            any(isinstance(d, int) and d != w for d, w in zip(inp.shape[1:], want)):
        raise ValueError(f"{what}: input {inp.name!r} is {inp.type} {list(inp.shape)}; the network takes "
                         f"tensor(float) [N, {', '.join(map(str, want))}]")
    return sess


def optimized_op_types(model, qdq_int8: bool = False) -> list[str]:
    """The op types of the graph onnxruntime runs after its optimisations (e.g. QLinearConv)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "opt.onnx"
        session(model, qdq_int8, path)
        return [n.op_type for n in onnx.load(str(path)).graph.node]


def _histogram(diff: np.ndarray) -> dict[int, int]:
    vals, counts = np.unique(diff, return_counts=True)
    return {int(v): int(c) for v, c in zip(vals, counts)}


def _stack(tensors_per_image: list[dict], key: str, node: Node, dtype=np.int8) -> np.ndarray:
    try:
        arrs = [np.asarray(t[key]) for t in tensors_per_image]
    except KeyError:
        raise ValueError(f"node {node.name!r}: tensor {key!r} missing from tensors_per_image") from None
    if any(a.dtype != dtype for a in arrs):
        raise ValueError(f"node {node.name!r}: tensor {key!r} must be {np.dtype(dtype).name}")
    return np.stack(arrs)


def per_layer_agreement(qnet: QNet, tensors_per_image: list[dict], path: str = "float") -> dict[str, dict]:
    """Each conv of the QNet run alone in onnxruntime on our int8 inputs (all images in one batch),
    compared with our int8 outputs: {layer: {exact_fraction, max_abs_diff, n, diff_counts}}, where
    diff_counts maps (ORT - ours) to its count. path (PATHS): "float", the plain QDQ graph as
    onnxruntime runs it by default (float32 Conv); "qlinear", fused into an integer QLinearConv."""
    _check_qnet(qnet)
    if path not in PATHS:
        raise ValueError(f"path must be one of {sorted(PATHS)}, got {path!r}")
    int_relu, qdq_int8 = PATHS[path]
    if not isinstance(tensors_per_image, (list, tuple)) or not tensors_per_image:
        raise ValueError("tensors_per_image must be a non-empty list of {tensor name: array} dicts")
    result = {}
    for node in (n for n in qnet.nodes if n.op == "conv"):
        x, ours = _stack(tensors_per_image, node.inputs[0], node), _stack(tensors_per_image, node.out, node)
        theirs = session(layer_model(qnet, node, int_relu), qdq_int8).run(["y"], {"x": x})[0]
        if theirs.shape != ours.shape:
            raise ValueError(f"node {node.name!r}: onnxruntime gave {list(theirs.shape)}, ours is {list(ours.shape)}")
        diff = theirs.astype(np.int64) - ours.astype(np.int64)
        result[node.name] = {"exact_fraction": float(np.mean(diff == 0)), "max_abs_diff": int(np.abs(diff).max()),
                             "n": int(diff.size), "diff_counts": _histogram(diff)}
    return result


def run_batched(sess: ort.InferenceSession, images: np.ndarray, names: list[str] | None = None,
                what: str | None = None):
    """Run a one-input model on images [N, C, H, W] in chunks: of the model's batch when its input
    fixes one (the last chunk filled up with copies of its last image, whose outputs are dropped),
    of FREE_BATCH images when the batch is free. Yields, per chunk, the outputs `names` (all when
    None) of the chunk's own images. what: the model is the user's; onnxruntime's errors become a
    one-line ValueError naming it."""
    inp = sess.get_inputs()[0]
    dim = inp.shape[0] if inp.shape else None
    step = dim if isinstance(dim, int) and dim > 0 else FREE_BATCH
    for i in range(0, len(images), step):
        x = images[i:i + step]
        n = len(x)
        if n < step and step == dim:
            x = np.concatenate([x, np.repeat(x[-1:], step - n, axis=0)])
        try:
            outs = sess.run(names, {inp.name: x})
        except ORT_ERRORS as e:
            if what is None:
                raise
            raise _ort_error(what, "onnxruntime cannot run it", e) from None
        yield [o[:n] if o.ndim and o.shape[0] == len(x) else o for o in outs]


def _run_all(sess: ort.InferenceSession, images: np.ndarray, what: str | None = None) -> np.ndarray:
    """The first output of a one-input model over all images (run_batched)."""
    return np.concatenate([outs[0] for outs in run_batched(sess, images, what=what)])


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return float(np.mean(np.sum(a * b, axis=1) / np.maximum(na * nb, 1e-300)))


def _check_e2e(qnet: QNet, images, our_logits, labels) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images)
    if images.dtype != np.float32 or images.ndim != 4 or tuple(images.shape[1:]) != tuple(qnet.input_shape):
        raise ValueError(f"images must be float32 [N, {', '.join(map(str, qnet.input_shape))}], "
                         f"got {images.dtype} {list(images.shape)}")
    ours = np.asarray(our_logits)
    if ours.ndim != 2 or ours.shape[0] != images.shape[0]:
        raise ValueError(f"our_logits must be [{images.shape[0]}, K], got {list(ours.shape)}")
    if labels is not None and np.asarray(labels).shape != (images.shape[0],):
        raise ValueError(f"labels must be [{images.shape[0]}], got {list(np.asarray(labels).shape)}")
    return images, ours.astype(np.float64)


def end_to_end(qnet: QNet, qdq_model, images_float, our_logits, float_model=None, labels=None,
               qdq_int8: bool = False) -> dict:
    """The QDQ model (and the float model, if given) on float images [N, C, H, W] against our int64
    logits [N, K]: top1_agreement_qdq, logits_cosine_qdq, top1_agreement_float, accuracy.
    qdq_int8: see session (for a model made with int_relu=True: the "qlinear" path)."""
    _check_qnet(qnet)
    images, ours = _check_e2e(qnet, images_float, our_logits, labels)
    qdq = _run_all(session(qdq_model, qdq_int8), images).astype(np.float64)
    if qdq.shape != ours.shape:
        raise ValueError(f"the QDQ model gave logits {list(qdq.shape)}, ours are {list(ours.shape)}")
    top_ours = ours.argmax(axis=1)
    out = {"n": int(len(images)), "top1_agreement_qdq": float(np.mean(qdq.argmax(axis=1) == top_ours)),
           "logits_cosine_qdq": _cosine(ours, qdq)}
    preds = {"ours": top_ours, "qdq": qdq.argmax(axis=1)}
    if float_model is not None:
        what = f"float model {float_model}" if isinstance(float_model, (str, Path)) else "the float model"
        fl = _run_all(session(float_model, what=what), images, what).reshape(len(images), -1)
        preds["float"] = fl.argmax(axis=1)
        out["top1_agreement_float"] = float(np.mean(preds["float"] == top_ours))
    if labels is not None:
        lab = np.asarray(labels)
        out["accuracy"] = {k: float(np.mean(v == lab)) for k, v in preds.items()}
    return out
