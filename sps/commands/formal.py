"""Formal proofs (SymbiYosys + Boolector, all from PyPI) of the result FIFO (rtl/sps_fifo.v) and the
result stream (rtl/sps_output_stage.v to m_axis): no beat dropped, duplicated or reordered, full /
empty and occupancy right, no overflow, AXI-Stream stability (TVALID held, TDATA / TLAST unchanged
while stalled), a bounded wait for every beat, all with rst free in any cycle. `prove` proofs are
k-induction (they hold in every reachable state), `cover` runs show the properties are not
vacuous. The design's parameters come from the array configuration; small sets add corner cases.
Properties: formal/*.sv; docs/VERIFICATION.md "Formal proofs". Prints one table row per proof;
exit 1 unless all PASS.

example:
  sps formal                                   every proof (about 2 minutes)
  sps formal --only 'fifo_*'                   the FIFO proofs
  sps formal --list                            the proofs, without running them
"""
from __future__ import annotations

import fnmatch
from pathlib import Path

from sps.cli import InputError, add_config_argument

HELP = "formal proofs of the result FIFO and the result stream (sby, k-induction)"


def add_arguments(ap) -> None:
    add_config_argument(ap)
    ap.add_argument("--only", metavar="PATTERN", help="run the proofs whose name matches (shell pattern)")
    ap.add_argument("--list", action="store_true", help="list the proofs and exit")
    ap.add_argument("--out", default="build/formal", metavar="DIR",
                    help="work folder: .sby files, logs, counterexample traces (default build/formal)")
    ap.add_argument("--timeout", type=float, default=1800.0, metavar="S",
                    help="give up on one proof after S seconds (default 1800)")


def run(a) -> int:
    from compiler.config import load_config
    from sps import formal as F

    todo = F.proofs(load_config(a.config))
    if a.only:
        todo = [p for p in todo if fnmatch.fnmatch(p.name, a.only)]
        if not todo:
            raise InputError(f"--only {a.only!r}: no proof matches (sps formal --list)")
    if a.list:
        for p in todo:
            print(f"{p.name:24s} {p.mode:5s} depth {p.depth:<3d} {p.what}")
        return 0
    out = Path(a.out)
    env = F.tool_env(out)
    F.check_tools(env)
    results = []
    for p in todo:
        r = F.run(p, out, env=env, timeout=a.timeout)
        print(f"{p.name}: {r.status} in {r.seconds:.1f} s" + (f" ({r.detail})" if r.detail else ""), flush=True)
        if r.status != "PASS":
            print(f"  log: {r.log}")
        results.append(r)
    print()
    print(F.table(results))
    bad = [r for r in results if r.status != "PASS"]
    print(f"\nformal: {len(results) - len(bad)} of {len(results)} proofs pass, "
          f"{sum(r.seconds for r in results):.0f} s in all")
    return 1 if bad else 0
