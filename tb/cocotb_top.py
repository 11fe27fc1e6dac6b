"""cocotb tests of sps_top: compiler program in, every output compared bit-exactly with the
integer reference convolution (models.reference, independent of the compiler).

The layer comes from the environment (SPS_CASE, JSON; see tb/cases.py), so pytest can sweep it;
a list of cases runs in one simulation.
"""
from __future__ import annotations

import json
import os

import numpy as np
import cocotb

from tb.cases import make_case, reference_output
from tb.sps_env import SpsEnv, env_config, sum_counters
from compiler.program import compile_layer

@cocotb.test()
async def layer_matches_reference(dut):
    """SPS_CASE: one case (JSON object) or a list of cases run one after the other in this
    simulation (the sweeps: one simulator start for many layers)."""
    raw = json.loads(os.environ["SPS_CASE"])
    cases = raw if isinstance(raw, list) else [raw]
    env = SpsEnv(dut, env_config())
    for case in cases:
        env.reseed(case.get("seed", 0), case.get("stall", 0.0))
        await check_case(env, case)


async def check_case(env: SpsEnv, case: dict) -> None:
    dut, cfg = env.dut, env.cfg
    name = case.get("name", "case")
    layer, x, pps = make_case(case)
    prog = compile_layer(layer, cfg, pps, x=x)
    await env.reset()
    await env.check_config()
    y, stats = await env.run_program(prog)
    want = reference_output(layer, x)
    if os.environ.get("SPS_DUMP"):
        np.savez(os.environ["SPS_DUMP"], got=y, want=want)
    bad = np.argwhere(y != want)
    assert bad.size == 0, (f"{name}: {len(bad)} of {want.size} outputs differ; first at (f, oy, ox)={tuple(bad[0])}: "
                           f"got {y[tuple(bad[0])]}, expected {want[tuple(bad[0])]}")
    tot = sum_counters(stats)
    dut._log.info(f"{name}: {prog.pps.describe()} bands={len(prog.bands)} "
                  f"passes={prog.bands[0].passes} cycles={tot['cycles']} predicted={prog.cycles['total']} "
                  f"macs={tot['macs']} stalls(act/wgt/res)={tot['stall_act']}/{tot['stall_wgt']}/{tot['stall_res']}")
    # the hardware counters against the compiler's model (no stalls: the model is cycle-exact)
    for s, b in zip(stats, prog.cycles["bands"]):
        assert s["passes"] == b["passes"], f"{name}: PASSES counter {s['passes']}, program has {b['passes']}"
        assert s["busy"] == b["pass_cycles"], f"{name}: BUSY counter {s['busy']}, expected {b['pass_cycles']}"
        assert s["macs"] == b["macs_issued"], f"{name}: MACS counter {s['macs']}, expected {b['macs_issued']}"
        if not case.get("stall"):
            assert s["cycles"] == b["total"], f"{name}: CYCLES counter {s['cycles']}, cycle model predicts {b['total']}"
            assert s["stall_act"] == s["stall_wgt"] == s["stall_res"] == 0, f"{name}: stall counters non-zero: {s}"
    assert prog.cycles["macs_issued"] == prog.cycles["macs"], f"{name}: MACs issued differ from the non-zero MACs"
    out = os.environ.get("SPS_STATS")
    if out:
        with open(out, "w") as fh:
            json.dump({"stats": stats, "predicted": prog.cycles}, fh)
