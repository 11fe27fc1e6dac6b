"""Weight storage (bits) of VGG-16's 13 CIFAR-shaped 3x3 conv layers for SPS against dense, CSR,
CSC, COO, bitmap and RLE: non-zero values plus index bits (formulas: compiler/storage.py and the
Storage section of docs/RESULTS.md). The period of the PPS must fit the array's PMAX (--config).

example:
  sps storage                           all 13 layers PS-4/P4, 8-bit weights
  sps storage --pps ps2 --first-dense --per-layer
"""
from __future__ import annotations

from sps.cli import add_config_argument

HELP = "weight and index storage of VGG-16: SPS vs dense, CSR, CSC, COO, bitmap, RLE"


def add_arguments(ap) -> None:
    ap.add_argument("--pps", default="ps4", help="dense, ps1, ps2, ps4 (default), psd or a PPS JSON file")
    ap.add_argument("--bits", type=int, default=8, help="weight bits b (default 8)")
    ap.add_argument("--first-dense", action="store_true",
                    help="keep conv1_1 (C=3) dense, as the network reports do")
    ap.add_argument("--per-layer", action="store_true", help="also print each layer's table")
    add_config_argument(ap)


def run(a) -> int:
    from compiler.config import load_config
    from compiler.infer import pps_from_spec
    from compiler.storage import format_network_table, format_storage_table, storage_report, sum_reports
    from models.pps import PPS
    from models.shapes import VGG16_CIFAR_CONVS
    from sps.cli import InputError

    pps = pps_from_spec(a.pps)
    if not isinstance(pps, PPS):
        raise InputError(f"--pps {a.pps}: give a PPS (dense, ps1, ps2, ps4, psd or a JSON file); "
                         "there are no weights to infer it from")
    if a.bits < 1:
        raise InputError(f"--bits must be >= 1, got {a.bits}")
    pmax = load_config(a.config).PMAX
    if pps.period > pmax:
        raise InputError(f"--pps {a.pps}: period {pps.period} exceeds PMAX={pmax}")
    reports = []
    for i, (name, C, F, _) in enumerate(VGG16_CIFAR_CONVS):
        lp = PPS.dense() if a.first_dense and i == 0 else pps
        reports.append(storage_report(F, C, lp, b=a.bits, pmax=pmax))
        if a.per_layer:
            print(f"{name}:")
            print(format_storage_table(reports[-1]))
    first = (f"conv1_1 dense, the other 12 {pps.describe().split()[0]}" if a.first_dense
             else f"all {pps.describe().split()[0]}")
    print(f"VGG-16 (CIFAR), 13 3x3 conv layers, {first}, {a.bits}-bit weights")
    print(format_network_table(sum_reports(reports)))
    return 0
