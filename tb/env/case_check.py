"""cocotb module: the layer cases of SPS_CASE (tb/env/cases.py) on sps_top, one after the other in
one simulation, each compiled, run and checked: every output bit-exactly against the integer
reference convolution (models.reference, which shares no code with the compiler), and the hardware
counters against the compiler's cycle model (cycle-exactly without stalls). Run by the top-level
tests (tb/top/test_sps_top.py) and by `sps regress` (tb/env/regress.py)."""
from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np
from cocotb.utils import get_sim_time

from compiler.compile import compile_layer
from tb.env.cases import make_case, reference_output
from tb.env.runner import CLK_NS
from tb.env.stall import as_stall
from tb.env.top import SpsEnv, env_config, sum_counters

MODULE = "tb.env.case_check"


@cocotb.test()
async def layer_matches_reference(dut):
    """SPS_CASE: one case (JSON object) or a list of cases run one after the other in this
    simulation (the sweeps: one simulator start for many layers). The first failing case ends the
    test, unless SPS_CASE_RESULTS names a file (created as the test starts): then every case runs
    (the DUT reset after a failing one), each appends a JSON line {"name", "ok", "error", "cycles", "seconds"} to the file as it
    ends (simulated clock cycles, wall seconds), and the test fails at the end naming the cases
    that failed (`sps regress`)."""
    raw = json.loads(os.environ["SPS_CASE"])
    cases = raw if isinstance(raw, list) else [raw]
    env = SpsEnv(dut, env_config())                    # the transport: SPS_TRANSPORT
    record = os.environ.get("SPS_CASE_RESULTS")
    if record:
        open(record, "a").close()                      # the file says the test started
    failed = []
    for case in cases:
        env.reseed(case.get("seed", 0), case.get("stall", 0.0))
        if not record:
            await check_case(env, case)
            continue
        t0, w0, error = get_sim_time(unit="ns"), time.monotonic(), None
        try:
            await check_case(env, case)
        except Exception as e:                         # a mismatch, a timeout, a protocol violation
            # an assertion's message is its first line (pytest's rewriting adds the expression's parts)
            text = str(e).split("\n")[0] if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}"
            error = " / ".join(line for line in text.splitlines() if line.strip()) or type(e).__name__
            failed.append(case.get("name", "case"))
            await env.reset(check=False)               # the next case starts from a clean DUT
        with open(record, "a") as fh:
            fh.write(json.dumps({"name": case.get("name", "case"), "ok": error is None, "error": error,
                                 "cycles": round((get_sim_time(unit="ns") - t0) / CLK_NS),
                                 "seconds": round(time.monotonic() - w0, 3)}) + "\n")
    assert not failed, f"{len(failed)} of {len(cases)} cases failed: {', '.join(failed)}"


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
    assert bad.size == 0, (f"{name}: {len(bad)} of {want.size} outputs differ; first at (f, oy, ox)="
                           f"{tuple(int(i) for i in bad[0])}: "
                           f"got {y[tuple(bad[0])]}, expected {want[tuple(bad[0])]}")
    env.fcov.sample_layer(layer, x, prog, as_stall(case.get("stall", 0.0)), stats)
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
