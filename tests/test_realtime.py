"""sps.realtime.measured_fmax: the clock of the real-time figures is the median over placement
seeds when a docs/fpga/seeds*.json records them for the same array, else the one recorded run
(a summary*.json of the same array)."""
from __future__ import annotations

import json

from compiler.config import ArrayConfig
from sps import realtime


def _write(tmp_path, monkeypatch, summary, seeds=None):
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    monkeypatch.setattr(realtime, "FPGA_DIR", tmp_path)
    (tmp_path / "seeds.json").unlink(missing_ok=True)
    if seeds is not None:
        (tmp_path / "seeds.json").write_text(json.dumps(seeds))


def test_median_of_seeds_for_the_same_array(tmp_path, monkeypatch):
    cfg = ArrayConfig()
    base = {"config": cfg.hdl_parameters(), "fmax_mhz": 107.26, "seed": 1, "device": "LFE5UM-85F"}
    _write(tmp_path, monkeypatch, base, {"config": cfg.hdl_parameters(), "median_fmax_mhz": 118.61,
                                         "runs": [{}, {}, {}]})
    f, where = realtime.measured_fmax(cfg)
    assert f == 118.61 and "median" in where and "3 placement seeds" in where and "seeds.json" in where
    _write(tmp_path, monkeypatch, base, {"config": cfg.replace(ROWS=4, LANES=4).hdl_parameters(),
                                         "median_fmax_mhz": 150.0})
    assert realtime.measured_fmax(cfg) == (107.26, "post-route Fmax of this array on the LFE5UM-85F "
                                                   "(docs/fpga/summary.md, seed 1)")
    assert realtime.measured_fmax(cfg.replace(ROWS=4, LANES=4))[0] == 150.0     # a record of its own
    assert realtime.measured_fmax(cfg.replace(ROWS=2, LANES=2)) == (None, "")
    (tmp_path / "summary.json").write_text("[1, 2]")
    assert realtime.measured_fmax(cfg) == (None, "")


def test_each_array_its_own_record(tmp_path, monkeypatch):
    """Two arrays, each with its own records (8x8 in seeds.json, 16x16 in seeds_16x16.json): each
    configuration gets its own clock, a third none."""
    cfg = ArrayConfig()
    big = cfg.replace(ROWS=16, COLS=16, LANES=16, MACS_PER_DSP=2)
    _write(tmp_path, monkeypatch, {"config": cfg.hdl_parameters(), "fmax_mhz": 107.26, "seed": 1},
           {"config": cfg.hdl_parameters(), "median_fmax_mhz": 118.61, "runs": [{}, {}, {}]})
    (tmp_path / "seeds_16x16.json").write_text(json.dumps(
        {"config": big.hdl_parameters(), "median_fmax_mhz": 131.0, "runs": [{}, {}, {}]}))
    assert realtime.measured_fmax(cfg)[0] == 118.61
    f, where = realtime.measured_fmax(big)
    assert f == 131.0 and "seeds_16x16.json" in where
    assert realtime.measured_fmax(big.replace(MACS_PER_DSP=1)) == (None, "")


def test_figures_per_dsp():
    """1e6 cycles at 100 MHz = 10 ms; 2 x 5e8 dense MACs / 10 ms = 100 GOP/s, over 144 DSPs."""
    rt = realtime.realtime(1_000_000, 2_000_000, 250_000_000, 500_000_000, 100.0, 144)
    p, d = rt["pps"], rt["dense"]
    assert (p["latency_ms"], p["images_per_s"], p["effective_gops"]) == (10.0, 100.0, 100.0)
    assert p["effective_gops_per_dsp"] == round(100 / 144, 3) and p["useful_gops"] == 50.0
    assert d["latency_ms"] == 20.0 and d["effective_gops_per_dsp"] == round(50 / 144, 3)
    assert "per DSP" in "\n".join(realtime.realtime_lines(rt, "x", "y")) and rt["dsps"] == 144


def test_dsp_count_of_the_shipped_arrays():
    """ArrayConfig.dsps is what synthesis counts (docs/fpga): the 8x8 72, the packed 16x16 144."""
    from compiler.config import load_config
    from compiler.paths import CONFIG
    assert ArrayConfig().dsps == 64 + 8
    big = load_config(CONFIG / "sps_16x16.json")
    assert big.MACS_PER_DSP == 2 and big.array_dsps == 128 and big.dsps == 144 <= 156
    assert big.replace(MACS_PER_DSP=1).dsps == 272 and big.replace(COLS=5).array_dsps == 16 * 3
