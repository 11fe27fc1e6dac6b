"""sps.realtime.measured_fmax: the clock of the real-time figures is the median over placement
seeds when docs/fpga/seeds.json records them for the same array, else the one recorded run."""
from __future__ import annotations

import json

from compiler.config import ArrayConfig
from sps import realtime


def _write(tmp_path, monkeypatch, summary, seeds=None):
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    monkeypatch.setattr(realtime, "FPGA_SUMMARY", tmp_path / "summary.json")
    monkeypatch.setattr(realtime, "FPGA_SEEDS", tmp_path / "seeds.json")
    if seeds is not None:
        (tmp_path / "seeds.json").write_text(json.dumps(seeds))


def test_median_of_seeds_for_the_same_array(tmp_path, monkeypatch):
    cfg = ArrayConfig()
    base = {"config": cfg.hdl_parameters(), "fmax_mhz": 107.26, "seed": 1, "device": "LFE5UM-85F"}
    _write(tmp_path, monkeypatch, base, {"config": cfg.hdl_parameters(), "median_fmax_mhz": 118.61,
                                         "runs": [{}, {}, {}]})
    f, where = realtime.measured_fmax(cfg)
    assert f == 118.61 and "median" in where and "3 placement seeds" in where
    _write(tmp_path, monkeypatch, base, {"config": cfg.replace(ROWS=4, LANES=4).hdl_parameters(),
                                         "median_fmax_mhz": 150.0})
    assert realtime.measured_fmax(cfg) == (107.26, "post-route Fmax of this array on the LFE5UM-85F "
                                                   "(docs/fpga/summary.md, seed 1)")
    assert realtime.measured_fmax(cfg.replace(ROWS=4, LANES=4)) == (None, "")
    (tmp_path / "summary.json").write_text("[1, 2]")
    assert realtime.measured_fmax(cfg) == (None, "")
