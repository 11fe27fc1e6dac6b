"""The networks of the project, built from three blocks the quantiser (models.qnet) understands:

- ``ConvBN``: 3x3 (or 1x1) conv, BatchNorm, optional ReLU;
- ``nn.MaxPool2d(2)``;
- ``BasicBlock``: ResNet's two 3x3 ConvBN plus identity or 1x1-conv shortcut, ReLU after the add.

Every model is ``features`` (an nn.Sequential of those blocks) followed by ``head``: global average
pooling (``gap=True``) or flattening, then one Linear classifier.

- ``DigitsNet``: for scikit-learn's 8x8 digits (1 channel): conv 1->16, conv 16->32, pool, conv
  32->32, pool, linear 128->10.
- ``vgg16``: VGG-16 in its CIFAR form (13 3x3 convs with BN, five 2x2 max pools, linear 512->10).
- ``resnet18``: ResNet-18 in its CIFAR form (3x3 stem, no stem pool, 4 stages of 2 BasicBlocks,
  global average pool, linear 512->10).

``build(name)`` makes any of them; ``load_checkpoint`` loads a user's state_dict into one with a
one-line error naming the first mismatching tensor.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from .fileio import first_line
from .shapes import INPUT_SHAPE, MODELS  # noqa: F401  (re-exported: the networks' names and shapes)


class ConvBN(nn.Module):
    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, relu: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.relu else x


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.a = ConvBN(cin, cout, 3, stride, relu=True)
        self.b = ConvBN(cout, cout, 3, 1, relu=False)
        self.short = ConvBN(cin, cout, 1, stride, relu=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return torch.relu(self.b(self.a(x)) + s)


class Net(nn.Module):
    """features -> (global average pool | flatten) -> Linear."""

    def __init__(self, features: list[nn.Module], n_features: int, classes: int, gap: bool):
        super().__init__()
        self.features = nn.Sequential(*features)
        self.gap = gap
        self.fc = nn.Linear(n_features, classes)

    def forward(self, x):
        x = self.features(x)
        x = x.mean(dim=(2, 3)) if self.gap else x.flatten(1)
        return self.fc(x)


def DigitsNet(classes: int = 10) -> Net:
    return Net([ConvBN(1, 16), ConvBN(16, 32), nn.MaxPool2d(2), ConvBN(32, 32), nn.MaxPool2d(2)],
               32 * 2 * 2, classes, gap=False)


VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16(classes: int = 10) -> Net:
    feats, c = [], 3
    for v in VGG16_CFG:
        if v == "M":
            feats.append(nn.MaxPool2d(2))
        else:
            feats.append(ConvBN(c, v))
            c = v
    return Net(feats, 512, classes, gap=False)


def resnet18(classes: int = 10) -> Net:
    feats, c = [ConvBN(3, 64)], 64
    for i, width in enumerate((64, 128, 256, 512)):
        for j in range(2):
            feats.append(BasicBlock(c, width, stride=2 if (i > 0 and j == 0) else 1))
            c = width
    return Net(feats, 512, classes, gap=True)


def build(name: str, classes: int = 10) -> Net:
    makers = {"digits": DigitsNet, "vgg16": vgg16, "resnet18": resnet18}
    if name not in makers:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")
    return makers[name](classes)


def load_checkpoint(model: nn.Module, path) -> dict:
    """Load a state_dict (or a dict holding one under "state_dict"/"model") into `model`, strictly.
    Returns the checkpoint's other entries (e.g. "pps", "meta"). One-line ValueError on mismatch."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"checkpoint {p}: no such file")
    try:
        with warnings.catch_warnings():     # e.g. a pickle protocol warning: the error below says it all
            warnings.simplefilter("ignore")
            ck = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise ValueError(f"checkpoint {p}: cannot read ({type(e).__name__}: {first_line(e)})") from None
    extra = {}
    if isinstance(ck, dict) and isinstance(ck.get("state_dict", ck.get("model")), dict):
        extra = {k: v for k, v in ck.items() if k not in ("state_dict", "model")}
        ck = ck.get("state_dict", ck.get("model"))
    if not isinstance(ck, dict):
        raise ValueError(f"checkpoint {p}: not a state_dict")
    own = model.state_dict()
    missing = [k for k in own if k not in ck]
    unexpected = [k for k in ck if k not in own]
    if missing or unexpected:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {unexpected[0]!r}"
        raise ValueError(f"checkpoint {p}: does not fit {type(model).__name__}: {what} "
                         f"({len(missing)} missing, {len(unexpected)} unexpected)")
    for k, v in own.items():
        if not isinstance(ck[k], torch.Tensor):
            raise ValueError(f"checkpoint {p}: {k} is a {type(ck[k]).__name__}, not a tensor")
        if tuple(ck[k].shape) != tuple(v.shape):
            raise ValueError(f"checkpoint {p}: {k} has shape {list(ck[k].shape)}, the model needs {list(v.shape)}")
    try:
        model.load_state_dict(ck)
    except RuntimeError as e:           # e.g. a tensor whose dtype cannot be copied into the model's
        raise ValueError(f"checkpoint {p}: does not load into {type(model).__name__}: {first_line(e)}") from None
    return extra
