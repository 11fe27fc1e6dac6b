"""cocotb module (run by tb.env.host.run_program_on_rtl) that runs a saved layer program
(SPS_PROGRAM, .npz with activation streams) on sps_top and writes the result beats and hardware
counters of every band, and the simulated cycles and seconds (SimMeter), to SPS_RESULT (.npz). Used by `sps run-layer` and `sps bench`; the checking
is done by the caller."""
from __future__ import annotations

import json
import os

import numpy as np
import cocotb

from compiler.progfile import load_program
from tb.env.meter import SimMeter
from tb.env.top import SpsEnv


@cocotb.test()
async def run_program_file(dut):
    meter = SimMeter()
    prog = load_program(os.environ["SPS_PROGRAM"])
    env = SpsEnv(dut, prog.cfg, seed=int(os.environ.get("SPS_SEED", "0")),
                 stall=json.loads(os.environ.get("SPS_STALL", "0")))         # transport: SPS_TRANSPORT
    await env.reset()
    await env.check_config()
    out = {}
    stats = []
    for band in prog.bands:
        res, cnt = await env.run_band(band)
        out[f"res_{band.index}"] = res
        stats.append(cnt)
        dut._log.info(f"band {band.index + 1}/{len(prog.bands)}: {cnt['cycles']} cycles")
    np.savez(os.environ["SPS_RESULT"], stats=np.array(json.dumps(stats)),
             sim=np.array(json.dumps(meter.figures())), **out)
