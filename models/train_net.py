"""Train a network dense or with PPS masks, or project a dense checkpoint onto PPS and fine-tune
(the library of `sps train`).

Modes: dense (no masks); pps (masks from the start: every 3x3 conv but the first gets --pps, the
default PS-4/P4 2x2 corners, o=1); finetune (load --init, choose for each layer the patterns of
--pps's sizes that keep the most weight magnitude, project, then train with the masks).
The recipe (SGD, momentum 0.9, cosine schedule, weight decay, batch size, seed) is the same for
every mode, so a dense and a PPS model trained with the same flags are twins. The checkpoint holds
the state_dict and "meta": model, mode, PPS per layer, recipe, test accuracy.
The shipped digits models are made by the two first commands above (the defaults are the recipe).
"""
from __future__ import annotations

import torch

from . import data as D
from .masks import assign_pps, masks_for, project_model
from .nets import build, load_checkpoint
from .pps import PPS
from .train import evaluate, fit

DATASET = {"digits": "digits", "vgg16": "cifar10", "resnet18": "cifar10"}


def pps_spec(spec: str) -> PPS:
    table = {"ps4": PPS.ps(4), "ps2": PPS.ps(2), "ps1": PPS.ps(1), "psd": PPS.psd(4)}
    if spec not in table:
        raise ValueError(f"--pps {spec!r}: expected one of {', '.join(table)}")
    return table[spec]


def pps_meta(masks) -> dict:
    return {name: p.to_json() for name, p in masks.pps.items()}


def train(model_name: str, mode: str, epochs: int, lr: float, wd: float, batch: int, seed: int,
          pps: PPS, init=None, data_root=None, progress: bool = True, log=print) -> tuple[torch.nn.Module, dict]:
    """Train per the module docstring; returns (model, meta)."""
    if mode not in ("dense", "pps", "finetune"):
        raise ValueError(f"mode must be dense, pps or finetune, got {mode!r}")
    torch.manual_seed(seed)
    ds = DATASET[model_name]
    xtr, ytr = D.load(ds, "train", data_root)
    xte, yte = D.load(ds, "test", data_root)
    model = build(model_name)
    masks = None
    if mode == "finetune":
        if init is None:
            raise ValueError("--mode finetune needs --init CHECKPOINT (the dense model)")
        load_checkpoint(model, init)
        masks = project_model(model, assign_pps(model, pps), choose=True)
        log(f"projected onto PPS: test accuracy before fine-tuning "
            f"{evaluate(model, D.loader(xte, yte, 256, False), progress=False):.2%}")
    elif mode == "pps":
        assignment = assign_pps(model, pps)
        masks = masks_for(model, assignment)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(epochs, 1))
    hist = fit(model, D.loader(xtr, ytr, batch, True, seed), opt, epochs, masks=masks, scheduler=sched,
               progress=progress)
    model.eval()
    acc = evaluate(model, D.loader(xte, yte, 256, False), progress=False)
    meta = {"model": model_name, "mode": mode, "pps": pps_meta(masks) if masks else {},
            "recipe": {"epochs": epochs, "lr": lr, "weight_decay": wd, "batch": batch, "seed": seed,
                       "optimizer": "SGD momentum 0.9, cosine", "pps": None if mode == "dense" else pps.describe()},
            "test_accuracy": acc, "final_loss": hist[-1]["loss"] if hist else None}
    return model, meta
