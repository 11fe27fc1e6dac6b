"""Compile one quantised 3x3 conv layer into an SPS layer program (.npz, docs/ARCHITECTURE.md 5.6).

example:
  sps compile --weight W.npy --bias B.npy --input X.npy --stride 1 --padding 1 --out prog.npz --report
  sps compile --weight W.npy --hw 32 32 --stride 1 --padding 1 --pps ps4 --out prog.npz
  sps compile --weight W.npy --hw 2 2 --batch 8 --stride 1 --padding 1 --out prog.npz

Prints the PPS, the bands, the stream sizes and the predicted cycles; --report adds the cycle
breakdown, the storage table (SPS against dense, CSR, CSC, COO, bitmap, RLE) and the registers.
--pps auto (default) infers a regular PPS (PS-n, PSD or dense) from the weights' zero pattern and
rejects weights that do not follow one, naming filter and channel; --pps any accepts the cheapest
pattern list of any sizes; a named PPS or a JSON file {"patterns": [[positions], ...], "offset": o}
is checked against the weights. --batch B (or an --input batch [B, C, H, W]): B images per band
(the BATCH register): every pass covers the same pixels of all of them while the weights stay.
Read the program back with `sps show prog.npz`.
"""
from __future__ import annotations

from pathlib import Path

from sps.cli import add_config_argument
from sps.npyio import load_images, load_npy

HELP = "compile a layer (.npy weights) into a program file"
PPS_HELP = ("auto (infer a PS-n/PSD/dense PPS, the default), any (infer, mixed pattern sizes allowed), "
            "dense, ps1, ps2, ps4, psd or a PPS JSON file")


def add_arguments(ap) -> None:
    ap.add_argument("--weight", required=True, help="int8 weights [F, C, 3, 3] (.npy)")
    ap.add_argument("--bias", help="int32 bias [F] (.npy); default zeros")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="int8 input [C, H, W] or a batch [B, C, H, W] (.npy): also emits the "
                                     "activation streams")
    src.add_argument("--hw", nargs=2, type=int, metavar=("H", "W"), help="input height and width")
    ap.add_argument("--stride", type=int, required=True, choices=(1, 2))
    ap.add_argument("--padding", type=int, required=True, choices=(0, 1))
    ap.add_argument("--pps", default="auto", help=PPS_HELP)
    ap.add_argument("--batch", type=int, default=None, metavar="B",
                    help="images per band (default 1, or the --input batch's B)")
    ap.add_argument("--requant", nargs=2, metavar=("M.npy", "SH.npy"),
                    help="requantise: uint16 multipliers [F] and shifts [F] (0..63)")
    ap.add_argument("--relu", action="store_true", help="ReLU after requantisation (needs --requant)")
    ap.add_argument("--out", required=True, help="program file to write (.npz)")
    ap.add_argument("--report", action="store_true", help="print the cycle breakdown, storage table and registers")
    ap.add_argument("--name", help="layer name (default: the weight file's stem)")
    add_config_argument(ap)


def run(a) -> int:
    from compiler import regs as R
    from compiler.compile import compile_layer
    from compiler.config import load_config
    from compiler.infer import pps_from_spec
    from compiler.layer import QLayer
    from compiler.progfile import save_program
    from compiler.storage import format_storage_table, layer_storage
    from sps.cli import InputError

    if a.relu and not a.requant:
        raise InputError("--relu needs --requant")
    cfg = load_config(a.config)
    w = load_npy(a.weight, "--weight", "integer", ("F", "C", 3, 3))
    F, C = w.shape[:2]
    bias = load_npy(a.bias, "--bias", "integer", (F,)) if a.bias else None
    requant = None
    if a.requant:
        requant = (load_npy(a.requant[0], "--requant M", "integer", (F,)),
                   load_npy(a.requant[1], "--requant SH", "integer", (F,)), bool(a.relu))
    layer = QLayer(a.name or Path(a.weight).stem, w, bias, a.stride, a.padding, requant)
    pps = pps_from_spec(a.pps)
    if a.batch is not None and a.batch < 1:
        raise InputError(f"--batch {a.batch}: must be at least 1")
    if a.input:
        prog = compile_layer(layer, cfg, pps, x=load_images(a.input, "--input", "integer", C), batch=a.batch)
    else:
        prog = compile_layer(layer, cfg, pps, H=a.hw[0], W=a.hw[1], batch=a.batch)
    try:
        save_program(prog, a.out)
    except OSError as e:
        raise OSError(f"--out {a.out}: cannot write: {e.strerror or e}") from None

    cyc = prog.cycles
    mode = ("requant" + ("+relu" if prog.relu else "")) if prog.requant else "raw"
    print(f"layer {prog.name}: C={prog.C} F={prog.F} H={prog.H} W={prog.W} -> Hout={prog.Hout} Wout={prog.Wout} "
          f"stride={prog.stride} padding={prog.padding} mode={mode}")
    print(f"PPS: {prog.pps.describe()}  (masks {[hex(m) for m in prog.pps.masks]}, filters per group {prog.fg})")
    print(f"bands: {len(prog.bands)}  passes per band: {prog.bands[0].passes}"
          + (f"  batch: {prog.batch} images per band" if prog.batch > 1 else ""))
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
        names = dict(R.rw_registers(cfg))
        print("registers (band 0): " + " ".join(f"{names[ad]}={v}" for ad, v in prog.bands[0].regs))
    print(f"wrote {a.out}")
    return 0
