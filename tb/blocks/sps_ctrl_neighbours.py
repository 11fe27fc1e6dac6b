"""The blocks around sps_ctrl, modelled for its block test (tb/blocks/test_sps_ctrl.py): `Blocks`
reacts to the controller's outputs as sps_top wires them and drives its inputs; `Inject` fires an
abort or a stream error when a test's trigger holds.

After go the activation loader is busy 0..N cycles; the weight loader claims each column tile's bank
once it is free, then fills the slots in turn (0, 1, 0, ...), a slot at the earliest the cycle after
its release; the window generator takes a pass in a cycle it offers can_start (idle, or the last
pixel of the current pass), issues 1-4 pixels back to back and releases the slot with the last or up
to 3 cycles later (a late release: the controller must not start that slot again before it, though
it is still full); the output stage drains each column tile after its last pass (1-3 beats, TVALID
held until TREADY), frees its bank after, and puts TLAST on the last tile's last beat. dp_rst resets
all of them. Random stalls on act_stall, wgt_stall and the result sink every cycle; noise on the
inputs the controller must ignore while idle (issue, result valid, abort, stream_err).
"""
from __future__ import annotations

from tb.env.block import pack
from tb.blocks.sps_ctrl_model import SLOT_FLAGS
from tb.blocks.sps_ctrl_stimulus import extreme_desc


def pack_desc(d: dict, p: dict) -> dict:
    """A descriptor as its port values (PAT and FG packed)."""
    return dict(d, pat=pack(d["pat"], 9), fg=pack(d["fg"], p["CH_BITS"]))


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
