"""ONNX -> QNet: bring a CNN of your own to the array (`sps import`).

A model is read in three steps:
1. *Graph*: the ONNX nodes (opsets 13 to 21) are checked against the operators the array and the
   host run, every refusal collected as one line naming the node, its op and why
   (`UnsupportedModel`). QuantizeLinear / DequantizeLinear pairs are taken off the graph first:
   a constant behind a DequantizeLinear is a quantised weight (its int8 / int32 values and scale
   are kept), an activation behind a QuantizeLinear gets that scale.
2. *Fusion*: BatchNormalization is folded into the Conv before it, a Relu into the Conv, Add or
   inner Gemm before it when that is its only reader; Identity and Dropout are dropped;
   GlobalAveragePool + Flatten + Gemm is the classifier over sums (models.qnet `linear`, gap), a
   pooled vector read by anything else is its int8 mean (`gap`);
   a Gemm (or MatMul + Add) that is not the last is a 1x1 conv over the flattened input.
3. *Quantisation*: a float model gets one symmetric scale per activation tensor, max |x| / 127
   over the calibration images (`--calib`), read by running the float graph in onnxruntime (no
   torch), int8 weights per output channel, int32 biases and the (M, shift) requantisation of
   models.quant, as models.ptq does for the project's own networks. A QDQ model keeps its own
   scales and integer weights; every QuantizeLinear must give int8 with zero point 0 (symmetric
   int8; without a zero point ONNX gives uint8, unless opset 21's output_dtype is INT8).

PPS (`pps`): "auto" keeps a PPS already in a 3x3 layer's weights (their exact zeros, as masked
training leaves them) and runs the rest dense; "psN" (and "psd", "dense") projects every 3x3
layer onto that family, the patterns chosen from the weights (models.masks.choose_pps), the
period from `period`; `first_dense` keeps the first conv dense.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from compiler.infer import infer_pps
from models.pps import PPS, PPSError
from models.qnet import Node, QNet
from models.quant import (activation_scale, quantize_bias, quantize_classifier, quantize_multiplier,
                          quantize_weights, requant_params)

OPSETS = range(13, 22)
PASS_THROUGH = {"Identity", "Dropout"}
SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice"}   # folded when constant
SUPPORTED = {"Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "Add",
             "Flatten", "Reshape", "Gemm", "MatMul", "QuantizeLinear", "DequantizeLinear", "Constant"} | PASS_THROUGH
PPS_CHOICES = ("auto", "dense", "ps1", "ps2", "ps4", "psd")
BIAS_BITS = 30                   # a float filter's bias quantises to at most 2**30: int32 accumulators keep room


class UnsupportedModel(ValueError):
    """The model uses what the importer does not take: one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclasses.dataclass
class _Op:
    """A node of the float graph after Q/DQ removal and fusion."""
    kind: str                  # conv | maxpool | avgpool | relu | flatten | add | gemm | gap
    name: str
    inputs: list[str]          # activation tensors (ONNX names)
    out: str                   # the ONNX tensor holding the result (after fused BN / Relu)
    attrs: dict = dataclasses.field(default_factory=dict)
    w: np.ndarray | None = None          # float weight (conv [F, C, k, k]; gemm [K, F_in])
    b: np.ndarray | None = None          # float bias
    wq: tuple | None = None              # QDQ: (int8 weight, scale [F] or scalar)
    bq: tuple | None = None              # QDQ: (int32 bias as stored, its scale)


def _attr(node, name, default=None):
    import onnx

    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _constant_value(n) -> np.ndarray | None:
    """The tensor of a Constant node, from whichever of value, value_float(s), value_int(s) it has;
    None for the others (sparse, strings)."""
    from onnx import numpy_helper

    for a in n.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t)
        if a.name in ("value_float", "value_floats"):
            return np.array(a.f if a.name == "value_float" else list(a.floats), np.float32)
        if a.name in ("value_int", "value_ints"):
            return np.array(a.i if a.name == "value_int" else list(a.ints), np.int64)
    return None


def load_model(path):
    """The ONNX model at `path`, checked to open; ValueError with one line otherwise."""
    import onnx
    from google.protobuf.message import DecodeError

    p = Path(path)
    try:
        model = onnx.load(str(p))
    except (OSError, DecodeError, ValueError) as e:
        raise ValueError(f"{p}: not a readable ONNX model ({' '.join(str(e).split()) or type(e).__name__})") from None
    if not model.graph.node:
        raise ValueError(f"{p}: not an ONNX model with a graph (no nodes)")
    return model


class _Graph:
    """The ONNX graph as the importer sees it: constants, aliases, scales, readers of each tensor."""

    def __init__(self, model, source: str):
        import onnx
        from onnx import numpy_helper

        self.source = source
        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
        if opset not in OPSETS:
            raise UnsupportedModel([f"{source}: opset {opset} of the default domain; the importer reads opsets "
                                    f"{OPSETS.start} to {OPSETS.stop - 1} (re-export with opset_version=17)"])
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception as e:                            # onnx raises several kinds here
            raise ValueError(f"{source}: shape inference failed: {' '.join(str(e).split())}") from None
        g = model.graph
        self.model = model
        self.const = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.shapes = {}
        for vi in list(g.value_info) + list(g.input) + list(g.output):
            dims = vi.type.tensor_type.shape.dim
            self.shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        inputs = [i for i in g.input if i.name not in self.const]
        if len(inputs) != 1:
            raise UnsupportedModel([f"{source}: {len(inputs)} graph inputs; the importer takes one image input"])
        self.input = inputs[0].name
        shp = self.shapes[self.input]
        if len(shp) != 4 or any(v is None or v < 1 for v in shp[1:]):
            raise UnsupportedModel([f"{source}: input {self.input!r} has shape {shp}; expected [N, C, H, W] "
                                    "with C, H, W fixed"])
        if inputs[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            raise UnsupportedModel([f"{source}: input {self.input!r} is not float32 (quantise it inside the "
                                    "model with QuantizeLinear)"])
        self.outputs = [o.name for o in g.output]
        self.alias: dict[str, str] = {}
        self.scale: dict[str, float] = {}
        self.qconst: dict[str, tuple] = {}             # DQ output -> (int values, scale, axis)
        self.nodes = []
        problems = []
        for n in g.node:
            label = f"node {n.name or n.output[0]!r} ({n.op_type})"
            if n.domain in ("", "ai.onnx") and n.op_type in SHAPE_OPS and self._fold(n):
                continue                                   # shape arithmetic, e.g. x.view(x.size(0), -1)
            if n.domain not in ("", "ai.onnx") or n.op_type not in SUPPORTED:
                problems.append(f"{label}: operator {n.domain + '.' if n.domain else ''}{n.op_type} is not supported "
                                "(the array and host run Conv, BatchNormalization, Relu, MaxPool, AveragePool, "
                                "GlobalAveragePool, ReduceMean over H and W, Add, Flatten, Reshape, Gemm, MatMul)")
            elif n.op_type == "Constant":
                value = _constant_value(n)
                if value is None:
                    problems.append(f"{label}: a Constant of {', '.join(a.name for a in n.attribute) or 'nothing'}; "
                                    "the importer reads value, value_float(s) and value_int(s)")
                else:
                    self.const[n.output[0]] = value
            elif n.op_type in ("QuantizeLinear", "DequantizeLinear"):
                problems += self._qdq(n, label)
            elif n.op_type in PASS_THROUGH:
                self.alias[n.output[0]] = n.input[0]
            else:
                self.nodes.append(n)
        if problems:
            raise UnsupportedModel(problems)

    def _fold(self, n) -> bool:
        """Evaluate a shape-arithmetic node whose inputs are all known (constants, or the shape of
        a tensor, batch taken as 1); False when it computes on activations."""
        t = n.op_type
        if t == "Shape":
            shp = self.shapes.get(self.resolve(n.input[0]))
            if shp is None or None in shp[1:]:
                return False
            v = np.array([1 if d is None else d for d in shp], np.int64)
            start, end = _attr(n, "start", 0), _attr(n, "end", None)
            self.const[n.output[0]] = v[start:end]
            return True
        ins = [self.constant(i) if i else None for i in n.input]
        if any(v is None for i, v in zip(n.input, ins) if i):
            return False
        if t == "Gather":
            out = np.take(ins[0], ins[1], axis=_attr(n, "axis", 0))
        elif t in ("Unsqueeze", "Squeeze"):
            axes = _attr(n, "axes") if len(ins) < 2 or ins[1] is None else ins[1]
            if t == "Unsqueeze":
                out = ins[0]
                for ax in sorted(int(a) % (ins[0].ndim + len(np.ravel(axes))) for a in np.ravel(axes)):
                    out = np.expand_dims(out, ax)
            else:
                out = np.squeeze(ins[0], None if axes is None else tuple(int(a) for a in np.ravel(axes)))
        elif t == "Concat":
            out = np.concatenate([np.atleast_1d(v) for v in ins], axis=_attr(n, "axis", 0))
        elif t == "Cast":
            from onnx import helper

            out = ins[0].astype(helper.tensor_dtype_to_np_dtype(_attr(n, "to")))
        else:                                              # Slice (opset >= 10: inputs)
            starts, ends = ins[1], ins[2]
            axes = ins[3] if len(ins) > 3 and ins[3] is not None else range(len(starts))
            steps = ins[4] if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
            sl = [slice(None)] * ins[0].ndim
            for a, b, e, st in zip(axes, starts, ends, steps):
                sl[int(a)] = slice(int(b), int(e), int(st))
            out = ins[0][tuple(sl)]
        self.const[n.output[0]] = np.asarray(out)
        return True

    def _qdq(self, n, label) -> list[str]:
        import onnx

        x = n.input[0]
        scale = self.const.get(n.input[1])
        has_zp = len(n.input) > 2 and bool(n.input[2])
        zp = self.const.get(n.input[2]) if has_zp else None
        if scale is None:
            return [f"{label}: the scale is not a constant"]
        if has_zp and zp is None:
            return [f"{label}: the zero point is not a constant"]
        ints = (np.int8,) if n.op_type == "QuantizeLinear" else (np.int8, np.int32)
        if zp is not None and (np.any(zp != 0) or zp.dtype not in ints):
            why = f"zero point {zp.dtype} {np.unique(zp)[:4].tolist()}"
        elif zp is None and n.op_type == "QuantizeLinear" and _attr(n, "output_dtype", 0) != onnx.TensorProto.INT8:
            why = "no zero point, so a uint8 output"     # unless output_dtype (opset 21) says int8
        else:
            why = None
        if why:
            return [f"{label}: {why}: the array computes symmetric int8 (int8 zero points 0); export with "
                    "quantize_static(..., activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, "
                    "extra_options={'ActivationSymmetric': True, 'WeightSymmetric': True}), or import the float "
                    "model with --calib"]
        if n.op_type == "QuantizeLinear":
            if scale.size != 1:
                return [f"{label}: per-channel activation scales; the array takes one scale per tensor"]
            self.scale[self.resolve(x)] = float(scale.reshape(()))
            self.alias[n.output[0]] = x
            return []
        if x in self.const:                                # a quantised weight or bias
            q = self.const[x]
            if q.dtype not in (np.int8, np.int32):
                return [f"{label}: weights of type {q.dtype}; the array takes int8 weights (int32 biases)"]
            axis = int(_attr(n, "axis", 1))
            self.qconst[n.output[0]] = (q, scale.astype(np.float64), axis)
            s = scale.astype(np.float64)
            if s.size > 1:
                s = s.reshape([-1 if i == axis % q.ndim else 1 for i in range(q.ndim)])
            self.const[n.output[0]] = q.astype(np.float64) * s
            return []
        self.alias[n.output[0]] = x                        # DQ of a quantised activation
        return []

    def constant(self, t: str):
        """The constant behind `t` (through Identity), or None."""
        return self.const.get(self.resolve(t)) if t else None

    def quantised(self, t: str):
        """(int values, scale, axis) of a DequantizeLinear'd constant behind `t`, or None."""
        return self.qconst.get(self.resolve(t)) if t else None

    def resolve(self, t: str) -> str:
        while t in self.alias:
            t = self.alias[t]
        return t

    def readers(self, t: str) -> list:
        t = self.resolve(t)
        return [n for n in self.nodes if any(self.resolve(i) == t for i in n.input if i)] + \
               ([None] if t in {self.resolve(o) for o in self.outputs} else [])


def _name(n) -> str:
    return n.name or n.output[0]


def _fold_bn(w, b, bn, g: _Graph):
    gamma, beta, mean, var = (g.constant(i).astype(np.float64) for i in bn.input[1:5])
    k = gamma / np.sqrt(var + float(_attr(bn, "epsilon", 1e-5)))
    return w * k.reshape(-1, 1, 1, 1), (b - mean) * k + beta


def _parse(g: _Graph) -> list[_Op]:
    """The fused float graph, or UnsupportedModel listing every node it cannot take."""
    ops: list[_Op] = []
    problems: list[str] = []
    consumed = set()                                       # ONNX nodes fused into an earlier op

    def fuse_relu(op: _Op) -> None:
        rd = g.readers(op.out)
        if len(rd) == 1 and rd[0] is not None and rd[0].op_type == "Relu":
            op.attrs["relu"] = True
            consumed.add(id(rd[0]))
            op.out = g.resolve(rd[0].output[0])

    def src(t: str) -> str:
        return g.resolve(t)

    for n in g.nodes:
        if id(n) in consumed:
            continue
        label = f"node {_name(n)!r} ({n.op_type})"
        t = n.op_type
        try:
            if t == "Conv":
                op = _conv(n, g, label)
                rd = g.readers(n.output[0])
                if len(rd) == 1 and rd[0] is not None and rd[0].op_type == "BatchNormalization":
                    if op.wq is not None:
                        raise ValueError(f"{label}: BatchNormalization after a quantised Conv; fold it before "
                                         "quantising")
                    op.w, op.b = _fold_bn(op.w, op.b, rd[0], g)
                    consumed.add(id(rd[0]))
                    op.out = src(rd[0].output[0])
                fuse_relu(op)
            elif t == "BatchNormalization":
                raise ValueError(f"{label}: BatchNormalization that does not follow a Conv (nothing to fold it into)")
            elif t == "Relu":
                op = _Op("relu", _name(n), [src(n.input[0])], src(n.output[0]))
            elif t in ("MaxPool", "AveragePool"):
                op = _pool(n, g, label)
            elif t == "GlobalAveragePool":
                op = _Op("gap", _name(n), [src(n.input[0])], src(n.output[0]))
            elif t == "ReduceMean":
                axes = _attr(n, "axes") if len(n.input) < 2 else g.constant(n.input[1])
                if axes is None or sorted(int(v) % 4 for v in np.ravel(axes)) != [2, 3]:
                    raise ValueError(f"{label}: a mean over axes {None if axes is None else np.ravel(axes).tolist()}; "
                                     "only the mean over H and W (global average pooling) is supported")
                op = _Op("gap", _name(n), [src(n.input[0])], src(n.output[0]))
            elif t == "Add":
                a, b = (src(i) for i in n.input)
                if g.constant(b) is not None or g.constant(a) is not None:
                    raise ValueError(f"{label}: adds a constant (only a MatMul's bias or a residual of two "
                                     "activations is supported)")
                sa, sb = g.shapes.get(a), g.shapes.get(b)
                if sa is None or sb is None or sa[1:] != sb[1:] or None in sa[1:]:
                    raise ValueError(f"{label}: adds {sa} and {sb}; only two tensors of one known shape "
                                     "(no broadcasting)")
                op = _Op("add", _name(n), [a, b], src(n.output[0]), {"relu": False})
                fuse_relu(op)
            elif t in ("Flatten", "Reshape"):
                op = _flatten(n, g, label)
            elif t in ("Gemm", "MatMul"):
                op = _gemm(n, g, label, consumed)
                fuse_relu(op)
            else:                                          # pragma: no cover - SUPPORTED lists the rest
                raise ValueError(f"{label}: not supported")
        except ValueError as e:
            problems.append(str(e))
            continue
        ops.append(op)
    if problems:
        raise UnsupportedModel(problems)
    return ops


def _conv(n, g: _Graph, label: str) -> _Op:
    w = g.constant(n.input[1])
    if w is None:
        raise ValueError(f"{label}: the weight is not a constant")
    if w.ndim != 4:
        raise ValueError(f"{label}: weight of shape {list(w.shape)}; a 2-D conv is [F, C, k, k]")
    F, C, kh, kw = w.shape
    group = int(_attr(n, "group", 1))
    if group != 1:
        raise ValueError(f"{label}: group={group} (grouped or depthwise conv); the array runs group 1")
    if any(d != 1 for d in _attr(n, "dilations", [1, 1])):
        raise ValueError(f"{label}: dilation {_attr(n, 'dilations')}; the array runs dilation 1")
    if _attr(n, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ValueError(f"{label}: auto_pad {_attr(n, 'auto_pad')}; export with explicit pads")
    if (kh, kw) not in ((3, 3), (1, 1)):
        raise ValueError(f"{label}: kernel {kh}x{kw}; the array runs 3x3 and 1x1 kernels")
    pads = list(_attr(n, "pads", [0, 0, 0, 0]))
    strides = list(_attr(n, "strides", [1, 1]))
    if len(set(pads)) != 1 or pads[0] not in ((0, 1) if kh == 3 else (0,)):
        raise ValueError(f"{label}: pads {pads}; a {kh}x{kh} conv runs with pads "
                         f"{'0 or 1 on every side' if kh == 3 else '0'}")
    if len(set(strides)) != 1 or strides[0] not in (1, 2):
        raise ValueError(f"{label}: strides {strides}; the array runs stride 1 or 2 (the same in H and W)")
    b = g.constant(n.input[2]) if len(n.input) > 2 and n.input[2] else None
    if len(n.input) > 2 and n.input[2] and b is None:
        raise ValueError(f"{label}: the bias is not a constant")
    op = _Op("conv", _name(n), [g.resolve(n.input[0])], g.resolve(n.output[0]),
             {"stride": strides[0], "padding": pads[0], "relu": False},
             w.astype(np.float64), np.zeros(F) if b is None else b.astype(np.float64))
    if g.quantised(n.input[1]) is not None:
        q, s, axis = g.quantised(n.input[1])
        if s.size > 1 and axis % 4 != 0:
            raise ValueError(f"{label}: weight scales along axis {axis}; per-channel means per output channel (0)")
        op.wq = (q, np.broadcast_to(s.reshape(-1), (F,)).astype(np.float64))
        if b is not None and g.quantised(n.input[2]) is not None:
            q_b, s_b, _ = g.quantised(n.input[2])
            op.bq = (q_b.reshape(-1), np.broadcast_to(s_b.reshape(-1), (F,)))
    return op


def _pool(n, g: _Graph, label: str) -> _Op:
    k = list(_attr(n, "kernel_shape"))
    s = list(_attr(n, "strides", [1] * len(k)))
    p = list(_attr(n, "pads", [0] * 2 * len(k)))
    if len(k) != 2 or k[0] != k[1] or len(set(s)) != 1 or len(set(p)) != 1:
        raise ValueError(f"{label}: kernel {k}, strides {s}, pads {p}; square windows with one stride and one "
                         "pad are supported")
    if int(_attr(n, "ceil_mode", 0)):
        raise ValueError(f"{label}: ceil_mode 1; export with ceil_mode=False")
    if any(d != 1 for d in _attr(n, "dilations", [1, 1])) or _attr(n, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ValueError(f"{label}: dilation or auto_pad; plain windows only")
    if p[0] >= k[0]:
        raise ValueError(f"{label}: pad {p[0]} not below the kernel {k[0]}")
    if len(n.output) > 1 and n.output[1]:
        raise ValueError(f"{label}: the Indices output is used")
    attrs = {"k": k[0], "stride": s[0], "padding": p[0]}
    if n.op_type == "AveragePool":
        attrs["count_include_pad"] = bool(_attr(n, "count_include_pad", 0))
    return _Op("maxpool" if n.op_type == "MaxPool" else "avgpool", _name(n), [g.resolve(n.input[0])],
               g.resolve(n.output[0]), attrs)


def _flatten(n, g: _Graph, label: str) -> _Op:
    x = g.resolve(n.input[0])
    shp = g.shapes.get(x)
    out = g.shapes.get(g.resolve(n.output[0])) or g.shapes.get(n.output[0])
    if n.op_type == "Flatten" and int(_attr(n, "axis", 1)) != 1:
        raise ValueError(f"{label}: axis {_attr(n, 'axis')}; only Flatten(axis=1) in front of the classifier")
    target = g.constant(n.input[1]) if n.op_type == "Reshape" else None
    if target is not None and shp and None not in shp[1:] and target.size == 2:
        feats = int(np.prod(shp[1:]))
        a, b = (int(v) for v in target)
        if b in (-1, feats) and a in (-1, 0, 1, shp[0]) and (a, b) != (-1, -1):
            out = [shp[0], feats]                          # [N, -1], [N, C*H*W], [-1, C*H*W]
    if not shp or not out or len(out) != 2 or None in shp[1:] or out[1] != int(np.prod(shp[1:])):
        raise ValueError(f"{label}: reshapes {shp} to {out}; only [N, C, H, W] -> [N, C*H*W] is supported")
    return _Op("flatten", _name(n), [x], g.resolve(n.output[0]))


def _gemm(n, g: _Graph, label: str, consumed: set) -> _Op:
    """A Gemm, or a MatMul (+ the Add of a constant bias), on a 2-D input [N, F_in]: weight
    [K, F_in] (float, alpha applied), bias [K] (beta applied), and a QDQ model's int8 weight with
    its scales [K] (alpha folded into them)."""
    a, wname = n.input[0], n.input[1]
    shp = g.shapes.get(g.resolve(a))
    if shp is None or len(shp) != 2:
        raise ValueError(f"{label}: input of shape {shp}; a dense layer takes [N, F] (after Flatten, Reshape "
                         "or global average pooling)")
    gemm = n.op_type == "Gemm"
    if gemm and int(_attr(n, "transA", 0)):
        raise ValueError(f"{label}: transA=1 is not supported")
    w = g.constant(wname)
    if w is None or w.ndim != 2:
        raise ValueError(f"{label}: the weight is not a constant matrix")
    trans_b = gemm and bool(int(_attr(n, "transB", 0)))     # stored [K, F_in]; else [F_in, K]
    w = w.astype(np.float64) if trans_b else w.astype(np.float64).T
    alpha = float(_attr(n, "alpha", 1.0)) if gemm else 1.0
    w = w * alpha
    bias, out = np.zeros(w.shape[0]), n.output[0]
    if gemm and len(n.input) > 2 and n.input[2]:
        c = g.constant(n.input[2])
        if c is None:
            raise ValueError(f"{label}: the bias is not a constant")
        bias = np.broadcast_to(c.astype(np.float64).reshape(-1), (w.shape[0],)) * float(_attr(n, "beta", 1.0))
    elif not gemm:                                                           # MatMul + Add of a constant
        rd = g.readers(out)
        if len(rd) == 1 and rd[0] is not None and rd[0].op_type == "Add":
            other = [i for i in rd[0].input if g.resolve(i) != g.resolve(out)]
            if other and g.constant(other[0]) is not None:
                bias = np.broadcast_to(g.constant(other[0]).astype(np.float64).reshape(-1), (w.shape[0],))
                consumed.add(id(rd[0]))
                out = rd[0].output[0]
    op = _Op("gemm", _name(n), [g.resolve(a)], g.resolve(out), {"relu": False}, w, np.array(bias, np.float64))
    q = g.quantised(wname)
    if q is not None:
        qw, s, axis = q
        if not trans_b:
            qw, axis = qw.T, 1 - axis % 2
        if s.size > 1 and axis % 2 != 0:
            raise ValueError(f"{label}: weight scales along the input axis")
        if alpha <= 0:
            raise ValueError(f"{label}: alpha {alpha:g} on quantised weights; alpha must be > 0 (it is folded "
                             "into the weight scale)")
        op.wq = (qw, np.broadcast_to(s.reshape(-1) * alpha, (w.shape[0],)).astype(np.float64))
    return op


# ---- quantisation -------------------------------------------------------------------------------

def calibrate(model, tensors: list[str], calib: np.ndarray, input_name: str, source: str) -> dict[str, float]:
    """max |x| / 127 of each tensor over the calibration images, from the float graph run in
    onnxruntime (sps.onnx_oracle: session, run_batched) with those tensors as extra outputs;
    onnxruntime's errors as a one-line ValueError naming `source`."""
    import onnx

    from sps.onnx_oracle import run_batched, session

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for t in tensors:
        if t not in have and t != input_name:
            m.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    what = f"{source} (calibration in onnxruntime)"
    sess = session(m, what=what)
    names = [t for t in tensors if t != input_name]
    amax = dict.fromkeys(tensors, 0.0)
    for outs in run_batched(sess, calib, names, what):
        for name, v in zip(names, outs):
            amax[name] = max(amax[name], float(np.abs(v).max()))
    if input_name in amax:
        amax[input_name] = float(np.abs(calib).max())
    return {t: activation_scale(a) for t, a in amax.items()}


def _choose(op: _Op, pps: str, period: int, dense: bool, qdq: bool) -> str | dict:
    """The PPS recorded for a 3x3 conv (models.qnet: JSON, or "dense")."""
    w = op.wq[0] if qdq else op.w
    if dense or pps == "dense":
        return "dense"
    if pps == "auto":
        try:
            found = infer_pps(w != 0)
        except PPSError:
            return "dense"
        return "dense" if found.is_dense else found.to_json()
    from models.masks import choose_pps

    n = {"ps1": 1, "ps2": 2, "ps4": 4, "psd": (9,) + (4,) * (period - 1)}[pps]
    chosen = choose_pps(w.astype(np.float64), n, period)
    return chosen.to_json()


def _project(w: np.ndarray, pps_attr) -> np.ndarray:
    if pps_attr == "dense" or w.shape[2:] != (3, 3):
        return w
    mask = PPS.from_json(pps_attr).kernel_mask(*w.shape[:2])
    return np.where(mask, w, np.zeros((), w.dtype))


@dataclasses.dataclass
class Imported:
    qnet: QNet
    quantised_from: str          # "calibration (N images)" or "QDQ model"


def import_onnx(path, calib: np.ndarray | None = None, pps: str = "auto", period: int = 4,
                first_dense: bool = False, name: str | None = None) -> Imported:
    """An ONNX CNN as a QNet (module docstring). ValueError (one line) on bad input,
    UnsupportedModel (one line per problem) on operators or attributes the array cannot run."""
    if pps not in PPS_CHOICES:
        raise ValueError(f"--pps {pps!r}: expected one of {', '.join(PPS_CHOICES)}")
    if not isinstance(period, int) or period < 1:
        raise ValueError(f"--period {period!r}: expected an integer >= 1")
    src = str(path)
    g = _Graph(load_model(path), src)
    ops = _parse(g)
    qdq = bool(g.qconst) or bool(g.scale)
    convs = [o for o in ops if o.kind == "conv"]
    if not convs:
        raise UnsupportedModel([f"{src}: the model has no Conv: nothing would run on the array"])
    outs = {g.resolve(o) for o in g.outputs}
    if len(outs) != 1:
        raise UnsupportedModel([f"{src}: {len(outs)} graph outputs; the importer takes one (the logits)"])
    last = ops[-1]
    if last.kind != "gemm" or last.out not in outs:
        raise UnsupportedModel([f"node {last.name!r}: the network must end in its classifier (Gemm, or MatMul + "
                                "Add) whose output is the graph output"])
    if last.attrs.get("relu"):
        raise UnsupportedModel([f"node {last.name!r}: a Relu after the classifier; the logits are the classifier's "
                                "own output (remove the Relu)"])
    C, H, W = (int(v) for v in g.shapes[g.input][1:])
    # which tensors carry their own scale
    own = [g.input] + [o.out for o in ops if o.kind in ("conv", "add") or (o.kind == "gemm" and o is not last)]
    if qdq:
        missing = [t for t in own if t not in g.scale]
        if missing:
            raise UnsupportedModel([f"{src}: tensor {t!r} has no QuantizeLinear; a QDQ model must quantise every "
                                    "conv, add and the input (or import the float model with --calib)" for t in missing])
        scales = {t: g.scale[t] for t in own}
        how = "QDQ model (its scales and integer weights)"
    else:
        if calib is None:
            raise ValueError(f"{src} is a float model: give --calib X.npy (float32 [N, {C}, {H}, {W}] images as the "
                             "model expects them) to choose its activation scales")
        calib = np.asarray(calib)
        if calib.dtype.kind != "f" or calib.ndim != 4 or tuple(calib.shape[1:]) != (C, H, W) or not len(calib):
            raise ValueError(f"--calib: expected float images [N, {C}, {H}, {W}], got {calib.dtype} {list(calib.shape)}")
        scales = calibrate(g.model, own, calib.astype(np.float32), g.input, src)
        how = f"calibration ({len(calib)} images, max |x| / 127 per tensor)"
    return Imported(_build(g, ops, scales, qdq, pps, period, first_dense, name or Path(src).stem, (C, H, W)),
                    how)


def _conv_arrays(op: _Op, qdq: bool, pps_attr, s_in: float, s_out: float) -> dict:
    """int8 weights (projected onto the layer's PPS), int32 bias and (M, shift) of a conv or inner
    dense layer: a QDQ model's own integers, or the float weights quantised per output channel.
    A float filter whose weights are tiny beside its bias (e.g. a BatchNorm gamma near 0) gets its
    weight scale raised until the bias fits in BIAS_BITS bits: the output stays the bias, the
    weights lose only what is below that scale. A QDQ model's weight scale is its own: a bias
    that does not fit int32 at it is refused."""
    if qdq and op.wq is not None:
        wq, s_w = _project(op.wq[0].astype(np.int8), pps_attr), op.wq[1]
    else:
        wq, s_w = quantize_weights(_project(op.w, pps_attr), np.abs(op.b) / (s_in * 2.0 ** BIAS_BITS))
    if qdq and op.bq is not None and np.allclose(op.bq[1], s_in * s_w, rtol=1e-4):
        bias = op.bq[0].astype(np.int32)                   # stored in units of s_in * s_w, as the array adds it
    else:
        try:
            bias = quantize_bias(op.b, s_in, s_w)
        except OverflowError as e:
            raise ValueError(f"node {op.name!r}: {e} at the model's weight scale (input scale {s_in:.3g})") from None
    M, sh = requant_params(s_in, s_w, s_out)
    return {"weight": wq, "bias": bias, "M": M, "shift": sh}


def _build(g: _Graph, ops: list[_Op], scales: dict, qdq: bool, pps: str, period: int, first_dense: bool,
           name: str, in_shape) -> QNet:
    tname = {g.input: "input"}
    tscale = {"input": scales[g.input]}
    tshape = {"input": tuple(in_shape)}
    gap_of: dict[str, str] = {}              # ONNX tensor after a GAP (and flatten) -> the pooled tensor
    nodes: list[Node] = []
    first_conv = True
    last = ops[-1]
    for op in ops:
        if op.kind == "gap" or (op.kind == "flatten" and op.inputs[0] in gap_of):
            gap_of[op.out] = gap_of.get(op.inputs[0], op.inputs[0])
            continue
        for t in op.inputs:                            # a pooled vector read by another layer: its int8 mean
            if t in gap_of and op is not last:
                src = tname[gap_of.pop(t)]
                pooled = f"t{len(nodes)}"
                nodes.append(Node("gap", f"{op.name}.gap", [src], pooled))
                tshape[pooled], tscale[pooled] = (tshape[src][0], 1, 1), tscale[src]
                tname[t] = pooled
        x = tname.get(op.inputs[0])
        if x is None and op.inputs[0] not in gap_of:
            raise UnsupportedModel([f"node {op.name!r}: its input {op.inputs[0]!r} is not produced by a supported node"])
        if op.kind == "flatten" and last.inputs[0] == op.out:
            tname[op.out] = x                              # the classifier flattens by itself
            continue
        out = "logits" if op is last else f"t{len(nodes)}"
        s_in = tscale.get(x) if x is not None else None
        shp = tshape.get(x)
        if op.kind == "conv":
            k = op.w.shape[2]
            s_out = scales[op.out]
            node_pps = _choose(op, pps, period, first_dense and first_conv, qdq) if k == 3 else "dense"
            nodes.append(Node("conv", op.name, [x], out,
                              {"stride": op.attrs["stride"], "padding": op.attrs["padding"],
                               "relu": bool(op.attrs.get("relu")), "pps": node_pps},
                              _conv_arrays(op, qdq, node_pps, s_in, s_out)))
            first_conv = False
            Ho = (shp[1] + 2 * op.attrs["padding"] - k) // op.attrs["stride"] + 1
            Wo = (shp[2] + 2 * op.attrs["padding"] - k) // op.attrs["stride"] + 1
            tshape[out], tscale[out] = (op.w.shape[0], Ho, Wo), s_out
        elif op.kind in ("maxpool", "avgpool", "relu"):
            nodes.append(Node(op.kind, op.name, [x], out, dict(op.attrs)))
            if op.kind == "relu":
                tshape[out] = shp
            else:
                a = op.attrs
                po = lambda n: (n + 2 * a["padding"] - a["k"]) // a["stride"] + 1
                tshape[out] = (shp[0], po(shp[1]), po(shp[2]))
                if min(tshape[out][1:]) < 1:
                    raise UnsupportedModel([f"node {op.name!r}: a {a['k']}x{a['k']} window larger than its padded "
                                            f"input {shp[1]}x{shp[2]}"])
            tscale[out] = s_in
        elif op.kind == "flatten":
            nodes.append(Node("flatten", op.name, [x], out))
            tshape[out], tscale[out] = (int(np.prod(shp)), 1, 1), s_in
        elif op.kind == "add":
            y = tname.get(op.inputs[1])
            if y is None:
                raise UnsupportedModel([f"node {op.name!r}: its input {op.inputs[1]!r} is not produced by a "
                                        "supported node"])
            s_out = scales[op.out]
            Ma, sha = quantize_multiplier(s_in / s_out)
            Mb, shb = quantize_multiplier(tscale[y] / s_out)
            nodes.append(Node("add", op.name, [x, y], out, {"Ma": int(Ma), "sha": int(sha), "Mb": int(Mb),
                                                           "shb": int(shb), "relu": bool(op.attrs.get("relu"))}))
            tshape[out], tscale[out] = shp, s_out
        elif op.kind == "gemm" and op is last:
            gap = op.inputs[0] in gap_of
            if gap:
                x = tname[gap_of[op.inputs[0]]]
                s_in, shp = tscale[x], tshape[x]
            feats = shp[0] if gap else int(np.prod(shp))
            if op.w.shape[1] != feats:
                raise UnsupportedModel([f"node {op.name!r}: classifier of {op.w.shape[1]} inputs on {feats} features"])
            wq, bias = quantize_classifier(op.w, op.b, s_in, shp[1] * shp[2] if gap else 1)
            nodes.append(Node("linear", op.name, [x], "logits", {"gap": bool(gap)}, {"weight": wq, "bias": bias}))
        elif op.kind == "gemm":                            # an inner dense layer: a 1x1 conv
            if len(shp) == 3 and shp[1:] != (1, 1):
                flat = f"t{len(nodes)}"
                nodes.append(Node("flatten", op.name + ".flatten", [x], flat))
                tshape[flat], tscale[flat] = (int(np.prod(shp)), 1, 1), s_in
                x, out = flat, f"t{len(nodes)}"
            s_out = scales[op.out]
            arrays = _conv_arrays(op, qdq, "dense", s_in, s_out)
            arrays["weight"] = arrays["weight"].reshape(op.w.shape[0], -1, 1, 1)
            nodes.append(Node("conv", op.name, [x], out, {"stride": 1, "padding": 0,
                                                         "relu": bool(op.attrs.get("relu")), "pps": "dense"}, arrays))
            tshape[out], tscale[out] = (op.w.shape[0], 1, 1), s_out
        tname[op.out] = out
    return QNet(name, tuple(in_shape), float(scales[g.input]), nodes,
                {t: float(s) for t, s in tscale.items()})
