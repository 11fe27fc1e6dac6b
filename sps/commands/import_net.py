"""Bring your own CNN: read an ONNX model, quantise it to int8 (or keep the scales of a QDQ model),
compile every convolution for the array and write the network as a QNet file for `sps report
--net` and `sps demo --net`, beside it NET.qdq.onnx (the quantised network as a QDQ model with
our scales and integer weights, for onnxruntime). Prints a table: node, where it runs (array or
host), shapes, MACs, the PPS of an array layer or what a host stage does, and the share of the
network's MACs on the array.

example:
  sps import model.onnx --calib calib.npy --out net.npz           float model, PPS kept as found
  sps import model.onnx --calib calib.npy --pps ps4 --first-dense --out net.npz
  sps import model_qdq.onnx --out net.npz                          QDQ model: its own scales

Operators: Conv (group 1, dilation 1; 3x3 with pads 0 or 1, 1x1 with pads 0; stride 1 or 2),
BatchNormalization (folded), Relu, MaxPool, AveragePool, GlobalAveragePool, Add (residual),
Flatten / Reshape before a Gemm, Gemm and MatMul (+ Add). Anything else: one line per node and
why, exit 2, nothing written. --calib: float32 [N, C, H, W] images as the model expects them
(the activation scales are max |x| / 127 over them, from the float graph in onnxruntime).
"""
from __future__ import annotations

import sys
from pathlib import Path

from sps.cli import add_config_argument

HELP = "ONNX model -> QNet file (+ QDQ ONNX): int8, every conv on the array, operator table"


def add_arguments(ap) -> None:
    ap.add_argument("model", help="the ONNX model (float, or QDQ int8 symmetric)")
    ap.add_argument("--out", required=True, metavar="NET.npz", help="the QNet file to write")
    ap.add_argument("--calib", metavar="X.npy", help="calibration images, float32 [N, C, H, W] (float models)")
    ap.add_argument("--pps", default="auto", help="auto (default: keep a PPS found in the weights, else dense), "
                                                  "dense, ps1, ps2, ps4, psd (project every 3x3 layer)")
    ap.add_argument("--period", type=int, default=4, help="the PPS period P of --pps psN (default 4)")
    ap.add_argument("--first-dense", action="store_true", help="keep the first conv dense")
    add_config_argument(ap)


def stage_table(net) -> str:
    """One line per stage of a NetProgram (sps.tables.layer_rows from the cycle model) and the share
    of the network's MACs on the array (sps.tables.totals)."""
    from sps.tables import layer_rows, totals

    rows = layer_rows(net, "model")
    shp = lambda s: "x".join(map(str, s))
    w = max([len(r["layer"]) for r in rows] + [4])
    lines = [f"{'node':<{w}}  {'op':<8} {'stage':<6} {'in -> out':<26} {'MACs':>12}  PPS (array) or what the host does"]
    for r in rows:
        lines.append(f"{r['layer']:<{w}}  {r['op']:<8} {r['where']:<6} {shp(r['in']) + ' -> ' + shp(r['out']):<26} "
                     f"{r['macs']:>12,}  {r.get('pps') or r.get('note', '')}")
    lines.append(f"MACs on the array: {totals(rows, net.cfg)['array_mac_fraction']:.4%} of "
                 f"{sum(r['macs'] for r in rows):,}")
    return "\n".join(lines)


def run(a) -> int:
    from compiler.config import load_config
    from compiler.network import NetProgram
    from sps.npyio import load_npy
    from sps.onnx_import import UnsupportedModel, import_onnx
    from sps.onnx_oracle import qnet_to_qdq

    cfg = load_config(a.config)
    out = Path(a.out)
    if out.suffix != ".npz":
        raise ValueError(f"--out {out}: the QNet file must end in .npz")
    calib = load_npy(a.calib, "--calib") if a.calib else None
    try:
        imp = import_onnx(a.model, calib, a.pps, a.period, a.first_dense, name=out.stem)
        net = NetProgram(imp.qnet, cfg)            # every layer compiled: a layer that does not fit fails here
    except UnsupportedModel as e:
        for line in e.problems:
            print(f"sps import: error: {line}", file=sys.stderr)
        return 2
    table = stage_table(net)
    qdq = out.with_suffix(".qdq.onnx")
    qdq_bytes = qnet_to_qdq(imp.qnet).SerializeToString()     # everything built before anything is written
    out.parent.mkdir(parents=True, exist_ok=True)
    imp.qnet.save(out)
    try:
        qdq.write_bytes(qdq_bytes)
    except OSError:
        out.unlink(missing_ok=True)                           # both files or neither
        raise
    print(f"{a.model}: {len(net.stages)} stages, input {'x'.join(map(str, imp.qnet.input_shape))}, "
          f"quantised by {imp.quantised_from}; array {cfg.ROWS}x{cfg.COLS}")
    print(table)
    print(f"wrote {out} and {qdq}")
    return 0
