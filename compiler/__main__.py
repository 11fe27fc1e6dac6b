"""Compile one quantised 3x3 conv layer into an SPS layer program (.npz, docs/ARCHITECTURE.md 5.6).

  python -m compiler --weight W.npy [--bias B.npy] (--input X.npy | --hw H W) --stride S --padding P
                     [--pps auto|any|dense|ps1|ps2|ps4|psd|FILE.json] [--requant M.npy SH.npy [--relu]]
                     --out prog.npz [--report] [--config sps.json] [--name NAME]

Prints the PPS, the bands, the stream sizes and the predicted cycles; --report adds the cycle
breakdown, the storage table (SPS against dense, CSR, CSC, COO, bitmap, RLE) and the registers.
--pps auto (default) infers a regular PPS (PS-n, PSD or dense) from the weights' zero pattern and
rejects weights that do not follow one, naming filter and channel; --pps any accepts the cheapest
pattern list of any sizes; a named PPS or a JSON file {"patterns": [[positions], ...], "offset": o}
is checked against the weights. Errors: one line on stderr, exit 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from compiler.infer import pps_from_spec
from compiler.progfile import save_program


class _Parser(argparse.ArgumentParser):
    def error(self, message):            # one line, exit 2 (argparse prints usage + message)
        raise _CliError(message)


class _CliError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m compiler", description=__doc__,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weight", required=True, help="int8 weights [F, C, 3, 3] (.npy)")
    ap.add_argument("--bias", help="int32 bias [F] (.npy); default zeros")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="int8 input [C, H, W] (.npy): also emits the activation streams")
    src.add_argument("--hw", nargs=2, type=int, metavar=("H", "W"), help="input height and width")
    ap.add_argument("--stride", type=int, required=True, choices=(1, 2))
    ap.add_argument("--padding", type=int, required=True, choices=(0, 1))
    ap.add_argument("--pps", default="auto", help="auto (infer a PS-n/PSD/dense PPS), any (infer, mixed pattern sizes allowed), dense, ps1, ps2, ps4, psd or a JSON file")
    ap.add_argument("--requant", nargs=2, metavar=("M.npy", "SH.npy"),
                    help="requantise: uint16 multipliers [F] and shifts [F] (0..63)")
    ap.add_argument("--relu", action="store_true", help="ReLU after requantisation (needs --requant)")
    ap.add_argument("--out", required=True, help="program file to write (.npz)")
    ap.add_argument("--report", action="store_true", help="print the cycle breakdown, storage table and registers")
    ap.add_argument("--config", help="array config JSON (default config/sps.json)")
    ap.add_argument("--name", help="layer name (default: the weight file's stem)")
    return ap


def _load_npy(path: str, what: str) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"{what} file {path}: not found") from None
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"{what} file {path}: not a readable .npy array ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{what} file {path}: expected a .npy array, got an archive")
    return a


def _run(argv) -> int:
    from compiler.config import load_config
    from compiler.layer import QLayer
    from compiler.compile import compile_layer
    from compiler.storage import format_storage_table, layer_storage

    a = _parser().parse_args(argv)
    if a.relu and not a.requant:
        raise _CliError("--relu needs --requant")
    cfg = load_config(a.config)
    w = _load_npy(a.weight, "weight")
    bias = _load_npy(a.bias, "bias") if a.bias else None
    requant = None
    if a.requant:
        requant = (_load_npy(a.requant[0], "requant M"), _load_npy(a.requant[1], "requant shift"), bool(a.relu))
    name = a.name or Path(a.weight).stem
    layer = QLayer(name, w, bias, a.stride, a.padding, requant)
    pps = pps_from_spec(a.pps)
    if a.input:
        prog = compile_layer(layer, cfg, pps, x=_load_npy(a.input, "input"))
    else:
        prog = compile_layer(layer, cfg, pps, H=a.hw[0], W=a.hw[1])
    try:
        save_program(prog, a.out)
    except OSError as e:
        raise ValueError(f"cannot write {a.out}: {e.strerror or e}") from None

    cyc = prog.cycles
    print(f"layer {prog.name}: C={prog.C} F={prog.F} H={prog.H} W={prog.W} -> Hout={prog.Hout} Wout={prog.Wout} "
          f"stride={prog.stride} padding={prog.padding} mode={'requant' + ('+relu' if prog.relu else '') if prog.requant else 'raw'}")
    print(f"PPS: {prog.pps.describe()}  (masks {[hex(m) for m in prog.pps.masks]}, filters per group {prog.fg})")
    print(f"bands: {len(prog.bands)}  passes per band: {prog.bands[0].passes}")
    for b in prog.bands:
        print(f"  band {b.index}: out rows [{b.oy0},{b.oy1}) in rows [{b.iy0},{b.iy1}) PAD_TOP={b.pad_top}  "
              f"beats act={b.act_beats}{'' if b.act is not None else ' (not emitted)'} wgt={b.wgt_beats} res={b.res_beats}")
    print(f"cycles (predicted): {cyc['total']}  dense equivalent: {cyc['dense_equivalent']['total']}  "
          f"speedup {cyc['speedup_vs_dense']:.2f}x  ideal {cyc['ideal']}  utilization {cyc['utilization']:.1%}")
    if a.report:
        keys = ("act_load", "passes", "start", "pass_cycles", "bubbles", "drain", "fill", "total", "macs",
                "macs_issued")
        print("cycle breakdown:  " + "  ".join(f"{k}={cyc[k]}" for k in keys))
        print("dense equivalent: " + "  ".join(f"{k}={cyc['dense_equivalent'][k]}" for k in keys))
        print(format_storage_table(layer_storage(layer, prog.pps, cfg)))
        from compiler import regs as R
        names = dict(R.rw_registers(cfg))
        print("registers (band 0): " + " ".join(f"{names[ad]}={v}" for ad, v in prog.bands[0].regs))
    print(f"wrote {a.out}")
    return 0


def main(argv=None) -> int:
    try:
        return _run(argv)
    except SystemExit as e:          # --help
        return int(e.code or 0)
    except (_CliError, ValueError, OSError) as e:
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except Exception as e:       # never a traceback
        print(f"error: internal error: {type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
