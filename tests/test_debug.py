"""`sps debug` (sps/commands/debug.py, tb/env/debug.py, tb/hdl/sps_tb_debug.v, compiler/trace.py):
the golden trace equals the functional model's results; the clean RTL shows no divergence; copies
of rtl/ with one planted bug each (written to the test's temporary folder, as tests/test_formal.py
does for its mutants) are localised to the right block boundary and pass by `sps debug --demo
--rtl COPY`; the FST of the window around a divergence, its viewer files and its picture; the
debug and window builds leave the regular build as it is; bad input exits 2."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

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
def test_planted_bug_is_localised(bug, tmp_path, capsys, monkeypatch):
    sim = _sim("verilator")
    monkeypatch.setenv("SPS_BUILD_DIR", str(tmp_path / "sim"))     # a build of its own, left with the test
    rtl = planted_copy(tmp_path, bug)
    out = tmp_path / "d.json"
    assert sps(["debug", "--demo", "--rtl", str(rtl), "--sim", sim, "--json", str(out), "--window", "0"]) == 1
    d = json.loads(out.read_text())
    boundary, pass_ = PLANTED[bug][3:5]
    printed = capsys.readouterr().out
    assert d["diverged"] is True
    assert (d["boundary"], d["band"], d["pass"]) == (boundary, 0, pass_), printed
    assert d["expected"] != d["observed"] and d["cycle"] is not None
    assert f"first divergence at {boundary}" in printed and d["reaches"]
    assert d["fst"] is None and not list(tmp_path.rglob("*.fst"))          # --window 0: no waves


def _check_waves(d: dict, window: int) -> "Window":
    """The FST of a divergence covers the window around its cycle and shows the observed value; the
    GTKWave save file and the Surfer command file open it with signals it has, grouped per block in
    data-path order, with the marker at the divergence's clock edge; the picture is an SVG of it."""
    import xml.etree.ElementTree as ET

    from tb.env.waves import BLOCK_TITLES, U, Window

    fst = Path(d["fst"])
    w = Window(fst)
    assert w.first_cycle <= d["cycle"] < w.last_cycle and w.last_cycle - w.first_cycle <= window + 1
    if d["boundary"] in ("array_in", "array_out"):          # the waves show the observed value
        net, lane, bits = (("row_a", d["row"], 8) if d["boundary"] == "array_in" else ("psum", d["col"], 32))
        v = (w.value(f"{U}.{net}", w.time_of(d["cycle"])) >> (bits * lane)) & ((1 << bits) - 1)
        assert v - (v >> (bits - 1) << bits) == d["observed"]
    edge = w.edge_of(d["cycle"])
    assert w.t0 < edge <= w.t1

    gtkw = Path(d["viewer"]["gtkwave"]).read_text().splitlines()
    assert f'[dumpfile] "{fst.resolve()}"' in gtkw
    star = next(ln for ln in gtkw if ln.startswith("*"))
    assert star.split()[1] == str(edge) and len(star.split()) == 28
    groups = [gtkw[i + 1][1:] for i, ln in enumerate(gtkw) if ln == "@800200"]
    assert groups == list(BLOCK_TITLES)
    assert [gtkw[i + 1][1:] for i, ln in enumerate(gtkw) if ln == "@1000200"] == groups
    sigs = [ln for ln in gtkw if ln and ln[0] not in "@-[*"]
    assert len(sigs) >= 12
    for s in sigs:
        name = s[:s.rindex("[")] if s.endswith(":0]") else s
        assert name in w.names, s
        assert s == name + ("" if w.width(name) == 1 else f"[{w.width(name) - 1}:0]"), s

    sucl = Path(d["viewer"]["surfer"]).read_text().splitlines()
    cmds = [(ln.split(" ", 1) + [""])[:2] for ln in sucl if ln and not ln.startswith("#")]
    assert [a for c, a in cmds if c == "divider_add"] == list(BLOCK_TITLES)
    assert all(a in w.names for c, a in cmds if c == "variable_add")
    assert ["cursor_set", str(edge)] in cmds and ["marker_set", "divergence"] in cmds

    svg = ET.parse(d["picture"]).getroot()
    assert svg.tag.endswith("svg")
    text = " ".join(t.text or "" for t in svg.iter() if t.tag.endswith(("text", "tspan")))
    assert f"first divergence at {d['boundary']}" in text
    src = json.loads((Path(d["picture"]).parent / (Path(d["picture"]).stem + ".wavedrom.json")).read_text())
    mark = next(r for r in src["signal"] if r["name"] == "divergence")["wave"]
    assert mark.count("1") == 1 and len(mark) == len(src["signal"][0]["wave"])
    return w


@pytest.mark.sim
def test_window_fst_viewer_files_and_picture(tmp_path, capsys, monkeypatch):
    """A planted bug (the walker's): `sps debug` writes an FST of the --window cycles around the
    divergence only, at least 10x smaller than a full dump of the same run, and no full dump; the
    viewer files and the picture (_check_waves)."""
    from sps.commands.debug import DEFAULT_WINDOW, demo_program
    from tb.env.debug import _simulate

    sim = _sim("verilator")
    monkeypatch.setenv("SPS_BUILD_DIR", str(tmp_path / "sim"))
    rtl = planted_copy(tmp_path, "walker_wrong_position")
    out = tmp_path / "d.json"
    assert sps(["debug", "--demo", "--rtl", str(rtl), "--sim", sim, "--json", str(out),
                "--out", str(tmp_path / "waves")]) == 1
    d = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert d["boundary"] == "array_in" and d["fst"] in printed and d["picture"] in printed
    assert f"surfer {d['fst']} -c {d['viewer']['surfer']}" in printed
    assert sorted(p.name for p in (tmp_path / "waves").iterdir()) == [
        "debug_demo.fst", "debug_demo.gtkw", "debug_demo.sucl", "debug_demo.svg", "debug_demo.wavedrom.json"]
    assert not list((tmp_path / "sim").rglob("*.fst"))                 # no dump of the whole run
    _check_waves(d, DEFAULT_WINDOW)

    prog = demo_program()[0]                                         # the same layer, dumped whole
    assert _simulate(prog, sim, tmp_path, rtl, {"WAVES": 1, "SPS_DEBUG": 0}, []) is None
    full = list((tmp_path / "sim").rglob("*.fst"))
    assert len(full) == 1
    window = Path(d["fst"]).stat().st_size
    assert full[0].stat().st_size >= 10 * window, (full[0].stat().st_size, window)


def test_golden_trace_ends_in_the_functional_models_results():
    """The golden trace's result words are the functional model's, and its accumulator words
    after a column tile's last pass are the v words without the bias."""
    from compiler.funcmodel import run_band
    from compiler.trace import golden_trace
    from sps.commands.debug import DEMO_ACC_DEPTH, demo_program

    prog, layer, x = demo_program()
    cfg = prog.cfg
    assert cfg.ACC_DEPTH == DEMO_ACC_DEPTH
    golden = golden_trace(prog)
    assert len(golden) == 3 and prog.pps.period == 2                      # what --demo promises
    for band, bt in zip(prog.bands, golden):
        assert np.array_equal(np.concatenate([c.res for c in bt.col_tiles]), run_band(prog, band))
        assert len(bt.col_tiles) == 4 and len(bt.passes) == 32
        lasts = [p for p in bt.passes if p.last]
        assert [p.index for p in bt.passes if p.first] == [0, 8, 16, 24]
        bias = layer.bias
        for p, ct in zip(lasts, bt.col_tiles):
            f = prog.out_filter[ct.group][ct.col_tile * cfg.COLS:(ct.col_tile + 1) * cfg.COLS]
            assert np.array_equal(ct.v[:, :len(f)] - p.acc[:, :len(f)], np.broadcast_to(bias[f], (bt.npix, len(f))))


def _clean_trace(tmp_path_factory):
    sim = _sim("verilator")
    d = tmp_path_factory.mktemp("clean")
    rc = sps(["debug", "--demo", "--sim", sim, "--json", str(d / "d.json"), "--trace", str(d / "t.csv")])
    return rc, json.loads((d / "d.json").read_text()), d / "t.csv"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return _clean_trace(tmp_path_factory)


@pytest.mark.sim
def test_clean_rtl_has_no_divergence(clean):
    rc, d, trace = clean
    assert rc == 0
    assert d["diverged"] is False and d["bit_exact_vs_reference"] is True
    kinds = {}
    for line in trace.read_text().splitlines():
        kinds[line[0]] = kinds.get(line[0], 0) + 1
    # 3 bands x 32 passes x 60 pixels (sums over the bands: 5, 5 and 2 output rows of 12)
    pix = 32 * 12 * 12
    assert kinds == {"G": 3, "S": pix, "Q": pix, "A": 8 * pix, "P": 8 * pix, "W": 8 * pix,
                     "V": 4 * 144, "R": 4 * 144}


@pytest.mark.sim
@pytest.mark.parametrize("kind, boundary, field", [("A", "array_in", 4), ("P", "array_out", 3),
                                                  ("W", "accumulator", 5), ("V", "output", 3),
                                                  ("R", "result", 2)])
def test_an_edited_trace_is_caught_at_its_boundary(clean, kind, boundary, field, tmp_path):
    """One value of the clean run's trace changed (the 500th record of a kind, in band 0): the
    comparison names that boundary, the record's cycle and both values."""
    from compiler.trace import golden_trace
    from tb.env.debug import first_divergence
    from sps.commands.debug import demo_program

    lines = clean[2].read_text().splitlines()
    idx = [i for i, ln in enumerate(lines) if ln.startswith(kind + ",")][100 if kind in "VR" else 500]
    parts = lines[idx].split(",")
    old = int(parts[field])
    parts[field] = str(old + 1)
    lines[idx] = ",".join(parts)
    edited = tmp_path / "t.csv"
    edited.write_text("\n".join(lines) + "\n")
    prog = demo_program()[0]
    d = first_divergence(prog, golden_trace(prog), edited)
    assert d is not None and d.boundary == boundary and d.band == 0
    assert d.cycle == int(parts[1])
    exp = d.expected[-1] if isinstance(d.expected, list) else d.expected
    obs = d.observed[-1] if isinstance(d.observed, list) else d.observed
    assert (exp, obs) == (old, old + 1)


@pytest.mark.sim
def test_icarus_finds_a_planted_bug(tmp_path, monkeypatch):
    """The same monitors and comparison on Icarus: a PE that drops the product's sign."""
    sim = _sim("icarus")
    monkeypatch.setenv("SPS_BUILD_DIR", str(tmp_path / "sim"))
    rtl = planted_copy(tmp_path, "pe_dropped_sign")
    out = tmp_path / "d.json"
    assert sps(["debug", "--demo", "--rtl", str(rtl), "--sim", sim, "--json", str(out), "--window", "40",
                "--out", str(tmp_path / "waves")]) == 1
    d = json.loads(out.read_text())
    assert (d["boundary"], d["band"], d["pass"]) == ("array_out", 0, 0)
    _check_waves(d, 40)


def test_the_regular_build_has_no_monitors(monkeypatch, tmp_path):
    """Without SPS_DEBUG and SPS_WAVE_WINDOW the testbench top's sources, defines and build
    directory are the regular ones, nothing is traced, and the preprocessed sps_tb.v instantiates
    no monitor and no window dump; with either, all of them change."""
    captured = []
    monkeypatch.setattr(runner, "_build", lambda r, extra, top, params, bd, args, defines=None, waves=False:
                        captured.append((extra, defines, bd, waves)))
    monkeypatch.setattr(runner, "get_runner", lambda sim: object(), raising=False)
    monkeypatch.setattr(runner, "_drop_public_flat_rw", lambda r: None)
    import cocotb_tools.runner as cr
    monkeypatch.setattr(cr, "get_runner", lambda sim: object())
    monkeypatch.setenv("SPS_BUILD_DIR", str(tmp_path))
    monkeypatch.delenv("SPS_DEBUG", raising=False)
    monkeypatch.delenv("SPS_RTL_DIR", raising=False)
    monkeypatch.delenv("SPS_WAVE_WINDOW", raising=False)
    monkeypatch.delenv("WAVES", raising=False)
    for sim in ("icarus", "verilator"):
        runner.build(sim, runner.TB_TOP, {}, runner.tb_sources(), lean=True)
    monkeypatch.setenv("SPS_DEBUG", "1")
    runner.build("icarus", runner.TB_TOP, {}, runner.tb_sources(), lean=True)
    monkeypatch.setenv("SPS_DEBUG", "0")
    monkeypatch.setenv("SPS_WAVE_WINDOW", "1")
    runner.build("verilator", runner.TB_TOP, {}, runner.tb_sources(), lean=True)
    (plain, pdef, pdir, pw), (vplain, vdef, vdir, vw), (dbg, ddef, ddir, _), (win, wdef, wdir, ww) = captured
    for extra, defines, bd, waves in ((plain, pdef, pdir, pw), (vplain, vdef, vdir, vw)):
        assert runner.DEBUG_HDL not in extra and runner.WINDOW_HDL not in extra and not defines and not waves
        assert not bd.name.endswith(("-dbg", "-win"))
    assert runner.DEBUG_HDL in dbg and ddef == {"SPS_DEBUG": 1} and ddir.name == pdir.name + "-dbg"
    assert runner.WINDOW_HDL in win and wdef == {"SPS_WAVE_WINDOW": 1} and wdir.name == vdir.name + "-win" and ww
    if shutil.which("iverilog"):
        import subprocess
        for define, has in (([], ()), (["-DSPS_DEBUG"], ("sps_tb_debug",)), (["-DSPS_WAVE_WINDOW"], ("sps_tb_window",))):
            pre = subprocess.run(["iverilog", "-E", "-o", "/dev/stdout", *define, "-I", str(runner.GEN),
                                  "-I", str(RTL), str(runner.ROOT / "tb" / "hdl" / "sps_tb.v")],
                                 capture_output=True, text=True, check=True).stdout
            for module in ("sps_tb_debug", "sps_tb_window"):
                assert (module in pre) is (module in has)


@pytest.mark.parametrize("argv, msg", [
    (["debug"], "give one of --demo, --program"),
    (["debug", "--demo", "--program", "p.npz"], "not --demo and --program"),
    (["debug", "--demo", "--rtl", "/nonexistent"], "not a directory with sps_top.v"),
    (["debug", "--weight", "w.npy", "--relu"], "--relu needs --requant"),
    (["debug", "--demo", "--window", "-5"], "--window -5: a number of cycles"),
])
def test_bad_input_exits_2(argv, msg, capsys):
    assert sps(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and msg in err


@pytest.mark.sim
def test_program_file_and_layer_files(tmp_path, capsys):
    """A program file of sps compile (its input attached, or given with --input) and the layer's
    .npy files, on the --demo array (ACC_DEPTH 64: the same debug build): no divergence, exit 0."""
    sim = _sim("verilator")
    from models.pps import PPS
    from tb.env.cases import random_layer

    layer, x = random_layer(np.random.default_rng(5), PPS.ps(2, period=3), 9, 12, 7, 9, bias=100,
                            stride=2, padding=1)
    files = {"w": layer.weight, "b": layer.bias, "x": x}
    for k, v in files.items():
        np.save(tmp_path / f"{k}.npy", v)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"ACC_DEPTH": 64}))
    w, b, xf = (str(tmp_path / f"{k}.npy") for k in "wbx")
    assert sps(["compile", "--weight", w, "--stride", "2", "--padding", "1", "--out", str(tmp_path / "p.npz"),
                "--config", str(cfg), "--input", xf]) == 0
    capsys.readouterr()
    assert sps(["debug", "--program", str(tmp_path / "p.npz"), "--sim", sim]) == 0
    assert "no divergence" in capsys.readouterr().out
    assert sps(["debug", "--input", xf, "--weight", w, "--bias", b, "--stride", "2", "--padding", "1",
                "--config", str(cfg), "--sim", sim, "--json", str(tmp_path / "d.json")]) == 0
    d = json.loads((tmp_path / "d.json").read_text())
    assert d["diverged"] is False and d["bit_exact_vs_reference"] is True


# Planted bugs that need a layer of their own: accumulator forwarding is used only when a pixel
# comes back within 4 cycles (one-pixel passes on a 1-row array, a pass every 2 cycles); a PE
# adder without carries (every layer).
LAYER_PLANTED = {
    "acc_forwarding_dropped": (
        "sps_accumulator.v", "c_old = c_hit_d ? d_sum : c_hit_e ? e_sum : c_hit_f ? f_sum :",
        "c_old = 1'b0 ? d_sum : 1'b0 ? e_sum : 1'b0 ? f_sum : 1'b0 ? g_sum :",
        # no forwarding from D, E, F (only from G): pass 1 adds to the sum pass 0 wrote 2-3
        # cycles before, still in the pipeline, and reads the stale RAM word
        {"ROWS": 1, "COLS": 2, "LANES": 1}, (6, 2, 3, 3, 0), "accumulator", 1),
    "pe_dropped_carry": (
        "sps_pe.v", "psum_q    <= psum_in + {{(PSW-16){prod[15]}}, prod};",
        "psum_q    <= psum_in ^ {{(PSW-16){prod[15]}}, prod};",
        {}, (8, 8, 5, 5, 1), "array_out", 0),
}


@pytest.mark.sim
@pytest.mark.parametrize("bug", list(LAYER_PLANTED))
def test_planted_bug_in_a_layer_of_its_own(bug, tmp_path, capsys, monkeypatch):
    """The layer's .npy files and an array configuration, a planted copy of rtl/: the right boundary
    and pass."""
    sim = _sim("verilator")
    from models.pps import PPS
    from tb.env.cases import random_layer

    fname, good, bad, cfg, (C, F, H, W, pad), boundary, pass_ = LAYER_PLANTED[bug]
    monkeypatch.setenv("SPS_BUILD_DIR", str(tmp_path / "sim"))
    rtl = tmp_path / "rtl"
    shutil.copytree(RTL, rtl)
    text = (rtl / fname).read_text()
    assert text.count(good) == 1, f"rtl/{fname} no longer has {good!r}: update the planted bug"
    (rtl / fname).write_text(text.replace(good, bad))
    layer, x = random_layer(np.random.default_rng(9), PPS.dense(), C, F, H, W, bias=100, padding=pad)
    for k, v in {"w": layer.weight, "b": layer.bias, "x": x}.items():
        np.save(tmp_path / f"{k}.npy", v)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    out = tmp_path / "d.json"
    argv = ["debug", "--input", str(tmp_path / "x.npy"), "--weight", str(tmp_path / "w.npy"), "--bias",
            str(tmp_path / "b.npy"), "--stride", "1", "--padding", str(pad), "--pps", "dense",
            "--config", str(tmp_path / "cfg.json"), "--sim", sim, "--json", str(out), "--window", "0"]
    assert sps(argv) == 0, capsys.readouterr().out                  # the clean RTL: no divergence
    capsys.readouterr()
    assert sps(argv + ["--rtl", str(rtl)]) == 1
    d = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert (d["boundary"], d["band"], d["pass"]) == (boundary, 0, pass_), printed
    assert d["expected"] != d["observed"] and f"first divergence at {boundary}" in printed


def test_a_network_layer_that_differs_gets_its_command(tmp_path):
    """sps report / sps demo: the first differing array layer of a network run (host layers skipped)
    gets the `sps debug` command line that rebuilds it alone on its reference input: the same layer
    (a 1x1 conv as the array runs it), the same PPS, the reference's output."""
    import types

    import numpy as np

    from compiler.config import load_config
    from compiler.network import NetProgram
    from models.qnet import run_reference
    from sps.cli import parser
    from sps.commands.debug import _program, network_layer_command
    from tb.env.cases import reference_output
    from tests.test_onnx_oracle import tiny_qnet

    qnet, images = tiny_qnet(gap=False)
    x = np.stack([qnet.quantize_input(im) for im in images[:2]])
    cfg = load_config()
    stages = NetProgram(qnet, cfg).array_stages
    one = next(s for s in stages if s.kind == "conv1x1")
    host = next(n.name for n in qnet.nodes if n.op == "maxpool")
    run = types.SimpleNamespace(differing=[(1, host), (1, one.name)])
    cmd = network_layer_command(run, qnet, x, cfg, tmp_path)
    a = parser().parse_args(cmd.split()[1:])
    prog, layer, xin = _program(a)
    ref = run_reference(qnet, x[1])
    assert np.array_equal(xin, ref[one.node.inputs[0]]) and prog.pps == one.prog.pps
    assert np.array_equal(reference_output(layer, xin), ref[one.out])
    assert network_layer_command(types.SimpleNamespace(differing=[(0, host)]), qnet, x, cfg, tmp_path) is None
