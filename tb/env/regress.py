"""The random regression of `sps regress`: array configurations named by a spec, one random layer
case per (configuration, seed), and the simulations that run lists of them on sps_top and say which
case failed. No cocotb here: the cases run in tb/env/case_check.py.

A configuration spec is a JSON file (like config/sps.json) with optional variants, each `+NAME`:
    config/sps_4x4.json            the file as it is
    config/sps_4x4.json+bands      small buffers (ACT_DEPTH 64, ACC_DEPTH 32): most layers in bands
    config/sps.json+packed         two MACs per DSP (sps_pe_pair), for a file with one
The default set: every config/sps*.json as shipped, +bands, and +packed where it has one MAC per DSP.

A case is drawn from its seed alone (numpy's PCG64, the same on every machine); the configuration
only bounds it (PMAX, the buffers: `compiler.bands.plan_bands` must accept one output row), so
the same seed and configuration always give the same case: see `draw_case`.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from compiler.bands import plan_bands
from compiler.config import ArrayConfig, load_config
from compiler.paths import CONFIG
from tb.env import runner

MODULE = "tb.env.case_check"           # the cocotb module the cases run in (layer_matches_reference)
VARIANTS = {"bands": {"ACT_DEPTH": 64, "ACC_DEPTH": 32}, "packed": {"MACS_PER_DSP": 2}}
KINDS = ("dense", "ps", "psd", "rand", "mixed")          # the PPS kinds a case draws from
SHAPES = ("small", "tiles", "bands")                     # the shape classes, see draw_case
SHAPE_ODDS = (0.5, 0.3, 0.2)
NOT_STARTED = "the simulation did not start"        # the failure of every case of a failed build
MAX_DRAWS = 200                         # shape draws before giving up (a generator bug)


@dataclasses.dataclass(frozen=True)
class RegressConfig:
    spec: str               # as given: FILE[+VARIANT...]
    name: str               # the file's stem and its variants, e.g. sps_4x4+bands
    cfg: ArrayConfig


def parse_config(spec: str) -> RegressConfig:
    """FILE[+VARIANT...] -> the configuration; ValueError naming the spec if it is bad."""
    path, *variants = spec.split("+")
    if Path(spec).is_file():             # a file name with a '+' in it
        path, variants = spec, []
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or len(set(variants)) != len(variants):
        raise ValueError(f"configuration {spec!r}: variants are +{' +'.join(VARIANTS)}, each at most once"
                         + (f" (got +{' +'.join(unknown)})" if unknown else ""))
    cfg = load_config(path)
    for v in variants:
        if v == "packed" and cfg.MACS_PER_DSP == 2:
            raise ValueError(f"configuration {spec!r}: {path} has two MACs per DSP already")
        try:
            cfg = cfg.replace(**VARIANTS[v])
        except ValueError as e:
            raise ValueError(f"configuration {spec!r}: {e}") from None
    return RegressConfig(spec, Path(path).stem + "".join(f"+{v}" for v in variants), cfg)


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it, else absolute."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def default_specs() -> list[str]:
    """Every config/sps*.json (sps.json first) as shipped, +bands, and +packed where it has one MAC per DSP."""
    files = sorted(CONFIG.glob("sps*.json"), key=lambda p: (p.name != "sps.json", p.name))
    specs = []
    for f in files:
        base = _shown(f)
        specs += [base, f"{base}+bands"] + ([f"{base}+packed"] if load_config(f).MACS_PER_DSP == 1 else [])
    return specs


def case_name(config: str, seed: int) -> str:
    return f"cfg={config} seed={seed}"


def draw_case(seed: int, cfg: ArrayConfig, name: str = "case") -> dict:
    """One random layer case (tb.env.cases.make_case) for the array `cfg`, drawn from `seed` alone:
      PPS: dense; PS-n (n 1/2/4) and PSD with period P in 1..PMAX and offset 0..P-1; P random
        patterns of n positions (n 1..8), or of a random size each (mixed);
      stride 1/2, padding 0/1; a batch of 2-4 images one case in four;
      shape: small (C <= ROWS, F <= P x COLS, H, W <= 10), tiles (C up to 3 x ROWS, F up to 2 x P x COLS:
        several row and column tiles per phase group), or bands (output rows x columns x batch
        1.1-2.5 x ACC_DEPTH: several bands on any configuration); every shape such that one output
        row fits the buffers (compiler.bands.plan_bands: else the shape is drawn again);
      raw, requantised, or requantised with ReLU; values int8 mostly, sometimes one extreme or a
        narrow range; bias up to 2^20, near both ends of int32 (wrap-around), or small;
      stalls: none one case in two, else Bernoulli p or bursts of mean length 2..64."""
    rng = np.random.default_rng(seed)

    def pick(seq, p=None):
        return seq[int(rng.choice(len(seq), p=p))]

    kind = pick(KINDS)
    case: dict = {"name": name, "pps": kind}
    P = 1
    if kind != "dense":
        P = int(rng.integers(1, cfg.PMAX + 1))
        case |= {"P": P, "o": int(rng.integers(0, P))}
        case["n"] = (pick((1, 2, 4)) if kind in ("ps", "psd") else int(rng.integers(1, 9)) if kind == "rand"
                     else [int(v) for v in rng.integers(1, 10, size=P)])
    stride, padding = pick((1, 2)), pick((0, 1))
    case |= {"stride": stride, "padding": padding}
    shape = pick(SHAPES, p=SHAPE_ODDS)
    case["shape"] = shape
    lo = 1 if padding else 3                       # the padded input holds a 3x3 window
    for _ in range(MAX_DRAWS):
        batch = 1 if rng.random() < 0.75 else int(rng.integers(2, 5))
        if shape == "tiles":
            C, F = int(rng.integers(1, 3 * cfg.ROWS + 1)), int(rng.integers(1, 2 * P * cfg.COLS + 1))
        else:
            C, F = int(rng.integers(1, cfg.ROWS + 1)), int(rng.integers(1, P * cfg.COLS + 1))
        W = int(rng.integers(lo, 11))
        if shape == "bands":
            Wout = (W + 2 * padding - 3) // stride + 1
            Hout = -(-int(cfg.ACC_DEPTH * rng.uniform(1.1, 2.5)) // (Wout * batch))
            H = max(lo, (Hout - 1) * stride + 3 - 2 * padding)
        else:
            H = int(rng.integers(lo, 11))
        try:
            plan_bands(C, H, W, stride, padding, cfg, batch=batch)
        except ValueError:
            continue
        break
    else:
        raise RuntimeError(f"draw_case(seed={seed}): no shape fits the array in {MAX_DRAWS} draws")
    case |= {"C": C, "F": F, "H": H, "W": W, "batch": batch}
    mode = pick(("raw", "requant", "relu"))
    case |= {"requant": mode != "raw", "relu": mode == "relu"}
    case["range"] = ([-128, 127] if rng.random() < 0.8
                     else pick(([127, 127], [-128, -128], [-128, -120], [120, 127], [-3, 3])))
    case["bias"] = pick((2**20, "extreme", 64), p=(0.7, 0.15, 0.15))
    r = rng.random()
    case["stall"] = (0.0 if r < 0.5 else round(float(rng.uniform(0.05, 0.6)), 2) if r < 0.75
                     else {"p": round(float(rng.uniform(0.1, 0.6)), 2), "burst": int(rng.integers(2, 65))})
    case["seed"] = int(rng.integers(0, 2**31))     # the layer's weights, input, bias and requantisation
    return case


def stall_kind(stall) -> str:
    """none, bernoulli or bursts (a case's stall)."""
    return "bursts" if isinstance(stall, dict) else "bernoulli" if stall else "none"


# ---- simulations ----------------------------------------------------------------------------------

def simulate(sim: str, cfg: ArrayConfig, cases: list[dict], run: str, record: Path) -> tuple[dict, str | None, bool]:
    """One simulation of `cases` on sps_top, every case run even after one fails. Returns ({name:
    {"ok", "error", "cycles", "seconds"}} of the cases that ended, why the simulation failed or None,
    whether the cocotb test started: not when the build failed or the simulator did not start)."""
    record = Path(record)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.unlink(missing_ok=True)
    error = None
    try:
        runner.run_top(sim, MODULE, cfg, env={"SPS_CASE": json.dumps(cases), "SPS_CASE_RESULTS": str(record.resolve())},
                       name=run)
    except (AssertionError, RuntimeError) as e:     # a failed test; a failed build or simulator (its exit code)
        error = " ".join(str(e).split()) or type(e).__name__
    if not record.exists():
        root = os.environ.get("SPS_BUILD_DIR", runner.ROOT / "build" / "sim")
        return {}, f"{error} (a failed build or simulator start: build.log, runs/{run}*/sim.log under {root}/{sim}-*)", False
    return {r["name"]: r for r in map(json.loads, record.read_text().splitlines())}, error, True


def run_cases(sim: str, cfg: ArrayConfig, cases: list[dict], run: str, record: Path) -> dict:
    """`simulate` the cases; when a simulation ends before all of its cases did (a crash, a hang of
    the simulator), the first case without a result runs alone and the rest again together, so
    that every case gets its own result: {name: {"ok", "error", "cycles", "seconds"}}. When the
    test did not even start (the build failed), every case of the simulation fails with that."""
    results: dict = {}
    queue = [cases]
    while queue:
        group = queue.pop(0)
        got, error, started = simulate(sim, cfg, group, run, record)
        results |= got
        missing = [c for c in group if c["name"] not in got]
        if not missing:
            continue
        if len(group) == 1 or not started:
            why = "the simulation ended without the case's result" if started else NOT_STARTED
            results |= {c["name"]: {"name": c["name"], "ok": False, "cycles": 0, "seconds": 0.0,
                                    "error": f"{why}: {error}"} for c in missing}
            continue
        queue[:0] = [[missing[0]]] + ([missing[1:]] if len(missing) > 1 else [])
    return results
