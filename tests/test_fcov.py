"""The functional coverage bins and their merge (tb/env/fcov.py), without a simulator."""
from __future__ import annotations

import json

import numpy as np
import pytest

from compiler.layer import QLayer, Requant
from models.pps import PPS
from tb.env import fcov
from tb.env.stall import Stall


def test_bins_fixed_and_unique():
    names = fcov.bins(8)
    assert len(names) == len(set(names))
    assert "shape/stride2/pad1/psd" in names and "pps/psd/P1" not in names and "pps/dense/P1" in names
    assert [n for n in fcov.bins(5) if n.startswith("pps/ps4/")] == ["pps/ps4/P1", "pps/ps4/P2", "pps/ps4/P4", "pps/ps4/P5"]


def test_kind_and_stall_classes():
    assert fcov.kind_of(PPS.dense()) == "dense"
    assert fcov.kind_of(PPS.ps(4)) == "ps4" and fcov.kind_of(PPS.ps(1, period=8)) == "ps1"
    assert fcov.kind_of(PPS.psd(n=2, period=4)) == "psd"
    assert fcov.kind_of(PPS(((0, 1, 2), (3, 4, 5)), 0)) is None                # PS-3: no bin
    assert fcov.kind_of(PPS(((0,), (3, 4)), 0)) is None                       # mixed sizes
    assert [fcov.stall_class(s) for s in (Stall(0.0), Stall(0.2), Stall(0.7), Stall(0.5, burst=64),
                                          Stall(0.3, burst=8))] == ["none", "light", "heavy", "burst64", "heavy"]


def _layer(bias, requant=None, w=1, x=1):
    weight = np.full((2, 1, 3, 3), w, np.int8)
    return QLayer("t", weight, np.array(bias, np.int32), 1, 0, requant), np.full((1, 3, 3), x, np.int8)


def test_arithmetic_corners_by_hand():
    # acc = 9 * 127 * 127 = 145,161 per output; bias at the top of int32 wraps, small does not
    layer, x = _layer([2**31 - 1, 0], w=127, x=127)
    assert fcov.FunctionalCoverage._arithmetic(layer, x) == {"out/int32_wrap": 1}
    layer, x = _layer([0, 0], w=127, x=127)
    assert fcov.FunctionalCoverage._arithmetic(layer, x) == {}
    # requantised: acc = 9, M = 65535, shift 12 -> round(9 * 65535 / 4096) = 144 > 127; filter 1: -144
    rq = Requant(np.array([2**16 - 1, 2**16 - 1], np.uint16), np.array([12, 12], np.uint8), False)
    layer, x = _layer([0, -18], requant=rq)
    assert fcov.FunctionalCoverage._arithmetic(layer, x) == {"out/saturate_+127": 1, "out/saturate_-128": 1}
    rq = Requant(rq.M, rq.shift, True)                                       # ReLU: no -128 clamp
    layer, x = _layer([0, -18], requant=rq)
    assert fcov.FunctionalCoverage._arithmetic(layer, x) == {"out/saturate_+127": 1}


def test_merge_sums_and_misses(tmp_path):
    (tmp_path / "a-1.json").write_text(json.dumps({"bins": {"mode/raw": 2, "bands/one": 1}}))
    (tmp_path / "b-2.json").write_text(json.dumps({"bins": {"mode/raw": 3, "no/such": 1}}))
    m = fcov.merge(tmp_path, pmax=8)
    assert m["bins"]["mode/raw"] == 5 and m["bins"]["bands/one"] == 1 and m["bins"]["mode/requant"] == 0
    assert m["hit"] == 2 and m["total"] == len(fcov.bins(8)) and "mode/requant" in m["missed"]
    assert m["unknown"] == ["no/such"]
    (tmp_path / "c-3.json").write_text("{not json")
    with pytest.raises(ValueError, match="c-3.json: not a functional coverage file"):
        fcov.merge(tmp_path)
