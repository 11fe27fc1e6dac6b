"""Networks: models, data loaders, checkpoints, training CLI, the int8 QNet and its integer
reference, the compiler's network stages (functional model, bit-exact against the reference),
the shipped digits models' accuracy, and the report command (cycle model)."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from compiler.network import NetProgram, Stage, functional_array, host_op
from models import data as D
from models.nets import INPUT_SHAPE, ConvBN, Net, build, load_checkpoint
from models.prepare import SHIPPED, SHIPPED_DENSE, load_float, quantized
from models.ptq import quantize_net
from models.qnet import Node, QNet, predict, run_node, run_reference


@pytest.fixture(scope="module")
def digits_q():
    model, layer_pps, _ = load_float("digits")
    return model, quantized("digits", model, layer_pps)


@pytest.mark.parametrize("name", ["digits", "vgg16", "resnet18"])
def test_models_forward_shape(name):
    m = build(name).eval()
    with torch.no_grad():
        assert m(torch.zeros(2, *INPUT_SHAPE[name])).shape == (2, 10)


def test_model_sizes():
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert 14_000_000 < count(build("vgg16")) < 16_000_000        # VGG-16-BN, CIFAR head
    assert 11_000_000 < count(build("resnet18")) < 11_500_000     # ResNet-18, CIFAR form


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model 'alexnet'"):
        build("alexnet")


def test_checkpoint_errors(tmp_path):
    m = build("digits")
    with pytest.raises(ValueError, match="no such file"):
        load_checkpoint(m, tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read"):
        load_checkpoint(m, tmp_path / "junk.pt")
    torch.save(build("vgg16").state_dict(), tmp_path / "vgg.pt")
    with pytest.raises(ValueError, match="does not fit"):
        load_checkpoint(m, tmp_path / "vgg.pt")
    sd = m.state_dict()
    sd["fc.weight"] = torch.zeros(3, 3)
    torch.save(sd, tmp_path / "shape.pt")
    with pytest.raises(ValueError, match=r"fc.weight has shape \[3, 3\]"):
        load_checkpoint(m, tmp_path / "shape.pt")
    for i, obj in enumerate((torch.zeros(3), [sd["fc.weight"], sd["fc.bias"]])):
        torch.save(obj, tmp_path / f"obj{i}.pt")                    # loadable, but not a dict
        with pytest.raises(ValueError, match=rf"checkpoint \S*obj{i}\.pt: not a state_dict"):
            load_checkpoint(m, tmp_path / f"obj{i}.pt")


def test_checkpoint_roundtrip_bare_state_dict(tmp_path):
    m = build("digits")
    torch.save(m.state_dict(), tmp_path / "sd.pt")
    m2 = build("digits")
    assert load_checkpoint(m2, tmp_path / "sd.pt") == {}
    for k, v in m.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k])


def test_digits_split():
    xtr, ytr = D.digits("train")
    xte, yte = D.digits("test")
    assert xtr.shape == (1257, 1, 8, 8) and xte.shape == (540, 1, 8, 8)
    assert float(xtr.min()) == 0.0 and float(xtr.max()) == 1.0
    assert sorted(set(yte.tolist())) == list(range(10))
    with pytest.raises(ValueError, match="split"):
        D.digits("val")


def _fake_cifar(root, n=4):
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(root / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         b"labels": list(rng.integers(0, 10, n))}, f)


def test_cifar10_reader(tmp_path):
    _fake_cifar(tmp_path)
    x, y = D.cifar10(tmp_path, "train")
    assert x.shape == (20, 3, 32, 32) and y.shape == (20,) and x.dtype == torch.float32
    xt, _ = D.cifar10(tmp_path, "test")
    assert xt.shape == (4, 3, 32, 32)
    with open(tmp_path / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="bytes")[b"data"][0].reshape(3, 32, 32) / 255.0
    expect = (raw[0, 0, 0] - D.CIFAR_MEAN[0]) / D.CIFAR_STD[0]
    assert float(xt[0, 0, 0, 0]) == pytest.approx(expect, rel=1e-5)


def test_cifar10_errors(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        D.cifar10(tmp_path / "nope", "train")
    with pytest.raises(ValueError, match="data_batch_1 not found"):
        D.cifar10(tmp_path, "train")
    (tmp_path / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a python batch"):
        D.cifar10(tmp_path, "test")
    with pytest.raises(ValueError, match="needs --data"):
        D.load("cifar10", "test")
    with pytest.raises(ValueError, match="CIFAR-10 split must be 'train' or 'test', got 'val'"):
        D.cifar10(tmp_path, "val")
    with pytest.raises(ValueError, match="unknown data set 'mnist': expected digits or cifar10"):
        D.load("mnist", "train", tmp_path)
    for bad in ({b"data": np.zeros((2, 3072), np.uint8)}, [np.zeros((2, 3072), np.uint8), [0, 1]]):
        with open(tmp_path / "test_batch", "wb") as f:
            pickle.dump(bad, f)
        with pytest.raises(ValueError, match=r"test_batch has no data/labels entries"):
            D.cifar10(tmp_path, "test")
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 32, 32, 3), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"test_batch data has shape \[2, 32, 32, 3\], expected \[N, 3072\]"):
        D.cifar10(tmp_path, "test")


# ---- the shipped models ------------------------------------------------------------------------

def test_shipped_pps_model_within_one_point_of_dense_twin():
    from models.masks import masks_for
    from models.pps import PPS

    x, y = D.digits("test")
    accs = {}
    for kind, path in (("pps", SHIPPED["digits"]), ("dense", SHIPPED_DENSE["digits"])):
        m = build("digits")
        meta = load_checkpoint(m, path)["meta"]
        assert meta["recipe"]["epochs"] == 40 and meta["mode"] == kind
        with torch.no_grad():
            accs[kind] = float((m.eval()(x).argmax(1) == y).float().mean())
        assert accs[kind] == pytest.approx(meta["test_accuracy"])
    assert accs["pps"] >= accs["dense"] - 0.01
    assert accs["pps"] > 0.95
    # the PPS model really is PPS: every 3x3 conv but the first follows its recorded PPS
    m = build("digits")
    meta = load_checkpoint(m, SHIPPED["digits"])["meta"]
    assert sorted(meta["pps"]) == ["features.1.conv", "features.3.conv"]
    for name, mask in masks_for(m, {k: PPS.from_json(v) for k, v in meta["pps"].items()}).items():
        w = m.get_submodule(name).weight
        assert torch.all(w[~mask] == 0) and float((w != 0).float().mean()) == pytest.approx(4 / 9, abs=0.01)


def test_int8_accuracy_close_to_float(digits_q):
    model, q = digits_q
    x, y = D.digits("test")
    xq = q.quantize_input(x.numpy())
    pred = np.array([predict(q, xi) for xi in xq])
    with torch.no_grad():
        fpred = model(x).argmax(1).numpy()
    assert abs((pred == y.numpy()).mean() - (fpred == y.numpy()).mean()) <= 0.01
    assert (pred == fpred).mean() >= 0.98


# ---- QNet and the compiler's network stages ----------------------------------------------------------

def test_qnet_save_load(tmp_path, digits_q):
    _, q = digits_q
    q.save(tmp_path / "q.npz")
    q2 = QNet.load(tmp_path / "q.npz")
    assert [n.name for n in q2.nodes] == [n.name for n in q.nodes]
    x = q.quantize_input(D.digits("test")[0][0].numpy())
    a, b = run_reference(q, x), run_reference(q2, x)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_reference_input_checked(digits_q):
    _, q = digits_q
    with pytest.raises(ValueError, match=r"input must be int8 \[1, 8, 8\]"):
        run_reference(q, np.zeros((1, 8, 8), np.int16))


def test_digits_network_functional_model_bit_exact(digits_q):
    _, q = digits_q
    net = NetProgram(q)
    assert [s.where for s in net.stages] == ["array", "array", "host", "array", "host", "host"]
    assert [s.prog.pps_text.split()[0] for s in net.array_stages] == ["dense/P1", "PS-4/P4", "PS-4/P4"]
    xq = q.quantize_input(D.digits("test")[0][:20].numpy())
    for x in xq:
        got, ref = net.run(x), run_reference(q, x)
        for k in ref:
            assert np.array_equal(got[k], ref[k]), k


def _random_qnet(name, seed=0):
    model, layer_pps, _ = load_float(name, seed=seed)
    return quantized(name, model, layer_pps, seed=seed)


def test_resnet18_functional_model_bit_exact():
    """Random PS-4 ResNet-18: 17 3x3 layers and the three 1x1 shortcuts on the array (functional
    model), residual adds on the host, the whole network equal to the integer reference."""
    q = _random_qnet("resnet18")
    net = NetProgram(q)
    kinds = [s.kind for s in net.stages]
    assert kinds.count("conv3x3") == 17 and kinds.count("conv1x1") == 3 and kinds.count("add") == 8
    assert all(s.where == "array" for s in net.stages if s.kind.startswith("conv"))
    x = np.random.default_rng(1).integers(-128, 128, (3, 32, 32)).astype(np.int8)
    got, ref = net.run(x), run_reference(q, x)
    for k in ref:
        assert np.array_equal(got[k], ref[k]), k
    assert np.abs(ref["logits"]).max() > 0


def test_host_ops_match_reference_on_extremes():
    """The compiler's host ops and the reference's nodes, written separately, agree on random and
    extreme int8 tensors (saturation, negative rounding ties)."""
    rng = np.random.default_rng(3)
    for trial in range(20):
        a = rng.integers(-128, 128, (4, 5, 6)).astype(np.int8)
        b = rng.integers(-128, 128, (4, 5, 6)).astype(np.int8)
        if trial == 0:
            a[:], b[:] = -128, -128
        node = Node("add", "add", ["a", "b"], "o", {"Ma": int(rng.integers(1, 65536)), "sha": int(rng.integers(0, 24)),
                                                    "Mb": int(rng.integers(1, 65536)), "shb": int(rng.integers(0, 24)),
                                                    "relu": bool(trial % 2)})
        st = Stage("add", "add", ["a", "b"], "o", a.shape, a.shape, node)
        assert np.array_equal(host_op(st, [a, b]), run_node(node, [a, b]))
        w = rng.integers(-127, 128, (3, 4, 1, 1)).astype(np.int8)
        conv = Node("conv", "sc", ["a"], "o", {"stride": 2, "padding": 0, "relu": False},
                    {"weight": w, "bias": rng.integers(-999, 999, 3).astype(np.int32),
                     "M": rng.integers(1, 65536, 3).astype(np.uint16), "shift": rng.integers(0, 20, 3).astype(np.uint8)})
        st = Stage("conv1x1", "sc", ["a"], "o", a.shape, (3, 3, 3), conv)
        assert np.array_equal(host_op(st, [a]), run_node(conv, [a]))
        st = Stage("maxpool", "p", ["a"], "o", a.shape, (4, 2, 3), Node("maxpool", "p", ["a"], "o"))
        assert np.array_equal(host_op(st, [a]), run_node(st.node, [a]))
        for op, attrs in (("maxpool", {"k": 3, "stride": 2, "padding": 1}), ("avgpool", {}),
                          ("avgpool", {"k": 3, "stride": 1, "padding": 1}),
                          ("avgpool", {"k": 3, "stride": 2, "padding": 1, "count_include_pad": True}),
                          ("relu", {}), ("flatten", {}), ("gap", {})):
            st = Stage(op, "p", ["a"], "o", a.shape, None, Node(op, "p", ["a"], "o", attrs))
            assert np.array_equal(host_op(st, [a]), run_node(st.node, [a])), (op, attrs)


def test_pools_by_hand():
    """Pooling rules on values worked out by hand: max ignores padding, the mean rounds half to even."""
    x = np.array([[[1, 2, -3], [4, 5, 6], [7, -8, 9]]], np.int8)
    mp = run_node(Node("maxpool", "p", ["a"], "o", {"k": 3, "stride": 2, "padding": 1}), [x])
    assert mp.tolist() == [[[5, 6], [7, 9]]]
    ap = run_node(Node("avgpool", "p", ["a"], "o", {"k": 2, "stride": 1}), [x])
    assert ap.tolist() == [[[3, 2], [2, 3]]]      # 12/4 = 3, 10/4 = 2.5 -> 2, 8/4 = 2, 12/4 = 3
    ap = run_node(Node("avgpool", "p", ["a"], "o", {"k": 2, "stride": 2, "padding": 1}), [x])
    assert ap.tolist() == [[[1, 0], [6, 3]]]      # 1/1, (2-3)/2 = -0.5 -> 0, (4+7)/2 = 5.5 -> 6, 12/4


def test_quantize_net_rejects_other_modules():
    with pytest.raises(ValueError, match="expected a models.nets.Net"):
        quantize_net(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    torch.manual_seed(0)
    images = torch.randn(4, 1, 8, 8)
    ok = Net([ConvBN(1, 4), torch.nn.MaxPool2d(2)], 4 * 4 * 4, 3, gap=False)
    assert [n.op for n in quantize_net(ok, images).nodes] == ["conv", "maxpool", "linear"]
    for extra, n_features in ((torch.nn.ReLU(), 4 * 8 * 8), (torch.nn.AvgPool2d(2), 4 * 4 * 4)):
        net = Net([ConvBN(1, 4), extra], n_features, 3, gap=False)       # not blocks the quantiser knows
        with pytest.raises(ValueError, match=f"cannot quantise a {type(extra).__name__} in features"):
            quantize_net(net, images)


# ---- hand-built QNets: the compiler's network stages against the reference, and their errors ------

def _conv_node(name, src, out, F, C, k=3, padding=1, seed=0):
    rng = np.random.default_rng(seed)
    return Node("conv", name, [src], out, {"stride": 1, "padding": padding, "relu": True, "pps": "dense"},
                {"weight": rng.integers(-127, 128, (F, C, k, k)).astype(np.int8),
                 "bias": rng.integers(-999, 999, F).astype(np.int32),
                 "M": rng.integers(32768, 65536, F).astype(np.uint16),   # scale ~ 2**-8 .. 2**-6:
                 "shift": rng.integers(22, 25, F).astype(np.uint8)})      # outputs spread over int8


def _tiny_nodes():
    """input [2, 6, 6] -> 3x3 conv -> 1x1 conv -> residual add -> maxpool -> linear."""
    rng = np.random.default_rng(1)
    return [_conv_node("c1", "input", "t0", 4, 2),
            _conv_node("sc", "t0", "t1", 4, 4, k=1, padding=0, seed=2),
            Node("add", "add", ["t0", "t1"], "t2", {"Ma": 40000, "sha": 16, "Mb": 30000, "shb": 16, "relu": True}),
            Node("maxpool", "pool", ["t2"], "t3"),
            Node("linear", "fc", ["t3"], "logits", {"gap": False},
                 {"weight": rng.integers(-127, 128, (3, 36)).astype(np.int8),
                  "bias": rng.integers(-999, 999, 3).astype(np.int64)})]


def _tiny(nodes):
    return QNet("tiny", (2, 6, 6), 1.0, nodes, {})


def test_tiny_network_stages_match_reference():
    net = NetProgram(_tiny(_tiny_nodes()))
    assert [s.kind for s in net.stages] == ["conv3x3", "conv1x1", "add", "maxpool", "linear"]
    x = np.random.default_rng(3).integers(-128, 128, (2, 6, 6)).astype(np.int8)
    got, ref = net.run(x), run_reference(_tiny(_tiny_nodes()), x)
    assert set(got) == set(ref) and np.abs(ref["t2"]).max() > 0
    for k in ref:
        assert np.array_equal(got[k], ref[k]), k


@pytest.mark.parametrize("change, match", [
    ({0: _conv_node("c5", "input", "t0", 4, 2, k=5, padding=2)},
     r"layer 'c5': a 5x5 conv with padding 2 is neither a 3x3 \(padding 0 or 1\) nor a 1x1 \(padding 0\)"),
    ({1: _conv_node("sc", "t0", "t1", 4, 4, k=1, padding=1)}, "layer 'sc': a 1x1 conv with padding 1 is neither"),
    ({2: Node("add", "add", ["t0", "input"], "t2", {})}, r"layer 'add': adds shapes \[4, 6, 6\] and \[2, 6, 6\]"),
    ({3: Node("softmax", "sm", ["t2"], "t3")}, "layer 'sm': unknown op 'softmax'"),
])
def test_net_program_rejects_bad_nodes(change, match):
    nodes = _tiny_nodes()
    for i, node in change.items():
        nodes[i] = node
    with pytest.raises(ValueError, match=match):
        NetProgram(_tiny(nodes))


def test_reference_rejects_unknown_op():
    x = np.zeros((2, 6, 6), np.int8)
    with pytest.raises(ValueError, match="node 'sm': unknown op 'softmax'"):
        run_node(Node("softmax", "sm", ["input"], "o"), [x])
    nodes = _tiny_nodes()
    nodes[3] = Node("softmax", "sm", ["t2"], "t3")
    with pytest.raises(ValueError, match="node 'sm': unknown op 'softmax'"):
        run_reference(_tiny(nodes), x)


def test_net_program_run_checks_input_and_array_output():
    net = NetProgram(_tiny(_tiny_nodes()))
    for bad in (np.zeros((2, 6, 6), np.int16), np.zeros((2, 6, 5), np.int8), np.zeros((1, 2, 6, 6), np.int8)):
        with pytest.raises(ValueError, match=rf"tiny: input must be int8 \[2, 6, 6\], got {bad.dtype} "):
            net.run(bad)
    x = np.zeros((2, 6, 6), np.int8)
    with pytest.raises(ValueError, match=r"layer 'c1': array returned shape \[4, 5, 5\], expected \[4, 6, 6\]"):
        net.run(x, array_fn=lambda st, prog: np.zeros((4, 5, 5), np.int8))
    # an array stage has no host implementation: it must go through array_fn
    with pytest.raises(ValueError, match="stage 'c1': no host implementation of conv3x3"):
        host_op(net.stages[0], [x])


def test_host_1x1_overflow_matches_reference():
    C = 2 ** 17                                   # C products of (-128) * (-128) = 2**14: sum 2**31
    x = np.full((C, 1, 1), -128, np.int8)
    node = Node("conv", "sc", ["a"], "o", {"stride": 1, "padding": 0, "relu": False},
                {"weight": np.full((1, C, 1, 1), -128, np.int8), "bias": np.zeros(1, np.int32),
                 "M": np.ones(1, np.uint16), "shift": np.zeros(1, np.uint8)})
    st = Stage("conv1x1", "sc", ["a"], "o", x.shape, (1, 1, 1), node)
    with pytest.raises(OverflowError, match="layer 'sc': a 1x1 accumulator overflows int32"):
        host_op(st, [x])
    with pytest.raises(OverflowError, match="layer 'sc'.*does not fit in int32"):
        run_node(node, [x])
    x[0] = 0                                      # 2**31 - 2**14 fits: both give the same output
    assert np.array_equal(host_op(st, [x]), run_node(node, [x]))
    k = 132104                                    # k * 127 * -128 + 8 * 1 * -128 = -2**31 exactly: fits
    x = np.concatenate([np.full(k, 127), np.ones(8)]).astype(np.int8).reshape(-1, 1, 1)
    node.arrays["weight"] = np.full((1, k + 8, 1, 1), -128, np.int8)
    st = Stage("conv1x1", "sc", ["a"], "o", x.shape, (1, 1, 1), node)
    assert np.array_equal(host_op(st, [x]), run_node(node, [x])) and host_op(st, [x])[0, 0, 0] == -128


def test_bare_state_dict_pps_inferred(tmp_path):
    """A checkpoint without metadata: the compiler infers each layer's PPS from its zeros."""
    m, layer_pps, _ = load_float("digits")
    torch.save(m.state_dict(), tmp_path / "bare.pt")
    m2, pps2, desc = load_float("digits", tmp_path / "bare.pt")
    assert pps2 is None and "bare.pt" in desc
    net = NetProgram(quantized("digits", m2, pps2))
    assert [s.prog.pps_text.split()[0] for s in net.array_stages] == ["dense/P1", "PS-4/P4", "PS-4/P4"]


# ---- sps train -----------------------------------------------------------------------------

def test_train_cli_modes(tmp_path):
    from sps.cli import main as sps
    main = lambda argv: sps(["train", *argv])  # noqa: E731
    from models.masks import masks_for
    from models.pps import PPS

    dense, pps, ft = tmp_path / "d.pt", tmp_path / "p.pt", tmp_path / "f.pt"
    assert main(["--model", "digits", "--mode", "dense", "--epochs", "1", "--out", str(dense)]) == 0
    assert main(["--model", "digits", "--mode", "pps", "--epochs", "1", "--out", str(pps)]) == 0
    assert main(["--model", "digits", "--mode", "finetune", "--init", str(dense), "--epochs", "1",
                 "--lr", "0.01", "--out", str(ft)]) == 0
    for path, mode in ((pps, "pps"), (ft, "finetune")):
        m = build("digits")
        meta = load_checkpoint(m, path)["meta"]
        assert meta["mode"] == mode and len(meta["pps"]) == 2
        for name, mask in masks_for(m, {k: PPS.from_json(v) for k, v in meta["pps"].items()}).items():
            assert torch.all(m.get_submodule(name).weight[~mask] == 0)
    assert load_checkpoint(build("digits"), dense)["meta"]["pps"] == {}


def test_train_cli_errors(tmp_path, capsys):
    from sps.cli import main as sps
    main = lambda argv: sps(["train", *argv])  # noqa: E731

    assert main(["--mode", "finetune", "--epochs", "1", "--out", str(tmp_path / "x.pt")]) == 2
    assert "needs --init" in capsys.readouterr().err
    assert main(["--model", "vgg16", "--epochs", "1", "--out", str(tmp_path / "x.pt")]) == 2
    assert "needs --data" in capsys.readouterr().err
    assert main(["--pps", "ps3", "--out", str(tmp_path / "x.pt")]) == 2
    assert "--pps 'ps3'" in capsys.readouterr().err


def test_train_rejects_unknown_mode():
    from models.pps import PPS
    from models.train_net import train

    with pytest.raises(ValueError, match="mode must be dense, pps or finetune, got 'sparse'"):
        train("digits", "sparse", 1, 0.05, 5e-4, 32, 0, PPS.ps(4), progress=False, log=None)


# ---- sps report ---------------------------------------------------------------------------

def test_report_command_model_cycles(tmp_path):
    from sps.cli import main as sps
    main = lambda argv: sps(["report", *argv])  # noqa: E731

    assert main(["--model", "digits", "--cycles", "model", "--out", str(tmp_path)]) == 0
    rep = json.loads((tmp_path / "report.json").read_text())
    arr = [r for r in rep["layers"] if r["where"] == "array"]
    assert [r["layer"] for r in arr] == ["conv1", "conv2", "conv3"]
    assert rep["totals"]["cycles"] == sum(r["cycles"] for r in arr)
    assert all(r["speedup"] > 2.0 for r in arr[1:]) and arr[0]["speedup"] == 1.0
    assert rep["storage"]["SPS"]["index_bits"] < rep["storage"]["bitmap"]["index_bits"]
    # conv1 (1 channel) runs unfolded to 9 channels; its weights are stored as the 16 x 1 x 3 x 3 they are
    assert rep["storage"]["dense"]["value_bits"] == 9 * 8 * (16 * 1 + 32 * 16 + 32 * 32)
    e = rep["energy"]
    assert [r["layer"] for r in e["layers"]] == ["conv1", "conv2", "conv3"]
    assert e["total_pJ"] == pytest.approx(sum(e["components_pJ"].values()))
    assert e["macs"] == sum(r["macs"] for r in arr) and e["dense_macs"] > e["macs"]
    assert e["dense_over_sps"] > 1 and min(e["fetch_over_sps"].values()) == e["fetch_over_sps"]["SPS"] == 1
    md = (tmp_path / "report.md").read_text()
    assert "compiler cycle model" in md and "| SPS |" in md and "## Energy per image (model)" in md
    for p in ("cycles.png", "utilisation.png", "storage.png", "energy.png"):
        assert (tmp_path / p).read_bytes()[:4] == b"\x89PNG"


def test_report_command_bad_input(tmp_path, capsys):
    from sps.cli import main as sps
    main = lambda argv: sps(["report", *argv])  # noqa: E731

    assert main(["--model", "alexnet", "--cycles", "model", "--out", str(tmp_path)]) == 2
    assert "invalid choice: 'alexnet'" in capsys.readouterr().err
    assert main(["--model", "vgg16", "--checkpoint", str(tmp_path / "no.pt"), "--cycles", "model"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_demo_bad_input(capsys):
    from sps.cli import main as sps
    main = lambda argv: sps(["demo", *argv])  # noqa: E731

    assert main(["--images", "0"]) == 2
    assert "--images must be >= 1" in capsys.readouterr().err
    assert main(["--model", "vgg16"]) == 2
    assert "needs --checkpoint" in capsys.readouterr().err
    assert main(["--images", "541"]) == 2
    assert "only 540 images" in capsys.readouterr().err


def test_1x1_layer_beyond_the_channel_registers_stays_on_the_host():
    """An inner dense layer over a flattened input with more features than the CH_BITS registers
    count runs on the host, its stage says why, and the network still equals the reference."""
    from compiler.config import load_config

    cfg = load_config()
    C = (1 << cfg.CH_BITS) + 3
    rng = np.random.default_rng(5)
    nodes = [Node("flatten", "flat", ["input"], "t0"),
             Node("conv", "fc1", ["t0"], "t1", {"stride": 1, "padding": 0, "relu": True, "pps": "dense"},
                  {"weight": rng.integers(-127, 128, (4, C, 1, 1)).astype(np.int8),
                   "bias": rng.integers(-99, 99, 4).astype(np.int32), "M": np.full(4, 40000, np.uint16),
                   "shift": np.full(4, 24, np.uint8)}),
             Node("linear", "fc2", ["t1"], "logits", {"gap": False},
                  {"weight": rng.integers(-127, 128, (3, 4)).astype(np.int8), "bias": np.zeros(3, np.int64)})]
    q = QNet("wide", (C, 1, 1), 0.1, nodes, {"input": 0.1})
    net = NetProgram(q, cfg)
    st = net.stages[1]
    assert st.kind == "conv1x1" and st.where == "host" and f"{cfg.CH_BITS}-bit channel registers" in st.note
    x = rng.integers(-128, 128, (C, 1, 1)).astype(np.int8)
    got, ref = net.run(x), run_reference(q, x)
    assert all(np.array_equal(got[k], ref[k]) for k in ref)


def test_global_mean_by_hand():
    """gap: each channel's mean over H x W, ties to even (-2.5 -> -2, 3.5 -> 4), int8 [C, 1, 1]."""
    x = np.array([[[-4, -1]], [[3, 4]], [[127, 127]]], np.int8)            # C=3, H=1, W=2
    assert run_node(Node("gap", "g", ["a"], "o"), [x]).tolist() == [[[-2]], [[4]], [[127]]]


def test_batched_network_matches_reference_per_image():
    """NetProgram(batch=B): each array layer takes the images per program with the fewest predicted
    cycles per image (a divisor of B); every image's tensors equal the reference of that image."""
    q = _tiny(_tiny_nodes())
    xs = np.random.default_rng(4).integers(-128, 128, (4, 2, 6, 6)).astype(np.int8)
    net = NetProgram(q, batch=4)
    assert net.input_shape == (4, 2, 6, 6)
    for st in net.array_stages:
        assert st.prog.batch in (1, 2, 4) and st.runs * st.prog.batch == 4
        best = min((NetProgram(q, batch=b).stages[net.stages.index(st)].prog for b in (1, 2, 4)),
                   key=lambda p: p.cycles["total"] / p.batch)
        assert st.prog.cycles["total"] / st.prog.batch == best.cycles["total"] / best.batch
        assert st.macs == NetProgram(q).stages[net.stages.index(st)].macs     # per image
    calls = []

    def array_fn(st, prog):
        calls.append((st.name, prog.batch))
        return functional_array(st, prog)
    got = net.run(xs, array_fn=array_fn)
    assert len(calls) == sum(st.runs for st in net.array_stages)
    for i in range(4):
        ref = run_reference(q, xs[i])
        for k in ref:
            assert np.array_equal(got[k][i], ref[k]), (i, k)
    with pytest.raises(ValueError, match=r"tiny: input must be int8 \[4, 2, 6, 6\]"):
        net.run(xs[0])
    with pytest.raises(ValueError, match="batch must be an integer in 1..ACC_DEPTH"):
        NetProgram(q, batch=0)


def test_batching_fills_the_small_layers_of_vgg16():
    """The cycle model of VGG-16 (CIFAR) with a batch of 4: the 2x2 layers run 4 images per pass and
    the whole network's utilisation rises above 95% on the 8x8 array."""
    from compiler.perf import utilization
    q = _random_qnet("vgg16")
    one, four = NetProgram(q), NetProgram(q, batch=4)
    cyc = lambda net: sum(st.prog.cycles["total"] / st.prog.batch for st in net.array_stages)
    macs = sum(st.macs for st in one.array_stages)
    small = [st for st in four.array_stages if st.out_shape[1] == 2]
    assert small and all(st.prog.batch == 4 for st in small)
    assert utilization(macs, cyc(one), one.cfg) < 0.91 < 0.95 < utilization(macs, cyc(four), one.cfg)
