"""BatchNorm folding (torch): a Conv2d followed by a BatchNorm2d in eval mode becomes one Conv2d
with bias, before int8 quantisation (models.quant, models.ptq)."""
from __future__ import annotations

import copy
from typing import Iterable

import torch
from torch import nn


def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """Return a new Conv2d (with bias) computing bn(conv(x)) with `bn` in eval mode.

    With k = gamma / sqrt(running_var + eps): W' = W * k[f], b' = (b - running_mean) * k + beta.
    Zero weights stay zero. `conv` and `bn` are not modified. Needs BN running statistics.
    """
    if not isinstance(conv, nn.Conv2d):
        raise ValueError(f"fold_bn: conv must be nn.Conv2d, got {type(conv).__name__}")
    if not isinstance(bn, nn.BatchNorm2d):
        raise ValueError(f"fold_bn: bn must be nn.BatchNorm2d, got {type(bn).__name__}")
    if bn.num_features != conv.out_channels:
        raise ValueError(f"fold_bn: bn has {bn.num_features} features, conv has "
                         f"{conv.out_channels} output channels")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("fold_bn: bn has no running statistics (track_running_stats=False)")
    with torch.no_grad():
        w = conv.weight.detach()
        dt = torch.float64
        var = bn.running_var.detach().to(dt)
        mean = bn.running_mean.detach().to(dt)
        gamma = bn.weight.detach().to(dt) if bn.weight is not None else torch.ones_like(var)
        beta = bn.bias.detach().to(dt) if bn.bias is not None else torch.zeros_like(var)
        b = conv.bias.detach().to(dt) if conv.bias is not None else torch.zeros_like(var)
        k = gamma / torch.sqrt(var + bn.eps)
        new_w = (w.to(dt) * k.view(-1, *([1] * (w.dim() - 1)))).to(w.dtype)
        new_b = ((b - mean) * k + beta).to(w.dtype)
        folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                           stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                           groups=conv.groups, bias=True, padding_mode=conv.padding_mode,
                           device=w.device, dtype=w.dtype)
        folded.weight.copy_(new_w)
        folded.bias.copy_(new_b)
    return folded


def fold_bn_model(model: nn.Module, pairs: Iterable[tuple[str, str]] | None = None) -> nn.Module:
    """Return an eval-mode deep copy of `model` with Conv2d -> BatchNorm2d pairs folded.

    pairs=None: every nn.Sequential (at any depth) is scanned for a Conv2d immediately followed by
    a BatchNorm2d. Otherwise `pairs` lists (conv_name, bn_name) module names (as in
    ``named_modules``), for models whose forward() chains them outside a Sequential (e.g. ResNet
    blocks' conv1/bn1). Each conv is replaced by its folded version, each bn by nn.Identity.
    """
    model = copy.deepcopy(model).eval()
    if pairs is None:
        found = []
        for prefix, mod in model.named_modules():
            if isinstance(mod, nn.Sequential):
                names = list(mod._modules.keys())
                for a, b in zip(names, names[1:]):
                    if isinstance(mod._modules[a], nn.Conv2d) and isinstance(mod._modules[b], nn.BatchNorm2d):
                        p = f"{prefix}." if prefix else ""
                        found.append((p + a, p + b))
        pairs = found
    for conv_name, bn_name in pairs:
        conv = get_module(model, conv_name)
        bn = get_module(model, bn_name)
        _set_module(model, conv_name, fold_bn(conv, bn))
        _set_module(model, bn_name, nn.Identity())
    return model


def get_module(model: nn.Module, name: str, error: type[Exception] = ValueError) -> nn.Module:
    """model.get_submodule(name), raising `error` with a one-line message if there is none."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        raise error(f"no module named {name!r} in the model") from None


def _set_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = get_module(model, parent_name) if parent_name else model
    setattr(parent, attr, new)
