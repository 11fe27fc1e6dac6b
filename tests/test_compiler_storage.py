"""Storage report formulas (compiler/storage.py docstring table), on hand-computed cases."""
import numpy as np
import pytest

from compiler.config import ArrayConfig
from compiler.paths import ROOT
from compiler.layer import QLayer
from compiler.storage import format_storage_table, layer_storage, lg, rle_entries, storage_ratios, storage_report
from models.pps import PPS


def test_lg():
    assert [lg(n) for n in (1, 2, 3, 4, 5, 8, 9, 16, 17, 1024, 1025)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 10, 11]


def bits(rep, k):
    return rep[k]["value_bits"], rep[k]["index_bits"], rep[k]["total_bits"]


def test_dense_small():
    rep = storage_report(2, 1, PPS.dense(), 8, 8)       # NNZ = 18, 9C = 9
    assert bits(rep, "dense") == (144, 0, 144)
    assert bits(rep, "CSR") == (144, 18 * 4 + 3 * 5, 144 + 87)
    assert bits(rep, "CSC") == (144, 18 * 1 + 10 * 5, 144 + 68)
    assert bits(rep, "COO") == (144, 18 * (1 + 1 + 4), 144 + 108)
    assert bits(rep, "bitmap") == (144, 18, 162)
    assert bits(rep, "RLE") == (144, 72, 216)
    assert bits(rep, "SPS") == (144, 9 + 2 * (3 + 1), 161)


def test_ps4_layer():
    F, C = 64, 32
    rep = storage_report(F, C, PPS.ps(4), 8, 8)
    nnz = 4 * F * C
    assert rep["_layer"]["nnz"] == nnz
    assert bits(rep, "dense") == (9 * F * C * 8, 0, 9 * F * C * 8)
    assert rep["CSR"]["index_bits"] == nnz * lg(288) + (F + 1) * lg(nnz + 1)
    assert rep["CSC"]["index_bits"] == nnz * 6 + 289 * lg(nnz + 1)
    assert rep["COO"]["index_bits"] == nnz * (6 + 5 + 4)
    assert rep["bitmap"]["index_bits"] == 9 * F * C
    assert rep["RLE"] == {"value_bits": nnz * 8, "index_bits": nnz * 4, "total_bits": nnz * 12}  # runs <= 5
    assert rep["SPS"]["index_bits"] == 4 * 9 + 8 and rep["SPS"]["value_bits"] == nnz * 8
    r = storage_ratios(rep)
    assert r["COO"]["index"] == pytest.approx(nnz * 15 / 44)
    assert r["dense"]["total"] == pytest.approx(9 * F * C * 8 / (nnz * 8 + 44))
    assert set(r) == {"dense", "CSR", "CSC", "COO", "bitmap", "RLE"}


def test_structural_nonzeros_not_values():
    """A kept weight equal to 0 still counts (the mask, not the values)."""
    w = np.zeros((3, 2, 3, 3), np.int8)
    layer = QLayer("z", w)
    rep = layer_storage(layer, PPS.ps(1, 2), ArrayConfig(PMAX=16))
    assert rep["_layer"]["nnz"] == 6 and rep["SPS"]["index_bits"] == 2 * 9 + 2 * (4 + 1)


def test_rle_fillers():
    row = np.zeros(80, bool)
    row[[15, 15 + 16 + 1, 15 + 17 + 32 + 1]] = True      # runs 15, 16, 32 -> 0 + 1 + 2 fillers
    assert rle_entries(row[None]) == 3 + 3
    m = np.zeros((2, 40), bool)
    m[0, 0] = m[1, 39] = True                            # run 78 across the row boundary
    assert rle_entries(m) == 2 + 78 // 16
    assert rle_entries(np.zeros((2, 9), bool)) == 0
    # F=1, C=2, patterns (0,), (8,): columns 0 and 17 -> run 16 -> one filler
    rep = storage_report(1, 2, PPS(((0,), (8,)), 0))
    assert bits(rep, "RLE") == (3 * 8, 3 * 4, 36)


def test_table():
    t = format_storage_table(storage_report(16, 8, PPS.psd()))
    lines = t.splitlines()
    assert len(lines) == 9 and lines[1].split()[:4] == ["format", "values", "index", "total"]
    assert [l.split()[0] for l in lines[2:]] == ["dense", "CSR", "CSC", "COO", "bitmap", "RLE", "SPS"]


def test_cli_vgg16_table_is_the_documented_table(capsys):
    """`sps storage` prints the VGG-16 table of docs/RESULTS.md; the options change it."""
    from pathlib import Path

    from sps.cli import main as sps
    main = lambda argv: sps(["storage", *argv])  # noqa: E731
    assert main([]) == 0
    out = capsys.readouterr().out
    table = [l for l in out.splitlines() if l.startswith("|")]
    results = (ROOT / "docs" / "RESULTS.md").read_text()
    assert len(table) == 9 and "\n".join(table) in results
    assert "| SPS | 52,303,872 | 572 | 52,304,444 | 1x | 1.00x |" in table
    assert main(["--first-dense", "--per-layer", "--pps", "psd", "--bits", "4"]) == 0
    out = capsys.readouterr().out
    assert "conv1_1 dense, the other 12 PSD" in out and "4-bit weights" in out
    assert out.count("storage (bits)") == 13


@pytest.mark.parametrize("args, match", [(["--pps", "auto"], "no weights to infer"),
                                         (["--pps", "nope"], "no such file"),
                                         (["--bits", "0"], "--bits must be >= 1")])
def test_cli_errors(capsys, args, match):
    from sps.cli import main as sps
    main = lambda argv: sps(["storage", *argv])  # noqa: E731
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("sps storage: error: ") and match in err and err.count("\n") == 1


def test_storage_of_a_1x1_layer_is_its_f_by_c_matrix():
    """A 1x1 layer (run on the array as a centre-only 3x3 layer) is stored as the F x C matrix it
    is: every weight kept, 9 -> 1 in every format's formula."""
    from compiler.unfold import UNFOLDED_PPS
    from compiler.storage import lg

    F, C, b = 6, 5, 8
    r = storage_report(F, C, UNFOLDED_PPS, b=b, pmax=8, kernel=1)
    nnz = F * C
    assert r["dense"]["total_bits"] == F * C * b
    assert r["bitmap"]["index_bits"] == F * C and r["bitmap"]["value_bits"] == nnz * b
    assert r["CSR"]["index_bits"] == nnz * lg(C) + (F + 1) * lg(nnz + 1)
    assert r["COO"]["index_bits"] == nnz * (lg(F) + lg(C))
    assert r["SPS"]["total_bits"] == nnz * b + 9 + 2 * (lg(8) + 1)
    with pytest.raises(ValueError, match="kernel must be 1 or 3"):
        storage_report(F, C, UNFOLDED_PPS, kernel=5)
