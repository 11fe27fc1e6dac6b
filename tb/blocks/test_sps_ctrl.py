"""cocotb tests of sps_ctrl (the controller: geometry, descriptor checks, pass feeder, accumulator
bank ownership, counters, done, the soft abort). The blocks around it -- activation loader, weight
loader, window generator, output stage -- are models here (`Blocks`): they react to its outputs as
sps_top wires them and drive its handshake inputs with random timing.

Model (`CtrlModel`; docs/ARCHITECTURE.md 5.1 "Errors and the soft abort" and section 7, the
rtl/sps_ctrl.v header), every output compared in every cycle after the first reset:
  * a layer started in cycle s: the geometry steps in s+1 .. s+G (G = GEOM_CYCLES =
    max(DIM_BITS+1, CH_BITS+1) + DIM_BITS+1 + CH_BITS), the checks in s+G+1, and in s+G+2 `go` (one
    cycle; the loaders' first ready a cycle later, G+3 after start) or, for a bad descriptor, no go
    and done with err_config from s+G+3; after go it waits for the activation loader (act_busy low),
    then runs; busy from s+1 to the cycle before done;
  * geometry, from the go cycle: w3 = ceil(W/3), hw3 = ceil(H/3)*ceil(W/3) (both mod 2^AW),
    n_cblk = ceil(C/LANES), npix = HOUT*WOUT (mod 2^(PXW+1));
  * a bad descriptor: STRIDE not 1 or 2, PAD_TOP or PAD_LEFT 3, NPAT 0 or > PMAX, PAT[i] = 0 for an
    i < NPAT, FG[g] = 0 for every g < NPAT, C, H, W, HOUT or WOUT 0, HOUT*WOUT > ACC_DEPTH,
    ceil(C/LANES)*ceil(H/3)*ceil(W/3) > ACT_DEPTH (the entries at or beyond NPAT do not count);
  * pass feeder: wg_start = running, wg_can_start, the next slot (0, 1, 0, ... from each start) full
    and not issued, and a pass left; wg_tag = the next slot, wg_base_chaddr and the pass sideband
    (rtl/sps_sideband.vh) from its metadata; a slot is issued from its pass's start to its release
    (slot_free); no pass after the one with last_pass; bank_busy[b] set by a claim, cleared by a free;
  * done 2 cycles after the last result beat (res_valid, res_ready and res_last while running);
  * counters, cleared by a start: CYCLES every busy cycle but the one after the last result beat;
    BUSY the busy cycles with wg_issue; MACS the sum over those of the MAC count of the last started
    pass, 64 bits, exact a cycle after each add (the high word takes the low word's carry a cycle
    late: in that cycle it reads 2^32 low); STALL_ACT busy and act_stall; STALL_RES busy, res_valid,
    not res_ready; STALL_WGT running, passes left, no issue and wgt_stall, counted a cycle later;
    PASSES the wg_start cycles;
  * the soft abort: abort, or stream_err of the busy cycle before (registered), in a busy cycle but the
    two of the flush (the kill overrides whatever that cycle would have done, also the done of a bad
    descriptor or of the last result beat) -> the flush for two cycles, dp_rst high in its
    second cycle only, done the cycle after it,
    err_stream = the registered stream_err, aborted = abort and not it; the pass feeder and the
    bank ownership as a start leaves them, counters and geometry kept (a MAC carry of the flush
    lands the cycle after); abort and stream_err while idle do nothing; dp_rst is also rst, two
    cycles late.
Neighbour models (`Blocks`): after go the activation loader is busy 0..N cycles; the weight loader
claims each column tile's bank once it is free, then fills the slots in turn (0, 1, 0, ...), a slot
at the earliest the cycle after its release; the window generator takes a pass in a cycle it offers
can_start (idle, or the last pixel of the current pass), issues 1-4 pixels back to back and releases
the slot with the last or up to 3 cycles later (a late release: the controller must not start that
slot again before it, though it is still full); the output stage drains each column tile after its last pass (1-3 beats,
TVALID held until TREADY), frees its bank after, and puts TLAST on the last tile's last beat. dp_rst
resets all of them. Random stalls on act_stall, wgt_stall and the result sink every cycle; noise on
the inputs the controller must ignore while idle (issue, result valid, abort, stream_err).
"""
from __future__ import annotations

from math import prod

import cocotb
import pytest

from tb.env.block import BlockTb, CycleDriver, Monitor, Scoreboard, dut_params, pack, seeded_rng, val
from tb.blocks import CFG, run_block, unique

MODULE = "tb.blocks.test_sps_ctrl"

DESC = ("c", "h", "w", "hout", "wout", "stride", "pad_top", "pad_left", "npat", "pat", "fg")
INPUTS = ("rst", "start", "abort", "stream_err") + DESC + (
    "act_busy", "act_stall", "wgt_stall", "slot_full", "slot_first_rt", "slot_last_rt", "slot_bank",
    "slot_last_pass", "slot_base_chaddr", "slot_macs", "slot_free_valid", "slot_free_tag",
    "wg_can_start", "wg_issue", "bank_claim", "bank_claim_id", "bank_free_valid", "bank_free_id",
    "res_valid", "res_ready", "res_last")
GEOM_OUT = ("w3", "hw3", "n_cblk", "npix")
COUNTERS = ("cnt_cycles", "cnt_busy", "cnt_macs", "cnt_stall_act", "cnt_stall_wgt", "cnt_stall_res",
            "cnt_passes")
OUTPUTS = GEOM_OUT + ("go", "wg_start", "wg_base_chaddr", "wg_tag", "wg_pass_sb", "bank_busy", "busy",
                      "done", "err_config", "err_stream", "aborted", "dp_rst") + COUNTERS
SLOT_FLAGS = ("first_rt", "last_rt", "bank", "last_pass")    # per-slot 1-bit metadata
SB_FIELDS = {"bank": "SB_PASS_BANK", "first_rt": "SB_PASS_FIRST_RT", "last_rt": "SB_PASS_LAST_RT",
             "last_pass": "SB_PASS_LAST_PASS"}
IDLE, GEOM, CHECK, GO, LOAD, RUN, FLUSH = "idle", "geom", "check", "go", "load", "run", "flush"
M32, M64 = (1 << 32) - 1, (1 << 64) - 1


# ---- the reference: geometry and descriptor checks (section 5, 5.1, 7) ------------------------

def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def geom_cycles(p: dict) -> int:
    """G of section 7: ceil divisions (max(DIM_BITS, CH_BITS) + 1 steps), H3 x W3, x N_CBLK."""
    return max(p["DIM_BITS"] + 1, p["CH_BITS"] + 1) + (p["DIM_BITS"] + 1) + p["CH_BITS"]


def act_words(d: dict, p: dict) -> int:
    return ceil_div(d["c"], p["LANES"]) * ceil_div(d["h"], 3) * ceil_div(d["w"], 3)


def geometry_outputs(d: dict, p: dict) -> dict:
    w3, h3 = ceil_div(d["w"], 3), ceil_div(d["h"], 3)
    return dict(w3=w3 % (1 << p["AW"]), hw3=(h3 * w3) % (1 << p["AW"]), n_cblk=ceil_div(d["c"], p["LANES"]),
                npix=(d["hout"] * d["wout"]) % (1 << (p["PXW"] + 1)))


def descriptor_error(d: dict, p: dict) -> str | None:
    """The first check of 5.1 the descriptor fails, None if it is good."""
    n = d["npat"]
    if d["stride"] not in (1, 2):
        return "STRIDE"
    if d["pad_top"] == 3 or d["pad_left"] == 3:
        return "PAD"
    if not 1 <= n <= p["PMAX"]:
        return "NPAT"
    if any(m == 0 for m in d["pat"][:n]):
        return "empty PAT"
    if not any(d["fg"][:n]):
        return "no FG"
    if 0 in (d["c"], d["h"], d["w"], d["hout"], d["wout"]):
        return "zero dimension"
    if d["hout"] * d["wout"] > p["ACC_DEPTH"]:
        return "HOUT*WOUT > ACC_DEPTH"
    if act_words(d, p) > p["ACT_DEPTH"]:
        return "activations > ACT_DEPTH"
    return None


def pack_desc(d: dict, p: dict) -> dict:
    return dict(d, pat=pack(d["pat"], 9), fg=pack(d["fg"], p["CH_BITS"]))


def fitting_dims(rng, p: dict, lim_d: int, lim_c: int) -> dict:
    """C, H, W, HOUT, WOUT at most lim_d / lim_c whose pixels and activations fit the buffers."""
    L, acc, act = p["LANES"], p["ACC_DEPTH"], p["ACT_DEPTH"]
    hout = rng.randint(1, min(lim_d, acc))
    wout = rng.randint(1, min(lim_d, acc // hout))
    ncb = rng.randint(1, min(ceil_div(lim_c, L), act))
    h3 = rng.randint(1, min(ceil_div(lim_d, 3), act // ncb))
    w3 = rng.randint(1, min(ceil_div(lim_d, 3), act // (ncb * h3)))
    if rng.random() < 0.5:
        h3, w3 = w3, h3
    return dict(c=rng.randint((ncb - 1) * L + 1, min(lim_c, ncb * L)), h=rng.randint(3 * h3 - 2, min(lim_d, 3 * h3)),
                w=rng.randint(3 * w3 - 2, min(lim_d, 3 * w3)), hout=hout, wout=wout)


def good_desc(rng, p: dict, small: bool = True) -> dict:
    """A random good descriptor (small dimensions, or anywhere in range)."""
    dmax, cmax = (1 << p["DIM_BITS"]) - 1, (1 << p["CH_BITS"]) - 1
    lim_d, lim_c = (min(dmax, 12), min(cmax, 3 * p["LANES"])) if small else (dmax, cmax)
    n = rng.randint(1, p["PMAX"])
    d = dict(fitting_dims(rng, p, lim_d, lim_c), stride=rng.randint(1, 2), pad_top=rng.randint(0, 2),
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
    d.update(c=pick(cmax), h=pick(dmax), w=pick(dmax), hout=pick(dmax), wout=pick(dmax))
    if rng.random() < 0.2:
        d.update(stride=rng.randint(0, 3), pad_top=rng.randint(0, 3), pad_left=rng.randint(0, 3),
                 npat=rng.randint(0, nmax))
    return d


def boundary_dims(rng, p: dict, target: int, over: bool, pixels: bool) -> dict:
    """Dimensions at a buffer boundary: HOUT*WOUT (pixels) or ceil(C/LANES)*ceil(H/3)*ceil(W/3)
    equal to `target` (over=False) or the smallest value above it (over=True)."""
    dmax, cmax, L = (1 << p["DIM_BITS"]) - 1, (1 << p["CH_BITS"]) - 1, p["LANES"]

    def last_factor(prefix: int, hi: int) -> int | None:     # the factor that makes the product
        f = target // prefix + 1 if over else (target // prefix if target % prefix == 0 else 0)
        return f if 1 <= f <= hi else None

    if pixels:
        shapes = [(a, last_factor(a, dmax)) for a in range(1, dmax + 1)]
    else:
        hi3 = ceil_div(dmax, 3)
        shapes = [(n, y, last_factor(n * y, hi3)) for n in range(1, min(ceil_div(cmax, L), target + 1) + 1)
                  for y in range(1, min(hi3, (target + 1) // n) + 1)]
    shapes = [sh for sh in shapes if sh[-1] is not None]
    low = min(prod(sh) for sh in shapes)
    sh = rng.choice([sh for sh in shapes if prod(sh) == low])
    if pixels:
        return dict(hout=sh[0], wout=sh[1])
    n, y, x = sh
    return dict(c=rng.randint((n - 1) * L + 1, min(cmax, n * L)), h=rng.randint(3 * y - 2, min(dmax, 3 * y)),
                w=rng.randint(3 * x - 2, min(dmax, 3 * x)))


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
    for f in ("c", "h", "w", "hout", "wout"):
        case(f"{f} 0", **{f: 0})
    case("HOUT*WOUT > ACC_DEPTH", **boundary_dims(rng, p, p["ACC_DEPTH"], True, True))
    case("activations > ACT_DEPTH", **boundary_dims(rng, p, p["ACT_DEPTH"], True, False))
    # allowed: the boundaries themselves, empty patterns and FG beyond NPAT, NPAT = PMAX
    case("HOUT*WOUT == ACC_DEPTH (allowed)", **boundary_dims(rng, p, p["ACC_DEPTH"], False, True))
    case("activations == ACT_DEPTH (allowed)", **boundary_dims(rng, p, p["ACT_DEPTH"], False, False))
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


# ---- the controller's model -----------------------------------------------------------------------

class CtrlModel:
    """sps_ctrl's contract, cycle by cycle: `expected(s)` gives the outputs of a cycle (s: its
    sampled inputs, for the combinational outputs), `update(s)` takes the cycle's inputs."""

    def __init__(self, p: dict, sb_pos: dict):
        self.p, self.sb_pos, self.G = p, sb_pos, geom_cycles(p)
        self.known = False                        # nothing is defined before the first reset
        self.dp_rst = self.dp_rst_q = None        # the two registers of dp_rst: set by the first reset
        self.serr_q = 0                           # stream_err, registered
        self.stats = dict(carry=0, flush_carry=0, kills={}, layers=0, config_errors=0, b2b=0, blocked_issued=0)
        self._reset()

    def _reset(self):
        self.phase, self.left = IDLE, 0
        self.done = self.err_config = self.err_stream = self.aborted = 0
        self.ok, self.geom = False, None
        self.cnt = {k: 0 for k in COUNTERS}
        self.carry = self.wgt_q = self.res_done = self.pass_macs = 0
        self._clear_feeder()

    def _clear_feeder(self):
        self.next_slot, self.issued, self.all_issued, self.bank_busy, self.res_done = 0, [0, 0], 0, [0, 0], 0

    def _slot(self, s: dict, i: int) -> dict:
        AW, MW = self.p["AW"], self.p["MW"]
        f = {k: s[f"slot_{k}"] >> i & 1 for k in SLOT_FLAGS}
        f.update(full=s["slot_full"] >> i & 1, base=s["slot_base_chaddr"] >> (i * AW) & ((1 << AW) - 1),
                 macs=s["slot_macs"] >> (i * MW) & ((1 << MW) - 1))
        return f

    def _wg_start(self, s: dict) -> int:
        sl = self._slot(s, self.next_slot)
        return int(self.phase == RUN and bool(s["wg_can_start"]) and bool(sl["full"])
                   and not self.issued[self.next_slot] and not self.all_issued)

    def expected(self, s: dict) -> dict | None:
        if not self.known:
            return None
        sl = self._slot(s, self.next_slot)
        e = dict(busy=int(self.phase != IDLE), done=self.done, err_config=self.err_config,
                 err_stream=self.err_stream, aborted=self.aborted, dp_rst=self.dp_rst,
                 go=int(self.phase == GO and self.ok), wg_start=self._wg_start(s), wg_tag=self.next_slot,
                 wg_base_chaddr=sl["base"], wg_pass_sb=sum(sl[k] << self.sb_pos[k] for k in SB_FIELDS),
                 bank_busy=pack(self.bank_busy, 1), **self.cnt)
        e["cnt_macs"] = (self.cnt["cnt_macs"] - (self.carry << 32)) & M64
        if self.phase in (GO, LOAD, RUN):
            e.update(self.geom)
        return {k: v for k, v in e.items() if v is not None}

    def update(self, s: dict) -> None:
        serr_q, self.serr_q = self.serr_q, int(bool(s["stream_err"]) and self.phase != IDLE)
        if s["rst"]:
            self._reset()
            # before the first reset the register in front of dp_rst holds whatever the clock gave it
            self.dp_rst, self.dp_rst_q = (self.dp_rst_q if self.known else None), 1
            self.known = True
            return
        if not self.known:
            return
        c = self.cnt
        busy, running = self.phase != IDLE, self.phase == RUN
        kill = busy and self.phase != FLUSH and bool(s["abort"] or serr_q)
        self.dp_rst, self.dp_rst_q = self.dp_rst_q, int(kill)
        if kill:
            self.stats["kills"][self.phase] = self.stats["kills"].get(self.phase, 0) + 1
        # counters
        if busy and not self.res_done:
            c["cnt_cycles"] += 1
        self.carry = 0
        if busy:
            if s["wg_issue"]:
                c["cnt_busy"] += 1
                self.carry = ((c["cnt_macs"] & M32) + self.pass_macs) >> 32
                self.stats["carry"] += self.carry
                self.stats["flush_carry"] += self.carry * (self.phase == FLUSH)
                c["cnt_macs"] = (c["cnt_macs"] + self.pass_macs) & M64
            c["cnt_stall_act"] += s["act_stall"]
            c["cnt_stall_res"] += int(s["res_valid"] and not s["res_ready"])
        c["cnt_stall_wgt"] += self.wgt_q
        self.wgt_q = int(running and not self.all_issued and not s["wg_issue"] and bool(s["wgt_stall"]))
        # pass feeder, banks
        if self._wg_start(s):
            sl = self._slot(s, self.next_slot)
            self.stats["b2b"] += int(s["wg_issue"])
            self.issued[self.next_slot] = 1
            self.next_slot ^= 1
            self.pass_macs = sl["macs"]
            self.all_issued |= sl["last_pass"]
            c["cnt_passes"] += 1
        elif running and s["wg_can_start"] and self._slot(s, self.next_slot)["full"] and not self.all_issued:
            self.stats["blocked_issued"] += 1
        if s["slot_free_valid"]:
            self.issued[s["slot_free_tag"]] = 0
        if s["bank_claim"]:
            self.bank_busy[s["bank_claim_id"]] = 1
        if s["bank_free_valid"]:
            self.bank_busy[s["bank_free_id"]] = 0
        last_beat = self.res_done
        self.res_done = int(running and bool(s["res_valid"] and s["res_ready"] and s["res_last"]))
        # the layer's phases
        if kill:                                   # overrides everything the cycle would have done
            self.phase, self.left = FLUSH, 2
            self.done = self.err_config = 0
            self.err_stream, self.aborted = serr_q, int(bool(s["abort"]) and not serr_q)
        elif self.phase == IDLE and s["start"]:
            d = {k: s[k] for k in ("c", "h", "w", "hout", "wout")}
            self.geom = geometry_outputs(d, self.p)
            self.phase, self.left = GEOM, self.G
            self.done = self.err_config = self.err_stream = self.aborted = 0
            self.cnt = {k: 0 for k in COUNTERS}
            self.carry = self.wgt_q = 0
            self._clear_feeder()
            self.stats["layers"] += 1
        elif self.phase == GEOM:
            self.left -= 1
            if self.left == 0:
                self.phase = CHECK
        elif self.phase == CHECK:                  # the descriptor is held while busy: check it here
            self.ok = descriptor_error(self._desc(s), self.p) is None
            self.phase = GO
        elif self.phase == GO:
            if self.ok:
                self.phase = LOAD
            else:
                self.phase, self.done, self.err_config = IDLE, 1, 1
                self.stats["config_errors"] += 1
        elif self.phase == LOAD and not s["act_busy"]:
            self.phase = RUN
        elif self.phase == RUN and last_beat:
            self.phase, self.done = IDLE, 1
        elif self.phase == FLUSH:
            self._clear_feeder()
            self.left -= 1
            if self.left == 0:
                self.phase, self.done = IDLE, 1

    def _desc(self, s: dict) -> dict:
        d = {k: s[k] for k in DESC}
        d["pat"] = [s["pat"] >> (9 * i) & 511 for i in range(self.p["PMAX"])]
        d["fg"] = [s["fg"] >> (self.p["CH_BITS"] * i) & ((1 << self.p["CH_BITS"]) - 1)
                   for i in range(self.p["PMAX"])]
        return d


# ---- the neighbours: loaders, window generator, output stage ------------------------------------

class Inject:
    """An abort and/or stream error, fired in the first cycle m for which `when(blocks, m, s, nxt)`
    holds (s: the sample of cycle m-1, nxt: the inputs planned for m). abort is a one-cycle pulse
    (`again`: also the next cycle, the flush, where it must be ignored); stream_err a level, held
    until the data path's reset (as the loaders hold it)."""

    def __init__(self, kind: str, when, again: bool = False):
        assert kind in ("abort", "stream_err", "both")
        self.kind, self.when, self.again, self.fired = kind, when, again, None


class Blocks:
    """The models of the blocks around the controller; `step(s)` takes the sample of cycle n
    (inputs and outputs) and returns the controller's inputs for cycle n + 1."""

    def __init__(self, rng, p: dict):
        self.rng, self.p = rng, p
        self.stall = dict(act=0.3, wgt=0.3, res=0.4, can=0.8, valid=0.7)
        self.noise = True                 # random idle-time inputs the controller must ignore
        self.req = None                   # (descriptor, program, inject) of the next layer
        self.rst_cycles = 0
        self.layer = None                 # the running layer's bookkeeping
        self.desc_in = {}                 # the descriptor inputs driven now
        self.stream_err = 0
        self.abort_next = 0
        self._reset()

    def _reset(self):                      # dp_rst: every data-path block idle
        self.act_until = -1
        self.prog, self.k, self.claimed, self.fill_at = None, 0, False, None
        self.full, self.slot_tile = [0, 0], [None, None]
        self.meta = [dict(first_rt=0, last_rt=0, bank=0, last_pass=0, base=0, macs=0) for _ in range(2)]
        self.pix = []                      # the window generator's upcoming pixels: (tag, last, tile)
        self.releases = []                 # its slot releases to come: (cycle, tag)
        self.jobs, self.offer, self.frees = [], None, []
        self.stream_err = 0

    def quiet(self) -> bool:
        loading = self.prog is not None and self.k < len(self.prog)
        return not loading and not self.pix and not self.releases and not self.jobs and not self.frees and self.offer is None

    def step(self, n: int, s: dict) -> dict:
        r = self.rng
        nxt = dict(start=0, abort=0, bank_claim=0, bank_free_valid=0, slot_free_valid=0, wg_issue=0,
                   res_valid=0, res_last=0)
        if s["rst"] or s["dp_rst"]:
            self._reset()
        else:
            self._loaders(n, s, nxt)
            self._window_gen(n, s, nxt)
            self._release(n, nxt)
            self._output_stage(n, s, nxt)
        if self.rst_cycles:
            self.rst_cycles -= 1
        nxt["rst"] = int(self.rst_cycles > 0)
        nxt["act_busy"] = int(n + 1 <= self.act_until)
        nxt["act_stall"] = int(r.random() < self.stall["act"])
        nxt["wgt_stall"] = int(r.random() < self.stall["wgt"])
        nxt["res_ready"] = int(r.random() >= self.stall["res"])
        idle = not s["busy"] and not s["start"]        # the controller is idle in cycle n + 1
        if idle and self.noise:
            if not self.pix:
                nxt["wg_issue"] = int(r.random() < 0.3)
            if self.offer is None:
                nxt["res_valid"] = int(r.random() < 0.3)
            nxt["abort"] = int(r.random() < 0.1)
            nxt["stream_err"] = int(r.random() < 0.1)
        else:
            nxt["stream_err"] = self.stream_err
        if not self.pix:
            nxt["wg_can_start"] = int(r.random() < self.stall["can"])
        self._slot_inputs(nxt)
        self._start(n, s, nxt)
        self._inject(n, s, nxt)
        return nxt

    # the next layer's start (and its descriptor, driven in the start cycle)
    def _start(self, n, s, nxt):
        if self.req is not None and self.layer is None and not s["busy"] and not s["start"] and not s["rst"] \
                and self.rst_cycles == 0:
            d, prog, inject, act_len = self.req
            self.req = None
            self.layer = dict(start=n + 1, desc=d, prog=prog, inject=inject, act_len=act_len, passes=0,
                              last_taken=None)
            nxt.update(pack_desc(d, self.p), start=1)
        elif self.layer is None and self.noise and self.rng.random() < 0.2:   # idle: registers change
            nxt.update(pack_desc(extreme_desc(self.rng, self.p), self.p))

    def _inject(self, n, s, nxt):
        lay = self.layer
        inj = lay and lay["inject"]
        if not inj:
            return
        if inj.fired is None and inj.when(self, n + 1, s, nxt):
            inj.fired = n + 1
            if inj.kind in ("abort", "both"):
                nxt["abort"] = 1
            if inj.kind in ("stream_err", "both"):
                self.stream_err = nxt["stream_err"] = 1
        elif inj.fired == n and inj.again:
            nxt["abort"] = 1

    def _loaders(self, n, s, nxt):
        r, lay = self.rng, self.layer
        if s["go"]:
            self.act_until = n + r.choice([0, 0, 1, 2, 5, 9])
            if lay and lay["act_len"] is not None:
                self.act_until = n + lay["act_len"]
            self.prog, self.k, self.claimed, self.fill_at = (lay["prog"] if lay else []), 0, False, None
        if self.prog is not None and self.k < len(self.prog):
            t = self.prog[self.k]
            slot = self.k % 2
            if t["first_rt"] and not self.claimed:
                if not (s["bank_busy"] >> t["bank"] & 1):      # the bank is free: claim it
                    nxt.update(bank_claim=1, bank_claim_id=t["bank"])
                    self.claimed = True
            elif self.fill_at is None:
                if not self.full[slot]:                         # empty as seen this cycle
                    self.fill_at = n + 1 + r.choice([0, 0, 1, 3])
            if self.fill_at is not None and n + 1 >= self.fill_at:
                self.full[slot], self.slot_tile[slot] = 1, t
                self.meta[slot] = {k: t[k] for k in ("first_rt", "last_rt", "bank", "last_pass", "base", "macs")}
                self.k += 1
                self.claimed, self.fill_at = False, None
        if s["slot_free_valid"]:               # the release of this cycle: empty from the next
            self.full[s["slot_free_tag"]] = 0

    def _slot_inputs(self, nxt):
        AW, MW = self.p["AW"], self.p["MW"]
        meta = [m if f else dict(first_rt=self.rng.getrandbits(1), last_rt=self.rng.getrandbits(1),
                                 bank=self.rng.getrandbits(1), last_pass=self.rng.getrandbits(1),
                                 base=self.rng.getrandbits(AW), macs=self.rng.getrandbits(MW))
                for m, f in zip(self.meta, self.full)]       # an empty slot's metadata is anything
        nxt["slot_full"] = pack(self.full, 1)
        for k in SLOT_FLAGS:
            nxt[f"slot_{k}"] = pack([m[k] for m in meta], 1)
        nxt["slot_base_chaddr"] = pack([m["base"] for m in meta], AW)
        nxt["slot_macs"] = pack([m["macs"] for m in meta], MW)

    def _window_gen(self, n, s, nxt):
        if self.pix:
            self.pix.pop(0)                    # the pixel of cycle n
        if s["wg_start"] and s["wg_can_start"]:
            assert not self.pix, "test bug: a pass taken while the window generator is busy"
            tag = s["wg_tag"]
            t = self.slot_tile[tag] or dict(npx=1, last_rt=0, bank=0, last_pass=0, beats=1)
            self.pix = [(tag, int(i == t["npx"] - 1), t) for i in range(t["npx"])]
            if self.layer:
                self.layer["passes"] += 1
        if self.pix:
            tag, last, t = self.pix[0]
            nxt["wg_issue"] = 1
            if last:
                self.releases.append((n + 1 + self.rng.choice([0, 0, 1, 2, 3]), tag))
                if t["last_rt"]:                # the column tile is done: its drain is queued
                    self.jobs.append(dict(at=n + 1 + self.rng.randint(2, 8), bank=t["bank"], beats=t["beats"],
                                          last=t["last_pass"]))
            nxt["wg_can_start"] = int(len(self.pix) == 1 and self.rng.random() < self.stall["can"])

    def _release(self, n, nxt):
        if self.releases and self.releases[0][0] <= n + 1:
            nxt.update(slot_free_valid=1, slot_free_tag=self.releases.pop(0)[1])

    def _output_stage(self, n, s, nxt):
        r = self.rng
        if self.offer is not None and s["res_valid"] and s["res_ready"]:
            job = self.jobs[0]
            job["beats"] -= 1
            self.offer = None
            if s["res_last"] and self.layer:
                self.layer["last_taken"] = n
            if job["beats"] == 0:
                self.jobs.pop(0)
                self.frees.append((n + 1 + r.randint(0, 3), job["bank"]))
        if self.frees and self.frees[0][0] <= n + 1:
            nxt.update(bank_free_valid=1, bank_free_id=self.frees.pop(0)[1])
        if self.offer is None and self.jobs and self.jobs[0]["at"] <= n + 1 and r.random() < self.stall["valid"]:
            job = self.jobs[0]
            self.offer = int(job["last"] and job["beats"] == 1)
        if self.offer is not None:
            nxt.update(res_valid=1, res_last=self.offer)


# ---- the bench: monitor, model, scoreboard, driver ------------------------------------------------

class Bench:
    def __init__(self, dut, name: str):
        self.p = dut_params(dut, ("LANES", "PMAX", "ACT_DEPTH", "ACC_DEPTH", "DIM_BITS", "CH_BITS", "MW",
                                  "PW", "AW", "PXW"))
        self.dut, self.log, self.name = dut, dut._log, name
        self.tb = BlockTb(dut)
        self.rng = seeded_rng(dut, name)
        sb_pos = {k: int(getattr(dut, v).value) for k, v in SB_FIELDS.items()}
        assert sorted(sb_pos.values()) == list(range(len(SB_FIELDS))), f"pass sideband layout {sb_pos}"
        g = val(dut.GEOM_CYCLES) if hasattr(dut, "GEOM_CYCLES") else None
        assert g in (None, geom_cycles(self.p)), f"GEOM_CYCLES = {g}, section 7 says {geom_cycles(self.p)}"
        dut._log.info(f"G = {geom_cycles(self.p)} geometry cycles (section 7; DUT localparam GEOM_CYCLES: {g})")
        self.model = CtrlModel(self.p, sb_pos)
        self.blocks = Blocks(self.rng, self.p)
        self.sb = Scoreboard(dut._log, name)
        self.drv = CycleDriver(self.tb, INPUTS)
        self.drv.apply({k: 0 for k in INPUTS} | dict(rst=1))
        self.blocks.rst_cycles = 3
        self.next = None
        self.finished = []                    # (layer, done cycle, STATUS bits)
        Monitor(self.tb, self.sample, "ports").add_callback(self.on_cycle)
        cocotb.start_soon(self._drive())

    def sample(self) -> dict:
        return {k: val(getattr(self.dut, k)) for k in INPUTS + OUTPUTS}

    def on_cycle(self, n: int, s: dict) -> None:
        exp = self.model.expected(s)
        if exp is not None:
            self.sb.check(n, {k: s[k] for k in exp}, exp, f"outputs ({self.model.phase})")
        self.model.update(s)
        lay = self.blocks.layer
        if lay and n > lay["start"] + 1 and s["done"] and not s["busy"]:
            lay["done"] = n
            self.finished.append(lay)
            self.blocks.layer = None
        self.next = self.blocks.step(n, s)

    async def _drive(self):
        while True:
            await cocotb.triggers.RisingEdge(self.tb.clk)
            if self.next is not None:
                self.drv.apply(self.next)

    async def layer(self, desc: dict, prog: list | None = None, inject: Inject | None = None,
                    act_len: int | None = None, limit: int = 4000) -> dict:
        """Run one layer: start it with `desc`, the weight loader holding `prog`; returns its record
        once done (failing if it is not done within `limit` cycles)."""
        self.blocks.req = (desc, prog if prog is not None else program(self.rng, self.p), inject, act_len)
        count = len(self.finished)
        for _ in range(limit):
            await cocotb.triggers.FallingEdge(self.tb.clk)
            if len(self.finished) > count:
                break
        else:
            raise AssertionError(f"layer {desc} not done within {limit} cycles")
        await self.quiet()
        return self.finished[-1]

    async def quiet(self, extra: int | None = None) -> None:
        """Wait until every neighbour is idle, then a random gap (0-3 cycles)."""
        for _ in range(200):
            if self.blocks.quiet():
                break
            await cocotb.triggers.FallingEdge(self.tb.clk)
        await self.tb.cycles(self.rng.randint(0, 3) if extra is None else extra)

    async def reset(self, cycles: int) -> None:
        self.blocks.rst_cycles = cycles + 1
        await self.tb.cycles(cycles + 2)

    def finish(self, min_checks: int) -> None:
        self.log.info(f"{self.name}: model {self.model.stats}")
        self.sb.finish(min_checks=min_checks)


def check_end(bench: Bench, lay: dict, want: str) -> None:
    """The layer ended as `want` says ("ok", "config", "stream", "aborted"): a done cycle where the
    documented rule puts it (the model checked every cycle; this states it per layer in the log)."""
    s, G = lay["start"], geom_cycles(bench.p)
    if want == "config":
        assert lay["done"] == s + G + 3, f"config error: done in cycle {lay['done'] - s} after start, expected {G + 3}"
    elif want == "ok":
        assert lay["last_taken"] is not None and lay["done"] == lay["last_taken"] + 2, \
            f"done in cycle {lay['done']}, last result beat in {lay['last_taken']}: expected 2 cycles after it"
    else:
        # the kill: at the abort, a cycle after a stream error (registered); the flush 2 cycles
        f, late = lay["inject"].fired, 3 if want == "aborted" else 4
        assert lay["done"] == f + late, f"{want}: fault in cycle {f}, done in {lay['done']} (expected {late} cycles later)"


async def fault_then_good(bench: Bench, desc: dict, kind: str, when, prog: list | None = None,
                          act_len: int | None = None, again: bool = False) -> bool:
    """A layer with a fault (`kind`, fired by `when`), then a good layer without a reset. Returns
    whether the fault fired (a trigger may never come, e.g. a second pass in a one-pass program)."""
    inject = Inject(kind, when, again)
    lay = await bench.layer(desc, prog, inject=inject, act_len=act_len)
    if inject.fired is None:
        check_end(bench, lay, "config" if descriptor_error(desc, bench.p) else "ok")
        return False
    want = "stream" if kind == "stream_err" else "aborted"        # "both": the abort is first
    if kind == "stream_err" and lay["done"] == inject.fired + 1:
        # raised in the layer's last busy cycle, the error is registered after it ended (a loader's
        # never comes then: the loaders finish before the results, and before go on a bad descriptor)
        want = "config" if descriptor_error(desc, bench.p) else "ok"
    check_end(bench, lay, want)
    check_end(bench, await bench.layer(good_desc(bench.rng, bench.p)), "ok")
    return True


# ---- tests ----------------------------------------------------------------------------------------

@cocotb.test(timeout_time=20, timeout_unit="ms")
async def geometry(dut):
    """Random descriptors, most at the corners of DIM_BITS / CH_BITS, some at the buffer boundaries:
    the geometry outputs from the go cycle, go exactly G + 2 cycles after start or err_config and
    done at G + 3; the good ones run a short program."""
    bench = Bench(dut, "geometry")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    counts = {"good": 0, "bad": 0}
    for i in range(160):
        if i % 4 == 3:
            d = dict(good_desc(rng, p), **boundary_dims(rng, p, rng.choice([p["ACC_DEPTH"], p["ACT_DEPTH"]]),
                                                        rng.random() < 0.5, rng.random() < 0.5))
        else:
            d = extreme_desc(rng, p) if i % 2 else good_desc(rng, p, small=False)
        err = descriptor_error(d, p)
        lay = await bench.layer(d)
        check_end(bench, lay, "config" if err else "ok")
        counts["bad" if err else "good"] += 1
    dut._log.info(f"descriptors: {counts}")
    assert min(counts.values()) >= 20, f"too few of one kind: {counts}"
    bench.finish(min_checks=5000)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def descriptor_checks(dut):
    """Every check of 5.1 alone (err_config, done, no go, no pass), the allowed boundaries (HOUT*WOUT
    == ACC_DEPTH, activations == ACT_DEPTH, entries beyond NPAT ignored) run; twice each."""
    bench = Bench(dut, "descriptor_checks")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    seen = set()
    for _ in range(2):
        for name, d in bad_descriptors(rng, p):
            err = descriptor_error(d, p)
            assert (err is None) == name.endswith("(allowed)"), f"test bug: {name} -> {err}"
            lay = await bench.layer(d)
            check_end(bench, lay, "config" if err else "ok")
            dut._log.info(f"{name}: {'ERR_CONFIG (' + err + ')' if err else 'ran'}")
            seen.add(err)
    assert len(seen) == 9, f"checks exercised: {seen}"
    bench.finish(min_checks=500)


@cocotb.test(timeout_time=40, timeout_unit="ms")
@cocotb.parametrize(stalls=["none", "light", "heavy"])
async def passes(dut, stalls):
    """Layers of 1-9 passes under random handshake timing, MAC counts near 2^32 (the counter's
    carry split) or small: the feeder's starts, tags, sideband, slot release, all issued, bank
    ownership, done and every counter, cycle by cycle."""
    bench = Bench(dut, f"passes[{stalls}]")
    p, rng = bench.p, bench.rng
    bench.blocks.stall = dict(none=dict(act=0.0, wgt=0.0, res=0.0, can=1.0, valid=1.0),
                              light=dict(act=0.2, wgt=0.2, res=0.2, can=0.8, valid=0.8),
                              heavy=dict(act=0.6, wgt=0.6, res=0.7, can=0.4, valid=0.4))[stalls]
    await bench.reset(3)
    npass = 0
    for i in range(25):
        prog = program(rng, p, big_macs=i % 2 == 0)
        lay = await bench.layer(good_desc(rng, p), prog)
        check_end(bench, lay, "ok")
        assert lay["passes"] == len(prog), f"{lay['passes']} passes taken, program of {len(prog)}"
        npass += len(prog)
    dut._log.info(f"{npass} passes in 25 layers")
    st = bench.model.stats
    assert st["carry"] > 0, "no MAC add carried into the high word"
    assert st["blocked_issued"] > 0, "never a full slot held back because its pass was not released yet"
    assert st["b2b"] > 0, "no pass started back to back with the previous one"
    bench.finish(min_checks=1000)


def at_cycle(k: int):
    """Fire k cycles after the start cycle."""
    return lambda b, m, s, nxt: b.layer is not None and m == b.layer["start"] + k


def issuing(j: int):
    """Fire in a cycle the window generator issues a pixel of pass j (counted from 1), a random one."""
    return lambda b, m, s, nxt: bool(b.pix) and b.layer["passes"] >= j and b.rng.random() < 0.5


def draining(b, m, s, nxt):
    """Every pass issued, results still to come."""
    return (b.layer["passes"] == len(b.layer["prog"]) and not b.pix and b.layer["last_taken"] is None
            and b.rng.random() < 0.3)


def last_beat(b, m, s, nxt):
    """In the cycle of the last result beat."""
    return nxt["res_valid"] and nxt["res_last"] and nxt["res_ready"]


def abort_points(G: int, rng) -> list[tuple[str, object, int | None, bool]]:
    """(name, trigger, act_len, with passes) of every busy phase a fault must end."""
    return [("geometry, first step", at_cycle(1), None, True), ("geometry", at_cycle(rng.randint(2, G)), None, True),
            ("geometry, last step", at_cycle(G), None, True), ("check", at_cycle(G + 1), None, True),
            ("go", at_cycle(G + 2), None, True), ("load", at_cycle(G + 3 + rng.randint(0, 4)), 8, True),
            ("run, no slot full yet", at_cycle(G + 4 + rng.randint(0, 5)), 0, False),
            ("run, first pass in flight", issuing(1), None, True),
            ("run, a later pass in flight", issuing(2), None, True), ("run, draining", draining, None, True),
            ("run, the last result beat", last_beat, None, True)]


@cocotb.test(timeout_time=60, timeout_unit="ms")
@cocotb.parametrize(kind=["abort", "stream_err", "both"])
async def soft_abort(dut, kind):
    """An abort / stream error in every busy phase (geometry, check, go, load, run with passes in
    flight, draining, the last result beat): dp_rst for one cycle two cycles after it, done the cycle
    after that, ERR_STREAM / ABORTED; then a good layer runs right (the feeder was cleared). Small
    MAC counts: a carry in the flush cycle is `abort_macs_carry`'s case."""
    bench = Bench(dut, f"soft_abort[{kind}]")
    p, rng, G = bench.p, bench.rng, geom_cycles(bench.p)
    await bench.reset(3)
    for _ in range(3):
        for name, when, act_len, with_passes in abort_points(G, rng):
            prog = program(rng, p) if with_passes else []
            fired = await fault_then_good(bench, good_desc(rng, p), kind, when, prog, act_len, again=rng.random() < 0.3)
            dut._log.info(f"{kind} at '{name}': {'ended the layer' if fired else 'never came (the layer ran)'}")
    kills = bench.model.stats["kills"]
    assert set(kills) == {GEOM, CHECK, GO, LOAD, RUN}, f"faults seen in {kills}"
    bench.finish(min_checks=2000)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def abort_ignored_while_idle(dut):
    """abort and stream_err pulses in idle cycles (noise, 10% of them), also in the start cycle and
    in the done cycle: nothing happens; dp_rst stays low."""
    bench = Bench(dut, "abort_ignored_while_idle")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    for _ in range(10):
        inject = Inject("abort", lambda b, m, s, nxt: nxt["start"])     # abort in the start cycle
        lay = await bench.layer(good_desc(rng, p), inject=inject)
        check_end(bench, lay, "ok")
        await bench.tb.cycles(rng.randint(5, 20))
    bench.finish(min_checks=500)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def reset(dut):
    """rst (1-4 cycles) in every phase of a layer: dp_rst high two cycles after each rst cycle
    (registered), everything back to its reset value, the next layer runs right."""
    bench = Bench(dut, "reset")
    p, rng, G = bench.p, bench.rng, geom_cycles(bench.p)
    await bench.reset(3)
    for point in (1, G // 2, G + 1, G + 2, G + 4, G + 10, G + 20):
        bench.blocks.req = (good_desc(rng, p), program(rng, p, big_macs=True), None, None)
        await cocotb.triggers.FallingEdge(bench.tb.clk)
        await bench.tb.cycles(point)
        await bench.reset(rng.randint(1, 4))
        bench.blocks.layer = None
        await bench.quiet()
        lay = await bench.layer(good_desc(rng, p))
        check_end(bench, lay, "ok")
    bench.finish(min_checks=300)


# ---- the abort's corner cycles (each was an RTL bug this test found: the kill did not override the
# done / err_config of its cycle, and the MAC counter's high word took a carry only while busy) ----

@cocotb.test(timeout_time=20, timeout_unit="ms")
async def abort_at_config_error(dut):
    """An abort in the go cycle of a bad descriptor must end the layer like any other (dp_rst, done
    the cycle after it, ABORTED, no ERR_CONFIG): not done and err_config in the flush, while busy.
    (A stream error there is registered after the layer ended: `fault_then_good` knows.)"""
    bench = Bench(dut, "abort_at_config_error")
    p, rng, G = bench.p, bench.rng, geom_cycles(bench.p)
    await bench.reset(3)
    for _, d in bad_descriptors(rng, p):
        if descriptor_error(d, p) is None:
            continue
        assert await fault_then_good(bench, d, rng.choice(["abort", "both"]), at_cycle(G + 2))
    bench.finish(min_checks=500)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def abort_after_last_beat(dut):
    """An abort in the cycle after the last result beat (the layer's last busy cycle) must flush
    and raise done the cycle after dp_rst, not in the flush with busy high."""
    bench = Bench(dut, "abort_after_last_beat")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    for _ in range(6):
        assert await fault_then_good(bench, good_desc(rng, p), rng.choice(["abort", "both"]),
                                     lambda b, m, s, nxt: bool(s["res_valid"] and s["res_ready"] and s["res_last"]))
    bench.finish(min_checks=500)


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def abort_macs_carry(dut):
    """An abort while a pass is issuing, MAC counts >= 2^(MW-1): the window generator still issues
    in the flush cycle (its reset takes effect at the end of it), BUSY counts that pixel and its
    add to MACS carries into the high word in about half the layers. MACS must end as the exact
    sum (the high word takes the carry in the idle cycle after the flush)."""
    bench = Bench(dut, "abort_macs_carry")
    p, rng = bench.p, bench.rng
    await bench.reset(3)
    for _ in range(12):
        inject = Inject("abort", lambda b, m, s, nxt: len(b.pix) >= 2 and b.rng.random() < 0.5)
        lay = await bench.layer(good_desc(rng, p), program(rng, p, big_macs=True), inject=inject)
        check_end(bench, lay, "aborted" if inject.fired else "ok")
    assert bench.model.stats["flush_carry"] > 0, "no add in a flush cycle carried: the case was not made"
    bench.finish(min_checks=300)


# ---- pytest entries ---------------------------------------------------------------------------------

KEYS = ("LANES", "PMAX", "ACT_DEPTH", "ACC_DEPTH", "DIM_BITS", "CH_BITS")
PARAMS = unique([{k: getattr(CFG, k) for k in KEYS} | dict(MW=32),
                 dict(LANES=6, PMAX=5, ACT_DEPTH=48, ACC_DEPTH=20, DIM_BITS=7, CH_BITS=9, MW=32),
                 dict(LANES=1, PMAX=1, ACT_DEPTH=7, ACC_DEPTH=5, DIM_BITS=4, CH_BITS=3, MW=32)])


IDS = [f"L{p['LANES']}-P{p['PMAX']}-D{p['DIM_BITS']}" for p in PARAMS]


@pytest.mark.sim
@pytest.mark.parametrize("params", PARAMS, ids=IDS)
def test_sps_ctrl(simulator, params):
    run_block(simulator, "sps_ctrl", MODULE, params, "ctrl")

