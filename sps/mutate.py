"""Mutation testing of rtl/ (`sps mutate`): how many deliberately planted bugs the regression sees.

1. The mutants: every source-level mutation of every module (sps/mutants.py), sampled with a seed
   (`-n N --seed S`, spread over the modules and the kinds of change), compiled into one
   mutant-schemata copy of rtl/ (build/mutate/<digest>/rtl): +sps_mut=K runs mutant K, and
   +sps_mut=0 the unchanged design, which must pass first (the preflight).
2. The runs, on Verilator, in --jobs worker processes that each keep a pytest session's imports
   and run one mutant at a time (SPS_RTL_DIR = the schemata, SPS_PLUSARGS = +sps_mut=K), stopping at
   the first failing test. Tier 1 is the block test of the mutated module (and of the blocks that
   contain it), then the top-level regression's core (the 150 random layers, the hand-picked layers
   and the bands / batch sweeps); a hang past the time limit counts as killed (timeout).
3. A tier-1 survivor is given to Yosys: equivalence of the mutated module with the original
   (`equiv_make; equiv_simple -seq N; equiv_induct -seq N`, per parameter set the configuration
   instantiates it with; every sps_* submodule kept as a black box common to both). Proved
   equivalent: no test can kill it, it leaves the score's denominator.
4. The rest run tier 2: everything else of the top-level regression on Verilator (transports, faults,
   protocol checks, two MACs per DSP, other array sizes, the digits network). A mutant that
   survives it is a regression gap, listed with its mutation, source line and the command that
   reruns it.

build/mutate/summary.json: mutants, killed, equivalent, survived, score = killed / (mutants -
equivalent), per module and per kind, and every survivor.
"""
from __future__ import annotations

import functools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from compiler.paths import ROOT, RTL
from sps.mutants import PLUSARG, Mutant, all_mutants, apply, contains, digest, hierarchy, schemata

OUT = ROOT / "build" / "mutate"
DURATIONS = ROOT / ".test_durations"

# the top-level regression, in the order that kills fastest (cheap and broad first); tier 1 is the
# core, tier 2 the rest (node ids of tb/top, Verilator; a pattern ending in '[' takes every
# parametrisation of that test)
TOP_TIER1 = [
    "tb/top/test_sps_top.py::test_layer_random_wide_sweep[verilator-default_buffers]",
    "tb/top/test_sps_top.py::test_layer[",
    "tb/top/test_sps_top.py::test_layer_random_wide_sweep[verilator-small_buffers]",
    "tb/top/test_sps_top.py::test_layer_random_wide_sweep[verilator-batch]",
    "tb/top/test_sps_top.py::test_layer_bands_small_buffers[",
    "tb/top/test_sps_top.py::test_layer_batch[",
]
TOP_TIER2 = [
    "tb/top/test_faults.py::test_faults[",
    "tb/top/test_sps_top.py::test_layer_random[",
    "tb/top/test_sps_top.py::test_layer_batch_bands_small_buffers[",
    "tb/top/test_sps_top.py::test_layer_axi_transport[",
    "tb/top/test_protocol_checks.py::test_protocol_checkers[",
    "tb/top/test_transports.py::",
    "tb/top/test_sps_top.py::test_layer_random_wide_sweep[verilator-small_buffers_packed]",
    "tb/top/test_sps_top.py::test_layer_random_wide_sweep[verilator-batch_small_buffers_packed]",
    "tb/top/test_sps_top.py::test_layer_random_packed[",
    "tb/top/test_sps_top.py::test_array_sizes[",
    "tb/top/test_network.py::test_digits_network_bit_exact[",
    "tb/top/test_energy_counts.py::",
]


# ---- which tests: the hierarchy and the collected test ids -----------------------------------------

@functools.lru_cache(maxsize=None)
def block_files_covering(module: str) -> list[str]:
    """The block test files (tb/blocks/test_<top>.py) whose design holds `module`: its own first,
    then the others (a wrapper named in a test file counts as that file's design)."""
    hier = hierarchy((RTL, ROOT / "tb" / "hdl"))
    wrappers = {n for n in hier if n not in {p.stem for p in RTL.glob("*.v")}}
    out = []
    for p in sorted((ROOT / "tb" / "blocks").glob("test_sps_*.py")):
        top = p.stem[len("test_"):]
        tops = {top} | {w for w in wrappers if w in p.read_text()}
        if any(module in contains(hier, t) for t in tops):
            out.append(str(p.relative_to(ROOT)))
    own = f"tb/blocks/test_{module}.py"
    return sorted(out, key=lambda f: f != own)


def collect(paths=("tb/blocks", "tb/top")) -> list[str]:
    """The Verilator test ids of `paths` (pytest --collect-only with SIM=verilator)."""
    env = dict(os.environ, SIM="verilator", PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    ids = [ln.strip() for ln in r.stdout.splitlines() if "::" in ln and "[verilator" in ln]
    if not ids:
        raise RuntimeError(f"pytest collected no Verilator tests (is verilator installed?):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return ids


def durations() -> dict[str, float]:
    try:
        return json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return {}


def _match(ids: list[str], patterns: list[str]) -> list[str]:
    out = []
    for pat in patterns:
        for i in ids:
            if (i == pat or (pat.endswith(("[", "::")) and i.startswith(pat))) and i not in out:
                out.append(i)
    return out


@dataclass
class Plan:
    ids: list[str]
    dur: dict[str, float]

    def tier1(self, module: str) -> list[str]:
        """The module's block tests (own file first, each file's parameter sets fastest first; the
        fastest of its own file leads), then the top-level core."""
        blocks = []
        for f in block_files_covering(module):
            blocks += sorted((i for i in self.ids if i.startswith(f + "::")), key=lambda i: self.dur.get(i, 10.0))
        top = _match(self.ids, TOP_TIER1)
        return (blocks[:1] + top[:1] + blocks[1:] + top[1:]) if blocks else top

    def blocks(self, module: str) -> list[str]:
        return [i for i in self.tier1(module) if i.startswith("tb/blocks/")]

    def tier2(self, module: str) -> list[str]:
        done = set(self.tier1(module))
        return [i for i in _match(self.ids, TOP_TIER2) if i not in done]

    def seconds(self, nodes: list[str]) -> float:
        return sum(self.dur.get(i, 10.0) for i in nodes)


# ---- sampling ------------------------------------------------------------------------------------

def sample(mutants: list[Mutant], n: int, seed: int, modules: list[str] | None = None) -> list[Mutant]:
    """n mutants (all if fewer), spread over the modules (each module's share in proportion to its
    mutants, at least min(8, its count)) and, within a module, over the kinds of change (round robin
    over the kinds, each kind's order shuffled). Numbered 1..n in source order."""
    rng = random.Random(seed)
    pool = [m for m in mutants if not modules or m.module in modules]
    if modules:
        unknown = sorted(set(modules) - {m.module for m in mutants})
        if unknown:
            raise ValueError(f"--module {', '.join(unknown)}: no such module with mutants in rtl/")
    by_mod: dict[str, list[Mutant]] = defaultdict(list)
    for m in pool:
        by_mod[m.module].append(m)
    total = len(pool)
    n = min(n, total)
    quota = {k: min(len(v), max(min(8, len(v)), round(n * len(v) / total))) for k, v in by_mod.items()}
    # fit the quotas to n: take from / give to the largest modules
    while sum(quota.values()) > n:
        k = max(quota, key=lambda k: quota[k] - min(8, len(by_mod[k])))
        quota[k] -= 1
    while sum(quota.values()) < n:
        k = max((k for k in quota if quota[k] < len(by_mod[k])), key=lambda k: len(by_mod[k]) - quota[k])
        quota[k] += 1
    chosen = []
    for k in sorted(by_mod):
        kinds: dict[str, list[Mutant]] = defaultdict(list)
        for m in by_mod[k]:
            kinds[m.kind].append(m)
        for v in kinds.values():
            rng.shuffle(v)
        order = sorted(kinds)
        rng.shuffle(order)
        picked = []
        while len(picked) < quota[k]:
            for kind in order:
                if kinds[kind] and len(picked) < quota[k]:
                    picked.append(kinds[kind].pop())
        chosen += picked
    index = {id(m): i for i, m in enumerate(mutants)}
    chosen.sort(key=lambda m: index[id(m)])
    for num, m in enumerate(chosen, 1):
        m.num = num
    return chosen


# ---- the workers ---------------------------------------------------------------------------------

class _Recorder:
    """pytest plugin: which tests ran, and the first that failed."""

    def __init__(self):
        self.ran, self.failed = [], []

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome == "failed":
            if report.nodeid not in self.ran:
                self.ran.append(report.nodeid)
            if report.failed and report.nodeid not in self.failed:
                self.failed.append(report.nodeid)


def worker_main() -> None:
    """A worker: JSON jobs on stdin ({num, nodes, log, out}); runs the nodes with pytest in this
    process (imports kept between jobs) with +sps_mut=num, stops at the first failure, writes
    {num, rc, ran, failed, seconds} to `out`."""
    import pytest

    os.chdir(ROOT)
    for line in sys.stdin:
        job = json.loads(line)
        os.environ["SPS_PLUSARGS"] = f"+{PLUSARG}={job['num']}"
        rec = _Recorder()
        t0 = time.time()
        saved = os.dup(1), os.dup(2)
        with open(job["log"], "w") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                rc = int(pytest.main(job["nodes"] + ["-x", "-q", "-n", "0", "-p", "no:cacheprovider", "--no-header",
                                                     "-p", "no:randomly", "-rN"], plugins=[rec]))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
        res = dict(num=job["num"], rc=rc, ran=rec.ran, failed=rec.failed, seconds=round(time.time() - t0, 2))
        tmp = Path(job["out"] + ".tmp")
        tmp.write_text(json.dumps(res))
        tmp.replace(job["out"])


class _Worker:
    def __init__(self, env: dict):
        self.env = env
        self.job = None
        self.deadline = 0.0
        self.start()

    def start(self):
        self.p = subprocess.Popen([sys.executable, "-c", "from sps.mutate import worker_main; worker_main()"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  text=True, cwd=ROOT, env=self.env, start_new_session=True)

    def send(self, job: dict, timeout: float):
        self.job = job
        self.deadline = time.time() + timeout
        self.p.stdin.write(json.dumps(job) + "\n")
        self.p.stdin.flush()

    def kill(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait()

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.kill()


def run_jobs(jobs: list[dict], nworkers: int, env: dict, timeout_of, on_done) -> None:
    """Run `jobs` ({num, nodes, log, out}) on `nworkers` workers; timeout_of(job) seconds each; a
    job past it: its worker is killed (and restarted), the result {timeout: True}. on_done(job, res)."""
    todo = list(jobs)
    workers = [_Worker(env) for _ in range(max(1, min(nworkers, len(jobs))))]
    try:
        while todo or any(w.job for w in workers):
            for w in workers:
                if w.job is None and todo:
                    job = todo.pop(0)
                    Path(job["out"]).unlink(missing_ok=True)
                    w.send(job, timeout_of(job))
                if w.job is None:
                    continue
                out = Path(w.job["out"])
                if out.exists():
                    res = json.loads(out.read_text())
                    job, w.job = w.job, None
                    on_done(job, res)
                elif w.p.poll() is not None or time.time() > w.deadline:
                    timed_out = w.p.poll() is None
                    w.kill()
                    job, w.job = w.job, None
                    w.start()
                    on_done(job, dict(num=job["num"], rc=-1, ran=[], failed=[], timeout=timed_out,
                                      crashed=not timed_out, seconds=None))
            time.sleep(0.1)
    finally:
        for w in workers:
            w.close()


# ---- a run ---------------------------------------------------------------------------------------

@dataclass
class Result:
    mutant: Mutant
    status: str = "pending"          # killed, equivalent, survived, error
    by: str = ""                     # the test that killed it, or timeout
    tier: int = 0
    seconds: float = 0.0
    proof: str = ""
    ran: int = 0


def mutant_env(schem: Path) -> dict:
    env = dict(os.environ, SIM="verilator", SPS_RTL_DIR=str(schem), SPS_BUILD_DIR=str(OUT / "sim"),
               PYTHONPATH=str(ROOT))
    for k in ("WAVES", "SPS_COVERAGE", "SPS_DEBUG", "SPS_WAVE_WINDOW", "SPS_PLUSARGS"):
        env.pop(k, None)
    return env


def rerun_command(m: Mutant, args) -> str:
    seed = f" --seed {args.seed}" if args.seed != 1 else ""
    mod = "".join(f" --module {x}" for x in (args.module or []))
    return f"sps mutate -n {args.n}{seed}{mod} --only {m.num}   (as Verilog: --write {m.num} DIR)"


def run(args, log=print) -> dict:
    """The whole run of `sps mutate` (args: n, seed, module, jobs, out, only, no_equiv, tier2, ...)."""
    out = Path(args.out)
    mutants = sample(all_mutants(RTL), args.n, args.seed, args.module)
    if not mutants:
        raise ValueError("no mutants to run")
    key = digest(mutants)
    work = out / key
    schem = schemata(RTL, mutants, work / "rtl")
    (work / "logs").mkdir(parents=True, exist_ok=True)
    (work / "mutants.json").write_text(json.dumps([dict(num=m.num, id=m.id, module=m.module, kind=m.kind,
                                                         line=m.line, what=m.what) for m in mutants], indent=1))
    only = set(args.only or [])
    bad = sorted(only - {m.num for m in mutants})
    if bad:
        raise ValueError(f"--only {bad[0]}: no such mutant (1..{len(mutants)})")
    run_set = [m for m in mutants if not only or m.num in only]
    kept, passed_t1, passed_t2, proved_before = {}, set(), set(), {}
    if args.resume and (work / "results.json").exists():
        # a mutant killed or proved equivalent stays so (tests are only ever added): rerun the rest;
        # one that passed tier 1 before reruns tier 1's block tests only (the top-level core it
        # passed is unchanged)
        for num, r in json.loads((work / "results.json").read_text()).items():
            if r["status"] in ("killed", "equivalent"):
                kept[int(num)] = r
            elif r["status"] == "survived":
                passed_t1.add(int(num))
                if r.get("tier") == 2:
                    passed_t2.add(int(num))                 # the rest of the regression: passed too
                if r.get("proof") and "timed out" not in r["proof"]:
                    proved_before[int(num)] = r["proof"]        # not proved: the RTL is the same
        run_set = [m for m in run_set if m.num not in kept]
    env = mutant_env(schem)
    log(f"sps mutate: {len(mutants)} mutants of {len({m.module for m in mutants})} modules "
        f"(seed {args.seed}; {len(all_mutants(RTL))} possible); schemata {schem}")
    plan = Plan(collect(), durations())
    results = {m.num: Result(m) for m in run_set}
    for m in mutants:
        if m.num in kept:
            r = kept[m.num]
            results[m.num] = Result(m, r["status"], r["by"], r["tier"], r["seconds"], r["proof"], r["ran"])
    if kept:
        log(f"resume: {len(kept)} mutants killed or proved equivalent in an earlier run; {len(run_set)} to run")
    t_start = time.time()

    def save():                                   # what is known so far, for --resume
        stored = json.loads((work / "results.json").read_text()) if (work / "results.json").exists() else {}
        stored.update({str(n): dict(status=r.status, by=r.by, tier=r.tier, seconds=r.seconds, proof=r.proof, ran=r.ran)
                       for n, r in results.items() if r.status != "pending"})
        (work / "results.json").write_text(json.dumps(stored, indent=1))

    def timeout_of(job):
        return max(args.min_timeout, args.timeout_factor * plan.seconds(job["nodes"]))

    # the preflight: the unchanged design (+sps_mut=0) passes every tier-1 test the mutants will run
    if not args.no_preflight:
        nodes = []
        for mod in sorted({m.module for m in run_set}):
            nodes += [i for i in plan.tier1(mod) if i not in nodes]
        log(f"preflight: the schemata with no mutant selected, {len(nodes)} tests (builds every testbench)")
        pre = {}
        run_jobs([dict(num=0, nodes=nodes, log=str(work / "logs" / "preflight.log"), out=str(work / "preflight.json"))],
                 1, env, lambda j: 3600 + 5 * plan.seconds(j["nodes"]), lambda j, r: pre.update(r))
        if pre.get("rc") != 0:
            raise RuntimeError(f"the mutant schemata fail with no mutant selected ({pre.get('failed') or pre}); "
                               f"see {work / 'logs' / 'preflight.log'}")
        log(f"preflight passed in {pre['seconds']:.0f} s")

    def nodes_of(m, tier):
        if tier == 2:
            return plan.tier2(m.module)
        return plan.blocks(m.module) if m.num in passed_t1 else plan.tier1(m.module)

    def tier_jobs(ms, tier):
        return [dict(num=m.num, nodes=nodes_of(m, tier),
                     log=str(work / "logs" / f"{m.num}.t{tier}.log"), out=str(work / f"{m.num}.t{tier}.json"))
                for m in ms]

    def done(tier, total):
        count = [0]

        def on_done(job, res):
            count[0] += 1
            r = results[job["num"]]
            r.tier, r.seconds = tier, r.seconds + (res.get("seconds") or timeout_of(job))
            r.ran += len(res.get("ran", []))
            if res.get("timeout"):
                r.status, r.by = "killed", "timeout"
            elif res.get("crashed"):
                r.status, r.by = "error", "the worker died"
            elif res["rc"] == 1 and res["failed"]:
                r.status, r.by = "killed", res["failed"][0]
            elif res["rc"] == 0:
                r.status = "survived"
            else:
                r.status, r.by = "error", f"pytest exit code {res['rc']}"
            log(f"[{count[0]:4d}/{total}] t{tier} {r.status:8s} {r.mutant.describe()}"
                + (f"  by {r.by.split('::')[-1]}" if r.by else "") + f" ({r.seconds:.0f} s)")
            if tier == 2:
                save()                               # an interrupted tier 2 resumes where it was
        return on_done

    jobs = [j for j in tier_jobs(run_set, 1) if j["nodes"]]
    for m in run_set:                            # no block test left to run: it passed tier 1 before
        if m.num in passed_t1 and not plan.blocks(m.module):
            results[m.num].status = "survived"
    run_jobs(jobs, args.jobs, env, timeout_of, done(1, len(jobs)))

    save()
    survivors = [r for r in results.values() if r.status == "survived" and r.mutant in run_set]
    if survivors and not args.no_equiv:
        from sps.mutate_equiv import prove
        from concurrent.futures import ThreadPoolExecutor

        from sps.mutate_equiv import instance_parameters
        (work / "equiv").mkdir(exist_ok=True)
        instance_parameters(work / "equiv")                # the parameter sets, once, before the threads
        instance_parameters(work / "equiv", packed=True)
        log(f"equivalence: {len(survivors)} tier-1 survivors to Yosys")

        def one(r):
            if r.mutant.num in proved_before:
                return r, (False, proved_before[r.mutant.num])
            return r, prove(r.mutant, work / "equiv" / str(r.mutant.num))
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for r, (ok, how) in pool.map(one, survivors):
                r.proof = how
                if ok:
                    r.status = "equivalent"
                log(f"  {r.mutant.num:4d} {'equivalent' if ok else 'not proved'}: {r.mutant.describe()} ({how})")
                save()
    rest = [r.mutant for r in results.values()
            if r.status == "survived" and r.mutant in run_set and r.mutant.num not in passed_t2]
    for r in results.values():
        if r.status == "survived" and r.mutant.num in passed_t2:
            r.tier = 2
    if rest and args.tiers >= 2:
        jobs = tier_jobs(rest, 2)
        log(f"tier 2: {len(jobs)} survivors against the rest of the top-level regression")
        run_jobs(jobs, args.jobs, env, timeout_of, done(2, len(jobs)))
    save()
    summary = summarize(results.values(), args, key, time.time() - t_start)
    for d in (out, work):
        (d / "summary.json").write_text(json.dumps(summary, indent=1))
        (d / "summary.md").write_text(markdown(summary))
    return summary


def report_only(args) -> dict:
    """The summary of what earlier runs of this sample recorded (OUT/<digest>/results.json), with
    no simulation: a mutant never run counts as not run (status pending, left out of the score)."""
    out = Path(args.out)
    mutants = sample(all_mutants(RTL), args.n, args.seed, args.module)
    key = digest(mutants)
    stored_path = out / key / "results.json"
    if not stored_path.exists():
        raise ValueError(f"--report-only: no earlier run of this sample ({stored_path} is missing)")
    stored = json.loads(stored_path.read_text())
    results = []
    for m in mutants:
        r = stored.get(str(m.num))
        results.append(Result(m, r["status"], r["by"], r["tier"], r["seconds"], r["proof"], r["ran"]) if r
                       else Result(m))
    done = [r for r in results if r.status != "pending"]
    summary = summarize(done, args, key, sum(r.seconds for r in done))
    summary["not_run"] = len(results) - len(done)
    for d in (out, out / key):
        (d / "summary.json").write_text(json.dumps(summary, indent=1))
        (d / "summary.md").write_text(markdown(summary))
    return summary


def summarize(results, args, key: str, seconds: float) -> dict:
    results = sorted(results, key=lambda r: r.mutant.num)

    def score(rs):
        c = Counter(r.status for r in rs)
        denom = len(rs) - c["equivalent"]
        return dict(mutants=len(rs), killed=c["killed"], equivalent=c["equivalent"], survived=c["survived"],
                    error=c["error"], score=round(c["killed"] / denom, 4) if denom else None)

    by_module = defaultdict(list)
    by_kind = defaultdict(list)
    for r in results:
        by_module[r.mutant.module].append(r)
        by_kind[r.mutant.kind].append(r)
    return dict(
        score(results), seed=args.seed, n=args.n, digest=key, seconds=round(seconds),
        timeouts=sum(r.by == "timeout" for r in results),
        per_module={k: score(v) for k, v in sorted(by_module.items())},
        per_kind={k: score(v) for k, v in sorted(by_kind.items())},
        survivors=[dict(num=r.mutant.num, id=r.mutant.id, module=r.mutant.module, line=r.mutant.line,
                        kind=r.mutant.kind, what=r.mutant.what, proof=r.proof, tiers_run=r.tier,
                        rerun=rerun_command(r.mutant, args))
                   for r in results if r.status == "survived"],
        equivalents=[dict(num=r.mutant.num, id=r.mutant.id, what=r.mutant.what, proof=r.proof)
                    for r in results if r.status == "equivalent"],
        errors=[dict(num=r.mutant.num, id=r.mutant.id, why=r.by) for r in results if r.status == "error"],
        killed_by=Counter(r.by.split("[")[0] for r in results if r.status == "killed").most_common(),
        mutant_seconds=sorted(r.seconds for r in results)[len(results) // 2] if results else 0,
    )


def table(summary: dict) -> str:
    rows = [("module", "mutants", "killed", "equivalent", "survived", "score")]
    for k, v in summary["per_module"].items():
        rows.append((k, v["mutants"], v["killed"], v["equivalent"], v["survived"],
                     "-" if v["score"] is None else f"{100 * v['score']:.1f}%"))
    rows.append(("all", summary["mutants"], summary["killed"], summary["equivalent"], summary["survived"],
                 "-" if summary["score"] is None else f"{100 * summary['score']:.1f}%"))
    w = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i]) for i, c in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    lines.insert(len(lines) - 1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def markdown(summary: dict) -> str:
    """summary.md: the score, the per-module and per-kind tables, the equivalent mutants with their
    proofs and the survivors with their rerun lines."""
    def pct(x):
        return "-" if x is None else f"{100 * x:.1f}%"

    def rows(d):
        return [f"| {k} | {v['mutants']} | {v['killed']} | {v['equivalent']} | {v['survived']} | {pct(v['score'])} |"
                for k, v in d.items()]
    head = ["| {} | mutants | killed | equivalent | survived | score |", "|---|---|---|---|---|---|"]
    out = [f"# Mutation score: {pct(summary['score'])}", "",
           f"{summary['mutants']} mutants of rtl/ (seed {summary['seed']}), {summary['killed']} killed "
           f"({summary['timeouts']} by a timeout), {summary['equivalent']} equivalent, {summary['survived']} survived; "
           f"score = killed / (mutants - equivalent).", "",
           head[0].format("module"), head[1], *rows(summary["per_module"]),
           f"| **all** | **{summary['mutants']}** | **{summary['killed']}** | **{summary['equivalent']}** | "
           f"**{summary['survived']}** | **{pct(summary['score'])}** |", "",
           head[0].format("kind"), head[1], *rows(summary["per_kind"]), ""]
    if summary["equivalents"]:
        out += ["## Equivalent", "", "| # | mutant | change | proof |", "|---|---|---|---|"]
        out += [f"| {e['num']} | `{e['id']}` | {e['what']} | {e['proof']} |" for e in summary["equivalents"]]
        out.append("")
    if summary["survivors"]:
        out += ["## Survivors", "", "| # | mutant | change | tests run | proof attempt | rerun |",
                "|---|---|---|---|---|---|"]
        out += [f"| {s['num']} | `{s['id']}` | {s['what']} | {'tiers 1 and 2' if s['tiers_run'] == 2 else 'tier 1'} | "
                f"{s['proof'] or '-'} | `{s['rerun'].split('   ')[0]}` |" for s in summary["survivors"]]
        out.append("")
    return "\n".join(out)


def write_mutant(n: int, seed: int, modules, num: int, dest: Path) -> Mutant:
    """Mutant `num` of the sample (n, seed, modules) as plain Verilog in a copy of rtl/ at `dest`."""
    mutants = sample(all_mutants(RTL), n, seed, modules)
    m = next((m for m in mutants if m.num == num), None)
    if m is None:
        raise ValueError(f"--write {num}: no such mutant (1..{len(mutants)})")
    apply(RTL, m, dest)
    return m

