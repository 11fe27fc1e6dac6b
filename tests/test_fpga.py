"""The FPGA flow (sps/fpga.py, `sps fpga`): report parsing, the per-module table, the command's
errors, and -- the CI area regression -- ECP5 synthesis of the default array and of the 16x16
(two MACs per DSP) against the resource ceilings in config/fpga_ceilings.json (two to four minutes
each; `-m "not fpga"` skips them).
Place and route is the benchmark (`make fpga`), not a test."""
import json

import pytest

from compiler.config import load_config
from compiler.paths import CONFIG, ROOT
from sps import fpga
from sps.cli import main as sps

REPORT = {   # the shape of nextpnr-ecp5's --report JSON (trimmed)
    "fmax": {"$glbnet$clk$TRELLIS_IO_IN": {"achieved": 151.25, "constraint": 150}},
    "critical_paths": [{"from": "clk", "to": "clk", "path": [
        {"type": "clk-to-q", "delay": 0.52, "from": {"cell": "a_FF"}, "to": {"cell": "a_FF"}},
        {"type": "routing", "delay": 1.5, "from": {"cell": "a_FF"}, "to": {"cell": "lut1"}},
        {"type": "logic", "delay": 0.4, "from": {"cell": "lut1"}, "to": {"cell": "lut1"}},
        {"type": "routing", "delay": 1.2, "from": {"cell": "lut1"}, "to": {"cell": "b_FF"}},
        {"type": "setup", "delay": 0.1, "from": {"cell": "b_FF"}, "to": {"cell": "b_FF"}}]}],
    "utilization": {"MULT18X18D": {"available": 156, "used": 72}, "ALU54B": {"available": 78, "used": 0}},
}

STAT = """
=== $paramod$abc\\sps_pe ===
        2   LUT4
        1   MULT18X18D
       10   TRELLIS_FF
=== sps_row ===
        4   $paramod$abc\\sps_pe
        3   LUT4
=== sps_top ===
        2   sps_row
        1   $paramod$abc\\sps_pe
        5   LUT4
        1   DP16KD
=== design hierarchy ===
       42   sps_top
"""


def test_parse_report():
    r = fpga.parse_report(REPORT)
    assert r["fmax_mhz"] == 151.25 and r["constraint_mhz"] == 150
    cp = r["critical_path"]
    assert (cp["from"], cp["to"], cp["logic_levels"]) == ("a_FF", "b_FF", 1)
    assert cp["delay_ns"] == pytest.approx(3.72) and cp["routing_ns"] == pytest.approx(2.7)
    assert r["utilization"] == {"MULT18X18D": {"used": 72, "available": 156}}
    with pytest.raises(ValueError, match="no clock"):
        fpga.parse_report({"fmax": {}})


def test_per_module_counts_every_instance():
    per = fpga.per_module(fpga.parse_stat(STAT), "sps_top")
    assert per["sps_pe"]["instances"] == 9 and per["sps_pe"]["dsp"] == 9 and per["sps_pe"]["ff"] == 90
    assert per["sps_row"]["instances"] == 2 and per["sps_row"]["lut4"] == 6
    assert per["sps_top"]["lut4"] == 5 and per["sps_top"]["ebr"] == 1
    total = fpga.resources({"LUT4": 18 + 6 + 5, "MULT18X18D": 9})
    assert sum(m["lut4"] for m in per.values()) == total["lut4"]
    assert fpga.fits(total) and not fpga.fits(dict(total, dsp=157))


@pytest.mark.parametrize("args, word", [
    (["--target-mhz", "0"], "--target-mhz 0 is outside"),
    (["--out", "/tmp/elsewhere"], "inside the repository"),
    (["--config", "/nonexistent/c.json"], "c.json"),
    (["--router", "router3"], "invalid choice: 'router3'"),
])
def test_cli_errors(args, word, capsys):
    assert sps(["fpga", "--synth-only", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps fpga: error: ") and word in err and err.count("\n") == 1


CEILINGS = {k: v for k, v in json.loads((CONFIG / "fpga_ceilings.json").read_text()).items()
            if not k.startswith("_")}


@pytest.mark.fpga
@pytest.mark.parametrize("config", sorted(CEILINGS))
def test_synthesis_within_ceilings(config):
    """ECP5 synthesis of a shipped array (the default one, and the 16x16 with two MACs per DSP; the
    same code path as `sps fpga --synth-only`) within config/fpga_ceilings.json: an area regression
    fails CI; the DSP and block-RAM counts are exact."""
    ceil = CEILINGS[config]
    cfg = load_config(CONFIG / config)
    out = ROOT / "build" / "test_fpga" / config.removesuffix(".json")   # inside the repository: the tools see only it
    res = fpga.synth(cfg, out, progress=lambda m: None)["_total"]
    print(f"ECP5 synthesis of {config}:", res)
    over = {k: (res[k], v) for k, v in ceil.items() if res[k] > v}
    assert not over, f"resources over their ceilings (got, ceiling): {over}"
    assert res["dsp"] == ceil["dsp"] == cfg.dsps and res["ebr"] == ceil["ebr"]
    assert fpga.fits(res)
