"""The cycle model of sps_ctrl (the controller) that its block test (tb/blocks/test_sps_ctrl.py)
compares the DUT with: the port names, the reference geometry and descriptor checks, and
`CtrlModel` (docs/ARCHITECTURE.md 5.1 "Errors and the soft abort" and section 7, the
rtl/sps_ctrl.v header), which gives every output of every cycle after the first reset:
  * a layer started in cycle s: the geometry steps in s+1 .. s+G (G = GEOM_CYCLES =
    max(DIM_BITS+1, CH_BITS+1) + max(DIM_BITS+1, BW) + max(CH_BITS, BW, AW+1), BW the bits of a
    batch size, a count 0..ACC_DEPTH), the checks in s+G+1, and in s+G+2 `go` (one
    cycle; the loaders' first ready a cycle later, G+3 after start) or, for a bad descriptor, no go
    and done with err_config from s+G+3; after go it waits for the activation loader (act_busy low),
    then runs; busy from s+1 to the cycle before done;
  * geometry, from the go cycle, B = BATCH: w3 = ceil(W/3), hw3 = ceil(H/3)*ceil(W/3),
    hw3b = hw3*B (all three mod 2^AW), cbb = ceil(C/LANES)*B (mod 2^(AW+1)),
    npixb = HOUT*WOUT*B (mod 2^(PXW+1));
  * a bad descriptor: STRIDE not 1 or 2, PAD_TOP or PAD_LEFT 3, NPAT 0 or > PMAX, PAT[i] = 0 for an
    i < NPAT, FG[g] = 0 for every g < NPAT, C, H, W, HOUT or WOUT 0, BATCH 0,
    BATCH*HOUT*WOUT > ACC_DEPTH, ceil(C/LANES)*BATCH > ACT_DEPTH,
    ceil(C/LANES)*BATCH*ceil(H/3)*ceil(W/3) > ACT_DEPTH (the entries at or beyond NPAT do not count);
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
"""
from __future__ import annotations

from tb.env.block import pack

# the ports: the test drives INPUTS and samples INPUTS + OUTPUTS every cycle
DESC = ("c", "h", "w", "hout", "wout", "stride", "pad_top", "pad_left", "npat", "pat", "fg", "batch")
INPUTS = ("rst", "start", "abort", "stream_err") + DESC + (
    "act_busy", "act_stall", "wgt_stall", "slot_full", "slot_first_rt", "slot_last_rt", "slot_bank",
    "slot_last_pass", "slot_base_chaddr", "slot_macs", "slot_free_valid", "slot_free_tag",
    "wg_can_start", "wg_issue", "bank_claim", "bank_claim_id", "bank_free_valid", "bank_free_id",
    "res_valid", "res_ready", "res_last")
GEOM_OUT = ("w3", "hw3", "hw3b", "cbb", "npixb")
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


def batch_width(acc_depth: int) -> int:
    """BW of rtl/sps_widths.vh (SPS_BW): the bits of a count 0..ACC_DEPTH."""
    return acc_depth.bit_length()


def geom_cycles(p: dict) -> int:
    """G of section 7: ceil divisions (max(DIM_BITS, CH_BITS) + 1 steps); H3 x W3 and N_CBLK x
    BATCH; HW3 x CBB (CBB <= ACT_DEPTH: AW + 1 bits), NPIX x BATCH and HW3 x BATCH."""
    db, ch, bw = p["DIM_BITS"], p["CH_BITS"], batch_width(p["ACC_DEPTH"])
    return max(db + 1, ch + 1) + max(db + 1, bw) + max(ch, bw, p["AW"] + 1)


def cbb(d: dict, p: dict) -> int:
    """Buffer blocks: channel blocks x BATCH."""
    return ceil_div(d["c"], p["LANES"]) * d["batch"]


def act_words(d: dict, p: dict) -> int:
    return cbb(d, p) * ceil_div(d["h"], 3) * ceil_div(d["w"], 3)


def geometry_outputs(d: dict, p: dict) -> dict:
    w3, h3, b, aw = ceil_div(d["w"], 3), ceil_div(d["h"], 3), d["batch"], 1 << p["AW"]
    return dict(w3=w3 % aw, hw3=(h3 * w3) % aw, hw3b=(h3 * w3 * b) % aw, cbb=cbb(d, p) % (2 * aw),
                npixb=(d["hout"] * d["wout"] * b) % (1 << (p["PXW"] + 1)))


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
    if d["batch"] == 0:
        return "BATCH 0"
    if d["batch"] * d["hout"] * d["wout"] > p["ACC_DEPTH"]:
        return "BATCH*HOUT*WOUT > ACC_DEPTH"
    if cbb(d, p) > p["ACT_DEPTH"]:
        return "ceil(C/LANES)*BATCH > ACT_DEPTH"
    if act_words(d, p) > p["ACT_DEPTH"]:
        return "activations > ACT_DEPTH"
    return None


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
            d = {k: s[k] for k in ("c", "h", "w", "hout", "wout", "batch")}
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
