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
    assert "MACs on the array: 9" in text and "conv1x1  array" in text
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
    cases.append((["import", str(tmp_path / "junk.onnx"), "--out", out], "junk.onnx"))
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
