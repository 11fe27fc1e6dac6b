"""The energy model (compiler/energy.py): one small layer counted and priced by hand, the weight
fetch by format by hand, the default table's figures, and bad energy tables rejected with a
one-line error naming the field. That the counts from an RTL run's counters equal the cycle
model's: tb/top/test_energy_counts.py."""
from __future__ import annotations

import copy
import re
import json

import numpy as np
import pytest

from compiler.compile import compile_layer
from compiler.config import ArrayConfig
from compiler.energy import TABLE_PATH, buffers, energy_of, layer_counts, load_energy_table, weight_fetch
from compiler.layer import QLayer
from compiler.storage import storage_report
from models.pps import PPS
from sps.cli import main as sps

# round numbers, so that every product below is exact
HAND = {
    "name": "hand", "source": "test",
    "actions": {"int8_mult": {"pJ": 2}, "int8_add": {"pJ": 0.5}, "int32_add": {"pJ": 1},
                "int32_mult": {"pJ": 10}, "reg_write_8b": {"pJ": 0.25}},
    "sram_read_64b": [{"kbytes": 16, "pJ": 64}],
    "dram_64b": {"pJ": 640},
    "decode": {"dense": {}, "CSR": {"int32_add": 1}, "CSC": {"int32_add": 1}, "COO": {"int32_add": 2},
               "bitmap": {"int32_add": 1}, "RLE": {"int32_add": 1}, "SPS": {"int8_add": 2}},
}


def write(tmp_path, obj, name="t.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def small_layer(requant: bool):
    """C = F = 8, 4x4 input, stride 1, padding 1, PS-4 with P = 4, on the default 8x8 array."""
    pps = PPS.ps(4)
    w = (np.random.default_rng(0).integers(1, 9, (8, 8, 3, 3)) * pps.kernel_mask(8, 8)).astype(np.int8)
    rq = (np.full(8, 3, np.uint16), np.full(8, 2, np.uint8), False) if requant else None
    return compile_layer(QLayer("hand", w, np.zeros(8, np.int32), 1, 1, rq), ArrayConfig(), pps, H=4, W=4)


def test_small_layer_by_hand(tmp_path):
    prog = small_layer(requant=False)
    assert ArrayConfig().ROWS == ArrayConfig().COLS == ArrayConfig().LANES == 8       # the counts below
    # 4 phase groups of 2 filters: 1 column tile each (2 of 8 columns active); 8 channels = one block,
    # 4 positions per channel = 4 row tiles of 8 rows; 16 output pixels per pass
    passes, npix = 4 * 4, 16
    counts = layer_counts(prog)
    assert counts == {
        "macs": 8 * 2 * npix * passes,             # 4,096 = 256 kept weights x 16 pixels
        "pixels": passes * npix,                   # 256
        "passes": passes,
        "act_reads": 9 * 256,                      # every sub-bank, every pixel
        "act_writes": 16,                          # 1 channel block x 4 x 4 pixels
        "pe_weight_writes": passes * 8 * 8,        # each row tile rewrites a slot
        "walker_steps": passes * 8,
        "acc_writes": 8 * 256, "acc_adds": 8 * 256,
        "acc_reads": 8 * (256 - 4 * npix) + 8 * 4 * npix,   # read-modify-write after the first tile + drain
        "header_writes": 4 * 7 * 8,                # 7 header beats of 8 bytes per column tile
        "bias_adds": 8 * 4 * npix, "requants": 0,  # raw mode
        "fifo_writes": 4 * npix, "fifo_reads": 4 * npix,
        "dram_wgt_bits": 4 * (7 + 4 * 8) * 64,     # 156 beats of 8 bytes
        "dram_index_bits": 9 * 4 + 2 * (3 + 1),    # pattern table + period and offset fields
        "dram_act_bits": 16 * 64,
        "dram_res_bits": 4 * npix * 256,
    }
    table = load_energy_table(write(tmp_path, HAND))
    # every RAM under 16 KB: 64 pJ per 64 bits; words of 64 (activations), 32 (accumulator), 256 (FIFO) bits
    assert {k: b["pJ_access"] for k, b in buffers(prog.cfg, table).items()} == {
        "activation buffer": 64, "accumulator": 32, "result FIFO": 256}
    assert energy_of(counts, prog.cfg, table) == {
        "MACs": 4096 * (2 + 1),
        "PE weight registers": 1024 * 0.25,
        "indexing (walker)": 128 * (2 * 0.5),
        "activation buffer": (2304 + 16) * 64,
        "accumulator": (2048 + 2048) * 32 + 2048 * 1,
        "output stage": 512 * 1 + 224 * 0.25,
        "result FIFO": (64 + 64) * 256,
        "DRAM weights+index": (9984 + 44) * 10,     # 640 pJ per 64 bits = 10 pJ per bit
        "DRAM activations": 1024 * 10,
        "DRAM results": 16384 * 10,
    }
    rq = layer_counts(small_layer(requant=True))
    assert rq["requants"] == 512 and energy_of(rq, prog.cfg, table)["output stage"] == 512 * (1 + 10 + 2 * 1) + 56


def test_weight_fetch_by_hand(tmp_path):
    table = load_energy_table(write(tmp_path, HAND))
    rep = storage_report(8, 8, PPS.ps(4))                      # NNZ = 256, 8-bit values: 2,048 bits
    f = weight_fetch([("hand", rep)], bands=[2], walker_steps=[256], table=table)
    # CSR: 256 x lg(72) = 7 column bits + 9 row pointers of lg(257) = 9 bits; two bands
    assert f["CSR"] == {"bits": 2 * (2048 + 256 * 7 + 9 * 9), "dram_pJ": 2 * 3921 * 10.0, "decode_elements": 512,
                        "decode_pJ": 512 * 1.0, "total_pJ": 78420 + 512.0}
    assert f["COO"]["decode_pJ"] == 512 * 2                    # two adds per non-zero
    assert f["SPS"]["bits"] == 2 * (2048 + 44) and f["SPS"]["decode_pJ"] == 256 * 1.0
    assert f["dense"]["bits"] == 2 * 9 * 64 * 8 and f["dense"]["decode_pJ"] == 0


def test_default_table_is_horowitz_45nm():
    t = load_energy_table()
    assert t["actions"] == {"int8_mult": 0.2, "int8_add": 0.03, "int32_add": 0.1, "int32_mult": 3.1,
                            "reg_write_8b": 0.03}
    assert [(kb, pj) for kb, pj, _ in t["sram"]] == [(8, 10), (32, 20), (1024, 100)]
    assert t["dram_64b"] == 1300 and t["dram_range"] == [1300, 2600]
    # the default array's RAMs: 8 KB activation sub-banks, 4 KB accumulator columns, a 257-byte FIFO
    b = buffers(ArrayConfig(), t)
    assert [(k, v["bytes_each"], v["class_kbytes"]) for k, v in b.items()] == [
        ("activation buffer", 8192, 8), ("accumulator", 4096, 8), ("result FIFO", 257, 8)]
    big = buffers(ArrayConfig(ACT_DEPTH=4096, ACC_DEPTH=8192), t)
    assert big["activation buffer"]["class_kbytes"] == 32 and big["accumulator"]["class_kbytes"] == 32


def _broken(edit):
    t = copy.deepcopy(json.loads(TABLE_PATH.read_text()))
    edit(t)
    return t


def _set(path, value):
    def edit(t):
        *head, last = path
        for k in head:
            t = t[k]
        if value is KeyError:
            del t[last]
        else:
            t[last] = value
    return edit


BAD = [
    ("{not json", "cannot read"),
    ("[1, 2]", "the file must be a JSON object"),
    (_broken(_set(["actions", "int8_mult"], KeyError)), "missing field actions.int8_mult"),
    (_broken(_set(["actions", "int32_add", "pJ"], "0.1")), "actions.int32_add.pJ must be a non-negative number"),
    (_broken(_set(["actions", "int8_add", "pJ"], -1)), "actions.int8_add.pJ must be a non-negative number"),
    (_broken(_set(["actions", "fp16_mult"], {"pJ": 1})), "unknown action"),
    (_broken(_set(["sram_read_64b"], [])), "sram_read_64b must be a non-empty list"),
    (_broken(_set(["sram_read_64b", 1, "kbytes"], 0)), r"sram_read_64b\[1\].kbytes must be positive"),
    (_broken(_set(["sram_read_64b", 0, "pJ"], None)), r"sram_read_64b\[0\].pJ must be"),
    (_broken(_set(["dram_64b"], KeyError)), "missing field dram_64b"),
    (_broken(_set(["dram_64b", "range"], [1300])), r"dram_64b.range must be \[low, high\]"),
    (_broken(_set(["decode", "RLE"], KeyError)), "missing field decode.RLE"),
    (_broken(_set(["decode", "CSR"], {"popcount": 1})), "decode.CSR: unknown action 'popcount'"),
    (_broken(_set(["decode", "COO", "int32_add"], True)), "decode.COO.int32_add must be a non-negative number"),
    (_broken(_set(["source"], 45)), "source must be a string"),
]


@pytest.mark.parametrize("table, words", BAD, ids=[w for _, w in BAD])
def test_bad_table_names_the_field(tmp_path, table, words):
    p = write(tmp_path, table)
    with pytest.raises(ValueError) as e:
        load_energy_table(p)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"energy table {p}: ")
    assert re.search(words, msg), msg


def test_cli_bad_table_one_line_exit_2(tmp_path, capsys):
    p = write(tmp_path, _broken(_set(["dram_64b", "pJ"], "lots")))
    for cmd in (["report", "--model", "digits", "--cycles", "model", "--out", str(tmp_path / "r")],
                ["demo", "--images", "1", "--out", str(tmp_path / "d")]):
        assert sps([*cmd, "--energy-table", str(p)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"sps {cmd[0]}: error: energy table {p}: dram_64b.pJ must be" in err, err
        assert not (tmp_path / cmd[-1]).exists()
    assert sps(["report", "--model", "digits", "--cycles", "model", "--energy-table", str(tmp_path / "none.json"),
                "--out", str(tmp_path / "r")]) == 2
    assert "cannot read" in capsys.readouterr().err
