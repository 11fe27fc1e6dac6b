"""make test SHARD=k/N (pytest-split over .test_durations): the shards, as pytest collects them,
are disjoint, together are the whole suite, and are balanced by the recorded durations; a bad
SHARD is refused by make. The shards are collected (a few seconds each) concurrently in
subprocesses, once each, by one test marked slow: tb/conftest.py schedules it first, beside the
RTL tests."""
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DURATIONS = ROOT / ".test_durations"
N = 4
MAX_SHARD_SHARE = 0.35      # of the summed durations, for the slowest shard (ideal: 1/N)
MIN_RECORDED = 0.95         # collected tests with a recorded duration: below, refresh the file
SPLIT_ARGS = ["--splitting-algorithm", "least_duration", "--durations-path", str(DURATIONS)]
NODE_ID = re.compile(r"^[\w./-]+\.py::")


def _collect_shard(k: int) -> tuple[list[str], int]:
    """Shard k's node ids, and the size of the whole suite (pytest's "n/total tests collected")."""
    # the suite as `make test` sees it: same simulators (SIM) and paths; no worker variables
    env = {name: v for name, v in os.environ.items()
           if not name.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-rN", "-p", "no:warnings",
           "-p", "no:cacheprovider", "--splits", str(N), "--group", str(k), *SPLIT_ARGS,
           "tests", "tb"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    total = re.search(r"^\d+/(\d+) tests? collected", r.stdout, re.M)
    assert total, r.stdout[-3000:]
    return [line for line in r.stdout.splitlines() if NODE_ID.match(line)], int(total[1])


@pytest.mark.slow
def test_shards_partition_the_suite_and_balance():
    # one test, not three sharing a fixture: pytest-xdist would collect once per worker
    with ThreadPoolExecutor(N) as pool:
        shards, totals = zip(*pool.map(_collect_shard, range(1, N + 1)))
    durations = json.loads(DURATIONS.read_text())

    # disjoint, and together the whole suite: each shard is the suite less what pytest-split
    # deselected, so disjoint shards whose sizes add up to the suite's cover it
    assert len(set(totals)) == 1, f"the shards saw suites of different sizes: {totals}"
    for k, shard in enumerate(shards, 1):
        assert shard, f"shard {k}/{N} is empty"
        for j, other in enumerate(shards[k:], k + 1):
            both = set(shard) & set(other)
            assert not both, f"shards {k} and {j} share {len(both)} tests, e.g. {sorted(both)[0]}"
    whole = set().union(*shards)
    n = sum(map(len, shards))
    assert len(whole) == n == totals[0], \
        f"{n} tests in the shards ({len(whole)} distinct), {totals[0]} in the suite"

    # the durations file knows (nearly) every test: its node ids are pytest's
    known = [durations[t] for t in whole if t in durations]
    assert len(known) >= MIN_RECORDED * len(whole), (
        f"only {len(known)} of {len(whole)} collected tests have a duration in .test_durations "
        f"(e.g. {next(t for t in whole if t not in durations)}): refresh it from a full "
        "`make test` run: python scripts/durations_from_junit.py build/junit.xml")

    # balanced as pytest-split estimates: a test without a recorded duration counts as the mean
    mean = sum(known) / len(known)
    sums = [sum(durations.get(t, mean) for t in shard) for shard in shards]
    total = sum(sums)
    table = ", ".join(f"{k}: {s:.0f} s ({s / total:.0%})" for k, s in enumerate(sums, 1))
    assert max(sums) <= MAX_SHARD_SHARE * total, \
        f"slowest shard over {MAX_SHARD_SHARE:.0%} of the total: {table}"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("shard", ["5/4", "0/4", "abc", "1/0", "1/4/2", "-1/4", "2/4 x", "'"])
def test_bad_shard_refused(shard):
    r = subprocess.run(["make", "-n", "test", f"SHARD={shard}"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and f"SHARD={shard}: expected k/N" in r.stderr, r.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_passes_the_shard_to_pytest_split():
    r = subprocess.run(["make", "-n", "test", "SHARD=2/4"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"--splits 4 --group 2 {' '.join(SPLIT_ARGS[:2])} --durations-path .test_durations" \
        in r.stdout, r.stdout


def test_durations_from_junit(tmp_path):
    """scripts/durations_from_junit.py: JUnit classname + name -> pytest node ids (module paths
    found on disk, classes kept, parameter ids untouched); --update keeps the other entries."""
    for f in ("tests/test_a.py", "tb/blocks/test_b.py"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("")
    (tmp_path / "junit.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_a" name="test_x[1.5-a::b]" time="0.25" />'
        '<testcase classname="tests.test_a.TestC" name="test_y" time="1.0" />'
        '<testcase classname="tb.blocks.test_b" name="test_z[icarus-W8]" time="12.5">'
        '<failure message="x">x</failure></testcase>'
        '<testcase classname="tests.test_gone" name="test_w" time="3" />'
        "</testsuite></testsuites>")
    out = tmp_path / "durations.json"
    out.write_text(json.dumps({"tests/test_old.py::test_v": 2.0,
                               "tests/test_a.py::test_x[1.5-a::b]": 9.0}))
    script = [sys.executable, str(ROOT / "scripts" / "durations_from_junit.py"), "junit.xml",
              "--out", str(out), "--root", str(tmp_path)]
    r = subprocess.run([*script, "--update"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "left out 1 test(s)" in r.stderr
    assert json.loads(out.read_text()) == {
        "tests/test_a.py::test_x[1.5-a::b]": 0.25,
        "tests/test_a.py::TestC::test_y": 1.0,
        "tb/blocks/test_b.py::test_z[icarus-W8]": 12.5,
        "tests/test_old.py::test_v": 2.0,
    }
    r = subprocess.run(script, cwd=tmp_path, capture_output=True, text=True)      # replaces
    assert r.returncode == 0 and "tests/test_old.py::test_v" not in json.loads(out.read_text())
