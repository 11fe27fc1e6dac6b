"""Reading the user's .npy files: one-line errors naming the option and what is wrong."""
from __future__ import annotations

import numpy as np


def load_npy(path: str, what: str, dtype=None) -> np.ndarray:
    """The array in `path` (a .npy file), with `dtype` exactly when given; ValueError otherwise."""
    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"{what} {path}: not found") from None
    except (OSError, ValueError, EOFError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{what} {path}: not a readable .npy array ({first})") from None
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{what} {path}: expected a .npy array, got an archive")
    if dtype is not None and a.dtype != np.dtype(dtype):
        raise ValueError(f"{what}: dtype {a.dtype}, expected {np.dtype(dtype).name}")
    return a
