"""The program file (docs/ARCHITECTURE.md section 5.6): a LayerProgram as one .npz, written by
`sps compile` and read by the RTL runs and `sps show`."""
from __future__ import annotations

import json

import numpy as np

from compiler import regs as R
from compiler.config import ArrayConfig
from compiler.grouping import group_filters
from compiler.program import Band, LayerProgram
from models.fileio import READ_ERRORS, first_line
from models.pps import PPS, PPSError

FORMAT_NAME = "sps-layer-program"
FORMAT_VERSION = 2        # 2: the BATCH register (regs_b holds it; meta "batch"); version 1 files read as batch 1


def program_meta(prog: LayerProgram) -> dict:
    """The JSON header of a program file."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": prog.name,
        "config": prog.cfg.hdl_parameters(),
        "layer": {"C": prog.C, "F": prog.F, "H": prog.H, "W": prog.W, "Hout": prog.Hout,
                  "Wout": prog.Wout, "stride": prog.stride, "padding": prog.padding},
        "batch": prog.batch,
        "mode": {"requant": prog.requant, "relu": prog.relu, "MODE": prog.mode},
        "pps": dict(prog.pps.to_json(), masks=list(prog.pps.masks), describe=prog.pps.describe()),
        "groups": prog.fg,
        "out_filter": prog.out_filter,
        "bands": [{"oy0": b.oy0, "oy1": b.oy1, "iy0": b.iy0, "iy1": b.iy1, "pad_top": b.pad_top,
                   "H": b.H, "Hout": b.Hout, "act_beats": b.act_beats, "wgt_beats": b.wgt_beats,
                   "res_beats": b.res_beats, "passes": b.passes} for b in prog.bands],
        "cycles": prog.cycles,
        "unfold": prog.unfold,
    }


def save_program(prog: LayerProgram, path) -> None:
    """Write the program file (.npz): meta JSON + per band regs, weight and activation beats."""
    arrays = {"meta": np.array(json.dumps(program_meta(prog)))}
    for b in prog.bands:
        arrays[f"regs_{b.index}"] = np.array(b.regs, dtype=np.uint32).reshape(-1, 2)
        arrays[f"wgt_{b.index}"] = b.wgt.astype(np.int8)
        if b.act is not None:
            arrays[f"act_{b.index}"] = b.act.astype(np.int8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _band_regs(arr, version: int) -> list[tuple[int, int]]:
    """A band's (address, value) list; a version 1 file predates BATCH: its bands run one image."""
    regs = [(int(a), int(v)) for a, v in arr]
    if version == 1 and all(a != R.BATCH for a, _ in regs):
        regs.append((R.BATCH, 1))
    return regs


def load_program(path) -> LayerProgram:
    """Read a program file; ValueError naming the file and what is wrong if it is malformed."""
    try:
        z = np.load(path, allow_pickle=False)
    except READ_ERRORS as e:
        raise ValueError(f"program file {path}: cannot read: {first_line(e)}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"program file {path}: a single .npy array, not a program (.npz from sps compile)")
    with z:
        if "meta" not in z.files:
            raise ValueError(f"program file {path}: no 'meta' entry")
        try:
            m = json.loads(str(z["meta"]))
            if not isinstance(m, dict):
                raise ValueError(f"meta is a JSON {type(m).__name__}, not an object")
            version = m.get("version")
            if m.get("format") != FORMAT_NAME or version not in (1, FORMAT_VERSION):
                raise ValueError(f"format {m.get('format')!r} version {version!r}")
            batch = m.get("batch", 1)
            if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
                raise ValueError(f"batch {batch!r} is not a positive integer")
            cfg = ArrayConfig(**m["config"])
            L = m["layer"]
            bands = []
            for i, bm in enumerate(m["bands"]):
                bands.append(Band(
                    index=i, oy0=bm["oy0"], oy1=bm["oy1"], iy0=bm["iy0"], iy1=bm["iy1"],
                    pad_top=bm["pad_top"],
                    regs=_band_regs(z[f"regs_{i}"], version),
                    wgt=np.asarray(z[f"wgt_{i}"], np.int8),
                    act=np.asarray(z[f"act_{i}"], np.int8) if f"act_{i}" in z.files else None,
                    act_beats=bm["act_beats"], res_beats=bm["res_beats"], passes=bm["passes"]))
                if bands[-1].wgt_beats != bm["wgt_beats"]:
                    raise ValueError(f"band {i}: {bands[-1].wgt_beats} weight beats, meta says "
                                     f"{bm['wgt_beats']}")
                if dict(bands[-1].regs).get(R.BATCH) != batch:
                    raise ValueError(f"band {i}: BATCH register {dict(bands[-1].regs).get(R.BATCH)}, "
                                     f"meta says batch {batch}")
                if bands[-1].act is not None and bands[-1].act.shape[0] != bm["act_beats"]:
                    raise ValueError(f"band {i}: {bands[-1].act.shape[0]} activation beats, "
                                     f"meta says {bm['act_beats']}")
            prog = LayerProgram(name=m["name"], cfg=cfg, C=L["C"], F=L["F"], H=L["H"], W=L["W"],
                       Hout=L["Hout"], Wout=L["Wout"], stride=L["stride"], padding=L["padding"],
                       requant=bool(m["mode"]["requant"]), relu=bool(m["mode"]["relu"]),
                       pps=PPS.from_json({k: m["pps"][k] for k in ("patterns", "offset")}),
                       out_filter=[list(x) for x in m["out_filter"]], bands=bands, cycles=m.get("cycles", {}),
                       unfold=m.get("unfold"), batch=batch)
            if prog.out_filter != group_filters(prog.F, prog.pps):
                raise ValueError(f"out_filter {prog.out_filter} is not the phase grouping of F={prog.F} "
                                 f"filters under {prog.pps.describe()}")
        except (*READ_ERRORS, KeyError, TypeError, AttributeError, IndexError, OverflowError, PPSError) as e:
            raise ValueError(f"program file {path}: malformed: {first_line(e)}") from None
    return prog
