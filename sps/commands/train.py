"""Train a network dense or with PPS masks, or project a dense checkpoint onto PPS and fine-tune.

example:
  sps train --model digits --mode dense --out models/weights/digits_dense.pt
  sps train --model digits --mode pps   --out models/weights/digits_pps.pt
  sps train --model digits --mode finetune --init digits_dense.pt --epochs 10 --lr 0.01 --out ft.pt
  sps train --model vgg16 --data ~/cifar-10-batches-py --mode pps --out vgg16_pps.pt

Modes: dense (no masks); pps (masks from the start: every 3x3 conv but the first gets --pps, the
default PS-4/P4 2x2 corners, o=1); finetune (load --init, choose for each layer the patterns of
--pps's sizes that keep the most weight magnitude, project, then train with the masks). The recipe
(SGD, momentum 0.9, cosine schedule, weight decay, batch size, seed) is the same for every mode, so
a dense and a PPS model trained with the same flags are twins. The checkpoint holds the state_dict
and "meta": model, mode, PPS per layer, recipe, test accuracy. The shipped digits models are made
by the two first commands above (`make train-digits`; the defaults are the recipe).
"""
from __future__ import annotations

from models.shapes import MODELS

HELP = "train a network dense, with PPS masks, or fine-tune a projection onto PPS"


def add_arguments(ap) -> None:
    ap.add_argument("--model", choices=MODELS, default="digits")
    ap.add_argument("--mode", choices=("dense", "pps", "finetune"), default="pps")
    ap.add_argument("--pps", default="ps4", help="ps4 (default), ps2, ps1 or psd")
    ap.add_argument("--init", help="dense checkpoint to start from (finetune)")
    ap.add_argument("--data", help="CIFAR-10 python batches directory (vgg16, resnet18)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--wd", type=float, default=5e-4, help="weight decay")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="checkpoint to write (.pt)")


def run(a) -> int:
    import torch

    from models.train_net import pps_spec, train

    model, meta = train(a.model, a.mode, a.epochs, a.lr, a.wd, a.batch, a.seed, pps_spec(a.pps), a.init, a.data)
    torch.save({"state_dict": model.state_dict(), "meta": meta}, a.out)
    print(f"{a.model} {a.mode}: test accuracy {meta['test_accuracy']:.2%}; wrote {a.out}")
    return 0
