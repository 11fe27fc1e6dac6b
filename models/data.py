"""Data sets, all local: scikit-learn's digits (shipped with the package) and CIFAR-10 from the
standard python batches at a path the user gives (nothing is downloaded).

Every loader returns float32 tensors (N, C, H, W) already normalised, and int64 labels.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .fileio import first_line

DIGITS_TEST_FRACTION = 0.3
DIGITS_SPLIT_SEED = 0
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits (1797 images, values 0..16), scaled to 0..1, as (N, 1, 8, 8).
    The split is fixed (stratified, seed 0): "train" 1257 images, "test" 540."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if split not in ("train", "test"):
        raise ValueError(f"digits split must be 'train' or 'test', got {split!r}")
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=DIGITS_TEST_FRACTION,
                                          random_state=DIGITS_SPLIT_SEED, stratify=d.target)
    x, y = (xtr, ytr) if split == "train" else (xte, yte)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64))


# the only callables a CIFAR-10 python batch names: numpy arrays (numpy 1 and 2 module paths) and
# Python 2 byte strings; a pickle naming any other is refused before it runs
_BATCH_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")} | {
    (f"numpy.{core}.{m}", n) for core in ("core", "_core")
    for m, n in (("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer"))}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _BATCH_GLOBALS:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return super().find_class(module, name)


def _unpickle(p: Path) -> dict:
    if not p.is_file():
        raise ValueError(f"CIFAR-10: {p} not found (give the directory holding data_batch_1..5 and "
                         "test_batch, e.g. cifar-10-batches-py)")
    with open(p, "rb") as f:
        try:
            d = _BatchUnpickler(f, encoding="bytes").load()
        except Exception as e:  # noqa: BLE001 - a corrupt pickle raises many types
            raise ValueError(f"CIFAR-10: {p} is not a python batch ({type(e).__name__})") from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise ValueError(f"CIFAR-10: {p} has no data/labels entries")
    return d


def cifar10(root, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 from the python batches in `root` ("train": data_batch_1..5, "test": test_batch),
    normalised with the usual per-channel mean and std, as (N, 3, 32, 32)."""
    if split not in ("train", "test"):
        raise ValueError(f"CIFAR-10 split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"CIFAR-10: {root} is not a directory")
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for n in names:
        d = _unpickle(root / n)
        try:
            a = np.asarray(d[b"data"], dtype=np.uint8)
            y = np.asarray(d[b"labels"], dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"CIFAR-10: {root / n}: data must be bytes 0..255 and labels integers "
                             f"({first_line(e)})") from None
        if a.ndim != 2 or a.shape[1] != 3 * 32 * 32:
            raise ValueError(f"CIFAR-10: {root / n} data has shape {list(a.shape)}, expected [N, 3072]")
        if y.shape != (len(a),):
            raise ValueError(f"CIFAR-10: {root / n} labels have shape {list(y.shape)}, expected [{len(a)}]")
        xs.append(a.reshape(-1, 3, 32, 32))
        ys.append(y)
    x = np.concatenate(xs).astype(np.float32) / 255.0
    x = (x - np.array(CIFAR_MEAN, np.float32)[:, None, None]) / np.array(CIFAR_STD, np.float32)[:, None, None]
    return torch.from_numpy(x), torch.from_numpy(np.concatenate(ys))


def load(dataset: str, split: str, root=None) -> tuple[torch.Tensor, torch.Tensor]:
    if dataset == "digits":
        return digits(split)
    if dataset == "cifar10":
        if root is None:
            raise ValueError("CIFAR-10 needs --data DIR (the python batches; nothing is downloaded)")
        return cifar10(root, split)
    raise ValueError(f"unknown data set {dataset!r}: expected digits or cifar10")


def loader(x: torch.Tensor, y: torch.Tensor, batch: int, shuffle: bool, seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=shuffle, generator=g)
