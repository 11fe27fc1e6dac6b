"""The random stimulus of the sps_ctrl block test (tb/blocks/test_sps_ctrl.py): layer descriptors
(good ones, small or anywhere in range, BATCH 1 or more; every field at a corner of its range;
dimensions at a buffer boundary; one failing each check of docs/ARCHITECTURE.md 5.1, and the
products that wrap the controller's bits) and the weight loader's programs of passes."""
from __future__ import annotations

from math import prod

from tb.blocks.sps_ctrl_model import batch_width, ceil_div, descriptor_error


def fitting_dims(rng, p: dict, lim_d: int, lim_c: int, batch: int = 1) -> dict:
    """C, H, W, HOUT, WOUT at most lim_d / lim_c whose pixels and activations, `batch` images of
    them, fit the buffers (batch <= min(ACC_DEPTH, ACT_DEPTH))."""
    L, acc, act = p["LANES"], p["ACC_DEPTH"] // batch, p["ACT_DEPTH"] // batch
    hout = rng.randint(1, min(lim_d, acc))
    wout = rng.randint(1, min(lim_d, acc // hout))
    ncb = rng.randint(1, min(ceil_div(lim_c, L), act))
    h3 = rng.randint(1, min(ceil_div(lim_d, 3), act // ncb))
    w3 = rng.randint(1, min(ceil_div(lim_d, 3), act // (ncb * h3)))
    if rng.random() < 0.5:
        h3, w3 = w3, h3
    return dict(c=rng.randint((ncb - 1) * L + 1, min(lim_c, ncb * L)), h=rng.randint(3 * h3 - 2, min(lim_d, 3 * h3)),
                w=rng.randint(3 * w3 - 2, min(lim_d, 3 * w3)), hout=hout, wout=wout, batch=batch)


def good_batch(rng, p: dict, small: bool = True) -> int:
    """A batch size that fits both buffers: mostly 1 or small, or anywhere up to the limit."""
    top = min(p["ACC_DEPTH"], p["ACT_DEPTH"])
    return min(top, rng.choice([1, 1, 2, 3] if small else [1, 2, rng.randint(1, top), top]))


def good_desc(rng, p: dict, small: bool = True) -> dict:
    """A random good descriptor (small dimensions, or anywhere in range)."""
    dmax, cmax = (1 << p["DIM_BITS"]) - 1, (1 << p["CH_BITS"]) - 1
    lim_d, lim_c = (min(dmax, 12), min(cmax, 3 * p["LANES"])) if small else (dmax, cmax)
    n = rng.randint(1, p["PMAX"])
    d = dict(fitting_dims(rng, p, lim_d, lim_c, good_batch(rng, p, small)), stride=rng.randint(1, 2),
             pad_top=rng.randint(0, 2),
             pad_left=rng.randint(0, 2), npat=n)
    d["pat"] = [rng.randint(1, 511) if i < n else rng.choice([0, rng.randint(0, 511)]) for i in range(p["PMAX"])]
    d["fg"] = [rng.choice([0, rng.randint(0, cmax)]) for i in range(p["PMAX"])]
    d["fg"][rng.randrange(n)] = rng.randint(1, cmax)
    assert descriptor_error(d, p) is None, f"test bug: {d}: {descriptor_error(d, p)}"
    return d


def extreme_desc(rng, p: dict) -> dict:
    """A descriptor whose every field is a corner of its range (0, 1, 2, 3, max-1, max) or uniform."""
    dmax, cmax, nmax = (1 << p["DIM_BITS"]) - 1, (1 << p["CH_BITS"]) - 1, (1 << (p["PW"] + 1)) - 1

    def pick(hi):
        return rng.choice([1, 1, 2, 3, hi, hi, hi - 1, rng.randint(0, hi), rng.randint(1, max(1, hi // 8))])
    d = good_desc(rng, p)
    d.update(c=pick(cmax), h=pick(dmax), w=pick(dmax), hout=pick(dmax), wout=pick(dmax),
             batch=rng.choice([0, 1, 1, 1, pick((1 << batch_width(p["ACC_DEPTH"])) - 1)]))
    if rng.random() < 0.2:
        d.update(stride=rng.randint(0, 3), pad_top=rng.randint(0, 3), pad_left=rng.randint(0, 3),
                 npat=rng.randint(0, nmax))
    return d


def boundary_dims(rng, p: dict, target: int, over: bool, pixels: bool, batch: int = 1) -> dict:
    """Dimensions at a buffer boundary: BATCH*HOUT*WOUT (pixels) or
    ceil(C/LANES)*BATCH*ceil(H/3)*ceil(W/3) equal to `target` (over=False) or the smallest value
    above it (over=True), with BATCH = `batch` (the smallest such shape: the other buffer fits)."""
    dmax, cmax, L = (1 << p["DIM_BITS"]) - 1, (1 << p["CH_BITS"]) - 1, p["LANES"]

    def last_factor(prefix: int, hi: int) -> int | None:     # the factor that makes the product
        prefix *= batch
        f = target // prefix + 1 if over else (target // prefix if target % prefix == 0 else 0)
        return f if 1 <= f <= hi else None

    if pixels:
        shapes = [(a, last_factor(a, dmax)) for a in range(1, dmax + 1)]
    else:
        hi3 = ceil_div(dmax, 3)
        shapes = [(n, y, last_factor(n * y, hi3)) for n in range(1, min(ceil_div(cmax, L), target + 1) + 1)
                  for y in range(1, min(hi3, (target + 1) // n) + 1)]
    shapes = [sh for sh in shapes if sh[-1] is not None]
    if not shapes and batch > 1:               # no shape makes the product with this batch
        return boundary_dims(rng, p, target, over, pixels)
    low = min(prod(sh) for sh in shapes)
    sh = rng.choice([sh for sh in shapes if prod(sh) == low])
    if pixels:
        return dict(hout=sh[0], wout=sh[1], batch=batch)
    n, y, x = sh
    return dict(c=rng.randint((n - 1) * L + 1, min(cmax, n * L)), h=rng.randint(3 * y - 2, min(dmax, 3 * y)),
                w=rng.randint(3 * x - 2, min(dmax, 3 * x)), batch=batch)


def boundary_batch(rng, target: int) -> int:
    """A batch size for boundary_dims: 1, or a small one that leaves room for a shape at `target`."""
    return rng.choice([1, 1, 2, 3, 4]) if target >= 8 else 1


def bad_descriptors(rng, p: dict) -> list[tuple[str, dict]]:
    """One descriptor per check of 5.1 (each failing that check only), and the allowed boundaries."""
    base = good_desc(rng, p)
    n = base["npat"]
    nmax = (1 << (p["PW"] + 1)) - 1
    out = []

    def case(name, **kw):
        d = dict(base, pat=list(base["pat"]), fg=list(base["fg"]))
        d.update(kw)
        out.append((name, d))

    for s in (0, 3):
        case(f"stride {s}", stride=s)
    case("pad_top 3", pad_top=3)
    case("pad_left 3", pad_left=3)
    case("npat 0", npat=0)
    for v in sorted({p["PMAX"] + 1, nmax}):
        if v <= nmax:
            case(f"npat {v} > PMAX", npat=v, pat=[rng.randint(1, 511)] * p["PMAX"],
                 fg=[rng.randint(1, 7)] * p["PMAX"])
    pat = list(base["pat"])
    pat[rng.randrange(n)] = 0
    case("an empty pattern among the first npat", pat=pat)
    case("every FG zero among the first npat (FG beyond npat set)", npat=max(1, p["PMAX"] - 1),
         pat=[rng.randint(1, 511)] * p["PMAX"], fg=[0] * max(1, p["PMAX"] - 1) + [5] * (p["PMAX"] > 1))
    for f in ("c", "h", "w", "hout", "wout", "batch"):
        case(f"{f} 0", **{f: 0})
    acc, act, aw, pxw = p["ACC_DEPTH"], p["ACT_DEPTH"], p["AW"], p["PXW"]
    bmax = (1 << batch_width(acc)) - 1
    one_px, one_blk = dict(hout=1, wout=1), dict(c=1, h=1, w=1)      # the other buffer then fits
    for b in (1, 2):
        if b <= min(acc, act):
            case(f"BATCH*HOUT*WOUT > ACC_DEPTH (BATCH {b})", **one_blk, **boundary_dims(rng, p, acc, True, True, b))
            case(f"activations > ACT_DEPTH (BATCH {b})", **one_px, **boundary_dims(rng, p, act, True, False, b))
    case("BATCH*HOUT*WOUT > ACC_DEPTH (BATCH max, 1x1)", hout=1, wout=1, batch=bmax)
    # products that wrap the controller's bits: NPIXB = 2^(PXW+1), CBB = 2^(AW+1) (sticky flags)
    wrap = 1 << (pxw + 1)
    for b in range(2, bmax + 1):
        if wrap % b == 0 and wrap // b <= (1 << p["DIM_BITS"]) - 1:
            case(f"BATCH*HOUT*WOUT = 2^(PXW+1) (BATCH {b})", **one_blk, hout=1, wout=wrap // b, batch=b)
            break
    cmax = (1 << p["CH_BITS"]) - 1
    wrap, ncb_max = 1 << (aw + 1), ceil_div(cmax, p["LANES"])
    for b in range(1, min(bmax, acc) + 1):
        if wrap % b == 0 and wrap // b <= ncb_max:
            n = wrap // b
            case(f"ceil(C/LANES)*BATCH = 2^(AW+1) (BATCH {b})", c=min(cmax, n * p["LANES"]), h=1, w=1,
                 **one_px, batch=b)
            break
    # allowed: the boundaries themselves, empty patterns and FG beyond NPAT, NPAT = PMAX
    for b in (1, 2):
        if b <= min(acc, act) and acc % b == 0:
            case(f"BATCH*HOUT*WOUT == ACC_DEPTH, BATCH {b} (allowed)", **one_blk,
                 **boundary_dims(rng, p, acc, False, True, b))
        if b <= min(acc, act) and act % b == 0:
            case(f"activations == ACT_DEPTH, BATCH {b} (allowed)", **one_px,
                 **boundary_dims(rng, p, act, False, False, b))
    case("BATCH = min(ACC_DEPTH, ACT_DEPTH), one pixel, one block (allowed)", **one_px, **one_blk,
         batch=min(acc, act))
    if n < p["PMAX"]:
        case("empty patterns, FG 0 beyond npat (allowed)",
             pat=base["pat"][:n] + [0] * (p["PMAX"] - n), fg=base["fg"][:n] + [0] * (p["PMAX"] - n))
    case("npat == PMAX (allowed)", npat=p["PMAX"], pat=[rng.randint(1, 511) for _ in range(p["PMAX"])],
         fg=[rng.randint(0, 3) for _ in range(p["PMAX"] - 1)] + [1])
    return out


def program(rng, p: dict, big_macs: bool = False) -> list[dict]:
    """The weight loader's tiles (one pass each): 1-3 column tiles of 1-3 row tiles, banks 0, 1, 0."""
    tiles = []
    for j in range(rng.randint(1, 3)):
        nrt = rng.randint(1, 3)
        for r in range(nrt):
            macs = rng.randint(1 << (p["MW"] - 1), (1 << p["MW"]) - 1) if big_macs else rng.randint(0, 4095)
            tiles.append(dict(first_rt=int(r == 0), last_rt=int(r == nrt - 1), bank=j % 2, last_pass=0,
                              base=rng.getrandbits(p["AW"]), macs=macs, npx=rng.randint(1, 4),
                              beats=rng.randint(1, 3)))
    tiles[-1]["last_pass"] = 1
    return tiles
