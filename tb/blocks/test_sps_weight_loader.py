"""cocotb tests of sps_weight_loader: the weight stream (section 5.3) into the column-tile headers, the
weight slots (PE double buffer) and the indexing unit, with the slot and bank handshakes.

Stimulus: random small PPS layers (P = 1..PMAX, pattern sizes 1-9, dense, empty phase groups,
raw and requantised) compiled by compiler.compile_layer for the block's parameters; the program's
weight stream is sent as it is and its registers (C, NPAT, PAT[], FG[]) are decoded into the
loader's inputs; HW3 is random.

Model, independent of compiler/ (docs/ARCHITECTURE.md sections 3-5.3, section 7 and the
rtl/sps_weight_loader.v header):
  * loop order: phase groups g with filters f, (f + o) mod P == g, ascending; column tiles of COLS
    filters, tile ct (counted over the program) in accumulator bank ct mod 2; per column tile the
    7 header beats (bias, M, shift of its filters, section 5.3 packing, 0 past them and M, shift 0
    in raw mode: `header_beats` of the output-stage test) and the row tiles of the section 3
    walker rule (`rule_tiles` of the index-walker test); row tile k of the program in slot k mod 2;
    row r's beat = the weights w[f][c][pos] of its (channel, position) for the tile's filters, 0
    for disabled rows and missing filters. The expected stream must equal the compiler's;
  * outputs: a header beat accepted in cycle n is written (bank, beat, data) in cycle n + 1; a row
    beat is written (slot, row, data) with its index (row enable, kernel position) in the cycle it
    is accepted, never into a full slot; the slot is full from 2 cycles after its last row (TEND,
    then full) with its metadata (first / last row tile of the column tile, bank, last pass of the
    program, base channel address = block * HW3 mod 2**AW, MACs per pixel = enabled rows x the
    tile's filters), which stay until it is freed; a free (slot_free_valid, tag) empties it from
    the next cycle;
  * s_tready and bank_claim cycle by cycle (section 7 and the header): after `start` and after a
    column tile, the loader looks at each phase group for a cycle (empty ones too) and then claims
    the column tile's bank (bank_claim, id) in the first cycle the bank is not busy; the 7 header
    beats follow from the next cycle; the first row tile waits for its slot (ready the cycle after
    the slot is seen free); a later row tile of the column tile is taken in the previous tile's
    finalise cycle (the cycle after its last beat) if its slot is free then, else as the first;
    stall = s_tready and not s_tvalid;
  * err: a beat whose TLAST differs from "is the program's last beat" sets err (within 2 cycles:
    the last row of a tile is checked in its finalise cycle); start and rst clear it; rst makes the
    loader idle (slots empty, nothing ready or written) from the next cycle; an early TLAST ends
    the packet: the loader goes idle after that beat (after the finalise cycle, which takes no
    beat, for a tile's last row) and takes nothing more.
Testbench drivers: the stream source with a pause generator; a consumer that frees the full slots
in the order they filled, at once or after a random pass length, and after the pauses of a pause
generator (the window generator); bank_busy set the cycle after a claim and cleared 2-40 cycles
later, or later still by a pause generator (the column tile's passes and the output stage's
drain), both banks busy at the first start and either possibly at later ones (a previous program
still draining).
"""
from __future__ import annotations

import collections

import cocotb
import numpy as np
import pytest
from cocotb.triggers import RisingEdge

from compiler import regs as R
from compiler.compile import compile_layer
from compiler.config import ArrayConfig
from compiler.layer import QLayer, Requant
from models.pps import PPS
from tb.blocks import CFG, run_block, unique
from tb.blocks.test_sps_index_walker import rule_tiles
from tb.blocks.test_sps_output_stage import header_beats
from tb.env.block import (BlockTb, Monitor, Scoreboard, StreamSource, dut_params, pack, pauses, seeded_rng,
                          val, wait_until)

MODULE = "tb.blocks.test_sps_weight_loader"
HDR_BEATS = 7
SIGNALS = ("start", "rst", "s_tvalid", "s_tready", "s_tlast", "s_tdata", "stall", "bank_busy", "bank_claim",
           "bank_claim_id", "hdr_wr_en", "hdr_wr_bank", "hdr_wr_beat", "hdr_wr_data", "w_wr_en", "w_wr_slot",
           "w_wr_row", "w_wr_data", "idx_rowen", "idx_pos", "slot_free_valid", "slot_free_tag", "slot_full",
           "slot_first_rt", "slot_last_rt", "slot_bank", "slot_last_pass", "slot_base_chaddr", "slot_macs", "err")


class Program:
    """A random layer, its compiled weight stream and registers, and what the loader must do with
    them (the model: `items`, one per beat, and `tiles`)."""

    def __init__(self, rng, p: dict, kind: str):
        self.p = p
        cfg = ArrayConfig(ROWS=p["ROWS"], COLS=p["COLS"], LANES=p["LANES"], PMAX=p["PMAX"], CH_BITS=p["CH_BITS"],
                          ACT_DEPTH=p["ACT_DEPTH"])
        nrng = np.random.default_rng(rng.getrandbits(32))
        cmax = (1 << p["CH_BITS"]) - 1
        P = p["PMAX"] if kind == "empty_groups" else rng.randint(1, p["PMAX"])
        if kind == "dense":
            pats = [tuple(range(9))]
        else:
            pats = [tuple(sorted(nrng.choice(9, rng.choice((1, 2, 4, rng.randint(1, 9))), replace=False).tolist()))
                    for _ in range(P)]
        pps = PPS(tuple(pats), rng.randrange(len(pats)))
        P = pps.period
        C = rng.randint(1, min(cmax, 2 * p["LANES"] + 1))
        F = rng.randint(1, max(1, P - 1)) if kind == "empty_groups" else rng.randint(1, min(cmax, 3 * p["COLS"] + 1))
        w = nrng.integers(-128, 128, size=(F, C, 3, 3)).astype(np.int8)
        w = np.where(pps.kernel_mask(F, C), w, 0).astype(np.int8)
        bias = nrng.integers(-2**31, 2**31, size=F, dtype=np.int64).astype(np.int32)
        rq = None
        if rng.random() < 0.5:
            rq = Requant(M=nrng.integers(0, 2**16, size=F).astype(np.uint16),
                         shift=nrng.integers(0, 64, size=F).astype(np.uint8), relu=bool(rng.getrandbits(1)))
        layer = QLayer(name="wl", weight=w, bias=bias, stride=1, padding=1, requant=rq)
        H, W = rng.randint(3, 5), rng.randint(3, 5)
        prog = compile_layer(layer, cfg, pps, H=H, W=W, unfold="never")
        regs = R.decode(prog.bands[0].regs, cfg)
        self.stream = [pack(row, 8) for row in prog.bands[0].wgt.tolist()]
        self.inputs = dict(n_ch=regs["C"], npat=regs["NPAT"], pat=pack(regs["PAT"], 9),
                           fg=pack(regs["FG"], p["CH_BITS"]), hw3b=rng.getrandbits(p["AW"]))
        self.desc = f"C={C} F={F} P={P} o={pps.offset} patterns={pats} {'requant' if rq else 'raw'}"
        self._model(w.reshape(F, C, 9), bias, rq, list(pps.masks), pps.offset, C, F)
        got, want = self.stream, [it["data"] for it in self.items]
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        assert got == want, (f"{self.desc}: the compiler's weight stream ({len(got)} beats) differs from the "
                             f"section 3-5.3 model ({len(want)} beats), first at beat {first}")

    def _model(self, w9, bias, rq, masks, offset, C, F) -> None:
        rows, cols, lanes, aw = self.p["ROWS"], self.p["COLS"], self.p["LANES"], self.p["AW"]
        hw3b = self.inputs["hw3b"]
        P = len(masks)
        self.items: list[dict] = []
        self.tiles: list[dict] = []
        self.groups: list[int] = []               # group of each column tile
        n_ct = 0
        for g in range(P):
            fl = [f for f in range(F) if (f + offset) % P == g]
            tiles = rule_tiles(masks, C, rows, lanes, g)
            for c0 in range(0, len(fl), cols):
                fs = fl[c0:c0 + cols]
                pad = [0] * (cols - len(fs))
                M = [int(rq.M[f]) for f in fs] if rq else [0] * len(fs)
                sh = [int(rq.shift[f]) for f in fs] if rq else [0] * len(fs)
                hdr = header_beats(cols, [int(bias[f]) for f in fs] + pad, M + pad, sh + pad)
                for k, d in enumerate(hdr):
                    self.items.append(dict(kind="hdr", ct=n_ct, group=g, beat=k, bank=n_ct % 2, data=d))
                for t, tile in enumerate(tiles):
                    k = len(self.tiles)
                    enabled = [e for e in tile if e is not None]
                    self.tiles.append(dict(
                        ct=n_ct, slot=k % 2, first_rt=int(t == 0), last_rt=int(t == len(tiles) - 1),
                        bank=n_ct % 2, last_pass=0, chaddr=(enabled[0][0] // lanes * hw3b) % (1 << aw),
                        macs=len(enabled) * len(fs)))
                    for r, e in enumerate(tile):
                        data = pack([int(w9[f][e[0]][e[1]]) for f in fs], 8) if e is not None else 0
                        self.items.append(dict(kind="row", tile=k, row=r, slot=k % 2, data=data,
                                               rowen=int(e is not None), pos=e[1] if e is not None else None,
                                               last_row=r == rows - 1))
                self.groups.append(g)
                n_ct += 1
        self.tiles[-1]["last_pass"] = 1

    def beats(self, fault: str, rng) -> tuple[list, int | None]:
        """(data, last) of every beat: TLAST on the last one, or (fault) also on a header beat
        ("hdr"), a non-last row of a tile ("tile"), the last row of a tile that is not the last
        ("tile_end"), or nowhere ("missing"). Returns them and the index of the faulty beat."""
        n = len(self.items)
        last = [int(i == n - 1) for i in range(n)]
        cand = {"hdr": [i for i, it in enumerate(self.items) if it["kind"] == "hdr"],
                "tile": [i for i, it in enumerate(self.items) if it["kind"] == "row" and not it["last_row"]],
                "tile_end": [i for i, it in enumerate(self.items[:-1]) if it["kind"] == "row" and it["last_row"]],
                "missing": [n - 1]}.get(fault)
        at = rng.choice(cand) if cand else None
        if at is not None:
            last[at] ^= 1
        return list(zip(self.stream, last)), at


class LoaderModel:
    """Expected outputs of the loader cycle by cycle (see the module docstring)."""

    def __init__(self, p: dict, sb: Scoreboard):
        self.p, self.sb = p, sb
        self.prog: Program | None = None          # the program the next start runs
        self.run: Program | None = None
        self.phase, self.w = "idle", 0
        self.i = 0                                # next beat of the program
        self.hdr_due: dict | None = None          # header write due in this cycle
        self.full_due: dict[int, dict] = {}       # cycle -> tile whose slot must turn full then
        self.held = [None, None]                  # metadata of each full slot
        self.fault: int | None = None             # cycle a faulty beat was taken
        self.end_at_tend = False                  # an early TLAST on a tile's last row: TEND, then idle
        self.last_free = (0, 0)                   # slot_free_valid, slot_free_tag of the last cycle
        self.filled: collections.deque = collections.deque()     # slots filled, not yet given to the consumer
        self.written = self.fills = 0
        self.seen = collections.Counter()         # coverage: tiles taken in TEND, slot and bank waits

    def begin(self, prog: Program) -> None:
        self.prog = prog

    def _next_item(self):
        return self.run.items[self.i] if self.run and self.i < len(self.run.items) else None

    def on_cycle(self, n: int, t: dict) -> None:
        full = [(t["slot_full"] >> s) & 1 for s in (0, 1)]
        busy = [(t["bank_busy"] >> b) & 1 for b in (0, 1)]
        item = self._next_item()
        # ---- expected handshake outputs of this cycle
        claim_bank = item["bank"] if item is not None and item["kind"] == "hdr" else None
        exp_claim = int(self.phase == "claim" and n >= self.w and not busy[claim_bank])
        if self.phase in ("hdr", "tile"):
            exp_ready = 1
        elif self.phase == "tend":
            exp_ready = int(item is not None and item["kind"] == "row" and not full[item["slot"]]
                            and not self.end_at_tend)
        else:
            exp_ready = 0
        got = dict(s_tready=t["s_tready"], bank_claim=t["bank_claim"], stall=t["stall"],
                   hdr_wr_en=t["hdr_wr_en"], w_wr_en=t["w_wr_en"])
        acc = int(exp_ready and t["s_tvalid"] == 1)
        exp = dict(s_tready=exp_ready, bank_claim=exp_claim, stall=int(exp_ready and not t["s_tvalid"]),
                   hdr_wr_en=int(self.hdr_due is not None), w_wr_en=int(acc and item["kind"] == "row"))
        if exp_claim:
            got["bank_claim_id"], exp["bank_claim_id"] = t["bank_claim_id"], claim_bank
        if self.hdr_due is not None:
            h = self.hdr_due
            got.update(hdr_wr_bank=t["hdr_wr_bank"], hdr_wr_beat=t["hdr_wr_beat"], hdr_wr_data=t["hdr_wr_data"])
            exp.update(hdr_wr_bank=h["bank"], hdr_wr_beat=h["beat"], hdr_wr_data=h["data"])
        if exp["w_wr_en"]:
            got.update(w_wr_slot=t["w_wr_slot"], w_wr_row=t["w_wr_row"], w_wr_data=t["w_wr_data"],
                       idx_rowen=t["idx_rowen"], slot_was_full=full[item["slot"]])
            exp.update(w_wr_slot=item["slot"], w_wr_row=item["row"], w_wr_data=item["data"], idx_rowen=item["rowen"],
                       slot_was_full=0)
            if item["rowen"]:
                got["idx_pos"], exp["idx_pos"] = t["idx_pos"], item["pos"]
        # err: 0 until a faulty beat is taken, 1 from 2 cycles after it
        if self.fault is None:
            got["err"], exp["err"] = t["err"], 0
        elif n >= self.fault + 2:
            got["err"], exp["err"] = t["err"], 1
        where = (f"beat {self.i} ({item['kind']} {item.get('ct', item.get('tile'))}) in phase {self.phase}"
                 if item is not None else f"phase {self.phase}")
        self.sb.check(n, got, exp, where)
        self._slots(n, t, full)
        self.hdr_due = None
        # ---- state after this cycle
        if t["rst"]:
            self._reset()
            return
        if t["start"] and self.phase == "idle":
            self._start(n)
            return
        if exp_claim:
            self.phase = "hdr"
        elif self.phase == "claim" and n >= self.w:
            self.seen["bank busy at claim"] += 1
        if acc and self.phase == "tend":
            self.seen["tile taken in TEND"] += 1
        if self.phase == "slot" and n >= self.w and item is not None and full[item["slot"]]:
            self.seen["slot wait"] += 1
        if acc:
            self._take(n, t, item)
        elif self.phase == "tend":
            self._tend_no_beat(n, item, full)
        elif self.phase == "slot" and n >= self.w and item is not None and not full[item["slot"]]:
            self.phase = "tile"

    def _slots(self, n: int, t: dict, full: list) -> None:
        """slot_full and the metadata of the full slots."""
        aw, mw = self.p["AW"], self.p["MW"]
        due = self.full_due.pop(n, None)
        for s in (0, 1):
            meta = dict(first_rt=(t["slot_first_rt"] >> s) & 1, last_rt=(t["slot_last_rt"] >> s) & 1,
                        bank=(t["slot_bank"] >> s) & 1, last_pass=(t["slot_last_pass"] >> s) & 1,
                        chaddr=(t["slot_base_chaddr"] >> (s * aw)) & ((1 << aw) - 1),
                        macs=(t["slot_macs"] >> (s * mw)) & ((1 << mw) - 1))
            if due is not None and due["slot"] == s:
                want = {k: due[k] for k in meta}
                self.sb.check(n, dict(full=full[s], **meta), dict(full=1, **want),
                              f"slot {s} 2 cycles after row tile {due['tile']}'s last beat")
                self.held[s] = want
                self.filled.append(s)
                self.fills += 1
            elif self.held[s] is not None and self.last_free == (1, s):
                self.sb.check(n, dict(full=full[s]), dict(full=0), f"slot {s} the cycle after its free")
                self.held[s] = None
            elif self.held[s] is not None:
                self.sb.check(n, dict(full=full[s], **meta), dict(full=1, **self.held[s]), f"full slot {s}")
            else:
                self.sb.check(n, dict(full=full[s]), dict(full=0), f"empty slot {s}")
        self.last_free = (t["slot_free_valid"], t["slot_free_tag"])

    def _reset(self) -> None:
        self.phase, self.run, self.hdr_due, self.fault = "idle", None, None, None
        self.end_at_tend = False
        self.full_due.clear()
        self.filled.clear()
        self.held = [None, None]

    def _start(self, n: int) -> None:
        self.run, self.i, self.fault, self.end_at_tend = self.prog, 0, None, False
        self.phase, self.w = "claim", n + 2 + self.run.groups[0]

    def _take(self, n: int, t: dict, item: dict) -> None:
        if t["s_tlast"] != int(self.i == len(self.run.items) - 1) and self.fault is None:
            self.fault = n
        early = t["s_tlast"] and self.i != len(self.run.items) - 1      # the packet ends here
        self.i += 1
        if item["kind"] == "hdr":
            self.hdr_due = item
            if early:
                self.phase = "idle"
            elif item["beat"] == HDR_BEATS - 1:
                self.phase, self.w = "slot", n + 1
            return
        self.written += 1
        if item["last_row"]:
            tile = self.run.tiles[item["tile"]]
            self.full_due[n + 2] = dict(tile, tile=item["tile"])
            self.phase, self.end_at_tend = "tend", early
        else:
            self.phase = "idle" if early else "tile"

    def _tend_no_beat(self, n: int, nxt: dict | None, full: list) -> None:
        """The finalise cycle without the next tile's first beat: where the loader goes next."""
        if nxt is None or self.end_at_tend:
            self.end_at_tend = False
            self.phase = "idle"
        elif nxt["kind"] == "row":
            self.phase, self.w = ("tile", n + 1) if not full[nxt["slot"]] else ("slot", n + 1)
        else:                                   # a new column tile: a cycle per phase group looked at
            prev = self.run.groups[nxt["ct"] - 1]
            self.phase, self.w = "claim", n + 1 + max(0, nxt["group"] - prev)

    @property
    def finished(self) -> bool:
        return self.run is not None and self.phase == "idle" and not self.full_due


class Env:
    def __init__(self, dut, name: str, stall: str):
        self.p = dut_params(dut, ("ROWS", "COLS", "LANES", "PMAX", "CH_BITS", "ACT_DEPTH", "MW", "RW", "PW", "AW"))
        self.dut, self.name = dut, name
        self.rng = seeded_rng(dut, name)
        self.tb = BlockTb(dut)
        for s in ("start", "n_ch", "pat", "npat", "fg", "hw3b", "bank_busy", "slot_free_valid", "slot_free_tag"):
            getattr(dut, s).value = 0
        self.src = StreamSource(self.tb, self.rng, pauses(stall, self.rng))
        self.slot_pause = pauses(stall, self.rng)
        self.bank_pause = pauses(stall, self.rng)
        self.sb = Scoreboard(dut._log, name)
        self.model = LoaderModel(self.p, self.sb)
        self.claimed: collections.deque = collections.deque()    # (bank, cycles busy at least) to set busy
        self.abort = False
        self.runs = 0
        Monitor(self.tb, lambda: {s: val(getattr(dut, s)) for s in SIGNALS}, "port").add_callback(self._on_cycle)
        cocotb.start_soon(self._consumer())
        cocotb.start_soon(self._banks())

    def _on_cycle(self, n: int, t: dict) -> None:
        self.model.on_cycle(n, t)
        if t["bank_claim"] and not t["rst"]:
            self.claimed.append((t["bank_claim_id"], self.rng.randint(2, 40)))    # its passes and drain

    async def _consumer(self):
        """The window generator: frees the full slots in order, each after its pass (at once, or
        0-3 ROWS + 4 cycles) and the pauses of the generator."""
        dut = self.dut
        hold = None
        while True:
            await RisingEdge(self.tb.clk)
            dut.slot_free_valid.value, dut.slot_free_tag.value = 0, self.rng.getrandbits(1)
            filled = self.model.filled
            if self.abort or not filled:
                hold = None
                continue
            if hold is None:
                hold = self.rng.choice((0, 0, self.rng.randint(1, 3 * self.p["ROWS"] + 4)))
            if hold > 0:
                hold -= 1
            elif not next(self.slot_pause):
                dut.slot_free_valid.value, dut.slot_free_tag.value = 1, filled.popleft()
                hold = None

    async def _banks(self):
        """The output stage: a claimed bank is busy from the next cycle until its drain is over."""
        dut = self.dut
        busy = [0, 0]
        while True:
            await RisingEdge(self.tb.clk)
            for b in (0, 1):                  # count down; from 1, stay until the pause ends
                if busy[b] > 1 or (busy[b] == 1 and next(self.bank_pause)):
                    busy[b] = max(1, busy[b] - 1)
                else:
                    busy[b] = 0
            while self.claimed:
                b, cycles = self.claimed.popleft()
                busy[b] = max(busy[b], cycles)
            dut.bank_busy.value = pack([int(bool(x)) for x in busy], 1)

    def make(self, kind: str = "random") -> Program:
        return Program(self.rng, self.p, kind)

    async def run(self, prog: Program, fault: str = "none", stop_after: int | None = None) -> None:
        """Registers, start and the program's stream; returns when the loader is idle with every
        slot freed (or, with stop_after, once that many beats are taken)."""
        dut = self.dut
        for k, v in prog.inputs.items():
            getattr(dut, k).value = v
        if self.runs == 0:                       # a previous program still draining both banks
            self.claimed.extend((b, self.rng.randint(10, 40)) for b in (0, 1))
        elif self.rng.random() < 0.5:            # or one of them
            self.claimed.extend((b, self.rng.randint(4, 30)) for b in (0, 1) if self.rng.random() < 0.5)
        self.runs += 1
        await self.tb.cycles(4)
        beats, self.fault_at = prog.beats(fault, self.rng)
        self.model.begin(prog)
        base = self.src.accepted
        self.src.send(beats)
        dut.start.value = 1
        await RisingEdge(self.tb.clk)
        dut.start.value = 0
        limit = 60 * len(beats) + 400
        if stop_after is not None:
            if fault not in ("none", "missing") and self.fault_at is not None:
                stop_after = min(stop_after, self.fault_at + 1)              # an early TLAST ends it
            await wait_until(self.tb, lambda: self.src.accepted - base >= stop_after, limit)
            return
        await wait_until(self.tb, lambda: self.model.finished and not self.model.filled and val(dut.slot_full) == 0,
                         limit)
        early = fault not in ("none", "missing") and self.fault_at is not None
        taken = self.fault_at + 1 if early else len(beats)          # an early TLAST ends the packet
        await self.tb.cycles(3)
        assert self.src.accepted - base == taken, f"{self.src.accepted - base} beats taken, expected {taken}"
        self.src.flush()

    async def reset_pulse(self, cycles: int) -> None:
        self.src.flush()
        self.abort = True
        self.dut.rst.value = 1
        await self.tb.cycles(cycles)
        self.dut.rst.value = 0
        self.abort = False


@cocotb.test(timeout_time=50000, timeout_unit="us")
@cocotb.parametrize(stall=["none", "random", "bursts"])
async def weight_programs(dut, stall):
    """Random compiled layers (random patterns, dense, fewer filters than phases: empty groups)
    with the stream, the slot consumer and the bank drains paused by the generator; every header
    write, weight write, index, slot fill and its metadata, claim, s_tready and err checked."""
    env = Env(dut, f"weight_programs[{stall}]", stall)
    await env.tb.reset()
    kinds = ["random"] * 6 + ["dense", "empty_groups", "random"]
    tiles = 0
    for kind in kinds:
        prog = env.make(kind)
        tiles += len(prog.tiles)
        dut._log.info(f"program: {prog.desc}: {len(prog.items)} beats, {len(prog.tiles)} row tiles")
        await env.run(prog)
        await env.tb.cycles(env.rng.randint(0, 3))
    m = env.model
    dut._log.info(f"{len(kinds)} programs: {m.written} weight rows, {m.fills} slot fills; cycles: {dict(m.seen)}")
    env.sb.finish(min_checks=m.written)
    assert m.fills == tiles
    if stall == "none" and env.p["ROWS"] >= 3:      # the consumer frees a slot 2 cycles after it is full
        assert m.seen["tile taken in TEND"] > 0, "no row tile was taken in its predecessor's finalise cycle"
    assert m.seen["bank busy at claim"] > 0, "the loader never waited for a busy bank"
    assert m.seen["slot wait"] > 0, "the loader never waited for a slot"


@cocotb.test(timeout_time=20000, timeout_unit="us")
async def weight_tlast_errors(dut):
    """TLAST early on a header beat, early on a non-last row of a tile, on the last row of a tile
    that is not the program's last, and missing at the end: each sets err (from at most 2 cycles
    after the beat) until the next start, an early one ends the packet (no beat after it is
    taken); correct programs leave it 0."""
    env = Env(dut, "weight_tlast_errors", "random")
    await env.tb.reset()
    for fault in ("hdr", "none", "tile", "tile_end", "none", "missing", "none"):
        prog = env.make()
        while fault != "none" and prog.beats(fault, env.rng)[1] is None:    # e.g. ROWS = 1: no non-last row
            if fault == "tile" and env.p["ROWS"] == 1:
                break
            prog = env.make()
        await env.run(prog, fault)
        want = int(env.fault_at is not None)
        assert val(dut.err) == want, f"TLAST {fault}: err={val(dut.err)}, expected {want}"
    env.sb.finish(min_checks=env.model.written)


@cocotb.test(timeout_time=20000, timeout_unit="us")
async def weight_reset_mid_program(dut):
    """rst (1-3 cycles) in the middle of a program (in a header, a tile, waiting for a slot or a
    bank; err set or not): the loader is idle from the next cycle (slots empty, s_tready, claims
    and writes low, err 0), and the next program is exact."""
    env = Env(dut, "weight_reset_mid_program", "random")
    await env.tb.reset()
    for i in range(5):
        prog = env.make()
        await env.run(prog, "hdr" if i % 2 else "none", stop_after=env.rng.randrange(1, len(prog.items)))
        await env.tb.cycles(env.rng.randint(0, 4))
        await env.reset_pulse(env.rng.randint(1, 3))
        env.src.send(prog.beats("none", env.rng)[0][:4])          # beats offered to the idle loader
        await env.tb.cycles(8)
        env.src.flush()
        assert val(dut.slot_full) == 0 and val(dut.err) == 0 and val(dut.s_tready) == 0
        await env.run(env.make())
    env.sb.finish(min_checks=env.model.written)


# ---- pytest entries -------------------------------------------------------------------------------

def wl_params(rows, cols, lanes, pmax, ch_bits, act_depth):
    return dict(ROWS=rows, COLS=cols, LANES=lanes, PMAX=pmax, CH_BITS=ch_bits, ACT_DEPTH=act_depth)


# small odd shapes: 3 rows on 3 lanes, several rows per lane, a one-row array
WL = unique([wl_params(3, 5, 3, 3, 5, 40), wl_params(4, 3, 2, 5, 6, 64), wl_params(1, 2, 1, 2, 4, 16),
             wl_params(CFG.ROWS, CFG.COLS, CFG.LANES, CFG.PMAX, CFG.CH_BITS, CFG.ACT_DEPTH)])


@pytest.mark.sim
@pytest.mark.parametrize("params", WL, ids=[f"R{p['ROWS']}-C{p['COLS']}-L{p['LANES']}-P{p['PMAX']}" for p in WL])
def test_sps_weight_loader(simulator, params):
    run_block(simulator, "sps_weight_loader", MODULE, params, "wload")
