"""sps.onnx_oracle: onnxruntime as a second oracle of the integer reference (models.qnet).

The QNet goes to a QDQ ONNX model with our scales and integer weights; each conv run alone in
onnxruntime on our int8 inputs must match our int8 outputs on >= 99.9 % of the values and never
by more than 1 (ties: ours round up, onnxruntime to even), on both paths onnxruntime can take
(float32 Conv, integer QLinearConv); the whole network must give the same top-1 class."""
from __future__ import annotations

import copy

from pathlib import Path

import numpy as np
import onnx
import pytest

from models.qnet import Node, QNet, run_node, run_reference
from models.quant import quantize_multiplier, requant_params
from models.reference import conv2d_int
from sps import onnx_oracle as O



def _exact_int8_kernel() -> bool:
    """onnxruntime's x86 QLinearConv sums int8 products exactly with VNNI; plain AVX2 (VPMADDUBSW)
    can saturate its int16 pair sums, so the integer path is compared only where it is exact."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


PATHS = sorted(p for p in O.PATHS if p != "qlinear" or _exact_int8_kernel())


def _agreement_ok(report: dict) -> None:
    assert report, "no conv layers compared"
    for name, r in report.items():
        assert r["exact_fraction"] >= 0.999, (name, r)
        assert r["max_abs_diff"] <= 1, (name, r)
        assert sum(r["diff_counts"].values()) == r["n"] > 0


def _one_diff_rate(report: dict) -> float:
    n = sum(r["n"] for r in report.values())
    return sum(c for r in report.values() for d, c in r["diff_counts"].items() if d) / n


# ---- the tiny QNet with every op ---------------------------------------------------------------

class _Builder:
    """Build a QNet node by node on calibration images, choosing each output scale from the
    values it really takes (so nothing saturates wholesale)."""

    def __init__(self, rng, images: np.ndarray):
        self.rng = rng
        s_in = float(np.abs(images).max() / 127)
        self.q = QNet("tiny", tuple(images.shape[1:]), s_in, [], {"input": s_in})
        self.vals = {"input": [self.q.quantize_input(x) for x in images]}

    def _push(self, node: Node, scale: float) -> str:
        self.q.nodes.append(node)
        self.q.scales[node.out] = scale
        self.vals[node.out] = [run_node(node, [v[i] for v in (self.vals[n] for n in node.inputs)])
                               for i in range(len(self.vals["input"]))]
        return node.out

    def conv(self, x: str, F: int, k: int, stride: int, padding: int, relu: bool) -> str:
        C = self.vals[x][0].shape[0]
        w = self.rng.integers(-127, 128, (F, C, k, k)).astype(np.int8)
        bias = self.rng.integers(-3000, 3000, F).astype(np.int32)
        s_w = self.rng.uniform(0.5, 2.0, F) * 1e-2
        acc = np.stack([conv2d_int(v, w, bias, stride, padding) for v in self.vals[x]]).astype(np.float64)
        s_x = self.q.scales[x]
        s_out = float(np.abs(acc * (s_x * s_w)[None, :, None, None]).max() / 127)
        M, sh = requant_params(s_x, s_w, s_out)
        out = f"t{len(self.q.nodes)}"
        return self._push(Node("conv", f"c{len(self.q.nodes)}", [x], out,
                               {"stride": stride, "padding": padding, "relu": relu},
                               {"weight": w, "bias": bias, "M": M, "shift": sh}), s_out)

    def simple(self, op: str, x: str, **attrs) -> str:
        return self._push(Node(op, f"{op}{len(self.q.nodes)}", [x], f"t{len(self.q.nodes)}", attrs),
                          self.q.scales[x])

    def add(self, a: str, b: str, relu: bool) -> str:
        sa, sb = self.q.scales[a], self.q.scales[b]
        s_out = max(float(np.abs(x * sa + y * sb).max()) for x, y in zip(self.vals[a], self.vals[b])) / 127
        (Ma, sha), (Mb, shb) = quantize_multiplier(sa / s_out), quantize_multiplier(sb / s_out)
        return self._push(Node("add", f"add{len(self.q.nodes)}", [a, b], f"t{len(self.q.nodes)}",
                               {"Ma": Ma, "sha": sha, "Mb": Mb, "shb": shb, "relu": relu}), s_out)

    def linear(self, x: str, K: int, gap: bool) -> None:
        feat = self.vals[x][0].shape[0] if gap else self.vals[x][0].size
        w = self.rng.integers(-127, 128, (K, feat)).astype(np.int8)
        bias = self.rng.integers(-5000, 5000, K).astype(np.int64)
        self.q.nodes.append(Node("linear", "fc", [x], "logits", {"gap": gap}, {"weight": w, "bias": bias}))


def tiny_qnet(gap: bool, seed: int = 0) -> tuple[QNet, np.ndarray]:
    """Every op: conv 3x3 and 1x1, maxpool 3x3 s2 p1, avgpool with and without count_include_pad,
    add, relu, flatten then a 1x1 conv, linear with or without gap. Returns (qnet, images)."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(16, 2, 9, 9)).astype(np.float32)
    b = _Builder(rng, images)
    t = b.conv("input", 4, 3, 1, 1, relu=True)                       # [4, 9, 9]
    t = b.simple("maxpool", t, k=3, stride=2, padding=1)              # [4, 5, 5]
    p1 = b.simple("avgpool", t, k=3, stride=1, padding=1, count_include_pad=True)
    p2 = b.simple("avgpool", t, k=3, stride=1, padding=1, count_include_pad=False)
    a = b.conv(p1, 6, 1, 1, 0, relu=False)                            # [6, 5, 5]
    c = b.conv(p2, 6, 3, 1, 1, relu=True)                             # [6, 5, 5]
    t = b.simple("relu", b.add(a, c, relu=False))
    if not gap:
        t = b.conv(b.simple("flatten", t), 8, 1, 1, 0, relu=True)    # [150, 1, 1] -> [8, 1, 1]
    b.linear(t, 5, gap)
    return b.q, images


@pytest.fixture(scope="module", params=[False, True], ids=["flat", "gap"])
def tiny(request):
    q, images = tiny_qnet(request.param)
    return q, images, [run_reference(q, q.quantize_input(x)) for x in images]


def test_tiny_qnet_covers_every_op(tiny):
    q, _, _ = tiny
    ops = {n.op for n in q.nodes}
    assert ops >= {"conv", "maxpool", "avgpool", "relu", "add", "linear"}
    assert ("flatten" in ops) != q.nodes[-1].attrs["gap"]


@pytest.mark.parametrize("path", PATHS)
def test_tiny_per_layer(tiny, path):
    q, _, tensors = tiny
    report = O.per_layer_agreement(q, tensors, path)
    assert set(report) == {n.name for n in q.nodes if n.op == "conv"}
    _agreement_ok(report)


@pytest.mark.parametrize("int_relu", [False, True])
def test_tiny_end_to_end(tiny, int_relu):
    q, images, tensors = tiny
    model = O.qnet_to_qdq(q, int_relu)
    onnx.checker.check_model(model, full_check=True)
    ours = np.stack([t["logits"] for t in tensors])
    r = O.end_to_end(q, model, images, ours, qdq_int8=int_relu)
    assert r["n"] == len(images)
    assert r["top1_agreement_qdq"] == 1.0
    assert r["logits_cosine_qdq"] > 0.999


# ---- the scales -----------------------------------------------------------------------------------

def test_effective_weight_scales_give_our_ratio():
    rng = np.random.default_rng(1)
    s_in, s_out = 0.0213, 0.0417
    M, sh = requant_params(s_in, rng.uniform(1e-3, 1e-2, 200), s_out)
    s_w = O.conv_weight_scales(s_in, s_out, M, sh)
    assert s_w.dtype == np.float32 and s_w.shape == (200,)
    target = np.ldexp(M.astype(np.float64), -sh.astype(np.int64))
    got = O._requant_f32(s_in, s_w, s_out).astype(np.float64)
    rel = np.abs(got / target - 1)
    assert rel.max() <= 2 ** -23                        # within float32 rounding
    assert np.mean(rel == 0) > 0.5                      # and exactly ours for most filters


# ---- digits and resnet18 ---------------------------------------------------------------------------

def _net(name: str, n_images: int):
    from models.prepare import load_float, quantized
    m, pps, _ = load_float(name)
    q = quantized(name, m, pps)
    if name == "digits":
        from models import data as D
        x, y = D.digits("test")
        images, labels = x[:n_images].numpy().astype(np.float32), y[:n_images].numpy()
    else:
        images = np.random.default_rng(5).normal(size=(n_images, *q.input_shape)).astype(np.float32)
        labels = None
    return q, images, labels, [run_reference(q, q.quantize_input(x)) for x in images]


@pytest.fixture(scope="module")
def digits():
    return _net("digits", 16)


@pytest.fixture(scope="module")
def resnet():
    return _net("resnet18", 2)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("net", ["digits", "resnet"])
def test_per_layer_agreement(request, net, path):
    q, _, _, tensors = request.getfixturevalue(net)
    report = O.per_layer_agreement(q, tensors, path)
    assert len(report) == sum(n.op == "conv" for n in q.nodes)
    _agreement_ok(report)
    assert _one_diff_rate(report) < 1e-4
    print(f"{net} {path}: 1-difference rate {_one_diff_rate(report):.2e} over "
          f"{sum(r['n'] for r in report.values())} outputs")


@pytest.mark.parametrize("int_relu", [False, True])
@pytest.mark.parametrize("net", ["digits", "resnet"])
def test_end_to_end(request, net, int_relu):
    q, images, labels, tensors = request.getfixturevalue(net)
    model = O.qnet_to_qdq(q, int_relu)
    onnx.checker.check_model(model, full_check=True)
    assert [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim[:1]] == ["N"]
    ours = np.stack([t["logits"] for t in tensors])
    r = O.end_to_end(q, model, images, ours, labels=labels, qdq_int8=int_relu)
    assert r["top1_agreement_qdq"] == 1.0
    assert r["logits_cosine_qdq"] > 0.99
    if labels is not None:
        assert r["accuracy"]["qdq"] == r["accuracy"]["ours"] >= 0.9


def test_end_to_end_float_model(digits):
    """A float ONNX model with a fixed batch of 1 runs image by image: here the QDQ model with
    batch 1 stands in for it (no torch export needed)."""
    q, images, labels, tensors = digits
    fixed = O.qnet_to_qdq(q)
    fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    ours = np.stack([t["logits"] for t in tensors])
    r = O.end_to_end(q, O.qnet_to_qdq(q), images, ours, float_model=fixed, labels=labels)
    assert r["top1_agreement_float"] == 1.0
    assert set(r["accuracy"]) == {"ours", "qdq", "float"}


def test_fixed_batch_runs_in_chunks(tiny):
    """A model with a fixed batch of 3 runs 16 images in chunks of 3 (the last filled up with copies
    of its last image, their outputs dropped): the logits of the batch-free model."""
    q, images, tensors = tiny
    fixed = O.qnet_to_qdq(q)
    fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 3
    free = np.concatenate([o[0] for o in O.run_batched(O.session(O.qnet_to_qdq(q)), images)])
    chunks = list(O.run_batched(O.session(fixed), images))
    assert [len(c[0]) for c in chunks] == [3, 3, 3, 3, 3, 1]
    assert np.allclose(np.concatenate([c[0] for c in chunks]), free, rtol=1e-5)   # float32 sums of other batches
    ours = np.stack([t["logits"] for t in tensors])
    assert O.end_to_end(q, O.qnet_to_qdq(q), images, ours, float_model=fixed)["top1_agreement_float"] == 1.0


def test_user_model_errors_are_one_line(tiny, tmp_path):
    """onnxruntime's own exceptions (not ValueError) on a user's model become one line naming it."""
    q, images, _ = tiny
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage" * 9)
    with pytest.raises(ValueError, match=r"^--onnx x: onnxruntime cannot load it \(.*\)$"):
        O.session(tmp_path / "junk.onnx", what="--onnx x")
    with pytest.raises(O.ORT_ERRORS):                       # our own models: onnxruntime's exception as it is
        O.session(tmp_path / "junk.onnx")
    with pytest.raises(ValueError, match=r"^m: onnxruntime cannot run it \(.*\)$"):
        next(O.run_batched(O.session(O.qnet_to_qdq(q)), images[:, :1], what="m"))
    with pytest.raises(ValueError, match=r"^m: input 'input' is tensor\(float\) \['N', 2, 9, 9\]; the network takes "
                                         r"tensor\(float\) \[N, 2, 9, 8\]$"):
        onnx.save(O.qnet_to_qdq(q), tmp_path / "q.onnx")
        O.float_model_session(tmp_path / "q.onnx", (2, 9, 8), "m")


def test_planted_error_is_detected(digits):
    """Our reference with conv2's M 20 % too large against onnxruntime with the right M."""
    q, images, _, _ = digits
    bad = copy.deepcopy(q)
    node = next(n for n in bad.nodes if n.name == "conv2")
    node.arrays["M"] = np.minimum(node.arrays["M"].astype(np.int64) * 6 // 5, 65535).astype(np.uint16)
    tensors = [run_reference(bad, bad.quantize_input(x)) for x in images]
    for path in PATHS:
        report = O.per_layer_agreement(q, tensors, path)
        assert report["conv2"]["max_abs_diff"] > 1
        assert report["conv2"]["exact_fraction"] < 0.999
        assert all(r["max_abs_diff"] <= 1 for k, r in report.items() if k != "conv2")


# ---- what onnxruntime does with the graphs -----------------------------------------------------------

def test_fusion_as_documented(digits):
    q = digits[0]
    conv = next(n for n in q.nodes if n.op == "conv" and n.attrs["relu"])
    plain = O.optimized_op_types(O.layer_model(q, conv))
    assert "QLinearConv" not in plain and "FusedConv" in plain            # float32 Conv + Relu
    fused = O.optimized_op_types(O.layer_model(q, conv, int_relu=True), qdq_int8=True)
    assert "QLinearConv" in fused and "Conv" not in fused and "FusedConv" not in fused


def test_layer_model_shapes_and_types(digits):
    q = digits[0]
    m = O.layer_model(q, "conv3")
    onnx.checker.check_model(m, full_check=True)
    x, y = m.graph.input[0].type.tensor_type, m.graph.output[0].type.tensor_type
    assert x.elem_type == y.elem_type == onnx.TensorProto.INT8
    assert [d.dim_value for d in y.shape.dim[1:]] == [q.nodes[3].arrays["weight"].shape[0], 4, 4]
    assert m.opset_import[0].version == O.OPSET


# ---- bad input ---------------------------------------------------------------------------------------

def test_bad_input(tiny):
    q, images, tensors = tiny
    with pytest.raises(ValueError, match="needs a conv node"):
        O.layer_model(q, next(n for n in q.nodes if n.op == "maxpool"))
    with pytest.raises(ValueError, match="no node named"):
        O.layer_model(q, "nope")
    with pytest.raises(ValueError, match="path must be one of"):
        O.per_layer_agreement(q, tensors, "int4")
    with pytest.raises(ValueError, match="missing from tensors_per_image"):
        O.per_layer_agreement(q, [{"input": tensors[0]["input"]}])
    with pytest.raises(ValueError, match="non-empty list"):
        O.per_layer_agreement(q, [])
    ours = np.stack([t["logits"] for t in tensors])
    model = O.qnet_to_qdq(q)
    with pytest.raises(ValueError, match="images must be float32"):
        O.end_to_end(q, model, images.astype(np.float64), ours)
    with pytest.raises(ValueError, match="our_logits must be"):
        O.end_to_end(q, model, images, ours[:3])
    with pytest.raises(ValueError, match="labels must be"):
        O.end_to_end(q, model, images, ours, labels=np.zeros(2))
    odd = copy.deepcopy(q)
    odd.nodes.insert(1, Node("softmax", "sm", [odd.nodes[0].out], "x"))
    with pytest.raises(ValueError, match="unknown op 'softmax'"):
        O.qnet_to_qdq(odd)
    noscale = copy.deepcopy(q)
    del noscale.scales[noscale.nodes[0].out]
    with pytest.raises(ValueError, match="has no positive scale"):
        O.qnet_to_qdq(noscale)
