"""The random regression (nightly in CI): for every array configuration and every seed, one random
layer with its stall shape, run on the RTL and checked bit-exactly against the integer reference,
the stall-free ones also cycle-exactly against the compiler's cycle model.

example:
  sps regress --seeds 200                                    the default configurations, 200 cases each
  sps regress --seeds 50 --configs config/sps_4x4.json config/sps.json+bands --jobs 2
  sps regress --configs config/sps_4x4.json --seed0 17 --seeds 1     case 17 of sps_4x4 alone

A case is named by its configuration and seed, `cfg=sps_4x4 seed=17`, and drawn from the seed alone
(the configuration bounds it), so that the same two always give the same case: every PPS kind
(dense, PS-n and PSD with P up to PMAX and any offset, random patterns of one or mixed sizes),
stride 1/2, padding 0/1, shapes with several row and column tiles or bands, batches, raw /
requantised / ReLU, extreme values and biases, no stalls, Bernoulli stalls or bursts
(tb/env/regress.py draw_case; docs/VERIFICATION.md "Random regression").

--configs takes FILE[+VARIANT...]: +bands (ACT_DEPTH 64, ACC_DEPTH 32: most layers in bands),
+packed (two MACs per DSP). Default: every config/sps*.json as shipped, +bands, and +packed where
it has one MAC per DSP. The cases of a configuration run in simulations of up to --chunk of them
(one simulator start each), --jobs at a time; a case that fails does not stop the others. Each
failure is printed with the command line that reruns it alone (and the `sps debug` one, its files
in --out). --junit: one testcase per (configuration, seed), default OUT/junit.xml.
Exit 0: every case passed; 1: a case failed; 2: bad input.
"""
from __future__ import annotations

import shlex
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sps.cli import add_sim_argument

HELP = "random layers and stall shapes on several array configurations: JUnit XML, one rerun line per failure"

DEFAULT_CHUNK = 100         # cases per simulation
MAX_CHUNK = 200             # SPS_CASE is an environment variable: one string under 128 KiB (~300 B a case)


def add_arguments(ap) -> None:
    ap.add_argument("--seeds", type=int, default=20, metavar="N", help="cases per configuration (default 20)")
    ap.add_argument("--seed0", type=int, default=0, metavar="S", help="the first seed: seeds S .. S+N-1 (default 0)")
    ap.add_argument("--configs", nargs="+", metavar="FILE[+VARIANT]",
                    help="array configurations, with variants +bands, +packed (default: every config/sps*.json, "
                         "+bands, +packed where it has one MAC per DSP)")
    ap.add_argument("--jobs", type=int, default=1, metavar="J", help="simulations at a time (default 1)")
    ap.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, metavar="K",
                    help=f"cases per simulation (default {DEFAULT_CHUNK}, at most {MAX_CHUNK})")
    ap.add_argument("--rtl", metavar="DIR", help="build from this copy of rtl/ (default: the repository's)")
    ap.add_argument("--out", default="build/regress", metavar="DIR",
                    help="the JUnit XML, the result files, the inputs of sps debug's reruns (default build/regress)")
    ap.add_argument("--junit", metavar="FILE", help="JUnit XML (default OUT/junit.xml)")
    add_sim_argument(ap)


def rerun_line(spec: str, seed: int, sim: str, rtl: Path | None) -> str:
    """The command line that reruns the case of `spec` and `seed` alone."""
    args = ["sps", "regress", "--configs", spec, "--seed0", str(seed), "--seeds", "1", "--sim", sim]
    return shlex.join(args + (["--rtl", str(rtl)] if rtl else []))


def debug_command(case: dict, cfg, folder: Path, stem: str, rtl: Path | None) -> str | None:
    """The `sps debug` command line of the case (its layer files saved in `folder`); None if the
    case does not compile (the failure says why)."""
    from compiler.compile import compile_layer
    from sps.commands.debug import save_layer
    from tb.env.cases import make_case

    layer, x, pps = make_case(case)
    try:
        compile_layer(layer, cfg, pps, x=x)
    except ValueError:
        return None
    cmd = save_layer(layer, x, pps, cfg, folder, stem=stem) + (f" --rtl {shlex.quote(str(rtl))}" if rtl else "")
    return cmd + (" (without the case's stalls)" if case.get("stall") else "")


def write_junit(path: Path, configs, cases: dict, results: dict, seconds: float) -> None:
    """One testsuite per configuration, one testcase per (configuration, seed); a failure holds the
    message and the rerun line; system-out the case."""
    import json

    top = ET.Element("testsuites", name="sps regress", tests=str(len(results)),
                     failures=str(sum(not r["ok"] for r in results.values())), time=f"{seconds:.3f}")
    for rc in configs:
        mine = cases[rc.name]
        rs = [results[c["name"]] for c in mine]
        suite = ET.SubElement(top, "testsuite", name=rc.name, tests=str(len(rs)),
                              failures=str(sum(not r["ok"] for r in rs)),
                              time=f"{sum(r['seconds'] for r in rs):.3f}")
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="config", value=rc.spec)
        for c, r in zip(mine, rs):
            tc = ET.SubElement(suite, "testcase", classname=f"regress.{rc.name}", name=c["name"],
                               time=f"{r['seconds']:.3f}")
            if not r["ok"]:
                f = ET.SubElement(tc, "failure", message=r["error"].splitlines()[0][:500])
                f.text = f"{r['error']}\nrerun alone: {r['rerun']}\n"
            ET.SubElement(tc, "system-out").text = json.dumps(c)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(top).write(path, encoding="utf-8", xml_declaration=True)


def run(a) -> int:
    from compiler.paths import RTL
    from sps.cli import InputError, pick_simulator
    from sps.commands.debug import check_rtl
    from tb.env import runner
    from tb.env.debug import _env
    from tb.env.regress import case_name, default_specs, draw_case, parse_config, run_cases

    for opt, v, least in (("--seeds", a.seeds, 1), ("--seed0", a.seed0, 0), ("--jobs", a.jobs, 1),
                          ("--chunk", a.chunk, 1)):
        if v < least:
            raise InputError(f"{opt} {v}: must be at least {least}")
    if a.chunk > MAX_CHUNK:
        raise InputError(f"--chunk {a.chunk}: at most {MAX_CHUNK} (the cases travel in an environment variable)")
    check_rtl(a.rtl)
    configs = [parse_config(s) for s in (a.configs or default_specs())]
    names = [rc.name for rc in configs]
    if len(set(names)) != len(names):
        raise InputError(f"--configs: a configuration given twice ({', '.join(sorted({n for n in names if names.count(n) > 1}))})")
    sim = pick_simulator(a.sim)
    out = Path(a.out)
    junit = Path(a.junit) if a.junit else out / "junit.xml"
    seeds = range(a.seed0, a.seed0 + a.seeds)
    cases = {rc.name: [draw_case(s, rc.cfg, case_name(rc.name, s)) for s in seeds] for rc in configs}
    # (configuration, its seeds, their cases): up to --chunk cases per simulation
    chunks = [(rc, seeds[i:i + a.chunk], cases[rc.name][i:i + a.chunk]) for rc in configs
              for i in range(0, a.seeds, a.chunk)]
    print(f"sps regress: {len(configs)} configuration(s) x {a.seeds} seed(s) ({a.seed0}..{seeds[-1]}) = "
          f"{len(configs) * a.seeds} cases on {sim}, {len(chunks)} simulation(s), {a.jobs} at a time"
          + (f"; RTL from {a.rtl}" if a.rtl else ""), flush=True)

    results: dict = {}
    lock = threading.Lock()
    t0 = time.monotonic()
    done = [0]

    def one(k: int, rc, chunk_seeds: range, chunk: list[dict]) -> None:
        t = time.monotonic()
        got = run_cases(sim, rc.cfg, chunk, f"regress-{rc.name}-{k}", out / "results" / f"{rc.name}-{k}.jsonl")
        bad = sum(not got[c["name"]]["ok"] for c in chunk)
        with lock:
            results.update(got)
            done[0] += 1
            print(f"[{done[0]}/{len(chunks)}] {rc.name} seeds {chunk_seeds[0]}..{chunk_seeds[-1]}: "
                  f"{len(chunk) - bad} passed, {bad} failed, {sum(got[c['name']]['cycles'] for c in chunk):,} "
                  f"cycles, {time.monotonic() - t:.0f} s", flush=True)

    with _env(SPS_RTL_DIR=str(Path(a.rtl).resolve()) if a.rtl else None):
        rtl = runner.rtl_dir() if runner.rtl_dir() != RTL else None
        with ThreadPoolExecutor(a.jobs) as pool:
            for f in [pool.submit(one, k, *chunk) for k, chunk in enumerate(chunks)]:
                f.result()
    seconds = time.monotonic() - t0

    failed = []
    for rc in configs:
        for s, c in zip(seeds, cases[rc.name]):
            r = results[c["name"]]
            r["rerun"] = rerun_line(rc.spec, s, sim, rtl)
            if not r["ok"]:
                failed.append((rc, s, c, r))
    print_failures(failed, out, rtl)
    print_summary(configs, cases, results, seconds)
    write_junit(junit, configs, cases, results, seconds)
    print(f"JUnit XML: {junit}")
    if failed:
        print(f"{len(failed)} of {len(results)} cases FAILED", file=sys.stderr)
        return 1
    return 0


def print_failures(failed: list, out: Path, rtl: Path | None) -> None:
    """Each failure, its rerun line and its sps debug line; the cases of a simulation that did not
    start (a failed build) once per error, with the first one's rerun line."""
    from tb.env import regress

    said = set()
    for rc, s, c, r in failed:
        if r["error"].startswith(regress.NOT_STARTED):
            if (rc.name, r["error"]) not in said:
                said.add((rc.name, r["error"]))
                n = sum(f[0] is rc and f[3]["error"] == r["error"] for f in failed)
                print(f"FAIL {c['name']} and {n - 1} more case(s) of {rc.name}: {r['error']}")
                print(f"  rerun alone: {r['rerun']}")
            continue
        print(f"FAIL {c['name']}: {r['error']}")
        print(f"  rerun alone: {r['rerun']}")
        dbg = debug_command(c, rc.cfg, out / "debug", f"{rc.name}_seed{s}", rtl)
        if dbg:
            print(f"  sps debug:   {dbg}")


def print_summary(configs, cases: dict, results: dict, seconds: float) -> None:
    rows = []
    for rc in configs:
        rs = [results[c["name"]] for c in cases[rc.name]]
        rows.append((rc.name, len(rs), sum(r["ok"] for r in rs), sum(not r["ok"] for r in rs),
                     sum(r["cycles"] for r in rs)))
    rows.append(("total", *(sum(r[i] for r in rows) for i in range(1, 5))))
    w = max(len("configuration"), *(len(r[0]) for r in rows))
    print(f"\n{'configuration':<{w}}  {'cases':>6}  {'passed':>6}  {'failed':>6}  {'cycles simulated':>16}")
    for name, n, ok, bad, cyc in rows:
        print(f"{name:<{w}}  {n:>6}  {ok:>6}  {bad:>6}  {cyc:>16,}")
    print(f"{seconds:.0f} s wall")
