"""sps.lutdepth: logic levels in front of each register of a synthesised ECP5 netlist, on a netlist
small enough to count by hand."""
import json

from sps import lutdepth


def _cell(t, **con):
    return {"type": t, "connections": {k: v for k, v in con.items()}, "port_directions": {}}


NETLIST = {"modules": {"top": {
    "attributes": {"top": 1},
    "netnames": {"din": {"bits": [10]}, "a_q": {"bits": [2]}, "x": {"bits": [3]}, "y": {"bits": [4]},
                 "b_q": {"bits": [5]}, "c_q": {"bits": [9]}},
    "cells": {
        # a_q <= din; y = f(f(a_q), a_q); b_q <= y: two LUT levels
        "ff_a": _cell("TRELLIS_FF", DI=[10], Q=[2]),
        "lut1": _cell("LUT4", A=[2], B=["0"], C=["0"], D=["0"], Z=[3]),
        "lut2": _cell("LUT4", A=[3], B=[2], C=["0"], D=["0"], Z=[4]),
        "ff_b": _cell("TRELLIS_FF", DI=[4], Q=[5]),
        # a two-cell carry chain from b_q: entering costs 1, the carry 0.1 per cell, a sum 0.3
        "ccu1": _cell("CCU2C", A0=[5], CIN=["0"], COUT=[6], S0=[7], S1=[11]),
        "ccu2": _cell("CCU2C", A0=["0"], CIN=[6], COUT=[12], S0=[13], S1=[8]),
        "ff_c": _cell("TRELLIS_FF", DI=[8], Q=[9]),
    }}}}


def test_levels_by_hand():
    res, _, _ = lutdepth.analyse(NETLIST)
    got = {label: d for d, kind, label, _ in res if kind == "FF.DI"}
    assert got == {"a_q": 0.0, "b_q": 2.0, "c_q": 1.3}


def test_summary_and_path(tmp_path):
    p = tmp_path / "n.json"
    p.write_text(json.dumps(NETLIST))
    s = lutdepth.summary(p, top=2)
    assert s["max_levels"] == 2.0 and s["endpoints"] == 3
    assert s["histogram"] == {"0": 1, "1": 1, "2": 1}
    assert [d["endpoint"] for d in s["deepest"]] == ["b_q (FF.DI)", "c_q (FF.DI)"]
    _, memo, names = lutdepth.analyse(NETLIST)
    assert lutdepth.path(4, memo, names) == ["a_q", "x", "y"]
