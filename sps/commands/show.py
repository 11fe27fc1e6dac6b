"""Read a layer program file (.npz, docs/ARCHITECTURE.md 5.6) back into words, for debugging a run
in a waveform viewer: decoded registers (pattern table as positions), every phase group's row tiles
(which channel and kernel position each array row takes), the weight stream's beat map, and what a
given weight, activation or result beat carries. A beat number counts from 0 at the first beat of
the band's stream (TVALID & TREADY).

example:
  sps show prog.npz                     summary, bands, registers of band 0
  sps show prog.npz --tiles --map       + every phase group's row tiles, the weight beat map
  sps show prog.npz --band 1 --wgt-beat 40 --act-beat 7 --res-beat 130
"""
from __future__ import annotations

HELP = "a program file in words: registers, row tiles, beat maps"


def add_arguments(ap) -> None:
    ap.add_argument("program", help="layer program file (.npz) written by sps compile")
    ap.add_argument("--band", type=int, default=0, help="band for registers and beat questions (default 0)")
    ap.add_argument("--tiles", action="store_true", help="print every phase group's row tiles: c<channel>:<position>")
    ap.add_argument("--map", action="store_true", help="print the weight stream's beat map")
    ap.add_argument("--wgt-beat", type=int, action="append", default=[], metavar="N", help="what weight beat N is")
    ap.add_argument("--act-beat", type=int, action="append", default=[], metavar="N", help="what activation beat N is")
    ap.add_argument("--res-beat", type=int, action="append", default=[], metavar="N", help="what result beat N is")


def run(a) -> int:
    from compiler.progfile import load_program
    from compiler.show import describe_act_beat, describe_res_beat, describe_wgt_beat, summary

    prog = load_program(a.program)
    lines = [summary(prog, a.band, a.tiles, a.map)]
    lines += [describe_wgt_beat(prog, n) for n in a.wgt_beat]
    lines += [describe_act_beat(prog, a.band, n) for n in a.act_beat]
    lines += [describe_res_beat(prog, a.band, n) for n in a.res_beat]
    print("\n".join(lines))
    return 0
