"""Get a network ready for the accelerator: float model (a checkpoint, or random weights pruned to
PPS), calibration images, and its int8 QNet.

- digits: the shipped models/weights/digits_pps.pt unless a checkpoint is given; calibration on
  the first 512 training images.
- vgg16, resnet18: a user checkpoint (trained with `sps train`, or any state_dict of the same
  architecture), or random weights: default init, every 3x3 conv but the first projected onto
  PS-4/P4 (the 2x2 corners, o=1), BatchNorm statistics re-estimated on the calibration images.
  Calibration on 512 CIFAR-10 training images when --data is given, else on seeded Gaussian noise
  (enough for cycles and storage, which do not depend on the values).
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch

from . import data as D
from .fileio import first_line
from .masks import assign_pps, check_masks, masks_for, project_model
from .nets import INPUT_SHAPE, build, load_checkpoint
from .pps import PPS
from .ptq import quantize_net
from .qnet import QNet

WEIGHTS = Path(__file__).resolve().parent / "weights"
SHIPPED = {"digits": WEIGHTS / "digits_pps.pt"}
SHIPPED_DENSE = {"digits": WEIGHTS / "digits_dense.pt"}
CALIB_IMAGES = 512


@functools.lru_cache(maxsize=4)
def calibration_images(model_name: str, data_root=None, seed: int = 0) -> torch.Tensor:
    """Read once per (model, data, seed): load_float (BN re-estimation) and quantized both use them."""
    if model_name == "digits":
        return D.digits("train")[0][:CALIB_IMAGES].clone()
    if data_root is not None:                 # clone: the cache keeps 512 images, not the 50,000
        return D.cifar10(data_root, "train")[0][:CALIB_IMAGES].clone()
    g = torch.Generator().manual_seed(seed)
    return torch.randn((64, *INPUT_SHAPE[model_name]), generator=g)


def _recalibrate_bn(model: torch.nn.Module, images: torch.Tensor) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None                   # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for i in range(0, len(images), 64):
            model(images[i:i + 64])
    model.eval()


def load_float(model_name: str, checkpoint=None, data_root=None, seed: int = 0,
               pps: PPS | None = None) -> tuple[torch.nn.Module, dict | None, str]:
    """(eval-mode float model, PPS per conv module as JSON -- None for a bare state_dict, whose
    PPS the compiler infers -- and a description of the weights)."""
    model = build(model_name)
    pps = pps or PPS.ps(4)
    if checkpoint is None and model_name in SHIPPED:
        checkpoint = SHIPPED[model_name]
    if checkpoint is not None:
        extra = load_checkpoint(model, checkpoint)
        meta = extra.get("meta", {}) if isinstance(extra.get("meta"), dict) else {}
        layer_pps = meta["pps"] if isinstance(meta.get("pps"), dict) else None   # None: infer
        if layer_pps:
            try:
                check_masks(model, masks_for(model, {k: PPS.from_json(v) for k, v in layer_pps.items()}))
            except (ValueError, TypeError, AttributeError) as e:   # PPSError: bad PPS, no such layer, stray weight
                raise ValueError(f"checkpoint {checkpoint}: meta pps: {first_line(e)}") from None
        desc = f"checkpoint {Path(checkpoint).name}"
        acc = meta.get("test_accuracy")
        if isinstance(acc, (int, float)) and not isinstance(acc, bool):
            desc += f" (trained: {meta.get('mode', '?')}, test accuracy {acc:.2%})"
    else:
        torch.manual_seed(seed)
        masks = project_model(model, assign_pps(model, pps), choose=False)
        layer_pps = {k: v.to_json() for k, v in masks.pps.items()}
        _recalibrate_bn(model, calibration_images(model_name, data_root, seed))
        desc = (f"random weights (seed {seed}), 3x3 convs after the first projected onto "
                f"{pps.describe().split(' patterns=')[0]}")
    return model.eval(), layer_pps, desc


def quantized(model_name: str, model: torch.nn.Module, layer_pps: dict, data_root=None, seed: int = 0) -> QNet:
    return quantize_net(model, calibration_images(model_name, data_root, seed), model_name, layer_pps)
