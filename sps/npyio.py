"""Reading the user's .npy files: one-line errors naming the option, the file and what is wrong."""
from __future__ import annotations

import numpy as np

from models.fileio import READ_ERRORS, first_line


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def load_npy(path: str, what: str, dtype=None, shape=None) -> np.ndarray:
    """The array in `path` (a .npy file); ValueError naming `what` and `path` otherwise.
    dtype: a dtype the array must have exactly, or "integer" (any integer dtype).
    shape: the shape it must have, one entry per axis: an int (that size) or a name (any size,
    named in the message), e.g. ("F", "C", 3, 3)."""
    where = f"{what} {path}"
    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"{where}: not found") from None
    except READ_ERRORS as e:
        raise ValueError(f"{where}: not a readable .npy array ({first_line(e)})") from None
    if not isinstance(a, np.ndarray):
        a.close()
        raise ValueError(f"{where}: expected a .npy array, got an archive")
    if dtype == "integer":
        if a.dtype.kind not in "iu":
            raise ValueError(f"{where}: dtype {a.dtype}, expected an integer array")
    elif dtype is not None and a.dtype != np.dtype(dtype):
        raise ValueError(f"{where}: dtype {a.dtype}, expected {np.dtype(dtype).name}")
    if shape is not None and (a.ndim != len(shape) or any(
            isinstance(want, int) and got != want for got, want in zip(a.shape, shape))):
        raise ValueError(f"{where}: shape {list(a.shape)}, expected {_shape_text(shape)}")
    return a


def load_images(path: str, what: str, dtype, C: int) -> np.ndarray:
    """An input of `C` channels in `path`: one image [C, H, W] or a batch [B, C, H, W] (a layer
    program then runs the B images together, BATCH = B); ValueError naming `what` and `path`."""
    a = load_npy(path, what, dtype)
    for shape in ((C, "H", "W"), ("B", C, "H", "W")):
        if a.ndim == len(shape) and all(not isinstance(w, int) or g == w for g, w in zip(a.shape, shape)):
            if a.ndim == 4 and a.shape[0] < 1:
                break
            return a
    raise ValueError(f"{what} {path}: shape {list(a.shape)}, expected {_shape_text((C, 'H', 'W'))} "
                     f"or a batch {_shape_text(('B', C, 'H', 'W'))}")
