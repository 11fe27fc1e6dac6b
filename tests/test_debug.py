"""`sps debug` (sps/commands/debug.py, tb/env/debug.py, tb/hdl/sps_tb_debug.v, compiler/trace.py):
the golden trace equals the functional model's results; the clean RTL shows no divergence; copies
of rtl/ with one planted bug each (written to the test's temporary folder, as tests/test_formal.py
does for its mutants) are localised to the right block boundary and pass by `sps debug --demo
--rtl COPY`; the debug build leaves the regular build as it is; bad input exits 2."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from compiler.paths import RTL
from sps.cli import main as sps
from tb.env import runner

# name: (file, the line as it is, the bug, boundary, pass of band 0 (None: a column tile's word),
#        what the bug is)
PLANTED = {
    "walker_wrong_position": (
        "sps_index_walker.v", "assign row_pos   = use_pat ? lo_pat : lo_rem;",
        "assign row_pos   = use_pat ? lo_pat : (lo_rem == 4'd4 ? 4'd5 : lo_rem);",
        # kernel position 4 is the 3rd position of pattern (1, 2, 4, 5): row tile 2 of group 0
        "array_in", 2),
    "isel_swapped_lane": (
        "sps_index_select.v", "localparam LANE = r % LANES;", "localparam LANE = (r % LANES) ^ 1;",
        "array_in", 0),
    "isel_skew_one_cycle": (
        "sps_index_select.v", "sps_delay #(.WIDTH(10), .DEPTH(r)) u_skew",
        "sps_delay #(.WIDTH(10), .DEPTH(r == 5 ? 6 : r)) u_skew",
        "array_in", 0),
    "pe_dropped_sign": (
        "sps_pe.v", "psum_q    <= psum_in + {{(PSW-16){prod[15]}}, prod};",
        "psum_q    <= psum_in + {{(PSW-16){1'b0}}, prod};",
        "array_out", 0),
    "pe_slot1_weight": (
        "sps_pe.v", "if (wr_slot) w1 <= wr_w;", "if (wr_slot) w1 <= wr_w ^ 8'sd1;",
        # weight slot 1 holds the second pass's tile
        "array_out", 1),
    "acc_wrong_bank_read": (
        "sps_accumulator.v", "c_hit_g ? g_sum : c_bank ? w1 : w0;", "c_hit_g ? g_sum : c_bank ? w0 : w1;",
        # the first row tile overwrites: the add of the second one reads the other bank
        "accumulator", 1),
    "requant_no_rounding": (
        "sps_requant.v", "q4 <= p3 + $signed(rnd3);", "q4 <= p3;",
        "result", None),
}


def planted_copy(tmp_path, name):
    fname, good, bad = PLANTED[name][:3]
    rtl = tmp_path / "rtl"
    shutil.copytree(RTL, rtl)
    text = (rtl / fname).read_text()
    assert text.count(good) == 1, f"rtl/{fname} no longer has {good!r}: update the planted bug"
    (rtl / fname).write_text(text.replace(good, bad))
    return rtl


def _sim(name):
    sims = runner.available_simulators()
    if name not in sims:
        pytest.skip(f"{name} not found")
    return name


@pytest.mark.sim
@pytest.mark.parametrize("bug", list(PLANTED))
def test_planted_bug_is_localised(bug, tmp_path, capsys):
    sim = _sim("verilator")
    rtl = planted_copy(tmp_path, bug)
    out = tmp_path / "d.json"
    assert sps(["debug", "--demo", "--rtl", str(rtl), "--sim", sim, "--json", str(out)]) == 1
    d = json.loads(out.read_text())
    boundary, pass_ = PLANTED[bug][3:5]
    printed = capsys.readouterr().out
    assert d["diverged"] is True
    assert (d["boundary"], d["band"], d["pass"]) == (boundary, 0, pass_), printed
    assert d["expected"] != d["observed"] and d["cycle"] is not None
    assert f"first divergence at {boundary}" in printed and d["reaches"]
