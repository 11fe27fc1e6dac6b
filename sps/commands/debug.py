"""Rerun one layer on a debug build of the RTL, with transaction monitors at sps_top's block
boundaries, compare every transaction with the golden trace computed from the program alone, and
print the first divergence: the block boundary, band, column tile, row tile, pass, pixel, array row
or column, the cycle, the expected and observed values, and the output elements it reaches.

example:
  sps debug --demo                                   the built-in layer on rtl/
  sps debug --demo --rtl ~/my_rtl --json d.json      the same on your copy of rtl/
  sps debug --input X.npy --weight W.npy --stride 1 --padding 1 --requant M.npy SH.npy --relu
  sps debug --program prog.npz [--input X.npy]       a program file of sps compile

Boundaries, in data-path order: array_in (index select -> array: each row's activation per
pixel), array_out (array -> accumulator: each column's partial sum per pixel), accumulator (every
accumulator write: bank, pixel, value), output (acc + bias, before requantisation), result (the
result stream). The first boundary at which anything differs is the one reported, at its
earliest cycle: the boundaries after it only inherit the error. See docs/DEBUGGING.md.

--demo: a PS-4 layer with period P = 2 (C=16, F=32, 12x12, requantised with ReLU), on the array
of --config (default config/sps.json with ACC_DEPTH 64, so that the layer takes 3 bands of output
rows); 2 column tiles per phase group, 8 row tiles each. --program: its activation streams, or
--input's. The layer options are those of sps run-layer. --json F: diverged, boundary, band,
group, col_tile, row_tile, pass, pixel, image, oy, ox, row, col, cycle, band_cycle, expected,
observed, what, reaches, trace, fst, viewer (gtkwave, surfer: files), picture. --trace F keeps the monitors' file (CSV, one transaction a line,
tb/hdl/sps_tb_debug.v).

The waves: on a divergence the layer is simulated a second time, on a build that dumps the waves of
the --window N cycles around it only (default 200; 0: none) into OUT/LAYER.fst (--out, default
./sps_debug), beside a GTKWave save file and a Surfer command file that open it with the signals of
the path grouped per block and a marker at the divergence, and a picture of the cycles around it
(OUT/LAYER.svg, WaveDrom):
  gtkwave OUT/LAYER.fst OUT/LAYER.gtkw        surfer OUT/LAYER.fst -c OUT/LAYER.sucl
Exit 0: nothing diverges; 1: a divergence (or the run failed); 2: bad input.
"""
from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

import numpy as np

from sps.cli import add_config_argument, add_sim_argument
from sps.commands.run_layer import add_layer_arguments, load_layer_files

HELP = "rerun a layer with monitors at the block boundaries: the first divergence from the golden trace"

DEMO_ACC_DEPTH = 64
DEFAULT_WINDOW = 200                # cycles of waves around the divergence


def add_arguments(ap) -> None:
    add_layer_arguments(ap, "int8 input [C, H, W] (.npy); with --program: the input to attach")
    ap.add_argument("--program", metavar="PROG.npz", help="a program file (sps compile) instead of the layer options")
    ap.add_argument("--demo", action="store_true",
                    help="a built-in layer: PPS with P = 2, 3 bands, 4 column tiles, requantisation and ReLU")
    ap.add_argument("--rtl", metavar="DIR", help="build from this copy of rtl/ (default: the repository's)")
    ap.add_argument("--json", metavar="F", help="write the divergence (or diverged: false) as JSON")
    ap.add_argument("--trace", metavar="F", help="keep the monitors' transaction file (CSV)")
    ap.add_argument("--window", type=int, default=DEFAULT_WINDOW, metavar="N",
                    help=f"an FST of the N cycles around the divergence (default {DEFAULT_WINDOW}; 0: no waves)")
    ap.add_argument("--out", default="sps_debug", metavar="DIR",
                    help="where the FST, the viewer files and the picture go (default ./sps_debug)")
    add_sim_argument(ap)
    add_config_argument(ap)


def check_rtl(rtl: str | None) -> None:
    """--rtl (sps debug, sps regress) must be a directory with sps_top.v."""
    from sps.cli import InputError

    if rtl is not None and not (Path(rtl).is_dir() and (Path(rtl) / "sps_top.v").is_file()):
        raise InputError(f"--rtl {rtl}: not a directory with sps_top.v")


def demo_layer():
    """The --demo layer: PS-4 with period 2, C=16, F=32, 12x12, stride 1, padding 1, requant + ReLU."""
    from models.pps import PPS
    from tb.env.cases import random_layer

    return random_layer(np.random.default_rng(22), PPS.ps(4, period=2), 16, 32, 12, 12, bias=3000,
                        requant=True, relu=True, name="debug_demo")


def demo_program(config: str | None = None):
    """(program, layer, input) of --demo, on the array of `config` (default config/sps.json with
    ACC_DEPTH 64)."""
    from compiler.compile import compile_layer
    from compiler.config import ArrayConfig, load_config

    cfg = load_config(config) if config else ArrayConfig(
        **(dataclasses.asdict(load_config()) | {"ACC_DEPTH": DEMO_ACC_DEPTH}))
    layer, x = demo_layer()
    return compile_layer(layer, cfg, "auto", x=x), layer, x


def _program(a):
    """(program, layer or None, input or None) from the options."""
    from compiler.compile import compile_layer
    from compiler.config import load_config
    from compiler.infer import pps_from_spec
    from compiler.progfile import load_program
    from sps.cli import InputError
    from sps.npyio import load_images

    chosen = [n for n, on in (("--demo", a.demo), ("--program", a.program),
                              ("--weight", a.weight)) if on]
    if len(chosen) != 1:
        raise InputError("give one of --demo, --program, or a layer (--input --weight --stride --padding)"
                         + (f", not {' and '.join(chosen)}" if chosen else ""))
    if a.relu and not a.requant:
        raise InputError("--relu needs --requant")
    if a.demo:
        return demo_program(a.config)
    if a.program:
        prog = load_program(a.program)
        if a.config:
            cfg = load_config(a.config)
            if cfg != prog.cfg:
                raise InputError(f"--config {a.config} differs from the array {a.program} was compiled for")
        if a.input:
            x = load_images(a.input, "--input", np.int8, prog.C)
            prog.set_input(x)
        elif any(b.act is None for b in prog.bands):
            raise InputError(f"{a.program} has no activation streams: give --input")
        return prog, None, None
    cfg = load_config(a.config)
    layer, x = load_layer_files(a)
    return compile_layer(layer, cfg, pps_from_spec(a.pps), x=x), layer, x


def save_layer(layer, x, pps, cfg, folder, stem: str | None = None) -> str:
    """Save what reruns `layer` alone on input `x` ([C, H, W] or [N, C, H, W]) with `pps` (a PPS, or a
    spec of --pps) on the array `cfg` into `folder` (STEM_input.npy, _weight, _bias, _M, _shift,
    _pps.json, _config.json when not config/sps.json); returns the `sps debug` command line."""
    from compiler.config import load_config
    from models.pps import PPS

    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or layer.name

    def put(tag, arr) -> str:
        p = folder / f"{stem}_{tag}.npy"
        np.save(p, arr)
        return str(p)

    args = ["sps", "debug", "--input", put("input", np.asarray(x, np.int8)), "--weight", put("weight", layer.weight),
            "--bias", put("bias", layer.bias), "--stride", str(layer.stride), "--padding", str(layer.padding)]
    if isinstance(pps, PPS):
        pfile = folder / f"{stem}_pps.json"
        pfile.write_text(json.dumps(pps.to_json()))
        args += ["--pps", str(pfile)]
    elif pps != "auto":
        args += ["--pps", str(pps)]
    if layer.requant is not None:
        args += ["--requant", put("M", layer.requant.M), put("shift", layer.requant.shift)]
        args += ["--relu"] if layer.requant.relu else []
    if cfg != load_config():
        cfile = folder / f"{stem}_config.json"
        cfile.write_text(json.dumps(dataclasses.asdict(cfg)))
        args += ["--config", str(cfile)]
    return shlex.join(args)


def network_layer_command(run, qnet, images, cfg, folder) -> str | None:
    """For a network run on the RTL (tb.env.host.NetRun) that differs from the reference: the `sps
    debug` command line that reruns its first differing array layer alone, on that layer's input in
    the integer reference (its files saved in `folder`); None when only host layers differ."""
    from compiler.network import NetProgram, array_layer
    from models.qnet import run_reference

    stages = {s.name: s for s in NetProgram(qnet, cfg).array_stages}
    for i, name in run.differing:
        if name in stages:
            st = stages[name]
            x = run_reference(qnet, np.asarray(images[i]))[st.node.inputs[0]]
            return save_layer(array_layer(st), x, st.prog.pps, cfg, folder, stem=f"{name}_image{i}")
    return None


def format_divergence(d, cfg) -> list[str]:
    """The printed divergence, a few lines."""
    from tb.env.debug import BOUNDARY_TEXT

    where = [f"band {d.band}", f"phase group {d.group}", f"column tile {d.col_tile}"]
    if d.row_tile is not None:
        where.append(f"row tile {d.row_tile}")
    if d.pass_ is not None:
        where.append(f"pass {d.pass_} of the band")
    pix = (f"pixel {d.pixel} of the pass (" + (f"image {d.image}, " if d.image else "")
           + f"oy {d.oy}, ox {d.ox})")
    unit = (f"array row {d.row}" if d.row is not None else f"array column {d.col}" if d.col is not None
            else "all columns")
    cyc = ("never came" if d.cycle is None
           else f"cycle {d.cycle} (band cycle {d.band_cycle}; {d.cycle * 10} ns in the waves)")
    reach = ", ".join(str(tuple(r)) for r in d.reaches[:8]) + (" ..." if len(d.reaches) > 8 else "")
    return [f"first divergence at {d.boundary}: {BOUNDARY_TEXT[d.boundary]}",
            f"  where:    {', '.join(where)}",
            f"  pixel:    {pix}, {unit}",
            f"  cycle:    {cyc}",
            f"  what:     {d.what}",
            f"  expected: {d.expected}",
            f"  observed: {d.observed}",
            f"  reaches:  output element(s) (f, oy, ox) {reach or '(none: a column past the filters)'}"]


def run(a) -> int:
    from compiler.trace import golden_trace
    from sps.cli import InputError, pick_simulator
    from tb.env.cases import reference_output
    from tb.env.debug import first_divergence, run_debug

    check_rtl(a.rtl)
    if a.window < 0:
        raise InputError(f"--window {a.window}: a number of cycles (0: no waves)")
    sim = pick_simulator(a.sim)
    prog, layer, x = _program(a)
    golden = golden_trace(prog)
    cfg = prog.cfg
    print(f"layer {prog.name}: C={prog.C} F={prog.F} {prog.H}x{prog.W} -> {prog.Hout}x{prog.Wout}; "
          f"{prog.pps.describe()}; {len(prog.bands)} band(s), {sum(len(b.passes) for b in golden)} passes, "
          f"{sum(len(b.col_tiles) for b in golden)} column tiles; array {cfg.ROWS}x{cfg.COLS}"
          + (f"; RTL from {a.rtl}" if a.rtl else "") + f"; simulating the debug build on {sim} ...", flush=True)
    dr = run_debug(prog, sim, rtl_dir=a.rtl, trace_out=a.trace)
    if dr.error:
        print(f"the simulation failed: {dr.error}")
    try:
        d = first_divergence(prog, golden, dr.trace)
    finally:
        dr.cleanup()
    out = {"diverged": d is not None, "trace": str(dr.trace) if a.trace else None, "sim_error": dr.error,
           "fst": None, "viewer": None, "picture": None}
    if d is not None:
        for line in format_divergence(d, cfg):
            print(line)
        out |= d.as_json()
        if a.window and d.cycle is not None:
            out |= _waves(a, prog, sim, d)
    else:
        print("no divergence: every transaction at array_in, array_out, accumulator, output and result "
              "equals the golden trace")
    if layer is not None and dr.results is not None:
        exact = bool(np.array_equal(prog.unpack_results(dr.results), reference_output(layer, x)))
        out["bit_exact_vs_reference"] = exact
        print(f"final output against the reference convolution: {'bit-exact' if exact else 'DIFFERS'}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2, default=_jsonable))
    return 1 if (d is not None or dr.error) else 0


def _waves(a, prog, sim, d) -> dict:
    """The second run for the waves of the window around the divergence; the viewer files, the picture."""
    from tb.env.debug import run_window
    from tb.env.waves import Window, draw, path_signals, write_gtkw, write_surfer

    half = a.window // 2
    stem = Path(a.out) / prog.name
    stem.parent.mkdir(parents=True, exist_ok=True)
    print(f"simulating again for the waves of cycles {d.cycle - half} .. {d.cycle + half} ...", flush=True)
    try:
        fst = run_window(prog, sim, d.cycle - half, d.cycle + half, stem.with_suffix(".fst"), rtl_dir=a.rtl)
    except RuntimeError as e:
        print(f"  waves:    none ({e})")
        return {"fst": None, "viewer": None, "picture": None}
    w = Window(fst)
    groups = w.groups(path_signals(d.col))
    gtkw = write_gtkw(w, groups, d.cycle, stem.with_suffix(".gtkw"))
    sucl = write_surfer(w, groups, d.cycle, stem.with_suffix(".sucl"))
    svg = draw(w, d, stem.with_suffix(".svg"))
    print(f"  waves:    {fst} (cycles {w.first_cycle} .. {w.last_cycle}, {fst.stat().st_size // 1024} KiB)")
    print(f"  viewer:   gtkwave {fst} {gtkw}")
    print(f"            surfer {fst} -c {sucl}")
    print(f"  picture:  {svg}")
    return {"fst": str(fst), "viewer": {"gtkwave": str(gtkw), "surfer": str(sucl)}, "picture": str(svg)}


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(type(v).__name__)
