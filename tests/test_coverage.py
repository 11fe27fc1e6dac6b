"""sps/coverage.py, the coverage.dat reader, merger and report, on hand-written coverage.dat files
(the format of Verilator's include/verilated_cov.cpp), and `sps coverage --report-only`."""
from __future__ import annotations

import json

import pytest

from sps import coverage as cov
from sps.cli import main

SOURCE = """module m(input clk, input rst, input a, output reg q);
    always @(posedge clk) begin
        if (rst) q <= 1'b0;
        else q <= a;
    end
    wire unused = &{1'b0, clk};
endmodule
"""


def point(f, line, type_, comment, count, S=None, h="top.u", col=5, module="m"):
    keys = [("f", str(f)), ("l", str(line)), ("n", str(col)), ("t", type_), ("page", f"v_{type_}/{module}"),
            ("o", comment)] + ([("S", S)] if S else []) + [("h", h)]
    return "C '" + "".join(f"\x01{k}\x02{v}" for k, v in keys) + f"' {count}"


def dat(path, points):
    path.write_text(cov.HEADER + "\n" + "\n".join(points) + "\n")
    return path


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "rtl").mkdir()
    (tmp_path / "tb").mkdir()
    (tmp_path / "rtl" / "m.v").write_text(SOURCE)
    (tmp_path / "tb" / "t.v").write_text(SOURCE)
    return tmp_path


def run_a(repo):
    """The points of one run: reset once, then the else arm only; q toggled up, never down."""
    f = repo / "rtl" / "m.v"
    return [point(f, 2, "line", "block", 10, S="2"),
            point(f, 3, "branch", "if", 1, S="3", col=9),
            point(f, 3, "branch", "else", 9, S="4", col=10),
            point(f, 1, "toggle", "q:0->1", 2),
            point(f, 1, "toggle", "q:1->0", 0),
            point(f, 6, "expr", "(clk==1) => 1", 0),
            point(repo / "tb" / "t.v", 2, "line", "block", 0, S="2")]


def test_read_and_merge_sum_counts(repo):
    f = repo / "rtl" / "m.v"
    a = cov.read_dat(dat(repo / "a.dat", run_a(repo)))
    b = cov.read_dat(dat(repo / "b.dat", [point(f, 3, "branch", "if", 4, S="3", col=9, h="top.v"),
                                          point(f, 1, "toggle", "q:1->0", 3, h="top.w", module="m__W8")]))
    merged = cov.merge([a, b])
    assert len(merged) == len(a)        # equal points merge, whatever the instance or parameter set
    by = {(p.type, p.comment): p.count for p in merged.values() if p.file == str(f)}
    assert by[("branch", "if")] == 5 and by[("toggle", "q:1->0")] == 3 and by[("branch", "else")] == 9
    assert a[0].lines() == [2] and cov.Point({"S": "38-39,43"}, 0).lines() == [38, 39, 43]


def test_escaped_values_are_decoded(repo):
    p = cov.read_dat(dat(repo / "e.dat", [point(repo / "rtl" / "m.v", 6, "expr", "(a%25b==1) => 1", 1)]))
    assert p[0].comment == "(a%b==1) => 1"


def test_classification_rtl_only(repo):
    items = cov.items_of(cov.read_all([dat(repo / "a.dat", run_a(repo))]).values(), repo)
    assert {it.file for it in items} == {"rtl/m.v"}    # tb/ dropped
    lines = {it.line: it.count for it in items if it.type == "line"}
    assert lines == {2: 10, 3: 1, 4: 9}                 # from the S lists of line and branch points
    t = cov.tally(items)
    assert t["line"] == {"hit": 3, "total": 3, "waived": 0, "pct": 100.0}
    assert t["branch"]["pct"] == 100.0 and t["toggle"] == {"hit": 1, "total": 2, "waived": 0, "pct": 50.0}
    assert t["expr"]["hit"] == 0 and t["expr"]["total"] == 1


def write_waivers(repo, data):
    p = repo / "waivers.json"
    p.write_text(json.dumps(data))
    return p


def test_waivers_match_source_text_not_line_numbers(repo):
    w = write_waivers(repo, {"waivers": [
        {"file": "rtl/m.v", "type": "expr", "match": "wire   unused =", "reason": "constant: a lint sink"},
        {"file": "rtl/m.v", "type": "toggle", "match": "module m", "point": "q:", "reason": "rises once"},
        {"file": "rtl/m.v", "type": "branch", "match": "if (rst)", "point": "else", "reason": "hit: wrong"},
        {"file": "rtl/m.v", "type": "line", "match": "no such text", "reason": "stale"}]})
    (repo / "rtl" / "m.v").write_text("// a new first line\n" + SOURCE)     # every line moved by one
    f = repo / "rtl" / "m.v"
    shifted = [point(f, 7, "expr", "(clk==1) => 1", 0), point(f, 2, "toggle", "q:1->0", 0),
               point(f, 2, "toggle", "q:0->1", 1),                # named by the waiver, but hit: counts as hit
               point(f, 4, "branch", "else", 3, S="5", col=10), point(f, 4, "branch", "if", 0, S="4", col=9)]
    s, _, _ = cov.report([dat(repo / "s.dat", shifted)], repo / "out", w, root=repo)
    assert s["expr_pct"] is None and s["totals"]["expr"]["waived"] == 1      # the only expr point
    assert s["totals"]["toggle"] == {"hit": 1, "total": 1, "waived": 1, "pct": 100.0}
    assert s["totals"]["branch"] == {"hit": 1, "total": 2, "waived": 0, "pct": 50.0}   # waived but hit
    assert [w["match"] for w in s["waivers_contradicted"]] == ["if (rst)"]
    assert s["waivers_contradicted"][0]["hit"] == ["rtl/m.v:4 else"]
    assert [w["match"] for w in s["waivers_unused"]] == ["no such text"]
    assert {(x["type"], x["line"]) for x in s["waived"]} == {("expr", 7), ("toggle", 2)}
    unc = (repo / "out" / "uncovered.txt").read_text()
    assert "rtl/m.v:4  branch  if  | if (rst) q <= 1'b0;" in unc and "expr" not in unc


@pytest.mark.parametrize("bad, what", [
    ({"waivers": [{"file": "rtl/m.v", "type": "line", "match": "x"}]}, "'reason' missing"),
    ({"waivers": [{"file": "rtl/m.v", "type": "fsm", "match": "x", "reason": "r"}]}, "type 'fsm'"),
    ({"waivers": [{"file": "rtl/m.v", "type": "line", "match": "x", "reason": "r", "lines": 3}]}, "unknown key"),
    ({"waiver": []}, "expected"),
])
def test_bad_waiver_file(repo, bad, what):
    with pytest.raises(ValueError, match=what):
        cov.load_waivers(write_waivers(repo, bad))


def test_lcov_output(repo):
    items = cov.items_of(cov.read_all([dat(repo / "a.dat", run_a(repo))]).values(), repo)
    assert cov.lcov(items, repo).splitlines() == [
        "TN:sps", f"SF:{repo / 'rtl' / 'm.v'}",
        "BRDA:3,0,0,9", "BRDA:3,0,1,1", "BRF:2", "BRH:2",       # else (9) and if (1), by comment
        "DA:2,10", "DA:3,1", "DA:4,9", "LF:3", "LH:3", "end_of_record"]


def test_summary_and_functional_bins(repo):
    d = [dat(repo / "a.dat", run_a(repo))]
    s, unc, table = cov.report(d, repo / "out", repo / "none.json", root=repo)
    for k in ("line_pct", "branch_pct", "toggle_pct", "functional_bins_hit", "functional_bins_total",
              "per_file", "waived"):
        assert k in s
    assert s["functional"] == "not measured" and s["functional_bins_total"] == 0
    assert json.loads((repo / "out" / "summary.json").read_text())["toggle_pct"] == 50.0
    assert (repo / "out" / "coverage.info").read_text().startswith("TN:sps\n")
    assert unc == ["rtl/m.v:1  toggle  q: 1 bit-direction(s) never toggled  | module m(input clk, input rst, "
                   "input a, output reg q);",
                   "rtl/m.v:6  expr    (clk==1) => 1  | wire unused = &{1'b0, clk};"]
    assert table[-1].startswith("Functional coverage: not measured")
    (repo / "out" / "functional.json").write_text(json.dumps({"bins": {"stride2": 3, "pad0": 0}}))
    s, _, table = cov.report(d, repo / "out", repo / "none.json", functional=repo / "out" / "functional.json",
                             root=repo)
    assert (s["functional_bins_hit"], s["functional_bins_total"], s["functional"]) == (1, 2, "measured")
    (repo / "out" / "functional.json").write_text(json.dumps({"bins": ["stride2"]}))
    with pytest.raises(ValueError, match="functional.json"):
        cov.report(d, repo / "out", repo / "none.json", functional=repo / "out" / "functional.json", root=repo)


def test_toggle_text_groups_bits_and_instances():
    cs = [f"g[{i}].s[{b}]:0->1" for i in (0, 1) for b in (0, 1, 2, 5)] + ["g[0].s[7]:1->0"]
    assert cov._toggle_text(cs) == ("g[*].s[0:2,5] 0->1 in 2 instances (g[0].s, g[1].s), g[0].s[7] 1->0")


@pytest.mark.parametrize("text, what", [
    ("C 'x' 1\n", "not a Verilator coverage file"),
    (cov.HEADER + "\nC '\x01f\x02a.v\x01l\x021' many\n", "a.dat:2: not a coverage point"),
    (cov.HEADER + "\nC '\x01f\x02a.v\x01t\x02line' 1\n", "a.dat:2: point without the 'l' key"),
    (cov.HEADER + "\nC 'f=a.v' 1\n", "a.dat:2: point keys do not start"),
])
def test_malformed_dat(tmp_path, text, what):
    p = tmp_path / "a.dat"
    p.write_text(text)
    with pytest.raises(ValueError, match=what):
        cov.read_dat(p)


def test_cli_malformed_dat_one_line_error(tmp_path, capsys):
    (tmp_path / "a.dat").write_text("garbage\n")
    rc = main(["coverage", "--report-only", "--dat", str(tmp_path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "a.dat: not a Verilator coverage file" in err
    assert main(["coverage", "--report-only", "--dat", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 2
    assert "no coverage.dat files" in capsys.readouterr().err
    assert main(["coverage", "--dat", str(tmp_path)]) == 2
    assert "--dat goes with --report-only" in capsys.readouterr().err
