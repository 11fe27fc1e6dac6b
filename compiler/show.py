"""A layer program in words (the library of `sps show`): for debugging a run in a waveform viewer,
which weight, activation or result beat is which. A beat number counts from 0 at the first beat of
the band's stream (TVALID & TREADY)."""
from __future__ import annotations

from compiler import regs as R
from compiler.config import ceil_div
from compiler.grouping import group_tiles
from compiler.program import LayerProgram
from models.pps import KERNEL_POSITIONS


def header_beat_text(k: int, cols: int) -> str:
    """What header beat k (0..6) carries (section 5.3): byte i of the beat is byte k*COLS + i of a
    little-endian vector of int32 biases (beats 0-3) or uint16 multipliers (4-5); beat 6: shifts."""
    if k < 4:
        b0 = k * cols
        return (f"bias vector bytes {b0}..{b0 + cols - 1} (int32 per column, little-endian): "
                f"columns {b0 // 4}..{(b0 + cols - 1) // 4}")
    if k < 6:
        b0 = (k - 4) * cols
        return (f"requant multiplier M bytes {b0}..{b0 + cols - 1} (uint16 per column): "
                f"columns {b0 // 2}..{(b0 + cols - 1) // 2}")
    return "requant shift: byte j = shift of column j"


def _positions(mask: int) -> list[int]:
    return [q for q in range(KERNEL_POSITIONS) if (mask >> q) & 1]


def weight_segments(prog: LayerProgram) -> list[dict]:
    """The weight stream of every band, in order: one segment per header and per row tile, with
    {first, last, group, ct, filters, kind: 'header'|'tile', tile}. The same for every band."""
    tiles = group_tiles(prog.pps, prog.C, prog.cfg)
    segs, beat = [], 0
    for g, filters in enumerate(prog.out_filter):
        for ct in range(ceil_div(len(filters), prog.cfg.COLS)):
            cols = filters[ct * prog.cfg.COLS:(ct + 1) * prog.cfg.COLS]
            segs.append({"first": beat, "last": beat + R.HEADER_BEATS - 1, "group": g, "ct": ct,
                         "filters": cols, "kind": "header", "tile": None})
            beat += R.HEADER_BEATS
            for t, tile in enumerate(tiles[g]):
                segs.append({"first": beat, "last": beat + prog.cfg.ROWS - 1, "group": g, "ct": ct,
                             "filters": cols, "kind": "tile", "tile": t, "rows": tile})
                beat += prog.cfg.ROWS
    return segs


def _band(prog: LayerProgram, b: int):
    if not 0 <= b < len(prog.bands):
        raise ValueError(f"--band {b}: the program has {len(prog.bands)} band(s) (0..{len(prog.bands) - 1})")
    return prog.bands[b]


def describe_wgt_beat(prog: LayerProgram, n: int) -> str:
    band = prog.bands[0]
    if not 0 <= n < band.wgt_beats:
        raise ValueError(f"--wgt-beat {n}: the weight stream has {band.wgt_beats} beats (0..{band.wgt_beats - 1})")
    seg = next(s for s in weight_segments(prog) if s["first"] <= n <= s["last"])
    k = n - seg["first"]
    head = f"wgt beat {n}: group {seg['group']} column tile {seg['ct']} (filters {seg['filters']})"
    if seg["kind"] == "header":
        return f"{head}, header beat {k}: {header_beat_text(k, prog.cfg.COLS)}"
    e = seg["rows"][k]
    what = f"channel {e[0]} position {e[1]} (ky {e[1] // 3}, kx {e[1] % 3})" if e else "disabled row (zeros)"
    last = " (last beat of the stream: TLAST)" if n == band.wgt_beats - 1 else ""
    return f"{head}, row tile {seg['tile']} row {k}: {what}; byte j = weight of filter filters[j]{last}"


def act_beat(prog: LayerProgram, b: int, n: int) -> tuple[int, int, int, int]:
    """Activation beat n of band b -> (channel block, image of the batch, input row of the layer, column)."""
    band = _band(prog, b)
    if not 0 <= n < band.act_beats:
        raise ValueError(f"--act-beat {n}: band {b}'s activation stream has {band.act_beats} beats "
                         f"(0..{band.act_beats - 1})")
    cb, rest = divmod(n, prog.batch * band.H * prog.W)
    img, rest = divmod(rest, band.H * prog.W)
    y, x = divmod(rest, prog.W)
    return cb, img, band.iy0 + y, x


def _image(prog: LayerProgram, img: int) -> str:
    return f"image {img}, " if prog.batch > 1 else ""


def describe_act_beat(prog: LayerProgram, b: int, n: int) -> str:
    cb, img, y, x = act_beat(prog, b, n)
    c0 = cb * prog.cfg.LANES
    return (f"act beat {n} (band {b}): channel block {cb} (channels {c0}..{min(prog.C, c0 + prog.cfg.LANES) - 1}, "
            f"byte l = channel {c0} + l), {_image(prog, img)}input row {y} (band row {y - prog.bands[b].iy0}), "
            f"column {x}")


def res_beat(prog: LayerProgram, b: int, n: int) -> tuple[int, int, list, int, int, int]:
    """Result beat n of band b -> (group, column tile, filters of lanes 0.., image of the batch,
    output row, column)."""
    band = _band(prog, b)
    if not 0 <= n < band.res_beats:
        raise ValueError(f"--res-beat {n}: band {b}'s result stream has {band.res_beats} beats "
                         f"(0..{band.res_beats - 1})")
    k, p = divmod(n, prog.batch * band.Hout * prog.Wout)
    img, p = divmod(p, band.Hout * prog.Wout)
    for g, filters in enumerate(prog.out_filter):
        nct = ceil_div(len(filters), prog.cfg.COLS)
        if k < nct:
            oy, ox = divmod(p, prog.Wout)
            return g, k, filters[k * prog.cfg.COLS:(k + 1) * prog.cfg.COLS], img, band.oy0 + oy, ox
        k -= nct
    raise AssertionError("result beat outside every column tile")     # res_beats = col_tiles * npix


def describe_res_beat(prog: LayerProgram, b: int, n: int) -> str:
    g, ct, cols, img, oy, ox = res_beat(prog, b, n)
    unused = f", lanes {len(cols)}..{prog.cfg.COLS - 1} unused" if len(cols) < prog.cfg.COLS else ""
    return (f"res beat {n} (band {b}): group {g} column tile {ct}, {_image(prog, img)}output pixel "
            f"(row {oy}, column {ox}); "
            f"lane j = filter {cols}[j]{unused}")


def summary(prog: LayerProgram, b: int, tiles: bool, beat_map: bool) -> str:
    cfg = prog.cfg
    out = [f"program {prog.name!r}: C={prog.C} F={prog.F} {prog.H}x{prog.W} -> {prog.Hout}x{prog.Wout} "
           f"stride {prog.stride} padding {prog.padding}, "
           f"{'requant' + (' + ReLU' if prog.relu else '') if prog.requant else 'raw int32'} output",
           f"array {cfg.ROWS}x{cfg.COLS}, LANES={cfg.LANES}, ACT_DEPTH={cfg.ACT_DEPTH}, "
           f"ACC_DEPTH={cfg.ACC_DEPTH}, PMAX={cfg.PMAX}",
           f"PPS: {prog.pps.describe()}",
           f"phase groups: filters per group {prog.fg}; column tiles per band {prog.col_tiles}"
           + (f"; batch of {prog.batch} images per band (every pass covers all of them)" if prog.batch > 1 else "")]
    if prog.cycles:
        out.append(f"predicted cycles: {prog.cycles['total']} (dense mode "
                   f"{prog.cycles['dense_equivalent']['total']}, ideal {prog.cycles['ideal']})")
    out.append("bands: " + "; ".join(
        f"{x.index}: out rows [{x.oy0},{x.oy1}) in rows [{x.iy0},{x.iy1}) PAD_TOP={x.pad_top} beats "
        f"act={x.act_beats} wgt={x.wgt_beats} res={x.res_beats} passes={x.passes}" for x in prog.bands))
    band = _band(prog, b)
    d = R.decode(band.regs, cfg)
    out.append(f"registers (band {b}): " + " ".join(f"{n}={d[n]}" for n, _ in R.SCALAR_RW) + f" BATCH={d['BATCH']}")
    out.append("  " + " ".join(f"PAT[{i}]={d['PAT'][i]:#05x}{_positions(d['PAT'][i])}"
                               for i in range(d["NPAT"])) + "  FG=" + str(d["FG"][:d["NPAT"]]))
    if tiles:
        for g, gt in enumerate(group_tiles(prog.pps, prog.C, cfg)):
            n = sum(e is not None for t in gt for e in t)
            out.append(f"group {g} (filters {prog.out_filter[g]}): L_{g} has {n} entries in {len(gt)} row "
                       f"tile(s){'' if prog.fg[g] else ' -- no filters, skipped'}")
            for t, tile in enumerate(gt):
                out.append(f"  tile {t}: " + " ".join(f"c{e[0]}:{e[1]}" if e else "-" for e in tile))
    if beat_map:
        out.append("weight stream beats (every band):")
        for s in weight_segments(prog):
            what = "header" if s["kind"] == "header" else f"row tile {s['tile']}"
            out.append(f"  {s['first']:>6}-{s['last']:<6} group {s['group']} column tile {s['ct']} {what}")
    return "\n".join(out)
