"""Logic depth between registers in a synthesised ECP5 netlist (Yosys JSON after synth_ecp5).

A quick estimate of where the clock is lost, without place and route: every register input, block-RAM
and DSP input is given the number of LUT levels in front of it (a LUT4 is one level, a PFUMX or
L6MUX21 a third of one, a carry cell one level to enter and a tenth per cell along the chain).
Routing on ECP5 costs roughly one LUT delay per hop, so depth times about 1.2 ns is a fair guess of a
path's delay; nextpnr gives the real figure.

    python -m sps.lutdepth build/fpga/sps.json [--min 5] [--top 40]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict

LUT, MUX, CARRY_IN, CARRY_STEP, CARRY_SUM = 1.0, 0.34, 1.0, 0.1, 0.3


def _name(bit, names):
    return names.get(bit, f"${bit}")


def analyse(netlist: dict, top: str | None = None):
    mods = netlist["modules"]
    if top is None:
        top = next(n for n, m in mods.items() if m.get("attributes", {}).get("top"))
    m = mods[top]
    names = {}
    for nn, info in m["netnames"].items():
        hidden = info.get("hide_name", 0)
        for i, b in enumerate(info["bits"]):
            if isinstance(b, str):
                continue
            label = nn if len(info["bits"]) == 1 else f"{nn}[{i}]"
            rank = (bool(hidden), len(label))          # a visible name first, then the shorter
            if b not in names or rank < names[b][0]:
                names[b] = (rank, label)
    names = {b: label for b, (_, label) in names.items()}
    # combinational arcs: out_bit -> list of (in_bit, delay)
    arcs = defaultdict(list)
    endpoints = []  # (bit, kind, cellname)
    for cn, c in m["cells"].items():
        t, con = c["type"], c["connections"]
        def bits(p):
            return [b for b in con.get(p, []) if not isinstance(b, str)]
        if t == "LUT4":
            for p in "ABCD":
                for b in bits(p):
                    arcs[bits("Z")[0]].append((b, LUT))
        elif t in ("PFUMX", "L6MUX21"):
            out = bits("Z")[0]
            for p in ("ALUT", "BLUT", "C0", "D0", "D1", "SD"):
                for b in bits(p):
                    arcs[out].append((b, MUX))
        elif t == "CCU2C":
            ins = [b for p in ("A0", "B0", "C0", "D0", "A1", "B1", "C1", "D1") for b in bits(p)]
            cin = bits("CIN")
            for o in bits("S0") + bits("S1"):
                arcs[o] += [(b, CARRY_IN) for b in ins] + [(b, CARRY_SUM) for b in cin]
            for o in bits("COUT"):
                arcs[o] += [(b, CARRY_IN) for b in ins] + [(b, CARRY_STEP) for b in cin]
        elif t == "TRELLIS_FF":
            for p in ("DI", "CE", "LSR", "M"):
                for b in bits(p):
                    endpoints.append((b, f"FF.{p}", cn, bits("Q")))
        elif t == "TRELLIS_DPR16X4":
            for p in ("RAD",):
                for o in bits("DO"):
                    arcs[o] += [(b, LUT) for b in bits(p)]
            for p in ("WAD", "DI", "WRE"):
                for b in bits(p):
                    endpoints.append((b, f"LUTRAM.{p}", cn, []))
        elif t in ("DP16KD", "MULT18X18D", "ALU54B"):
            for p, d in c.get("port_directions", {}).items():
                if d == "input" and p not in ("CLKA", "CLKB", "CLK0", "CLK1", "CLK2", "CLK3"):
                    for b in bits(p):
                        endpoints.append((b, f"{t}.{p}", cn, []))
    memo: dict[int, tuple[float, int | None]] = {}

    def depth(b):
        stack = [(b, False)]
        while stack:
            x, done = stack.pop()
            if x in memo:
                continue
            preds = arcs.get(x, [])
            if not done:
                stack.append((x, True))
                for (p, _) in preds:
                    if p not in memo:
                        stack.append((p, False))
            else:
                best, arg = 0.0, None
                for (p, d) in preds:
                    v = memo[p][0] + d
                    if v > best:
                        best, arg = v, p
                memo[x] = (best, arg)
        return memo[b][0]

    results = []
    for (b, kind, cn, q) in endpoints:
        d = depth(b)
        label = _name(q[0], names) if q else cn
        results.append((d, kind, label, b))
    return results, memo, names


def path(bit, memo, names, limit=40):
    out = []
    while bit is not None and len(out) < limit:
        out.append(_name(bit, names))
        bit = memo.get(bit, (0, None))[1]
    return list(reversed(out))


def _group(label):
    return re.sub(r"\[\d+\]", "[]", label)


def groups(res, min_levels: float) -> list[tuple]:
    """Register inputs grouped by register (a bus counts once) and kind, deepest first:
    (levels, inputs at >= min_levels, label, kind, the deepest input's bit)."""
    g: dict = {}
    for d, kind, label, b in res:
        e = g.setdefault((_group(label), kind), [0.0, 0, b])
        e[1] += d >= min_levels
        if d > e[0]:
            e[0], e[2] = d, b
    return sorted(((v[0], v[1], k[0], k[1], v[2]) for k, v in g.items()), key=lambda r: r[:2], reverse=True)


def histogram(res) -> dict:
    hist: dict = defaultdict(int)
    for d, *_ in res:
        hist[int(d)] += 1
    return {str(k): hist[k] for k in sorted(hist)}


def summary(netlist_path, top: int = 10, min_levels: float = 5.0) -> dict:
    """The figures `sps fpga` reports: the deepest register input, a histogram of register inputs
    by whole levels, and the `top` deepest register groups."""
    with open(netlist_path) as fh:
        res, _, _ = analyse(json.load(fh))
    return {"max_levels": round(max((d for d, *_ in res), default=0.0), 2),
            "endpoints": len(res),
            f"at_least_{min_levels:g}": sum(1 for d, *_ in res if d >= min_levels),
            "histogram": histogram(res),
            "deepest": [{"levels": round(d, 2), "endpoint": f"{lab} ({kind})"}
                        for d, _, lab, kind, _ in groups(res, min_levels)[:top]]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist")
    ap.add_argument("--min", type=float, default=5.0, help="report endpoints at least this deep")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--paths", type=int, default=8, help="print the path of the deepest N groups")
    a = ap.parse_args(argv)
    with open(a.netlist) as fh:
        res, memo, names = analyse(json.load(fh))
    print("depth histogram (levels: endpoints):", ", ".join(f"{k}: {n}" for k, n in histogram(res).items()))
    rows = [r for r in groups(res, a.min) if r[0] >= a.min]
    print(f"{len(rows)} endpoint groups at depth >= {a.min}:")
    for d, n, label, kind, _ in rows[: a.top]:
        print(f"  {d:5.2f}  {n:4d}  {kind:14s} {label}")
    for d, _, label, kind, b in rows[: a.paths]:
        print(f"\n{label} ({kind}, {d:.2f}):")
        for step in path(b, memo, names):
            print("    " + step)
    return 0


if __name__ == "__main__":
    sys.exit(main())
