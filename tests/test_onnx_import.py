"""sps import: ONNX models exported here from PyTorch (tests/onnx_zoo.py) and made by
onnxruntime.quantization, imported, compiled (every conv on the array) and run through the
compiler's functional model against the integer reference; the refusals, one line per node."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from compiler.network import NetProgram
from models.qnet import QNet, run_reference
from sps.cli import main
from sps.onnx_import import UnsupportedModel, import_onnx
from tests.onnx_zoo import ZOO, build, export, images, quantize_qdq


def _float_logits(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def _check_network(qnet, x, float_path=None, min_agree=0.9):
    """Every conv on the array, the functional model equal to the reference on every image, and
    the int8 network's top-1 close to the float model's."""
    net = NetProgram(qnet)
    assert all(st.where == "array" for st in net.stages if st.kind.startswith("conv"))
    xq = qnet.quantize_input(x)
    ours = []
    for xi in xq:
        got, ref = net.run(xi), run_reference(qnet, xi)
        for k in ref:
            assert np.array_equal(got[k], ref[k]), k
        ours.append(int(np.argmax(ref["logits"])))
    if float_path is not None:
        agree = np.mean(np.array(ours) == _float_logits(float_path, x).argmax(axis=1))
        assert agree >= min_agree, agree
    return net


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    d = tmp_path_factory.mktemp("zoo")
    out = {}
    for name in ZOO:
        m = build(name)
        out[name] = (export(m, m.shape, d / f"{name}.onnx"), images(m.shape, 48, 1), images(m.shape, 24, 2))
    return out


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_float_models(zoo, name):
    path, calib, x = zoo[name]
    imp = import_onnx(path, calib)
    assert imp.qnet.input_shape == ZOO[name].shape
    _check_network(imp.qnet, x, path)


def test_batchnorm_kept_as_a_node_is_folded(zoo, tmp_path):
    m = build("res_stride2")
    path = export(m, m.shape, tmp_path / "bn.onnx", fold_bn=False)
    assert "BatchNormalization" in {n.op_type for n in onnx.load(path).graph.node}
    a, b = import_onnx(path, zoo["res_stride2"][1]).qnet, import_onnx(zoo["res_stride2"][0], zoo["res_stride2"][1]).qnet
    assert [n.op for n in a.nodes] == [n.op for n in b.nodes]
    for na, nb in zip(a.nodes, b.nodes):          # folded by us or by the exporter: the same int8 network
        for k in na.arrays:
            assert np.abs(na.arrays[k].astype(np.int64) - nb.arrays[k].astype(np.int64)).max() <= 1, (na.name, k)
    _check_network(a, zoo["res_stride2"][2], path)


def test_qdq_model_keeps_its_scales(zoo, tmp_path):
    path, calib, x = zoo["res_stride2"]
    qdq = quantize_qdq(path, calib, tmp_path / "q.onnx")
    imp = import_onnx(qdq)
    assert imp.quantised_from.startswith("QDQ")
    g = onnx.load(qdq).graph
    q_in = next(n for n in g.node if n.op_type == "QuantizeLinear" and n.input[0] == "input")
    s_in = next(onnx.numpy_helper.to_array(t) for t in g.initializer if t.name == q_in.input[1])
    assert imp.qnet.input_scale == pytest.approx(float(s_in.reshape(())))
    _check_network(imp.qnet, x, path)


def test_pps_auto_finds_the_trained_pps_and_psn_projects(zoo):
    path, calib, _ = zoo["pps_trained"]
    pps = [n.attrs["pps"] for n in import_onnx(path, calib).qnet.nodes if n.op == "conv"]
    assert pps[0] == "dense" and all(isinstance(p, dict) and len(p["patterns"]) == 4 for p in pps[1:3])
    path, calib, x = zoo["odd_pad0"]
    q = import_onnx(path, calib, pps="ps2", period=2, first_dense=True).qnet
    convs = [n for n in q.nodes if n.op == "conv"]
    assert convs[0].attrs["pps"] == "dense"
    assert [len(p) for p in convs[1].attrs["pps"]["patterns"]] == [2, 2]
    nz = (convs[1].arrays["weight"] != 0).reshape(*convs[1].arrays["weight"].shape[:2], 9).sum(axis=2)
    assert nz.max() <= 2
    _check_network(q, x)


def test_sps_import_command_writes_net_and_qdq(zoo, tmp_path, capsys):
    path, calib, x = zoo["one_by_one"]
    np.save(tmp_path / "calib.npy", calib)
    out = tmp_path / "net.npz"
    assert main(["import", str(path), "--calib", str(tmp_path / "calib.npy"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    # every MAC on the array but the classifier's 10 x 3: 162,112 of 162,142
    assert "MACs on the array: 99.9815% of 162,142" in text and "conv1x1  array" in text
    assert "/fc2/Gemm  linear   host" in text and "host: classifier" in text
    q = QNet.load(out)
    onnx.checker.check_model(onnx.load(tmp_path / "net.qdq.onnx"))
    _check_network(q, x, path)


# ---- refusals -------------------------------------------------------------------------------------

def _export_module(module, shape, path):
    return export(module.eval(), shape, path)


class _Seq(nn.Module):
    def __init__(self, body, head_in, shape):
        super().__init__()
        self.body, self.fc, self.shape = body, nn.Linear(head_in, 3), shape

    def forward(self, x):
        return self.fc(torch.flatten(self.body(x), 1))


REFUSED = {
    "depthwise": (nn.Conv2d(4, 4, 3, padding=1, groups=4), 4 * 6 * 6, "group=4 (grouped or depthwise conv)"),
    "5x5": (nn.Conv2d(4, 4, 5, padding=2), 4 * 6 * 6, "kernel 5x5"),
    "dilation": (nn.Conv2d(4, 4, 3, padding=2, dilation=2), 4 * 6 * 6, "dilation [2, 2]"),
    "sigmoid": (nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Sigmoid()), 4 * 6 * 6, "operator Sigmoid is not supported"),
    "pads2": (nn.Conv2d(4, 4, 3, padding=2), 4 * 8 * 8, "pads [2, 2, 2, 2]"),
    "stride3": (nn.Conv2d(4, 4, 3, stride=3, padding=1), 4 * 2 * 2, "strides [3, 3]"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unsupported_node_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    body, feats, why = REFUSED[case]
    path = _export_module(_Seq(body, feats, (4, 6, 6)), (4, 6, 6), tmp_path / "m.onnx")
    np.save(tmp_path / "c.npy", images((4, 6, 6), 4))
    out = tmp_path / "net.npz"
    assert main(["import", str(path), "--calib", str(tmp_path / "c.npy"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0] and err[0].startswith("sps import: error: node ")
    assert not out.exists() and not (tmp_path / "net.qdq.onnx").exists()


def test_concat_refused_naming_the_node(tmp_path, capsys):
    class Cat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.fc = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(2, 3, 1), nn.Linear(6 * 4 * 4, 2)

        def forward(self, x):
            return self.fc(torch.flatten(torch.cat([self.a(x), torch.sigmoid(self.b(x))], 1), 1))
    path = export(Cat().eval(), (2, 4, 4), tmp_path / "m.onnx")
    with pytest.raises(UnsupportedModel) as e:
        import_onnx(path, images((2, 4, 4), 2))
    ops = sorted(line.split("(")[1].split(")")[0] for line in e.value.problems)
    assert ops == ["Concat", "Sigmoid"]                  # every unsupported node, one line each


def test_bad_inputs_one_line(zoo, tmp_path, capsys):
    path, calib, _ = zoo["nonsquare"]
    out = str(tmp_path / "n.npz")
    cases = [
        (["import", str(path), "--out", out], "is a float model: give --calib"),
        (["import", str(tmp_path / "none.onnx"), "--out", out], "not a readable ONNX model"),
    ]
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage" * 9)
    cases.append((["import", str(tmp_path / "junk.onnx"), "--out", out], "junk.onnx: not a readable ONNX model"))
    np.save(tmp_path / "wrong.npy", images((3, 10, 14), 2))
    cases.append((["import", str(path), "--calib", str(tmp_path / "wrong.npy"), "--out", out],
                  "--calib: expected float images [N, 1, 10, 14]"))
    for argv, msg in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and msg in err[0], (argv, err)
    assert not (tmp_path / "n.npz").exists()


def test_no_conv_and_asymmetric_qdq_refused(zoo, tmp_path):
    mlp = _Seq(nn.Identity(), 2 * 4 * 4, (2, 4, 4))
    with pytest.raises(UnsupportedModel, match="has no Conv"):
        import_onnx(export(mlp.eval(), (2, 4, 4), tmp_path / "mlp.onnx"), images((2, 4, 4), 2))
    path, calib, _ = zoo["res_stride2"]
    asym = quantize_qdq(path, calib, tmp_path / "asym.onnx", symmetric=False)
    with pytest.raises(UnsupportedModel, match="zero point .* symmetric int8"):
        import_onnx(asym)


def test_input_too_large_for_the_buffers(tmp_path, capsys):
    m = _Seq(nn.Conv2d(1, 2, 3, padding=1), 2 * 4 * 1100, (1, 4, 1100))
    path = export(m.eval(), (1, 4, 1100), tmp_path / "wide.onnx")
    np.save(tmp_path / "c.npy", images((1, 4, 1100), 2))
    assert main(["import", str(path), "--calib", str(tmp_path / "c.npy"), "--out", str(tmp_path / "w.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sps import: error:" in err[0]
    assert not (tmp_path / "w.npz").exists()


def test_hand_built_graph_with_opset_out_of_range(tmp_path):
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 4])
    g = helper.make_graph([helper.make_node("Relu", ["input"], ["y"])], "g", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])
    onnx.save(m, tmp_path / "old.onnx")
    with pytest.raises(UnsupportedModel, match="opset 11 .* opsets 13 to 21"):
        import_onnx(tmp_path / "old.onnx", images((1, 4, 4), 1))


def test_digits_exported_and_imported_is_the_same_int8_network(tmp_path):
    """Our digits CNN through torch.onnx.export and sps import (calibrated on the same images as
    models.ptq) is the int8 network `sps demo` runs: same integer weights, biases, requantisation
    and PPS cycles, the same predictions on the test set."""
    from models import data as D
    from models.prepare import calibration_images, load_float, quantized

    model, layer_pps, _ = load_float("digits")
    ours = quantized("digits", model, layer_pps)
    path = export(model, ours.input_shape, tmp_path / "digits.onnx")
    imp = import_onnx(path, calibration_images("digits").numpy()).qnet
    assert [n.op for n in imp.nodes] == [n.op for n in ours.nodes]
    for a, b in zip(imp.nodes, ours.nodes):
        for k in b.arrays:
            diff = np.abs(a.arrays[k].astype(np.int64) - b.arrays[k].astype(np.int64))
            # M: the activation maxima come from onnxruntime's float32 graph here, from torch there,
            # equal to a few ulps, so a 16-bit multiplier may land one step apart
            assert diff.max() <= 1 and (k == "M" or (diff == 0).mean() >= 0.999), (b.name, k)
    na, nb = NetProgram(imp), NetProgram(ours)
    assert [s.prog.cycles["total"] for s in na.array_stages] == [s.prog.cycles["total"] for s in nb.array_stages]
    x = D.digits("test")[0].numpy()
    pa = [int(np.argmax(run_reference(imp, v)["logits"])) for v in imp.quantize_input(x)]
    pb = [int(np.argmax(run_reference(ours, v)["logits"])) for v in ours.quantize_input(x)]
    assert np.mean(np.array(pa) == np.array(pb)) >= 0.998


# ---- QDQ models: their own integers and scales ------------------------------------------------------

def _q_scale_after(graph, tensor: str) -> float:
    """The scale of the QuantizeLinear that quantises `tensor`, following Relu / BatchNormalization."""
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    while True:
        readers = [n for n in graph.node if tensor in n.input]
        q = [n for n in readers if n.op_type == "QuantizeLinear"]
        if q:
            return float(inits[q[0].input[1]].reshape(()))
        (nxt,) = [n for n in readers if n.op_type in ("Relu", "BatchNormalization")]
        tensor = nxt.output[0]


def _dq_ints(graph, tensor: str) -> np.ndarray:
    """The integer initialiser behind the DequantizeLinear that outputs `tensor`."""
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    (dq,) = [n for n in graph.node if n.op_type == "DequantizeLinear" and n.output[0] == tensor]
    return inits[dq.input[0]]


@pytest.mark.parametrize("name", ["res_stride2", "one_by_one", "allconv_view"])
def test_qdq_models_keep_their_integers_and_scales(zoo, tmp_path, name):
    """quantize_static's int8 weights, int32 biases and activation scales are the QNet's, through
    Conv, Gemm transB=1 (one_by_one: an inner dense layer and the classifier) and MatMul
    (allconv_view's classifier); the classifier is re-quantised to one scale within half a step."""
    path, calib, x = zoo[name]
    qdq = quantize_qdq(path, calib, tmp_path / "q.onnx")
    qnet = import_onnx(qdq).qnet
    g = onnx.load(qdq).graph
    by_name = {n.name: n for n in g.node}
    q_in = next(n for n in g.node if n.op_type == "QuantizeLinear" and n.input[0] == "input")
    assert qnet.input_scale == _q_scale_after(g, "input") == qnet.scales["input"]
    assert q_in is not None
    checked = {"conv": 0, "gemm": 0, "add": 0, "linear": 0}
    for node in qnet.nodes:
        src = by_name.get(node.name)
        if node.op == "conv":
            w = _dq_ints(g, src.input[1])
            if src.op_type == "Gemm":                   # the inner dense layer as a 1x1 conv
                assert dict((a.name, a.i) for a in src.attribute)["transB"] == 1
                w = w.reshape(*w.shape, 1, 1)
                checked["gemm"] += 1
            else:
                assert np.array_equal(node.arrays["bias"], _dq_ints(g, src.input[2]))
                checked["conv"] += 1
            assert np.array_equal(node.arrays["weight"], w), node.name
            assert qnet.scales[node.out] == _q_scale_after(g, src.output[0]), node.name
        elif node.op == "add":
            assert qnet.scales[node.out] == _q_scale_after(g, src.output[0])
            checked["add"] += 1
        elif node.op == "linear":
            w = _dq_ints(g, src.input[1]).astype(np.float64)
            w = w if src.op_type == "Gemm" else w.T     # MatMul stores [F_in, K]
            (dq,) = [n for n in g.node if n.output[0] == src.input[1]]
            s = onnx.numpy_helper.to_array(next(t for t in g.initializer if t.name == dq.input[1]))
            w = w * s.reshape(-1, 1).astype(np.float64)
            step = np.abs(w).max() / 127
            assert np.abs(node.arrays["weight"] * step - w).max() <= step / 2 * (1 + 1e-9)
            checked["linear"] += 1
    assert checked["linear"] == 1 and checked["conv"] >= 3
    assert checked["gemm"] == (name == "one_by_one") and checked["add"] == (name == "res_stride2")
    _check_network(qnet, x, path)


def _set_attr(node, name, value):
    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    node.attribute.append(helper.make_attribute(name, value))


def test_qdq_gemm_alpha(zoo, tmp_path):
    """Gemm alpha on DequantizeLinear'd weights: folded into the inner layer's weight scale (the
    same integers, the requantisation halved: shift + 1), in the classifier's weights; onnxruntime
    on the changed QDQ model agrees. alpha <= 0 on quantised weights is refused."""
    path, calib, x = zoo["one_by_one"]
    qdq = quantize_qdq(path, calib, tmp_path / "q.onnx")
    base = {n.name: n for n in import_onnx(qdq).qnet.nodes}
    m = onnx.load(qdq)
    for n in m.graph.node:
        if n.op_type == "Gemm":
            _set_attr(n, "alpha", 0.5)
    onnx.save(m, tmp_path / "alpha.onnx")
    half = import_onnx(tmp_path / "alpha.onnx").qnet
    nodes = {n.name: n for n in half.nodes}
    fc1, fc2 = nodes["/fc1/Gemm"], nodes["/fc2/Gemm"]
    assert np.array_equal(fc1.arrays["weight"], base["/fc1/Gemm"].arrays["weight"])
    assert np.array_equal(fc1.arrays["M"], base["/fc1/Gemm"].arrays["M"])
    assert np.array_equal(fc1.arrays["shift"], base["/fc1/Gemm"].arrays["shift"] + 1)
    assert np.abs(fc1.arrays["bias"].astype(np.int64) - 2 * base["/fc1/Gemm"].arrays["bias"]).max() <= 1
    assert np.array_equal(fc2.arrays["weight"], base["/fc2/Gemm"].arrays["weight"])
    assert np.abs(fc2.arrays["bias"] - 2 * base["/fc2/Gemm"].arrays["bias"]).max() <= 1
    _check_network(half, x, tmp_path / "alpha.onnx")
    fc = next(n for n in m.graph.node if n.name == "/fc1/Gemm")
    _set_attr(fc, "alpha", -1.0)
    onnx.save(m, tmp_path / "neg.onnx")
    with pytest.raises(UnsupportedModel) as e:
        import_onnx(tmp_path / "neg.onnx")
    assert e.value.problems == ["node '/fc1/Gemm' (Gemm): alpha -1 on quantised weights; alpha must be > 0 (it "
                                "is folded into the weight scale)"]


def test_quantize_linear_must_give_int8(zoo, tmp_path):
    """A QuantizeLinear without a zero point outputs uint8: refused; with output_dtype INT8
    (opset 21) it is int8 and the model imports as with its int8 zero point of 0."""
    path, calib, _ = zoo["res_stride2"]
    qdq = quantize_qdq(path, calib, tmp_path / "q.onnx")
    base = import_onnx(qdq).qnet

    def without_zp(out, output_dtype=None):
        m = onnx.load(qdq)
        q_in = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "input")
        del q_in.input[2]
        if output_dtype is not None:
            m.opset_import[0].version = 21
            _set_attr(q_in, "output_dtype", output_dtype)
        onnx.save(m, tmp_path / out)
        return tmp_path / out, q_in.name

    p, qname = without_zp("nozp.onnx")
    with pytest.raises(UnsupportedModel) as e:
        import_onnx(p)
    assert len(e.value.problems) == 1
    assert e.value.problems[0].startswith(f"node {qname!r} (QuantizeLinear): no zero point, so a uint8 output: "
                                          "the array computes symmetric int8")
    p, _ = without_zp("uint8.onnx", TensorProto.UINT8)
    with pytest.raises(UnsupportedModel, match="no zero point, so a uint8 output"):
        import_onnx(p)
    p, _ = without_zp("int8.onnx", TensorProto.INT8)
    q = import_onnx(p).qnet
    assert q.scales == base.scales
    for a, b in zip(q.nodes, base.nodes):
        assert a.arrays.keys() == b.arrays.keys() and all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)


def test_qdq_bias_outside_int32_one_line(zoo, tmp_path, capsys):
    """A QDQ model's weight scale is its own: a bias that does not fit int32 at it is one line
    naming the node, exit 2, nothing written."""
    path, calib, _ = zoo["res_stride2"]
    m = onnx.load(quantize_qdq(path, calib, tmp_path / "q.onnx"))
    conv = next(n for n in m.graph.node if n.op_type == "Conv")
    (dq,) = [n for n in m.graph.node if n.output[0] == conv.input[2]]
    s = next(t for t in m.graph.initializer if t.name == dq.input[1])
    s.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(s) * np.float32(1e7), s.name))
    onnx.save(m, tmp_path / "big.onnx")
    out = tmp_path / "net.npz"
    assert main(["import", str(tmp_path / "big.onnx"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sps import: error: node {conv.name!r}: bias of filter ")
    assert "outside int32 at the model's weight scale" in err[0]
    assert not out.exists() and not (tmp_path / "net.qdq.onnx").exists()


# ---- float models: edge cases ----------------------------------------------------------------------

class _TinyGammaBN(nn.Module):
    """A conv whose BatchNormalization gamma is 1e-9 on filter 1 with beta 0.7: the filter is
    ~0, its output the constant 0.7."""
    shape = (3, 6, 6)

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c, self.bn, self.fc = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Linear(4 * 6 * 6, 3)
        with torch.no_grad():
            self.bn.weight[1], self.bn.bias[1] = 1e-9, 0.7

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.bn(self.c(x))), 1))


@pytest.mark.parametrize("fold_bn", [True, False])
def test_near_zero_filter_with_a_bias(tmp_path, fold_bn):
    """The weight scale of a filter tiny beside its bias is raised until the bias fits 2**30 (no
    OverflowError): the filter's output is its bias, as in the float model."""
    path = export(_TinyGammaBN().eval(), (3, 6, 6), tmp_path / "m.onnx", fold_bn=fold_bn)
    x = images((3, 6, 6), 8, 2)
    q = import_onnx(path, images((3, 6, 6), 16, 1)).qnet
    conv = q.nodes[0]
    assert 2 ** 29 < abs(int(conv.arrays["bias"][1])) <= 2 ** 30
    _check_network(q, x, path)
    want = int(np.rint(0.7 / q.scales[conv.out]))
    for xi in q.quantize_input(x):
        got = run_reference(q, xi)[conv.out][1]
        assert np.abs(got.astype(np.int64) - want).max() <= 1


def _expect_one_line(path, tmp_path, capsys, want: str, calib_shape=None):
    """`sps import` of `path` exits 2 with one stderr line containing `want`, writing nothing."""
    argv = ["import", str(path), "--out", str(tmp_path / "net.npz")]
    if calib_shape is not None:
        np.save(tmp_path / "c.npy", images(calib_shape, 4))
        argv += ["--calib", str(tmp_path / "c.npy")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and want in err[0], err
    assert not (tmp_path / "net.npz").exists() and not (tmp_path / "net.qdq.onnx").exists()


class _AddGap(nn.Module):
    def __init__(self, hw):
        super().__init__()
        self.c, self.fc = nn.Conv2d(2, 4, 3), nn.Linear(4 * (hw - 2) ** 2, 3)

    def forward(self, x):
        y = torch.relu(self.c(x))
        return self.fc(torch.flatten(y + nn.functional.adaptive_avg_pool2d(y, 1), 1))


def test_add_with_a_gap_input_taken_broadcasting_refused(tmp_path, capsys):
    """y + GAP(y): on a 1x1 map the shapes agree and the GAP output, the Add's SECOND input, is an
    int8 mean (a `gap` node) added on the host; on a 4x4 map the Add broadcasts: refused."""
    path = export(_AddGap(3).eval(), (2, 3, 3), tmp_path / "one.onnx")
    add = next(n.name for n in onnx.load(path).graph.node if n.op_type == "Add")
    q = import_onnx(path, images((2, 3, 3), 8)).qnet
    assert [n.op for n in q.nodes].count("gap") == 1
    _check_network(q, images((2, 3, 3), 4, 3))
    path = export(_AddGap(6).eval(), (2, 6, 6), tmp_path / "bc.onnx")
    _expect_one_line(path, tmp_path, capsys, f"node {add!r} (Add): adds [None, 4, 4, 4] and [None, 4, 1, 1]; "
                     "only two tensors of one known shape (no broadcasting)", (2, 6, 6))


class _ReluLogits(nn.Module):
    def __init__(self):
        super().__init__()
        self.c, self.fc = nn.Conv2d(2, 3, 3, padding=1), nn.Linear(3 * 4 * 4, 5)

    def forward(self, x):
        return torch.relu(self.fc(torch.flatten(self.c(x), 1)))


class _MatMul4D(nn.Module):
    def __init__(self):
        super().__init__()
        self.c, self.w, self.fc = nn.Conv2d(2, 3, 3, padding=1), nn.Parameter(torch.randn(4, 4)), nn.Linear(48, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.c(x) @ self.w, 1))


def test_relu_after_classifier_and_matmul_on_4d_refused(tmp_path, capsys):
    path = export(_ReluLogits().eval(), (2, 4, 4), tmp_path / "relu.onnx")
    _expect_one_line(path, tmp_path, capsys, "node '/fc/Gemm': a Relu after the classifier", (2, 4, 4))
    path = export(_MatMul4D().eval(), (2, 4, 4), tmp_path / "mm.onnx")
    mm = next(n.name for n in onnx.load(path).graph.node if n.op_type == "MatMul")
    _expect_one_line(path, tmp_path, capsys, f"node {mm!r} (MatMul): input of shape [None, 3, 4, 4]; a dense "
                     "layer takes [N, F]", (2, 4, 4))


def _hand_built(path, nodes, inits, batch=1, opset=17):
    """A graph of `nodes` on float "input" [batch, 1, 4, 4] to "logits" [batch, 3]."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 1, 4, 4])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 3])
    inits = [onnx.numpy_helper.from_array(v, k) for k, v in inits.items()]
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y], inits), opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(m, path)
    return path


def test_constant_value_ints_and_floats(tmp_path):
    """Constant nodes carrying value_ints (a Reshape target) and value_float / value_floats (a
    Gemm bias and beta's operand) are read."""
    rng = np.random.default_rng(0)
    w, fw = rng.standard_normal((2, 1, 3, 3)).astype(np.float32), rng.standard_normal((3, 32)).astype(np.float32)
    nodes = [helper.make_node("Constant", [], ["shape"], value_ints=[-1, 32]),
             helper.make_node("Constant", [], ["fb"], value_floats=[0.5, -0.25, 1.0]),
             helper.make_node("Conv", ["input", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Reshape", ["r", "shape"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["logits"], name="fc", transB=1)]
    path = _hand_built(tmp_path / "m.onnx", nodes, {"w": w, "fw": fw}, batch="N")
    x = images((1, 4, 4), 6, 3)
    q = import_onnx(path, images((1, 4, 4), 5, 1)).qnet
    assert [n.op for n in q.nodes] == ["conv", "linear"]
    _check_network(q, x, path, min_agree=5 / 6)
    nodes[1] = helper.make_node("Constant", [], ["fb"], value_float=0.5)
    q1 = import_onnx(_hand_built(tmp_path / "f.onnx", nodes, {"w": w, "fw": fw}, "N"), images((1, 4, 4), 5, 1)).qnet
    assert len(set(q1.nodes[-1].arrays["bias"].tolist())) == 1
    nodes[1] = helper.make_node("Constant", [], ["fb"], value_strings=["a"])
    with pytest.raises(UnsupportedModel, match="a Constant of value_strings; the importer reads value, "):
        import_onnx(_hand_built(tmp_path / "s.onnx", nodes, {"w": w, "fw": fw}, "N"), images((1, 4, 4), 5, 1))


def test_calibration_with_a_fixed_batch(zoo, tmp_path):
    """A model exported with a fixed batch of 4 calibrates on 5 images (chunks of 4, the last
    filled up) to the same scales as the batch-free export."""
    m = build("nonsquare")
    fixed = export(m, m.shape, tmp_path / "b4.onnx", batch=4)
    assert onnx.load(fixed).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4
    calib = images(m.shape, 5, 7)
    a, b = import_onnx(fixed, calib).qnet, import_onnx(zoo["nonsquare"][0], calib).qnet
    assert a.scales == b.scales
    for na, nb in zip(a.nodes, b.nodes):
        assert all(np.array_equal(na.arrays[k], nb.arrays[k]) for k in nb.arrays)


def test_onnxruntime_failure_in_calibration_one_line(tmp_path, capfd):
    """A 3x3 max pool on a 2x2 map: onnxruntime fails while calibrating: one line naming the model."""
    nodes = [helper.make_node("Conv", ["input", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
             helper.make_node("MaxPool", ["c"], ["p"], name="pool", kernel_shape=[3, 3]),
             helper.make_node("GlobalAveragePool", ["p"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fw"], ["logits"], name="fc", transB=1)]
    path = _hand_built(tmp_path / "pool.onnx", nodes, {"w": np.ones((2, 1, 3, 3), np.float32),
                                                        "fw": np.ones((3, 2), np.float32)}, batch="N")
    np.save(tmp_path / "c.npy", images((1, 4, 4), 3))
    assert main(["import", str(path), "--calib", str(tmp_path / "c.npy"), "--out", str(tmp_path / "n.npz")]) == 2
    err = capfd.readouterr().err.strip().splitlines()     # the file descriptor: onnxruntime logs there
    assert len(err) == 1, err
    assert err[0].startswith(f"sps import: error: {path} (calibration in onnxruntime): onnxruntime cannot run it (")
    assert not (tmp_path / "n.npz").exists()


def test_nothing_written_when_the_qdq_model_fails(zoo, tmp_path, capsys, monkeypatch):
    import sps.onnx_oracle

    def fail(qnet, int_relu=False):
        raise ValueError("no QDQ model")
    monkeypatch.setattr(sps.onnx_oracle, "qnet_to_qdq", fail)
    path, calib, _ = zoo["nonsquare"]
    np.save(tmp_path / "c.npy", calib)
    assert main(["import", str(path), "--calib", str(tmp_path / "c.npy"), "--out", str(tmp_path / "n.npz")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["sps import: error: no QDQ model"]
    assert list(tmp_path.iterdir()) == [tmp_path / "c.npy"]


# ---- --net and --onnx of sps report / demo ------------------------------------------------------------

def _net_args(**kw):
    from types import SimpleNamespace

    return SimpleNamespace(**{"net": None, "images": None, "labels": None, "onnx": None, **kw})


def test_net_file_not_a_qnet_one_line(zoo, tmp_path):
    from sps.netcheck import load_user_net

    path, calib, _ = zoo["nonsquare"]
    good = tmp_path / "net.npz"
    import_onnx(path, calib).qnet.save(good)
    np.save(tmp_path / "a.npy", np.zeros((2, 3)))
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    (tmp_path / "text.npz").write_text("not an archive\n")
    for name, why in [("a.npy", "a .npy array float64 [2, 3], not an .npz archive"),
                      ("cut.npz", "File is not a zip file"), ("other.npz", "meta"), ("text.npz", "")]:
        with pytest.raises(ValueError) as e:
            load_user_net(_net_args(net=str(tmp_path / name)), False)
        msg = str(e.value)
        assert "\n" not in msg and msg.startswith(f"--net {tmp_path / name}: not a QNet file from sps import (")
        assert why in msg, msg
    assert load_user_net(_net_args(net=str(good)), False).qnet.name == "nonsquare"


def test_bad_onnx_refused_before_anything_runs(zoo, tmp_path):
    """--onnx is opened in onnxruntime and run on one image by load_user_net (before any RTL run):
    not ONNX, another input shape, another number of classes: one line naming the file. A float
    model with a fixed batch is taken."""
    from sps.netcheck import load_user_net

    path, calib, x = zoo["nonsquare"]
    import_onnx(path, calib).qnet.save(tmp_path / "net.npz")
    np.save(tmp_path / "x.npy", x[:5])
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage" * 9)
    m = build("res_stride2")
    other = export(m, m.shape, tmp_path / "other.onnx")
    wrong_k = _Seq(nn.Conv2d(1, 2, 3, padding=1), 2 * 10 * 14, (1, 10, 14))     # 3 classes, not 4
    wrong_k = export(wrong_k.eval(), (1, 10, 14), tmp_path / "k3.onnx")
    cases = [(tmp_path / "none.onnx", "not found"),
             (tmp_path / "junk.onnx", "onnxruntime cannot load it ("),
             (other, "input 'input' is tensor(float) ['N', 3, 12, 12]; the network takes tensor(float) [N, 1, 10, 14]"),
             (wrong_k, "gives 3 values per image; the network has 4 classes")]
    for onnx_path, why in cases:
        with pytest.raises(ValueError) as e:
            load_user_net(_net_args(net=str(tmp_path / "net.npz"), images=str(tmp_path / "x.npy"),
                                    onnx=str(onnx_path)), False)
        assert "\n" not in str(e.value) and str(e.value).startswith(f"--onnx {onnx_path}: ") and why in str(e.value)
    b4 = export(build("nonsquare"), (1, 10, 14), tmp_path / "b4.onnx", batch=4)
    user = load_user_net(_net_args(net=str(tmp_path / "net.npz"), images=str(tmp_path / "x.npy"),
                                   onnx=str(b4)), False, max_images=3)
    assert user.images_int8.shape == (3, 1, 10, 14) and user.images.dtype == np.float32
    assert user.oracle is not None and user.labels is None
