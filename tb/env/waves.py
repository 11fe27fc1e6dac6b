"""`sps debug`'s views of the windowed FST around a divergence (tb.env.debug.run_window writes it):
the signals of the divergent path grouped per block, a GTKWave save file and a Surfer command file
that open the FST with those groups and a marker at the divergence, and a picture of a few cycles
around it (WaveDrom, drawn from the FST read with pywellen).

    w = Window(fst)                                  # the FST, read with pywellen
    groups = w.groups(path_signals(d.col))    # [(block, [signal names])], names the FST has
    write_gtkw(w, groups, d.cycle, "d.gtkw"); write_surfer(w, groups, d.cycle, "d.sucl")
    draw(w, d, "d.svg")
"""
from __future__ import annotations

import bisect
import json
from pathlib import Path

TOP = "sps_tb"
U = f"{TOP}.u_top"
CYCLE = f"{TOP}.cycle"          # the testbench's cycle counter (since reset), as the monitors count
CLK = f"{TOP}.clk"
BLOCK_TITLES = ("index select -> array", "array -> accumulator", "accumulator", "output stage")
# the block boundary of a divergence -> the blocks of its path (its own first)
BOUNDARY_BLOCK = {"array_in": 0, "array_out": 1, "accumulator": 2, "output": 3, "result": 3}


def path_signals(col: int | None) -> list[tuple[str, list[str]]]:
    """The signals of the data path through array column `col` (0 when not known), per block, in
    data-path order (sps_top's nets, rtl/sps_top.v: the rows' and columns' buses whole)."""
    j = col or 0
    return [
        (BLOCK_TITLES[0], [f"{U}.pix_sb_valid", f"{U}.pix_sb", f"{U}.row_valid", f"{U}.row_tag", f"{U}.row_a"]),
        (BLOCK_TITLES[1], [f"{U}.acc_sb_valid", f"{U}.acc_sb", f"{U}.col_valid", f"{U}.col_tag", f"{U}.psum"]),
        (BLOCK_TITLES[2], [f"{U}.u_acc.g_col[{j}].{n}" for n in ("d_valid", "d_bank", "d_pixel", "d_sum")]),
        (BLOCK_TITLES[3], [f"{U}.u_out.g_lane[{j}].l_valid", f"{U}.u_out.g_lane[{j}].l_val",
                           f"{U}.m_axis_res_tvalid", f"{U}.m_axis_res_tready", f"{U}.m_axis_res_tdata"]),
    ]


class Window:
    """An FST (of the window build) read with pywellen: its signals and the time of each cycle."""

    def __init__(self, fst: str | Path):
        import pywellen

        self.path = Path(fst).resolve()
        self.wave = pywellen.Waveform(str(self.path))
        self.names = {v.full_name: v for v in self.wave.all_vars()}
        if CYCLE not in self.names:
            raise ValueError(f"{fst}: no {CYCLE} (not an FST of the testbench top)")
        self._cyc = [(t, v) for t, v in self.names[CYCLE].tv if isinstance(v, int)]
        self.first_cycle, self.last_cycle = self._cyc[0][1], self._cyc[-1][1]
        self.t0, self.t1 = self._cyc[0][0], self._cyc[-1][0]

    def groups(self, blocks) -> list[tuple[str, list[str]]]:
        """`blocks` with only the signals the FST has."""
        return [(title, [n for n in sigs if n in self.names]) for title, sigs in blocks]

    def width(self, name: str) -> int:
        return self.names[name].bitwidth

    def time_of(self, cycle: int) -> int:
        """The time (FST ticks) at which the counter becomes `cycle`: the signals until the next
        change are what the clock edge of that cycle takes."""
        i = bisect.bisect_left([c for _, c in self._cyc], cycle)
        return self._cyc[min(i, len(self._cyc) - 1)][0]

    def edge_of(self, cycle: int) -> int:
        """The clock edge that takes cycle `cycle`'s values (where the monitors record it)."""
        return self.time_of(cycle + 1)

    def value(self, name: str, time: int):
        """The signal's value at `time` (an int; a string with x/z bits; None before its first change)."""
        tv = self.names[name].tv
        tv = tv if isinstance(tv, list) else list(tv)
        i = bisect.bisect_right([t for t, _ in tv], time) - 1
        return tv[i][1] if i >= 0 else None


def _gtkw_name(w: Window, name: str) -> str:
    n = w.width(name)
    return name + (f"[{n - 1}:0]" if n > 1 else "")


# GTKWave trace flags (gtkwave's analyzer.h): hex 0x22, decimal 0x24, binary 0x28 (right-justified),
# a group's begin (TR_GRP_BEGIN | TR_BLANK) and end (TR_GRP_END | TR_BLANK)
GTKW_HEX, GTKW_BIN, GTKW_GROUP, GTKW_GROUP_END = "@22", "@28", "@800200", "@1000200"


def write_gtkw(w: Window, groups, cycle: int, path: str | Path) -> Path:
    """A GTKWave save file: `gtkwave FST FILE` opens the window with a group per block and the
    primary marker at the clock edge of `cycle`."""
    marker = w.edge_of(cycle)
    lines = ["[*] sps debug: the window around the first divergence (tb/env/waves.py)",
             f'[dumpfile] "{w.path}"', f'[savefile] "{Path(path).resolve()}"',
             f"[timestart] {w.t0}", "[size] 1600 900", "[pos] -1 -1",
             # zoom, the primary marker, then the 26 named markers (unset)
             "*-13.000000 " + " ".join([str(marker)] + ["-1"] * 26),
             f"[treeopen] {TOP}.", f"[treeopen] {U}.", "[sst_width] 260", "[signals_width] 320",
             "[sst_expanded] 1", "[sst_vpaned_height] 400",
             GTKW_BIN, f"{CLK}", GTKW_HEX, _gtkw_name(w, CYCLE)]
    for title, sigs in groups:
        lines += [GTKW_GROUP, f"-{title}"]
        for s in sigs:
            lines += [GTKW_BIN if w.width(s) == 1 else GTKW_HEX, _gtkw_name(w, s)]
        lines += [GTKW_GROUP_END, f"-{title}"]
    lines.append("[pattern_trace] 1\n[pattern_trace] 0")
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def write_surfer(w: Window, groups, cycle: int, path: str | Path) -> Path:
    """A Surfer command file: `surfer FST -c FILE` shows a divider per block with its signals, and
    the cursor and a marker at the clock edge of `cycle`."""
    lines = ["# sps debug: the window around the first divergence (tb/env/waves.py)",
             f"variable_add {CLK}", f"variable_add {CYCLE}"]
    for title, sigs in groups:
        lines.append(f"divider_add {title}")
        lines += [f"variable_add {s}" for s in sigs]
    lines += [f"cursor_set {w.edge_of(cycle)}", "marker_set divergence", "zoom_fit", "goto_cursor"]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def _lane(v, lo: int, width: int, signed: bool):
    if not isinstance(v, int):
        return None if v is None else "x"
    x = (v >> lo) & ((1 << width) - 1)
    return x - (1 << width) if signed and x >> (width - 1) else x


def picture_signals(boundary: str, row: int | None, col: int | None) -> list[tuple[str, str, int, int, bool]]:
    """The key signals of the divergent boundary, as (label, signal, low bit, width, signed)."""
    r, j = row or 0, col or 0
    acc, lane = f"{U}.u_acc.g_col[{j}]", f"{U}.u_out.g_lane[{j}]"
    ins = [("pixel sideband valid", f"{U}.pix_sb_valid", 0, 1, False),
           (f"row_valid[{r}]", f"{U}.row_valid", r, 1, False),
           (f"row_a[{r}] (activation)", f"{U}.row_a", 8 * r, 8, True)]
    outs = [("array sideband valid", f"{U}.acc_sb_valid", 0, 1, False),
            (f"col_valid[{j}]", f"{U}.col_valid", j, 1, False),
            (f"psum[{j}]", f"{U}.psum", 32 * j, 32, True)]
    accs = [(f"col {j} write", f"{acc}.d_valid", 0, 1, False), (f"col {j} bank", f"{acc}.d_bank", 0, 1, False),
            (f"col {j} pixel", f"{acc}.d_pixel", 0, 16, False), (f"col {j} sum", f"{acc}.d_sum", 0, 32, True)]
    outst = [(f"lane {j} valid", f"{lane}.l_valid", 0, 1, False), (f"lane {j} acc + bias", f"{lane}.l_val", 0, 32, True),
             ("result valid", f"{U}.m_axis_res_tvalid", 0, 1, False),
             (f"result lane {j}", f"{U}.m_axis_res_tdata", 32 * j, 32, True)]
    return {"array_in": ins + outs[:1], "array_out": ins[:1] + outs + accs[:1], "accumulator": outs[1:] + accs,
            "output": accs[:1] + accs[3:] + outst, "result": outst}[boundary]


def wavedrom_json(w: Window, d, span: int = 8) -> dict:
    """WaveDrom source of cycles d.cycle - span .. d.cycle + span: the key signals of the divergent
    boundary (picture_signals), the cycle counter, and a mark at the divergence."""
    lo = max(w.first_cycle, d.cycle - span)
    hi = min(w.last_cycle - 1, d.cycle + span)
    cycles = list(range(lo, hi + 1))
    rows = [{"name": "clk", "wave": "p" + "." * (len(cycles) - 1)}, _data_row(w, "cycle", CYCLE, 0, 32, False, cycles)]
    for label, sig, bit, width, signed in picture_signals(d.boundary, d.row, d.col):
        if sig in w.names:
            width = min(width, w.width(sig) - bit)
            rows.append(_data_row(w, label, sig, bit, width, signed, cycles))
    rows.append({"name": "divergence", "wave": "".join("1" if c == d.cycle else "0" for c in cycles),
                 "node": "".join("a" if c == d.cycle else "." for c in cycles)})
    head = (f"first divergence at {d.boundary}, band {d.band}"
            + (f", pass {d.pass_}" if d.pass_ is not None else "") + f", cycle {d.cycle}: "
            + f"expected {d.expected}, observed {d.observed}")
    return {"signal": rows, "head": {"text": head}, "foot": {"text": f"cycles {lo} .. {hi} of {w.path.name}"},
            "config": {"hscale": 2}}


def _data_row(w: Window, label, sig, bit, width, signed, cycles) -> dict:
    vals = [_lane(w.value(sig, w.time_of(c)), bit, width, signed) for c in cycles]
    if width == 1:
        return {"name": label, "wave": "".join("x" if v in (None, "x") else str(v) for v in vals)}
    wave, data, prev = "", [], object()
    for v in vals:
        if v == prev:
            wave += "."
        elif v in (None, "x"):
            wave += "x"
        else:
            wave += "="
            data.append(str(v))
        prev = v
    return {"name": label, "wave": wave, "data": data}


def draw(w: Window, d, path: str | Path, span: int = 8) -> Path:
    """The picture (SVG) of wavedrom_json, rendered by the wavedrom package; its source goes beside
    it (STEM.wavedrom.json)."""
    import wavedrom

    src = wavedrom_json(w, d, span)
    path = Path(path)
    (path.parent / (path.stem + ".wavedrom.json")).write_text(json.dumps(src, indent=1))
    wavedrom.render(json.dumps(src)).saveas(str(path))
    return Path(path)
