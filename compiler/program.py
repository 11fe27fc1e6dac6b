"""Layer programs: what the compiler emits and the RTL consumes (docs/ARCHITECTURE.md section 5).

compile_layer(layer, cfg, pps, H=, W= | x=) -> LayerProgram with, per band of output rows, the
register values (5.1), the weight stream (5.3) and, when the input is given, the activation stream
(5.2); plus the output map (5.5), the expected beat counts, a cycle prediction and save/load in the
.npz program file format (5.6).
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np

from compiler import regs as R
from compiler.config import ArrayConfig, ceil_div, load_config
from compiler.infer import resolve_pps
from compiler.layer import QLayer, check_input
from compiler.walker import tile_arrays, tile_plan  # noqa: F401  (tile_plan is part of this API)
from models.pps import KERNEL_POSITIONS, PPS, PPSError

FORMAT_NAME = "sps-layer-program"
FORMAT_VERSION = 1


# ---- structure of a layer --------------------------------------------------------------------------
def group_filters(F: int, pps: PPS) -> list[list[int]]:
    """out_filter[g]: the filters f with (f + o) mod P == g, ascending (section 4)."""
    groups: list[list[int]] = [[] for _ in range(pps.period)]
    for f in range(F):
        groups[pps.group_of(f)].append(f)
    return groups


def group_tiles(pps: PPS, C: int, cfg: ArrayConfig) -> list[list]:
    """Row tiles of every phase group (walker rule), index g."""
    return [tile_plan(pps.period, pps.masks, C, cfg, g) for g in range(pps.period)]


def band_input_rows(oy0: int, oy1: int, H: int, stride: int, padding: int) -> tuple[int, int, int]:
    """(iy0, iy1, PAD_TOP) of the band of output rows [oy0, oy1) (section 5)."""
    top = oy0 * stride - padding
    iy0 = max(0, top)
    iy1 = min(H, (oy1 - 1) * stride - padding + 3)
    return iy0, iy1, iy0 - top


def plan_bands(C: int, H: int, W: int, stride: int, padding: int, cfg: ArrayConfig,
               name: str = "layer") -> list[tuple[int, int]]:
    """Split the output rows into bands [oy0, oy1) of the largest common height that fits:
    ceil(C/LANES) * ceil(H_band/3) * ceil(W/3) <= ACT_DEPTH, Hout_band * Wout <= ACC_DEPTH, and the
    band's H and HOUT within DIM_BITS. Raises ValueError when a single output row does not fit."""
    Hout = (H + 2 * padding - 3) // stride + 1
    Wout = (W + 2 * padding - 3) // stride + 1
    dim_max = (1 << cfg.DIM_BITS) - 1
    if W > dim_max or Wout > dim_max:
        raise ValueError(f"layer {name!r}: W={W} / Wout={Wout} exceed the {cfg.DIM_BITS}-bit "
                         f"DIM_BITS registers (max {dim_max})")
    cb = ceil_div(C, cfg.LANES)
    W3 = ceil_div(W, 3)

    def fits(oy0, oy1):
        iy0, iy1, _ = band_input_rows(oy0, oy1, H, stride, padding)
        hb = iy1 - iy0
        return (cb * ceil_div(hb, 3) * W3 <= cfg.ACT_DEPTH and (oy1 - oy0) * Wout <= cfg.ACC_DEPTH
                and hb <= dim_max and oy1 - oy0 <= dim_max)

    if Wout > cfg.ACC_DEPTH:
        raise ValueError(f"layer {name!r}: one output row ({Wout} pixels) exceeds ACC_DEPTH="
                         f"{cfg.ACC_DEPTH}")
    for rows in range(min(Hout, cfg.ACC_DEPTH // Wout), 0, -1):
        bands = [(o, min(o + rows, Hout)) for o in range(0, Hout, rows)]
        if all(fits(a, b) for a, b in bands):
            return bands
    need = max(cb * ceil_div(band_input_rows(o, o + 1, H, stride, padding)[1]
                              - band_input_rows(o, o + 1, H, stride, padding)[0], 3) * W3
               for o in range(Hout))
    raise ValueError(f"layer {name!r}: one output row needs {need} words per activation sub-bank "
                     f"(ceil(C/LANES) * ceil(H_band/3) * ceil(W/3)), more than ACT_DEPTH={cfg.ACT_DEPTH}")


# ---- streams -------------------------------------------------------------------------------------
def activation_stream(x_band: np.ndarray, cfg: ArrayConfig) -> np.ndarray:
    """Section 5.2: int8 [ceil(C/LANES)*H*W, LANES]; for cb: for y: for x: byte l = X[cb*LANES+l][y][x]
    (0 for channels >= C)."""
    x = np.asarray(x_band)
    if x.ndim != 3:
        raise ValueError(f"activation stream: input must be [C, H, W], got shape {list(x.shape)}")
    C, H, W = x.shape
    cb = ceil_div(C, cfg.LANES)
    xp = np.zeros((cb * cfg.LANES, H, W), np.int8)
    xp[:C] = x
    return np.ascontiguousarray(xp.reshape(cb, cfg.LANES, H, W).transpose(0, 2, 3, 1)
                                .reshape(cb * H * W, cfg.LANES))


def header_beats(bias, M, shift, cfg: ArrayConfig) -> np.ndarray:
    """Section 5.3 column-tile header: int8 [7, COLS]. bias/M/shift hold the tile's n <= COLS
    columns; columns past n are 0."""
    n = len(bias)
    b = np.zeros(cfg.COLS, "<i4")
    m = np.zeros(cfg.COLS, "<u2")
    s = np.zeros(cfg.COLS, np.uint8)
    b[:n], m[:n], s[:n] = bias, M, shift
    raw = np.concatenate([b.view(np.uint8), m.view(np.uint8), s])
    return raw.view(np.int8).reshape(R.HEADER_BEATS, cfg.COLS)


def weight_stream(layer: QLayer, pps: PPS, cfg: ArrayConfig, tiles=None) -> np.ndarray:
    """Section 5.3: int8 [beats, COLS] in loop order (section 4): per column tile of each non-empty
    group, the 7-beat header then ROWS beats per row tile (walker rule)."""
    F, C = layer.F, layer.C
    w9 = layer.weight.reshape(F, C, KERNEL_POSITIONS)
    tiles = tiles if tiles is not None else group_tiles(pps, C, cfg)
    if layer.requant is not None:
        M, sh = layer.requant.M, layer.requant.shift
    else:   # raw mode: the output stage ignores M and shift; they are sent as 0
        M, sh = np.zeros(F, np.uint16), np.zeros(F, np.uint8)
    chunks = []
    for g, fl in enumerate(group_filters(F, pps)):
        if not fl:
            continue
        ch, pos = tile_arrays(tiles[g])
        en = ch >= 0
        fl = np.asarray(fl)
        wg = w9[fl][:, np.where(en, ch, 0), np.where(en, pos, 0)]       # [F_g, T, ROWS]
        wg = np.where(en[None], wg, 0).astype(np.int8)
        T = ch.shape[0]
        for ct in range(ceil_div(len(fl), cfg.COLS)):
            cols = fl[ct * cfg.COLS:(ct + 1) * cfg.COLS]
            n = len(cols)
            chunks.append(header_beats(layer.bias[cols], M[cols], sh[cols], cfg))
            body = np.zeros((T, cfg.ROWS, cfg.COLS), np.int8)
            body[:, :, :n] = wg[ct * cfg.COLS:ct * cfg.COLS + n].transpose(1, 2, 0)
            chunks.append(body.reshape(T * cfg.ROWS, cfg.COLS))
    return np.concatenate(chunks, axis=0)


def band_registers(C: int, H: int, W: int, Hout: int, Wout: int, stride: int, pad_top: int,
                   pad_left: int, mode: int, pps: PPS, fg: list[int], cfg: ArrayConfig) -> list[tuple[int, int]]:
    """Every RW register (section 5.1) as (address, value) in address order; unused PAT/FG are 0."""
    vals = {"C": C, "H": H, "W": W, "HOUT": Hout, "WOUT": Wout, "STRIDE": stride, "PAD_TOP": pad_top,
            "PAD_LEFT": pad_left, "MODE": mode, "NPAT": pps.period}
    out = []
    for a, name in R.rw_registers(cfg):
        if name.startswith("PAT["):
            i = int(name[4:-1])
            v = pps.masks[i] if i < pps.period else 0
        elif name.startswith("FG["):
            g = int(name[3:-1])
            v = fg[g] if g < len(fg) else 0
        else:
            v = vals[name]
        out.append((a, int(v)))
    return out


# ---- the program ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Band:
    index: int
    oy0: int
    oy1: int
    iy0: int
    iy1: int
    pad_top: int
    regs: list            # [(address, value)], every RW register, address order
    wgt: np.ndarray       # int8 [beats, COLS]
    act: np.ndarray | None = None   # int8 [beats, LANES] when built for an input
    act_beats: int = 0
    res_beats: int = 0
    passes: int = 0

    @property
    def H(self) -> int:
        return self.iy1 - self.iy0

    @property
    def Hout(self) -> int:
        return self.oy1 - self.oy0

    @property
    def wgt_beats(self) -> int:
        return int(self.wgt.shape[0])

    def beats(self) -> dict:
        return {"act": self.act_beats, "wgt": self.wgt_beats, "res": self.res_beats}


@dataclasses.dataclass
class LayerProgram:
    name: str
    cfg: ArrayConfig
    C: int
    F: int
    H: int
    W: int
    Hout: int
    Wout: int
    stride: int
    padding: int
    requant: bool
    relu: bool
    pps: PPS
    out_filter: list          # out_filter[g][ct*COLS + j] = original filter f
    bands: list               # [Band]
    cycles: dict = dataclasses.field(default_factory=dict)

    # -- derived ----------------------------------------------------------------------------
    @property
    def fg(self) -> list[int]:
        return [len(x) for x in self.out_filter]

    @property
    def col_tiles(self) -> int:
        """Column tiles per band over all groups (result beats per band = col_tiles * Hout_b * Wout)."""
        return sum(ceil_div(n, self.cfg.COLS) for n in self.fg)

    @property
    def mode(self) -> int:
        return R.mode_bits(self.requant, self.relu)

    def expected_beats(self) -> list[dict]:
        """Per band: {'act', 'wgt', 'res'} beat counts."""
        return [b.beats() for b in self.bands]

    # -- activations ------------------------------------------------------------------------
    def band_inputs(self, x: np.ndarray) -> list[np.ndarray]:
        x = np.asarray(x)
        if x.shape != (self.C, self.H, self.W):
            raise ValueError(f"layer {self.name!r}: input has shape {list(x.shape)}, program expects "
                             f"{[self.C, self.H, self.W]}")
        return [x[:, b.iy0:b.iy1, :] for b in self.bands]

    def activation_streams(self, x: np.ndarray) -> list[np.ndarray]:
        return [activation_stream(xb, self.cfg) for xb in self.band_inputs(x)]

    def set_input(self, x: np.ndarray) -> "LayerProgram":
        """Attach the activation streams of input x to the bands (returns self)."""
        for b, a in zip(self.bands, self.activation_streams(x)):
            b.act = a
        return self

    # -- results ----------------------------------------------------------------------------
    def unpack_results(self, results) -> np.ndarray:
        """Per-band result beats (int32 [beats, COLS], section 5.4) -> int32 Y[F][Hout][Wout]."""
        if len(results) != len(self.bands):
            raise ValueError(f"layer {self.name!r}: got results for {len(results)} band(s), "
                             f"the program has {len(self.bands)}")
        Y = np.zeros((self.F, self.Hout, self.Wout), np.int32)
        COLS = self.cfg.COLS
        for b, res in zip(self.bands, results):
            res = np.asarray(res)
            if res.ndim != 2 or res.shape[1] != COLS:
                raise ValueError(f"layer {self.name!r} band {b.index}: result beats have shape "
                                 f"{list(res.shape)}, expected [{b.res_beats}, {COLS}]")
            if res.shape[0] != b.res_beats:
                raise ValueError(f"layer {self.name!r} band {b.index}: got {res.shape[0]} result beats, "
                                 f"expected {b.res_beats}")
            if res.dtype.kind not in "iu":
                raise ValueError(f"layer {self.name!r} band {b.index}: result dtype {res.dtype} is not integer")
            npix = b.Hout * self.Wout
            k = 0
            for fl in self.out_filter:
                for ct in range(ceil_div(len(fl), COLS)):
                    blk = res[k * npix:(k + 1) * npix]
                    for j, f in enumerate(fl[ct * COLS:(ct + 1) * COLS]):
                        Y[f, b.oy0:b.oy1, :] = blk[:, j].reshape(b.Hout, self.Wout)
                    k += 1
        return Y

    # -- file format (section 5.6) ----------------------------------------------------------
    def meta(self) -> dict:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "name": self.name,
            "config": self.cfg.hdl_parameters(),
            "layer": {"C": self.C, "F": self.F, "H": self.H, "W": self.W, "Hout": self.Hout,
                      "Wout": self.Wout, "stride": self.stride, "padding": self.padding},
            "mode": {"requant": self.requant, "relu": self.relu, "MODE": self.mode},
            "pps": dict(self.pps.to_json(), masks=list(self.pps.masks), describe=self.pps.describe()),
            "groups": self.fg,
            "out_filter": self.out_filter,
            "bands": [{"oy0": b.oy0, "oy1": b.oy1, "iy0": b.iy0, "iy1": b.iy1, "pad_top": b.pad_top,
                       "H": b.H, "Hout": b.Hout, "act_beats": b.act_beats, "wgt_beats": b.wgt_beats,
                       "res_beats": b.res_beats, "passes": b.passes} for b in self.bands],
            "cycles": self.cycles,
        }

    def save(self, path) -> None:
        arrays = {"meta": np.array(json.dumps(self.meta()))}
        for b in self.bands:
            arrays[f"regs_{b.index}"] = np.array(b.regs, dtype=np.uint32).reshape(-1, 2)
            arrays[f"wgt_{b.index}"] = b.wgt.astype(np.int8)
            if b.act is not None:
                arrays[f"act_{b.index}"] = b.act.astype(np.int8)
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path) -> "LayerProgram":
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"program file {path}: cannot read: {e}") from None
        with z:
            if "meta" not in z.files:
                raise ValueError(f"program file {path}: no 'meta' entry")
            try:
                m = json.loads(str(z["meta"]))
                if m.get("format") != FORMAT_NAME or m.get("version") != FORMAT_VERSION:
                    raise ValueError(f"format {m.get('format')!r} version {m.get('version')!r}")
                cfg = ArrayConfig(**m["config"])
                L = m["layer"]
                bands = []
                for i, bm in enumerate(m["bands"]):
                    bands.append(Band(
                        index=i, oy0=bm["oy0"], oy1=bm["oy1"], iy0=bm["iy0"], iy1=bm["iy1"],
                        pad_top=bm["pad_top"],
                        regs=[(int(a), int(v)) for a, v in z[f"regs_{i}"]],
                        wgt=np.asarray(z[f"wgt_{i}"], np.int8),
                        act=np.asarray(z[f"act_{i}"], np.int8) if f"act_{i}" in z.files else None,
                        act_beats=bm["act_beats"], res_beats=bm["res_beats"], passes=bm["passes"]))
                    if bands[-1].wgt_beats != bm["wgt_beats"]:
                        raise ValueError(f"band {i}: {bands[-1].wgt_beats} weight beats, meta says "
                                         f"{bm['wgt_beats']}")
                    if bands[-1].act is not None and bands[-1].act.shape[0] != bm["act_beats"]:
                        raise ValueError(f"band {i}: {bands[-1].act.shape[0]} activation beats, "
                                         f"meta says {bm['act_beats']}")
                prog = cls(name=m["name"], cfg=cfg, C=L["C"], F=L["F"], H=L["H"], W=L["W"],
                           Hout=L["Hout"], Wout=L["Wout"], stride=L["stride"], padding=L["padding"],
                           requant=bool(m["mode"]["requant"]), relu=bool(m["mode"]["relu"]),
                           pps=PPS.from_json({k: m["pps"][k] for k in ("patterns", "offset")}),
                           out_filter=[list(x) for x in m["out_filter"]], bands=bands, cycles=m.get("cycles", {}))
                if prog.out_filter != group_filters(prog.F, prog.pps):
                    raise ValueError(f"out_filter {prog.out_filter} is not the phase grouping of F={prog.F} "
                                     f"filters under {prog.pps.describe()}")
            except (KeyError, TypeError, ValueError, PPSError, json.JSONDecodeError) as e:
                raise ValueError(f"program file {path}: malformed: {e}") from None
        return prog


def compile_layer(layer: QLayer, cfg: ArrayConfig | None = None, pps: PPS | str | None = "auto", *,
                  H: int | None = None, W: int | None = None, x: np.ndarray | None = None) -> LayerProgram:
    """Compile one layer. The input size comes from H, W or from x (x also yields the activation
    streams). pps: a PPS (checked against the weights), "auto"/None (a regular PPS inferred from
    the weights' zero pattern, or PPSError) or "any" (inferred, mixed pattern sizes allowed); see
    compiler.infer.resolve_pps."""
    if not isinstance(layer, QLayer):
        raise ValueError(f"compile_layer: expected a QLayer, got {type(layer).__name__}")
    cfg = cfg if cfg is not None else load_config()
    name = layer.name
    if x is not None:
        x = check_input(x, layer)
        if (H is not None and H != x.shape[1]) or (W is not None and W != x.shape[2]):
            raise ValueError(f"layer {name!r}: H, W = {H}, {W} disagree with the input shape {list(x.shape)}")
        H, W = x.shape[1:]
    if H is None or W is None:
        raise ValueError(f"layer {name!r}: the input size is unknown: give H and W, or x")
    Hout, Wout = layer.out_size(H, W)
    H, W = int(H), int(W)
    pps = resolve_pps(layer.weight, pps, cfg.PMAX, name)
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
    for i, (oy0, oy1) in enumerate(plan_bands(C, H, W, layer.stride, layer.padding, cfg, name)):
        iy0, iy1, pad_top = band_input_rows(oy0, oy1, H, layer.stride, layer.padding)
        regs = band_registers(C, iy1 - iy0, W, oy1 - oy0, Wout, layer.stride, pad_top, layer.padding,
                              mode, pps, fg, cfg)
        bands.append(Band(index=i, oy0=oy0, oy1=oy1, iy0=iy0, iy1=iy1, pad_top=pad_top, regs=regs,
                          wgt=wgt, act_beats=ceil_div(C, cfg.LANES) * (iy1 - iy0) * W,
                          res_beats=col_tiles * (oy1 - oy0) * Wout, passes=passes))
    prog = LayerProgram(name=name, cfg=cfg, C=C, F=F, H=H, W=W, Hout=Hout, Wout=Wout,
                        stride=layer.stride, padding=layer.padding, requant=layer.requant is not None,
                        relu=layer.relu, pps=pps, out_filter=out_filter, bands=bands)
    if x is not None:
        prog.set_input(x)
    from compiler.perf import predict_cycles
    prog.cycles = predict_cycles(prog, cfg)
    return prog


def unpack_results(prog: LayerProgram, results) -> np.ndarray:
    """Module-level alias of LayerProgram.unpack_results."""
    return prog.unpack_results(results)
