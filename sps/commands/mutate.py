"""Mutation testing of rtl/: plant bugs, one at a time, and count how many the regression sees.

example:
  sps mutate -n 320 --seed 1 --jobs 2          the whole run (build/mutate/summary.json, a table)
  sps mutate --module sps_fifo -n 20           aim at one block
  sps mutate --list -n 320                     the sampled mutants, without running them
  sps mutate -n 320 --only 17                  rerun mutant 17 of that sample (its tests, its proof)
  sps mutate -n 320 --resume                   after adding tests: rerun the survivors only
  sps mutate -n 320 --write 17 DIR             mutant 17 as a plain copy of rtl/ in DIR, e.g. for
                                               sps debug --demo --rtl DIR

The mutants are source-level changes of one statement each (an operator, a constant off by one, a
condition stuck or negated, a value inverted, a register's assignment removed; see sps/mutants.py),
sampled with --seed over every module and kind of change, and compiled together into one copy of
rtl/ in which +sps_mut=K selects mutant K (mutant schemata): one Verilator build per testbench for
all of them. The copy with no mutant selected must pass first (the preflight). Each mutant then runs
on Verilator (--jobs workers), stopping at the first failing test: its module's block test, then the
top-level regression's core (tier 1). A tier-1 survivor is given to Yosys: proved equivalent to the
original (equiv_induct; else equal outputs for 24 cycles from reset on a miter), it leaves the
score's denominator; the others run the rest of the top-level regression (tier 2), and the ones
that survive it are the regression's gaps, each printed with its source line and its rerun command.
A mutant that runs past --timeout-factor times its tests' recorded durations counts as killed.

Output: OUT/summary.json (mutants, killed, equivalent, survived, score = killed / (mutants -
equivalent), per module and per kind, the survivors), a table, logs per mutant in OUT/<digest>/logs.
Exit 0; 1 if the score is below --fail-under; 2 on bad input.
"""
from __future__ import annotations

from pathlib import Path

from sps.cli import InputError

HELP = "mutation testing of rtl/: planted bugs, the regression's kill score, equivalent mutants proved"


def add_arguments(ap) -> None:
    ap.add_argument("-n", type=int, default=320, metavar="N", help="mutants to sample (default 320)")
    ap.add_argument("--seed", type=int, default=1, metavar="S", help="the sample's seed (default 1)")
    ap.add_argument("--module", action="append", metavar="M", help="only mutants of module M (repeatable)")
    ap.add_argument("--jobs", "-j", type=int, default=2, metavar="J", help="parallel workers (default 2)")
    ap.add_argument("--out", default="build/mutate", metavar="DIR", help="output directory (default build/mutate)")
    ap.add_argument("--only", type=int, nargs="+", metavar="K", help="run only these mutants of the sample")
    ap.add_argument("--list", action="store_true", help="print the sampled mutants and exit")
    ap.add_argument("--write", nargs=2, metavar=("K", "DIR"), help="write mutant K as a plain copy of rtl/ in DIR")
    ap.add_argument("--resume", action="store_true",
                    help="keep the mutants an earlier run of this sample killed or proved equivalent; rerun the rest")
    ap.add_argument("--tiers", type=int, choices=(1, 2), default=2,
                    help="1: survivors of tier 1 are not run against the rest of the regression (default 2)")
    ap.add_argument("--report-only", action="store_true",
                    help="no runs: the summary of what earlier runs of this sample recorded")
    ap.add_argument("--no-equiv", action="store_true", help="no equivalence proofs (every survivor runs tier 2)")
    ap.add_argument("--no-preflight", action="store_true", help="skip the unmutated run (when it passed already)")
    ap.add_argument("--timeout-factor", type=float, default=4.0, metavar="F",
                    help="a mutant's time limit: F x its tests' recorded durations (default 4)")
    ap.add_argument("--min-timeout", type=float, default=120.0, metavar="S", help="at least S seconds (default 120)")
    ap.add_argument("--fail-under", type=float, metavar="PCT", help="exit 1 if the score is below PCT percent")


def run(args) -> int:
    from compiler.paths import RTL
    from sps import mutate
    from sps.mutants import all_mutants

    if args.n < 1:
        raise InputError(f"-n {args.n}: at least 1 mutant")
    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: at least 1")
    if args.write:
        try:
            num = int(args.write[0])
        except ValueError:
            raise InputError(f"--write {args.write[0]}: expected a mutant number") from None
        m = mutate.write_mutant(args.n, args.seed, args.module, num, Path(args.write[1]))
        print(f"mutant {m.num}: {m.describe()}\nwritten to {args.write[1]} (e.g. sps debug --demo --rtl {args.write[1]})")
        return 0
    if args.list:
        for m in mutate.sample(all_mutants(RTL), args.n, args.seed, args.module):
            print(f"{m.num:4d}  {m.describe()}")
        return 0
    from compiler.paths import ROOT
    args.out = str(Path(args.out).resolve())
    if not args.no_equiv and not Path(args.out).is_relative_to(ROOT):
        raise InputError(f"--out {args.out}: must be inside the repository for the equivalence proofs "
                         f"(Yosys sees only {ROOT}), or give --no-equiv")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    summary = mutate.report_only(args) if args.report_only else mutate.run(args)
    print()
    print(mutate.table(summary))
    print(f"\nscore {_pct(summary['score'])}: {summary['killed']} killed of {summary['mutants']} mutants, "
          f"{summary['equivalent']} equivalent, {summary['survived']} survived"
          + (f", {len(summary['errors'])} errors" if summary["errors"] else "")
          + f" ({summary['timeouts']} by timeout; {summary['seconds']} s)")
    if summary["survivors"]:
        print("\nsurvivors (regression gaps):")
        for s in summary["survivors"]:
            print(f"  {s['num']:4d} rtl/{s['id'].split(':')[0]}:{s['line']} [{s['kind']}] {s['what']}\n"
                  f"       rerun: {s['rerun']}")
    for e in summary["errors"]:
        print(f"  error: mutant {e['num']} {e['id']}: {e['why']}")
    print(f"\n{Path(args.out) / 'summary.json'}")
    if args.fail_under is not None and (summary["score"] or 0) * 100 < args.fail_under:
        return 1
    return 0


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"
