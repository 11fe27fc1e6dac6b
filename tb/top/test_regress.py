"""`sps regress` on the RTL (Verilator): a small run passes and writes one JUnit testcase per
(configuration, seed); on a copy of rtl/ with a planted bug (tests/test_debug.py's) the run fails
naming exactly the cases that differ, and the printed rerun line, run alone, reproduces the first
of them. The configuration is sps_4x4 +bands, whose build the array-size regression shares."""
from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET

import pytest

from compiler.paths import CONFIG
from sps.cli import main as sps
from tb.env.regress import case_name, draw_case, parse_config
from tests.test_debug import planted_copy

SPEC = f"{CONFIG / 'sps_4x4.json'}+bands"
FAIL = re.compile(r"^FAIL (cfg=\S+ seed=\d+): (.*)$", re.M)


def _verilator(simulator):
    if simulator != "verilator":
        pytest.skip("sps regress is tested on Verilator")


def _junit(path):
    root = ET.parse(path).getroot()
    return root, {tc.get("name"): tc for tc in root.iter("testcase")}


@pytest.mark.sim
def test_small_run_passes_with_junit(simulator, tmp_path, capsys):
    _verilator(simulator)
    junit = tmp_path / "regress.xml"
    rc = sps(["regress", "--seeds", "3", "--seed0", "5", "--configs", SPEC, "--sim", simulator,
              "--out", str(tmp_path / "out"), "--junit", str(junit)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert re.search(r"^\[1/1\] sps_4x4\+bands seeds 5\.\.7: 3 passed, 0 failed, [\d,]+ cycles", out, re.M), out
    assert re.search(r"^sps_4x4\+bands\s+3\s+3\s+0\s+[\d,]+$", out, re.M), out
    root, cases = _junit(junit)
    assert (root.get("tests"), root.get("failures")) == ("3", "0")
    cfg = parse_config(SPEC).cfg
    assert list(cases) == [case_name("sps_4x4+bands", s) for s in (5, 6, 7)]
    for s, (name, tc) in zip((5, 6, 7), cases.items()):
        assert tc.get("classname") == "regress.sps_4x4+bands" and tc.find("failure") is None
        assert json.loads(tc.find("system-out").text) == draw_case(s, cfg, name)


@pytest.mark.sim
def test_planted_bug_is_named_and_reproduced_alone(simulator, tmp_path, capsys, monkeypatch):
    """Requantisation without rounding: seeds 3 and 4 are requantised, 5 and 6 raw."""
    _verilator(simulator)
    monkeypatch.setenv("SPS_BUILD_DIR", str(tmp_path / "sim"))     # a build of its own, left with the test
    monkeypatch.chdir(tmp_path)                                     # the rerun's default --out
    rtl = planted_copy(tmp_path, "requant_no_rounding")
    junit = tmp_path / "regress.xml"
    rc = sps(["regress", "--seeds", "4", "--seed0", "3", "--configs", SPEC, "--sim", simulator,
              "--rtl", str(rtl), "--junit", str(junit)])
    out = capsys.readouterr().out
    assert rc == 1, out
    failed = dict(FAIL.findall(out))
    cfg = parse_config(SPEC).cfg
    requantised = {case_name("sps_4x4+bands", s) for s in range(3, 7)
                   if draw_case(s, cfg, "case")["requant"]}
    assert failed and set(failed) <= requantised, out
    root, cases = _junit(junit)
    assert root.get("failures") == str(len(failed))
    assert {n for n, tc in cases.items() if tc.find("failure") is not None} == set(failed)

    first = next(iter(failed))
    seed = first.split("seed=")[1]
    rerun = re.search(rf"^  rerun alone: (.*--seed0 {seed} .*)$", out, re.M).group(1)
    assert re.search(rf"^  sps debug:   sps debug --input \S+ .*--rtl {re.escape(str(rtl))}", out, re.M), out
    args = shlex.split(rerun)
    assert args[:2] == ["sps", "regress"] and "--rtl" in args
    assert sps(args[1:]) == 1
    again = capsys.readouterr().out
    assert FAIL.findall(again) == [(first, failed[first])], again
    assert (tmp_path / "build" / "regress" / "junit.xml").is_file()
