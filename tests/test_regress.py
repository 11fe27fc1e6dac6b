"""`sps regress` without a simulator (tb/env/regress.py, sps/commands/regress.py): the case of a
(seed, configuration) is always the same; a few hundred seeds cover every PPS kind, stride,
padding, stall kind, output mode, batches, bands and several row and column tiles on every default
configuration, and the compiler accepts every case; configuration specs; a simulation that ends
before its cases did; bad input exits 2 with one line. The runs on the RTL are in
tb/top/test_regress.py."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from compiler.compile import compile_layer
from compiler.config import ceil_div, load_config
from compiler.grouping import group_tiles
from compiler.paths import CONFIG
from sps.cli import main as sps
from tb.env import regress
from tb.env.cases import make_case
from tb.env.regress import case_name, default_specs, draw_case, parse_config, stall_kind

SEEDS = 300

# seed 17 on config/sps_4x4.json, as drawn when the generator was written: a change to draw_case
# changes every case, and the rerun lines printed by earlier nightly runs no longer reproduce theirs
SEED17_4X4 = {"name": "cfg=sps_4x4 seed=17", "pps": "rand", "P": 7, "o": 0, "n": 2, "stride": 1, "padding": 1,
              "shape": "small", "C": 2, "F": 11, "H": 5, "W": 10, "batch": 1, "requant": True, "relu": False,
              "range": [-128, 127], "bias": 1048576, "stall": 0.0, "seed": 1312849328}


def test_a_case_is_its_seed_and_configuration():
    cfg = parse_config(str(CONFIG / "sps_4x4.json")).cfg
    assert draw_case(17, cfg, case_name("sps_4x4", 17)) == SEED17_4X4
    for spec in ("config/sps.json", "config/sps_16x16.json+bands"):
        rc = parse_config(spec)
        for seed in (0, 1, 99):
            a, b = (draw_case(seed, rc.cfg, case_name(rc.name, seed)) for _ in range(2))
            assert a == b and json.loads(json.dumps(a)) == a          # JSON-able, as SPS_CASE carries it
            la, xa, pa = make_case(a)
            lb, xb, pb = make_case(b)
            assert pa == pb and np.array_equal(xa, xb) and np.array_equal(la.weight, lb.weight)


@pytest.mark.parametrize("spec", default_specs(), ids=lambda s: parse_config(s).name)
def test_cases_cover_the_configuration_and_compile(spec):
    """Every case compiles (a case the compiler rejects is a generator bug) and the seeds cover
    every feature the configuration allows."""
    rc = parse_config(spec)
    cfg = rc.cfg
    seen = Counter()
    for seed in range(SEEDS):
        case = draw_case(seed, cfg, case_name(rc.name, seed))
        layer, x, pps = make_case(case)
        prog = compile_layer(layer, cfg, pps, x=x)          # raises if the compiler rejects it
        assert pps.period <= cfg.PMAX
        seen.update([f"pps/{case['pps']}", f"stride/{layer.stride}", f"padding/{layer.padding}",
                     f"stall/{stall_kind(case['stall'])}", f"mode/{'relu' if layer.relu else 'requant' if layer.requant else 'raw'}",
                     f"P/{pps.period}", f"shape/{case['shape']}"])
        seen["batch>1"] += case["batch"] > 1
        seen["bands>1"] += len(prog.bands) > 1
        seen["bands>1 in a batch"] += len(prog.bands) > 1 and prog.batch > 1
        seen["row tiles>1"] += max(len(t) for t in group_tiles(prog.pps, prog.C, cfg)) > 1
        seen["column tiles>1"] += any(ceil_div(len(f), cfg.COLS) > 1 for f in prog.out_filter)
        seen["extreme bias"] += case["bias"] == "extreme"
        seen["narrow range"] += case["range"] != [-128, 127]
        seen["unfolded"] += prog.unfold is not None
    want = ([f"pps/{k}" for k in regress.KINDS] + ["stride/1", "stride/2", "padding/0", "padding/1"]
            + [f"stall/{k}" for k in ("none", "bernoulli", "bursts")] + [f"mode/{m}" for m in ("raw", "requant", "relu")]
            + [f"P/{p}" for p in range(1, cfg.PMAX + 1)] + [f"shape/{s}" for s in regress.SHAPES]
            + ["batch>1", "bands>1", "bands>1 in a batch", "row tiles>1", "column tiles>1", "extreme bias",
               "narrow range", "unfolded"])
    missing = [w for w in want if seen[w] < 3]
    assert not missing, f"{spec}: fewer than 3 of {SEEDS} cases with {missing}"
    assert seen["bands>1"] >= SEEDS // 10 and seen["column tiles>1"] >= SEEDS // 10, dict(seen)


def test_default_configurations():
    """Every shipped config/sps*.json, +bands, and +packed where it has one MAC per DSP: at least
    four different arrays."""
    specs = default_specs()
    files = sorted(CONFIG.glob("sps*.json"))
    assert len(files) >= 4 and len(specs) == 2 * len(files) + sum(load_config(f).MACS_PER_DSP == 1 for f in files)
    arrays = {(rc.cfg.ROWS, rc.cfg.COLS) for rc in map(parse_config, specs)}
    assert len(arrays) >= 4
    rc = parse_config("config/sps_4x4.json+bands+packed")
    assert rc.name == "sps_4x4+bands+packed"
    assert rc.cfg == load_config(CONFIG / "sps_4x4.json").replace(ACT_DEPTH=64, ACC_DEPTH=32, MACS_PER_DSP=2)


@pytest.mark.parametrize("spec, words", [
    ("config/nope.json", "cannot read"),
    ("config/sps.json+tiny", "variants are +bands +packed"),
    ("config/sps.json+bands+bands", "each at most once"),
    ("config/sps_16x16.json+packed", "two MACs per DSP already"),
])
def test_bad_configuration_spec(spec, words):
    with pytest.raises(ValueError, match=words.replace("+", r"\+")):
        parse_config(spec)


def test_a_simulation_that_ends_early_is_split(monkeypatch, tmp_path):
    """run_cases: the cases without a result after a simulation ended (here: case 2 crashes it) run
    again, the first of them alone: every case gets its own result, the crash the crashing case's.
    A simulation whose test never started (a failed build) fails all its cases at once."""
    calls = []

    def fake_simulate(sim, cfg, cases, run, record):
        calls.append([c["name"] for c in cases])
        if cfg == "broken":
            return {}, "Command failed with return code: 1", False
        got = {}
        for c in cases:
            if c["name"] == "c2":
                return got, "Command failed with return code: -11", True
            got[c["name"]] = {"name": c["name"], "ok": c["name"] != "c4", "error": None, "cycles": 1, "seconds": 0.0}
        return got, None, True

    monkeypatch.setattr(regress, "simulate", fake_simulate)
    cases = [{"name": f"c{i}"} for i in range(6)]
    res = regress.run_cases("verilator", None, cases, "run", tmp_path / "r.jsonl")
    assert calls == [[f"c{i}" for i in range(6)], ["c2"], ["c3", "c4", "c5"]]
    assert sorted(res) == [c["name"] for c in cases]
    assert [n for n, r in res.items() if not r["ok"]] == ["c2", "c4"]
    assert res["c2"]["error"] == "the simulation ended without the case's result: Command failed with return code: -11"

    calls.clear()
    res = regress.run_cases("verilator", "broken", cases, "run", tmp_path / "r.jsonl")
    assert calls == [[f"c{i}" for i in range(6)]] and sorted(res) == sorted(c["name"] for c in cases)
    assert all(not r["ok"] and r["error"].startswith("the simulation did not start: ") for r in res.values())


@pytest.mark.parametrize("args, words", [
    (["--seeds", "0"], "--seeds 0: must be at least 1"),
    (["--seed0", "-1"], "--seed0 -1: must be at least 0"),
    (["--jobs", "0"], "--jobs 0: must be at least 1"),
    (["--chunk", "500"], "--chunk 500: at most 200"),
    (["--configs", "config/nope.json"], "cannot read"),
    (["--configs", "{bad}"], "cannot read"),
    (["--configs", "config/sps.json+huge"], "variants are"),
    (["--configs", "config/sps.json", "config/sps.json"], "a configuration given twice (sps)"),
    (["--rtl", "{tmp}"], "not a directory with sps_top.v"),
    (["--seeds", "x"], "invalid int value"),
])
def test_bad_input_is_one_line_exit_2(args, words, tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    args = [a.format(bad=tmp_path / "bad.json", tmp=tmp_path) for a in args]
    assert sps(["regress", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps regress: error: ") and err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "out").exists()
