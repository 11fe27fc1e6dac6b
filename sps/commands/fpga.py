"""ECP5 synthesis and place-and-route of the array (LFE5UM-85F, CABGA381, default speed grade):
Yosys synth_ecp5 -abc9 of sps_top in an out-of-context wrapper (tb/hdl/sps_fpga_wrap.v: inputs
from a shift register, outputs XOR-folded, so pins limit nothing), nextpnr-ecp5 with a clock
constraint, and a report in DIR (default build/fpga): summary.json (device, array, Fmax, LUT4 / FF /
MULT18X18D / DP16KD, fits, critical path, per-module resources from hierarchical synthesis),
summary.md, the tools' logs. Synthesis takes ~2 minutes, place and route ~15 (WebAssembly tools);
the hierarchical synthesis runs beside place and route.

example:
  sps fpga                                     the default 8x8 array, 150 MHz target
  sps fpga --config config/sps_16x16.json --synth-only
  sps fpga --target-mhz 200 --seed 3 --xilinx  also Yosys's synth_xilinx figures (no timing)
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from sps.cli import InputError, add_config_argument

HELP = "ECP5 synthesis + place and route: Fmax, resources, per-module table"


def add_arguments(ap) -> None:
    add_config_argument(ap)
    ap.add_argument("--target-mhz", type=float, default=150.0, metavar="F",
                    help="clock constraint for place and route (default 150)")
    ap.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1)")
    ap.add_argument("--router", choices=("router1", "router2"), default="router1",
                    help="nextpnr router (default router1; router2 converges on crowded parts, e.g. the 16x16)")
    ap.add_argument("--out", default="build/fpga", metavar="DIR",
                    help="output folder inside the repository (default build/fpga)")
    ap.add_argument("--synth-only", action="store_true", help="synthesis only (no place and route, no Fmax)")
    ap.add_argument("--no-hier", action="store_true", help="skip the per-module (hierarchical) synthesis")
    ap.add_argument("--xilinx", action="store_true", help="also Yosys synth_xilinx (LUT6, FF, DSP48, BRAM)")


def summary_markdown(s: dict) -> str:
    r = s["resources"]
    lines = [f"# ECP5 {s['device']} {s['package']}: {s['rows']}x{s['cols']} array, LANES {s['lanes']}", "",
             "| Fmax (MHz) | target | LUT4 | CCU2C | PFUMX | L6MUX21 | FF | MULT18X18D | DP16KD | fits |",
             "|---|---|---|---|---|---|---|---|---|---|",
             f"| {s['fmax_mhz'] if s['fmax_mhz'] is not None else '-'} | {s['target_mhz']:g} | {r['lut4']:,} | "
             f"{r['ccu2c']:,} | {r['pfumx']:,} | {r['l6mux21']:,} | {r['ff']:,} | {r['dsp']} | {r['ebr']} | "
             f"{'yes' if s['fits'] else 'no'} |", ""]
    lv = s.get("logic_levels")
    if lv:
        deep = ", ".join(f"{d['endpoint']} {d['levels']}" for d in lv["deepest"][:3])
        lines += [f"Logic levels in front of a register (synthesised netlist, `python -m sps.lutdepth`; a LUT4 = 1, "
                  f"a carry cell 1 to enter + 0.1 per cell): at most {lv['max_levels']}; {lv['at_least_5']} of "
                  f"{lv['endpoints']:,} register inputs at 5 or more; deepest: {deep}.", ""]
    cp = s.get("critical_path")
    if cp:
        lines += [f"Critical path: {cp['from']} -> {cp['to']}, {cp['delay_ns']} ns ({cp['logic_levels']} logic "
                  f"cells, {cp['logic_ns']} ns logic, {cp['routing_ns']} ns routing).", ""]
    mods = s.get("per_module")
    if mods:
        total = max(1, sum(m["lut4"] for m in mods.values()))
        lines += ["Per module (hierarchical synthesis of sps_top, all instances of a module summed):", "",
                  "| module | instances | LUT4 | % LUT4 | CCU2C | PFUMX+L6MUX21 | LUT RAM | FF | MULT18X18D | DP16KD |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for name, m in sorted(mods.items(), key=lambda kv: -kv[1]["lut4"]):
            lines.append(f"| {name} | {m['instances']} | {m['lut4']:,} | {100 * m['lut4'] / total:.1f}% | "
                         f"{m['ccu2c']:,} | {m['pfumx'] + m['l6mux21']:,} | {m['lutram']} | {m['ff']:,} | "
                         f"{m['dsp']} | {m['ebr']} |")
        lines.append("")
    if s.get("xilinx"):
        x = s["xilinx"]
        lines += ["Yosys synth_xilinx (an estimate for 7-series, no timing): "
                  f"{x['lut6']:,} LUT, {x['ff']:,} FF, {x['dsp48']} DSP48E1, {x['ramb36']} RAMB36E1 + "
                  f"{x['ramb18']} RAMB18E1, {x['carry4']:,} CARRY4.", ""]
    lines.append("Times: " + ", ".join(f"{k} {v:.0f} s" for k, v in s["seconds"].items()) + ".")
    return "\n".join(lines) + "\n"


def run(a) -> int:
    from compiler.config import load_config
    from compiler.paths import ROOT
    from sps import fpga

    if not 1.0 <= a.target_mhz <= 1000.0:
        raise InputError(f"--target-mhz {a.target_mhz:g} is outside 1..1000")
    cfg = load_config(a.config)
    out = Path(a.out)
    if not out.resolve().is_relative_to(ROOT):
        raise InputError(f"--out {out}: must be inside the repository ({ROOT}): the WebAssembly "
                         "Yosys and nextpnr see only it")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"--out {out}: cannot create: {e.strerror or e}") from None
    t0 = time.monotonic()
    print(f"sps fpga: {cfg.ROWS}x{cfg.COLS} array, LANES {cfg.LANES}, {fpga.DEVICE} {fpga.PACKAGE}, "
          f"target {a.target_mhz:g} MHz -> {out}/", flush=True)
    print("synthesis (yosys synth_ecp5 -abc9) ...", flush=True)
    flat = fpga.synth(cfg, out)
    res = flat["_total"]
    seconds = {"synthesis": flat["seconds"]}
    print(f"  {res['lut4']:,} LUT4, {res['ccu2c']:,} CCU2C, {res['ff']:,} FF, {res['dsp']} MULT18X18D, "
          f"{res['ebr']} DP16KD ({flat['seconds']:.0f} s)", flush=True)

    from sps import lutdepth
    levels = lutdepth.summary(out / "sps.json")
    print(f"  logic levels: at most {levels['max_levels']}, {levels['at_least_5']} register inputs at 5 or more",
          flush=True)

    hier, hier_err = {}, []

    def hier_job():
        try:
            hier.update(fpga.synth(cfg, out, hier=True, progress=lambda m: None))
        except OSError as e:
            hier_err.append(e)

    th = None
    if not a.no_hier:
        th = threading.Thread(target=hier_job)
        th.start()
    p = None
    if not a.synth_only:
        print(f"place and route (nextpnr-ecp5, seed {a.seed}, {a.router}) ...", flush=True)
        p = fpga.pnr(out, a.target_mhz, a.seed, router=a.router)
        seconds["place and route"] = p["seconds"]
        print(f"  Fmax {p['fmax_mhz']} MHz (target {a.target_mhz:g}) ({p['seconds']:.0f} s)", flush=True)
    per = None
    if th is not None:
        th.join()
        if hier_err:
            raise hier_err[0]
        per = hier["modules"]
        seconds["hierarchical synthesis"] = hier["seconds"]
    x = None
    if a.xilinx:
        print("synthesis for Xilinx 7-series (yosys synth_xilinx) ...", flush=True)
        x = fpga.xilinx(cfg, out)
        seconds["synth_xilinx"] = x.pop("seconds")
    seconds["total"] = round(time.monotonic() - t0, 1)
    summary = {"device": fpga.DEVICE, "package": fpga.PACKAGE, "rows": cfg.ROWS, "cols": cfg.COLS,
               "lanes": cfg.LANES, "config": cfg.hdl_parameters(),
               "fmax_mhz": p["fmax_mhz"] if p else None, "target_mhz": a.target_mhz, "seed": a.seed,
               "router": a.router if p else None,
               "lut4": res["lut4"], "ff": res["ff"], "dsp": res["dsp"], "ebr": res["ebr"],
               "resources": res, "fits": fpga.fits(res),
               "critical_path": p["critical_path"] if p else None, "logic_levels": levels,
               "nextpnr_utilization": p["utilization"] if p else None,
               "per_module": per, "xilinx": x, "seconds": seconds}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    md = summary_markdown(summary)
    (out / "summary.md").write_text(md)
    print(md)
    print(f"wrote {out}/summary.json, {out}/summary.md")
    return 0
