"""Masked training and fine-tuning helpers, for any classification model.

Masked weights are kept exactly zero by two measures, both needed: their gradients are zeroed
before the optimizer step (so they do not feed momentum / Adam statistics), and the masks are
re-applied after every step (weight decay, momentum left over from dense training, or any other
optimizer-side update would otherwise regrow pruned weights).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from .masks import apply_masks, mask_gradients


def _batch(batch, device):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError("each batch must be a (inputs, targets) pair")
    return batch[0].to(device), batch[1].to(device)


def train_epoch(model: nn.Module, loader, optimizer: torch.optim.Optimizer,
                masks: dict[str, torch.Tensor] | None = None, device="cpu", progress: bool = True,
                loss_fn: Callable | None = None, desc: str = "train") -> float:
    """One epoch of training; returns the mean loss over the samples seen.

    loader yields (inputs, targets); loss_fn defaults to cross-entropy. The model must already be
    on `device`. With `masks` (module name -> bool tensor, see models.masks) the masked weights'
    gradients are zeroed before each optimizer step and the masks re-applied after it.
    """
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    model.train()
    total, count = 0.0, 0
    bar = tqdm(loader, desc=desc, disable=not progress, leave=False)
    for batch in bar:
        x, y = _batch(batch, device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        if masks:
            mask_gradients(model, masks)
        optimizer.step()
        if masks:
            apply_masks(model, masks)
        total += float(loss.detach()) * x.shape[0]
        count += x.shape[0]
        bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
    if count == 0:
        raise ValueError("train_epoch: the loader yielded no samples")
    return total / count


@torch.no_grad()
def evaluate(model: nn.Module, loader, device="cpu", progress: bool = True,
             desc: str = "eval") -> float:
    """Top-1 accuracy (0..1) of `model` over `loader`, in eval mode (the mode is restored)."""
    was_training = model.training
    model.eval()
    correct, count = 0, 0
    try:
        for batch in tqdm(loader, desc=desc, disable=not progress, leave=False):
            x, y = _batch(batch, device)
            correct += int((model(x).argmax(dim=1) == y).sum())
            count += x.shape[0]
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return correct / count


def fit(model: nn.Module, train_loader, optimizer: torch.optim.Optimizer, epochs: int,
        masks: dict[str, torch.Tensor] | None = None, val_loader=None, scheduler=None,
        device="cpu", progress: bool = True, loss_fn: Callable | None = None) -> list[dict]:
    """Train for `epochs` epochs (masks applied before the first one); returns per-epoch
    {"epoch", "loss", "val_acc" (if val_loader)}. `scheduler.step()` is called after each epoch."""
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if masks:
        apply_masks(model, masks)
    history = []
    for e in tqdm(range(epochs), desc="epochs", disable=not progress):
        rec = {"epoch": e, "loss": train_epoch(model, train_loader, optimizer, masks, device,
                                               progress, loss_fn, desc=f"epoch {e}")}
        if scheduler is not None:
            scheduler.step()
        if val_loader is not None:
            rec["val_acc"] = evaluate(model, val_loader, device, progress)
        history.append(rec)
    return history
