"""Band planning (docs/ARCHITECTURE.md section 5): a layer whose input or output does not fit the
activation or accumulator buffer runs as bands of output rows, each with its own input rows."""
from __future__ import annotations

from compiler.config import ArrayConfig, ceil_div


def band_input_rows(oy0: int, oy1: int, H: int, stride: int, padding: int) -> tuple[int, int, int]:
    """(iy0, iy1, PAD_TOP) of the band of output rows [oy0, oy1) (section 5)."""
    top = oy0 * stride - padding
    iy0 = max(0, top)
    iy1 = min(H, (oy1 - 1) * stride - padding + 3)
    return iy0, iy1, iy0 - top


def plan_bands(C: int, H: int, W: int, stride: int, padding: int, cfg: ArrayConfig,
               name: str = "layer", batch: int = 1) -> list[tuple[int, int]]:
    """Split the output rows into bands [oy0, oy1) of the largest common height that fits, for
    `batch` images per band: ceil(C/LANES) * batch * ceil(H_band/3) * ceil(W/3) <= ACT_DEPTH,
    batch * Hout_band * Wout <= ACC_DEPTH, and the band's H and HOUT within DIM_BITS. Raises
    ValueError when a single output row does not fit."""
    Hout = (H + 2 * padding - 3) // stride + 1
    Wout = (W + 2 * padding - 3) // stride + 1
    dim_max = (1 << cfg.DIM_BITS) - 1
    if W > dim_max or Wout > dim_max:
        raise ValueError(f"layer {name!r}: W={W} / Wout={Wout} exceed the {cfg.DIM_BITS}-bit "
                         f"DIM_BITS registers (max {dim_max})")
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= cfg.ACC_DEPTH:
        raise ValueError(f"layer {name!r}: batch must be an integer in 1..ACC_DEPTH={cfg.ACC_DEPTH}, got {batch!r}")
    cb = ceil_div(C, cfg.LANES) * batch              # channel blocks of all images
    W3 = ceil_div(W, 3)
    per = f" for a batch of {batch}" if batch > 1 else ""

    def fits(oy0, oy1):
        iy0, iy1, _ = band_input_rows(oy0, oy1, H, stride, padding)
        hb = iy1 - iy0
        return (cb * ceil_div(hb, 3) * W3 <= cfg.ACT_DEPTH and batch * (oy1 - oy0) * Wout <= cfg.ACC_DEPTH
                and hb <= dim_max and oy1 - oy0 <= dim_max)

    if batch * Wout > cfg.ACC_DEPTH:
        raise ValueError(f"layer {name!r}: one output row ({batch * Wout} pixels{per}) exceeds ACC_DEPTH="
                         f"{cfg.ACC_DEPTH}")
    for rows in range(min(Hout, cfg.ACC_DEPTH // (batch * Wout)), 0, -1):
        bands = [(o, min(o + rows, Hout)) for o in range(0, Hout, rows)]
        if all(fits(a, b) for a, b in bands):
            return bands
    need = max(cb * ceil_div(band_input_rows(o, o + 1, H, stride, padding)[1]
                              - band_input_rows(o, o + 1, H, stride, padding)[0], 3) * W3
               for o in range(Hout))
    raise ValueError(f"layer {name!r}: one output row needs {need} words per activation sub-bank{per} "
                     f"(ceil(C/LANES) * batch * ceil(H_band/3) * ceil(W/3)), more than ACT_DEPTH={cfg.ACT_DEPTH}")
