"""The compile driver: one quantised 3x3 conv layer -> a LayerProgram (docs/ARCHITECTURE.md
section 5): PPS resolved against the weights, filters grouped by phase, row tiles by the walker
rule, the weight stream, bands, registers, the activation streams when the input is given, and the
cycle prediction (compiler.perf)."""
from __future__ import annotations

import numpy as np

from compiler import regs as R
from compiler.bands import band_input_rows, plan_bands
from compiler.config import ArrayConfig, ceil_div, load_config
from compiler.grouping import group_filters, group_tiles
from compiler.infer import resolve_pps
from compiler.layer import QLayer, check_input
from compiler.perf import predict_cycles
from compiler.program import Band, LayerProgram
from compiler.streams import band_registers, weight_stream
from compiler.unfold import UNFOLDED_PPS, unfold_layer, unfold_positions
from models.pps import PPS


def compile_layer(layer: QLayer, cfg: ArrayConfig | None = None, pps: PPS | str | None = "auto", *,
                  H: int | None = None, W: int | None = None, x: np.ndarray | None = None,
                  unfold: str = "auto", batch: int | None = None) -> LayerProgram:
    """Compile one layer. The input size comes from H, W or from x (x also yields the activation
    streams). pps: a PPS (checked against the weights), "auto"/None (a regular PPS inferred from
    the weights' zero pattern, or PPSError) or "any" (inferred, mixed pattern sizes allowed); see
    compiler.infer.resolve_pps. A layer with one pattern and fewer channels than LANES is unfolded
    on the host (compiler.unfold) when that takes fewer cycles; the program then takes the
    original input and says so in `unfold` (unfold="never": keep the layer as it is; "always":
    unfold whenever the layer can be, faster or not). batch: images per band (the BATCH register;
    every pass covers the same pixels of all of them while the weights stay); x may then be
    [batch, C, H, W] (a 4-D x alone sets it); the program's input and output carry a batch axis
    when batch > 1."""
    if not isinstance(layer, QLayer):
        raise ValueError(f"compile_layer: expected a QLayer, got {type(layer).__name__}")
    cfg = cfg if cfg is not None else load_config()
    name = layer.name
    if x is not None:
        x = check_input(x, layer)
        if (H is not None and H != x.shape[-2]) or (W is not None and W != x.shape[-1]):
            raise ValueError(f"layer {name!r}: H, W = {H}, {W} disagree with the input shape {list(x.shape)}")
        H, W = x.shape[-2:]
        if x.ndim == 4:
            if batch is not None and batch != x.shape[0]:
                raise ValueError(f"layer {name!r}: batch={batch} disagrees with the input's {x.shape[0]} images")
            batch = x.shape[0]
        elif batch not in (None, 1):
            raise ValueError(f"layer {name!r}: batch={batch} needs an input [batch, C, H, W], got {list(x.shape)}")
    batch = 1 if batch is None else batch
    if not isinstance(batch, (int, np.integer)) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"layer {name!r}: batch must be a positive integer, got {batch!r}")
    batch = int(batch)
    if H is None or W is None:
        raise ValueError(f"layer {name!r}: the input size is unknown: give H and W, or x")
    H, W = int(H), int(W)
    pps = resolve_pps(layer.weight, pps, cfg.PMAX, name)
    prog = _compile(layer, cfg, pps, H, W, batch)
    positions = unfold_positions(pps)
    if unfold not in ("auto", "never", "always"):
        raise ValueError(f"compile_layer: unfold must be 'auto', 'never' or 'always', got {unfold!r}")
    if unfold != "never" and positions is not None and layer.C < cfg.LANES and layer.C * len(positions) < (1 << cfg.CH_BITS):
        Hout, Wout = layer.out_size(H, W)
        try:
            unfolded = _compile(unfold_layer(layer, positions), cfg, UNFOLDED_PPS, Hout, Wout, batch)
        except ValueError:                       # e.g. the unfolded input does not fit the buffer
            unfolded = None
        if unfolded is not None and (unfold == "always" or unfolded.cycles["total"] < prog.cycles["total"]):
            unfolded.unfold = dict(C=layer.C, H=H, W=W, stride=layer.stride, padding=layer.padding,
                                   positions=positions, pps=pps.describe())
            unfolded.cycles = predict_cycles(unfolded, cfg)        # dense equivalent of the original
            prog = unfolded
    if x is not None:
        prog.set_input(x)
    return prog


def _compile(layer: QLayer, cfg: ArrayConfig, pps: PPS, H: int, W: int, batch: int = 1) -> LayerProgram:
    name = layer.name
    Hout, Wout = layer.out_size(H, W)
    C, F = layer.C, layer.F
    ch_max = (1 << cfg.CH_BITS) - 1
    out_filter = group_filters(F, pps)
    fg = [len(x_) for x_ in out_filter]
    if C > ch_max or max(fg) > ch_max:
        raise ValueError(f"layer {name!r}: C={C} or a group's filter count {max(fg)} exceeds the "
                         f"{cfg.CH_BITS}-bit CH_BITS registers (max {ch_max})")
    tiles = group_tiles(pps, C, cfg)
    wgt = weight_stream(layer, pps, cfg, tiles)
    col_tiles = sum(ceil_div(n, cfg.COLS) for n in fg)
    passes = sum(ceil_div(n, cfg.COLS) * len(tiles[g]) for g, n in enumerate(fg))
    mode = R.mode_bits(layer.requant is not None, layer.relu)
    bands = []
    for i, (oy0, oy1) in enumerate(plan_bands(C, H, W, layer.stride, layer.padding, cfg, name, batch)):
        iy0, iy1, pad_top = band_input_rows(oy0, oy1, H, layer.stride, layer.padding)
        regs = band_registers(C, iy1 - iy0, W, oy1 - oy0, Wout, layer.stride, pad_top, layer.padding,
                              mode, pps, fg, cfg, batch)
        bands.append(Band(index=i, oy0=oy0, oy1=oy1, iy0=iy0, iy1=iy1, pad_top=pad_top, regs=regs,
                          wgt=wgt, act_beats=ceil_div(C, cfg.LANES) * batch * (iy1 - iy0) * W,
                          res_beats=col_tiles * batch * (oy1 - oy0) * Wout, passes=passes))
    prog = LayerProgram(name=name, cfg=cfg, C=C, F=F, H=H, W=W, Hout=Hout, Wout=Wout,
                        stride=layer.stride, padding=layer.padding, requant=layer.requant is not None,
                        relu=layer.relu, pps=pps, out_filter=out_filter, bands=bands, batch=batch)
    prog.cycles = predict_cycles(prog, cfg)
    return prog
