"""The single parameter source: config/sps.json -> ArrayConfig (compiler, testbench) and the RTL
header; every validation error names the parameter."""
import json

import pytest

from compiler.config import CONFIG_PATH, ArrayConfig, load_config
from sps.cli import main as sps


def test_defaults_come_from_sps_json():
    raw = {k: v for k, v in json.loads(CONFIG_PATH.read_text()).items() if not k.startswith("_")}
    cfg = ArrayConfig()
    assert cfg.hdl_parameters() == raw == load_config().hdl_parameters()
    small = ArrayConfig(ROWS=16, ACT_DEPTH=40)
    assert (small.ROWS, small.ACT_DEPTH) == (16, 40)
    assert {k: v for k, v in small.hdl_parameters().items() if k not in ("ROWS", "ACT_DEPTH")} == \
        {k: v for k, v in raw.items() if k not in ("ROWS", "ACT_DEPTH")}
    assert cfg.replace(COLS=5) == ArrayConfig(COLS=5) and cfg.pes == raw["ROWS"] * raw["COLS"]


def test_verilog_header_has_every_parameter(tmp_path):
    vh = tmp_path / "gen" / "sps_config.vh"
    assert sps(["config", "--vh", str(vh)]) == 0
    text = vh.read_text()
    for k, v in ArrayConfig().hdl_parameters().items():
        assert f"`define SPS_{k} {v}\n" in text
    mtime = vh.stat().st_mtime_ns
    assert sps(["config", "--vh", str(vh)]) == 0 and vh.stat().st_mtime_ns == mtime   # unchanged: not rewritten


@pytest.mark.parametrize("kw, match", [
    ({"ROWS": 0}, "ROWS must be a positive integer"),
    ({"COLS": 2.0}, "COLS must be a positive integer"),
    ({"LANES": True}, "LANES must be a positive integer"),
    ({"ACT_DEPTH": "1024"}, "ACT_DEPTH must be a positive integer"),
    ({"ROWS": 256}, "<= 255"),
    ({"PMAX": 26}, "PMAX=26 puts FG.. past BATCH .0xFC.*PMAX must be <= 25"),
    ({"OUT_FIFO_DEPTH": 7}, "OUT_FIFO_DEPTH must be >= 8"),
    ({"MACS_PER_DSP": 3}, "MACS_PER_DSP must be 1 or 2"),
])
def test_invalid_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        ArrayConfig(**kw)
    assert ArrayConfig(PMAX=25).PMAX == 25


@pytest.mark.parametrize("text, match", [
    (None, "cannot read"),
    ("{", "cannot read"),
    ("[8, 8]", "expected a JSON object of parameters, got list"),
    ('{"ROWS": 8, "ROW": 4}', r"unknown key\(s\) \['ROW'\]"),
    ('{"PMAX": 30}', "PMAX=30"),
    ('{"DIM_BITS": -1}', "DIM_BITS must be a positive integer"),
    ('{"ROWS": null, "PMAX": 4}', r"\['ROWS'\] must be positive integers, got null"),
])
def test_bad_config_files(tmp_path, capsys, text, match):
    f = tmp_path / "cfg.json"
    if text is not None:
        f.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_config(f)
    vh = tmp_path / "x.vh"
    assert sps(["config", "--config", str(f), "--vh", str(vh)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps config: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not vh.exists()


def test_partial_config_file_and_unwritable_header(tmp_path, capsys):
    f = tmp_path / "cfg.json"
    f.write_text('{"_note": "comments are keys starting with _", "ROWS": 4, "LANES": 4}')
    assert load_config(f) == ArrayConfig(ROWS=4, LANES=4)
    assert sps(["config", "--config", str(f)]) == 0
    assert json.loads(capsys.readouterr().out)["ROWS"] == 4
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert sps(["config", "--vh", str(blocker / "x.vh")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps config: error: --vh") and err.count("\n") == 1
