"""cocotb module that fails on purpose, with a message of the kind a real mismatch gives: the
harness must bring that message, the seed and the sim.log path into the pytest report
(tb/top/test_failure_report.py)."""
import cocotb
from cocotb.triggers import Timer

MESSAGE = "first mismatch at (f=2, y=3, x=4): RTL 7, reference 9"


@cocotb.test()
async def planted_mismatch(dut):
    await Timer(1, "ns")
    observed, expected = 7, 9                    # as a scoreboard compares a DUT output with its model
    assert observed == expected, MESSAGE
