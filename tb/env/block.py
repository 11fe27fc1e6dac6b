"""Shared pieces of the per-block cocotb testbenches (tb/blocks/test_<module>.py).

Conventions (the same in every block test):
  * one clock period = one *cycle*; `BlockTb.cycle` counts rising edges since the clock started;
  * drivers change DUT inputs right after a rising edge, so the next rising edge captures them;
  * monitors sample at the falling edge, when everything is stable: in cycle n they see the inputs
    the DUT captures at the end of cycle n and the register outputs updated at its start. A block
    with latency L therefore shows the result of cycle-n inputs in the samples of cycle n + L;
  * models are written from docs/ARCHITECTURE.md and the RTL header comments (the contract), not
    from the RTL body; scoreboards compare what the monitors saw against them and fail the test if
    anything differed, or if nothing was compared at all.
Parameters are read from the DUT handles (both Icarus and Verilator expose them); the runner also
passes them in SPS_PARAMS (JSON), used when a simulator does not expose a parameter, and the two
must agree. Derived widths (RW, LW, ...: localparams of the blocks, never passed) are computed from
the primary parameters with the RTL's formula (DERIVED) and checked against the DUT's localparam,
which both simulators expose too. Random stimulus is reproducible: SPS_SEED (default 1) and the
test's name seed it.
"""
from __future__ import annotations

import bisect
import collections
import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from compiler.config import clog2
from tb.env.runner import CLK_NS
from tb.env.stall import Stall

# The blocks' derived widths: localparam name -> (the primary parameters it comes from, formula),
# as the RTL computes them ((N > 1) ? $clog2(N) : 1, or $clog2(N + 1) for a count of 0..N).
DERIVED = {
    "RW": (("ROWS",), clog2),                           # array row index
    "LW": (("LANES",), clog2),                          # bank (lane) index
    "PW": (("PMAX",), clog2),                           # phase / pattern index
    "AW": (("ACT_DEPTH",), clog2),                      # activation buffer address
    "PXW": (("ACC_DEPTH",), clog2),                     # pixel index
    "FCW": (("OUT_FIFO_DEPTH",), lambda n: clog2(n + 1)),   # result FIFO count
    "BW": (("ACC_DEPTH",), lambda n: clog2(n + 1)),      # the BATCH register (a count 0..ACC_DEPTH)
    "CW": (("DEPTH",), lambda n: clog2(n + 1)),         # sps_fifo count
}


# ---- parameters, seeds, bit packing ------------------------------------------------------------

def _dut_value(dut, name: str) -> int | None:
    try:
        return int(getattr(dut, name).value)
    except (AttributeError, ValueError, TypeError):
        return None


def dut_params(dut, names) -> dict[str, int]:
    """The DUT's HDL parameters `names` (and the primary ones the derived among them come from).
    Primary: from its handle if exposed, else from SPS_PARAMS. Derived (DERIVED): computed from the
    primary ones, and checked against the DUT's localparam if exposed."""
    env = json.loads(os.environ.get("SPS_PARAMS", "{}"))
    out = {}
    seen = {}                       # derived name -> whether the DUT exposed it (for the log)

    def primary(n):
        if n not in out:
            got, want = _dut_value(dut, n), env.get(n)
            if got is not None and want is not None:
                assert got == int(want), f"DUT parameter {n} = {got}, the runner asked for {want}"
            if got is None and want is None:
                raise AssertionError(f"parameter {n}: not exposed by the simulator and not in SPS_PARAMS")
            out[n] = got if got is not None else int(want)
        return out[n]

    for n in names:
        if n not in DERIVED:
            primary(n)
            continue
        deps, formula = DERIVED[n]
        value = formula(*[primary(d) for d in deps])
        got = _dut_value(dut, n)
        if got is not None:
            assert got == value, (f"DUT localparam {n} = {got}, expected {value} from "
                                  f"{', '.join(f'{d}={out[d]}' for d in deps)}")
        out[n] = value
        seen[n] = got is not None
    if seen:
        dut._log.info("derived widths " + ", ".join(
            f"{n}={out[n]} ({'= DUT localparam' if ok else 'DUT does not expose it'})" for n, ok in seen.items()))
    return out


def seeded_rng(dut, name: str) -> random.Random:
    """Reproducible random source for one test: SPS_SEED and the test's (unique) name."""
    seed = os.environ.get("SPS_SEED", "1")
    dut._log.info(f"{name}: random seed SPS_SEED={seed} (rerun with the same value to reproduce)")
    return random.Random(f"{seed}:{name}")


def mask(v: int, bits: int) -> int:
    return int(v) & ((1 << bits) - 1)


def sext(v: int, bits: int) -> int:
    v = mask(v, bits)
    return v - (1 << bits) if v >> (bits - 1) else v


def pack(values, width: int) -> int:
    """values[0] in the lowest `width` bits (the RTL's `x[i*width +: width]`)."""
    out = 0
    for i, v in enumerate(values):
        out |= mask(v, width) << (i * width)
    return out


def unpack(word: int, n: int, width: int, signed: bool = False) -> list[int]:
    vals = [(word >> (i * width)) & ((1 << width) - 1) for i in range(n)]
    return [sext(v, width) for v in vals] if signed else vals


def val(handle) -> int | None:
    """A signal's value as an unsigned int, None if it holds X/Z."""
    v = handle.value
    try:
        return int(v)
    except ValueError:
        return None


def rand_int(rng: random.Random, bits: int, signed: bool, p_extreme: float = 0.25) -> int:
    """Uniform value, or (with probability p_extreme) one of the range's corner values."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if rng.random() < p_extreme:
        return rng.choice([lo, hi, 0, 1, -1 if signed else hi - 1, lo + 1])
    return rng.randint(lo, hi)


# ---- clock / reset, driver, monitor, scoreboard ------------------------------------------------

def reset_pulses(rng: random.Random, n: int, p: float) -> list[int]:
    """n cycles of a reset input: each cycle without reset starts one with chance p, 1-3 cycles
    long (the mid-stream reset tests of the blocks)."""
    out, left = [], 0
    for _ in range(n):
        if left == 0 and p and rng.random() < p:
            left = rng.randint(1, 3)
        out.append(int(left > 0))
        left = max(0, left - 1)
    return out


class BlockTb:
    """Clock, reset and the cycle counter shared by a block's driver, monitors and scoreboard."""

    def __init__(self, dut, clk: str = "clk", rst: str | None = "rst"):
        self.dut = dut
        self.log = dut._log
        self.clk = getattr(dut, clk)
        self.rst = getattr(dut, rst) if rst else None
        self.cycle = 0
        cocotb.start_soon(Clock(self.clk, CLK_NS, unit="ns").start())
        cocotb.start_soon(self._count())

    async def _count(self):
        while True:
            await RisingEdge(self.clk)
            self.cycle += 1

    async def reset(self, cycles: int = 3) -> None:
        """Synchronous reset; returns just after a rising edge, with reset released."""
        if self.rst is not None:
            self.rst.value = 1
        await ClockCycles(self.clk, cycles)
        if self.rst is not None:
            self.rst.value = 0

    async def cycles(self, n: int) -> None:
        await ClockCycles(self.clk, n)


class CycleDriver:
    """Applies one dict {input name: value} per cycle (values are masked to the port width)."""

    def __init__(self, tb: BlockTb, names, idle: dict | None = None):
        self.tb = tb
        self.sig = {n: getattr(tb.dut, n) for n in names}
        self.idle = dict(idle or {})

    def apply(self, item: dict) -> None:
        for k, v in item.items():
            h = self.sig[k]
            h.value = mask(v, len(h))

    async def drive(self, items) -> None:
        """Call right after a rising edge: item i is captured by the i-th next rising edge."""
        for it in items:
            self.apply(it)
            await RisingEdge(self.tb.clk)
        if self.idle:
            self.apply(self.idle)

    def sample(self) -> dict:
        """The driven inputs as the DUT sees them ({name: value, None while unknown}): the sample of
        an input monitor."""
        return {n: val(h) for n, h in self.sig.items()}


async def start_block(dut, inputs) -> tuple[BlockTb, CycleDriver]:
    """The start of a block test whose inputs idle at 0: the clock, a driver of `inputs` that
    returns them to 0 after each drive, and the reset, with every input at 0 through it."""
    tb = BlockTb(dut)
    idle = {n: 0 for n in inputs}
    drv = CycleDriver(tb, inputs, idle=idle)
    drv.apply(idle)
    await tb.reset()
    return tb, drv


class Monitor:
    """Calls `sample()` at every falling edge; a result other than None goes, with the cycle
    number, to every callback. Keep input and output monitors separate: models subscribe to the
    former, scoreboards to the latter."""

    def __init__(self, tb: BlockTb, sample, name: str):
        self.tb = tb
        self.sample = sample
        self.name = name
        self.callbacks = []
        self.count = 0
        self._task = cocotb.start_soon(self._run())

    def add_callback(self, cb) -> None:
        self.callbacks.append(cb)

    async def _run(self):
        while True:
            await FallingEdge(self.tb.clk)
            txn = self.sample()
            if txn is None:
                continue
            self.count += 1
            for cb in self.callbacks:
                cb(self.tb.cycle, txn)

    def stop(self) -> None:
        self._task.cancel()


class Scoreboard:
    """Compares observed items with expected ones (dicts of named fields).

    Two ways to feed it: `check(cycle, got, exp)` for cycle-exact comparisons (the model computes
    `exp` for that cycle), or the in-order queue `expect(item)` / `observe(cycle, item)` for streams
    where only order matters. `finish()` raises if anything differed, if expected items were never
    observed (dropped) or unexpected ones appeared (duplicated), or if nothing was compared."""

    def __init__(self, log, name: str, max_report: int = 8):
        self.log = log
        self.name = name
        self.max_report = max_report
        self.checked = 0
        self.errors: list[str] = []
        self.queue: list = []
        self.extra = 0

    def error(self, msg: str) -> None:
        """Record a failure found outside a comparison (e.g. a protocol checker)."""
        if len(self.errors) < self.max_report:
            self.log.error(f"{self.name}: {msg}")
        self.errors.append(msg)

    def check(self, cycle: int, got: dict, exp: dict, what: str = "") -> bool:
        self.checked += 1
        bad = {k: (got.get(k), v) for k, v in exp.items() if got.get(k) != v}
        if bad:
            desc = ", ".join(f"{k}: got {_fmt(g)} expected {_fmt(e)}" for k, (g, e) in bad.items())
            self.error(f"cycle {cycle} {what}: {desc}")
            return False
        return True

    def check_lanes(self, cycle: int, o: dict, n: int, data: str, width: int, expected, what: str) -> list[dict]:
        """Check an n-lane vector output: o["valid"] and o["tag"] (1 bit a lane) and o[data] (`width`
        signed bits a lane) against expected(cycle, lane), a dict or None (lane not checked); only the
        keys the expectation has are compared (e.g. tag and data only where the lane is expected
        valid). Returns the expectations met."""
        vs, ts = unpack(o["valid"], n, 1), unpack(o["tag"], n, 1)
        ds = unpack(o[data], n, width, signed=True) if o[data] is not None else [None] * n
        met = []
        for j in range(n):
            exp = expected(cycle, j)
            if exp is None:
                continue
            got = {"valid": vs[j], "tag": ts[j], data: ds[j]}
            if self.check(cycle, got, exp, f"{what} {j}"):
                met.append(exp)
        return met

    def expect(self, item: dict) -> None:
        self.queue.append(item)

    def observe(self, cycle: int, item: dict, what: str = "") -> None:
        if not self.queue:
            self.extra += 1
            self.error(f"cycle {cycle} {what}: unexpected item {_fmt(item)} (nothing expected)")
            return
        self.check(cycle, item, self.queue.pop(0), what)

    def finish(self, min_checks: int = 1) -> None:
        if self.queue:
            self.error(f"{len(self.queue)} expected item(s) never observed, first {_fmt(self.queue[0])}")
        self.log.info(f"{self.name}: {self.checked} comparisons, {len(self.errors)} error(s)")
        assert not self.errors, (f"{self.name}: {len(self.errors)} error(s); first: {self.errors[0]}")
        assert self.checked >= min_checks, (f"{self.name}: only {self.checked} comparisons "
                                             f"(expected at least {min_checks}): the test checked nothing")


def _fmt(v) -> str:
    if isinstance(v, int) and abs(v) > 1 << 20:
        return hex(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)) and len(v) > 24:
        return f"[{', '.join(_fmt(x) for x in v[:24])}, ... ({len(v)} values)]"
    return repr(v)


class History:
    """Values of a register written at known cycles: a write driven in cycle k is visible from
    cycle k + 1 on. `at(c)` is the value during cycle c (`init` before any write)."""

    def __init__(self, init=0):
        self.cycles: list[int] = []
        self.values: list = []
        self.init = init

    def write(self, cycle: int, value) -> None:
        self.cycles.append(cycle)
        self.values.append(value)

    def at(self, cycle: int):
        i = bisect.bisect_left(self.cycles, cycle)     # writes with k < cycle
        return self.values[i - 1] if i else self.init


# The pause generators of the block tests' streams and handshakes (tb.env.stall): never paused,
# paused in random single cycles, paused in bursts (12 cycles on average, half of the time).
PAUSES = {"none": Stall(0.0), "random": Stall(0.4), "bursts": Stall(0.5, burst=12.0)}


def pauses(kind: str, rng: random.Random):
    """An endless generator of booleans (True: pause this cycle) of PAUSES[kind]."""
    gen = PAUSES[kind].generator(rng)
    return gen if gen is not None else iter(lambda: False, True)


class StreamSource:
    """AXI4-Stream source into a block (`<prefix>tdata`, `tvalid`, `tlast`; `tready` from the
    DUT): sends the queued beats (data, last) in order. TVALID is withheld in the cycles the pause
    generator says, but a beat once offered stays, unchanged, until TREADY takes it; while TVALID
    is low, TDATA and TLAST carry random values. `accepted` counts the beats taken."""

    def __init__(self, tb: BlockTb, rng: random.Random, pause, prefix: str = "s_t"):
        dut = tb.dut
        self.tb, self.rng, self.pause = tb, rng, pause
        self.data, self.valid = getattr(dut, prefix + "data"), getattr(dut, prefix + "valid")
        self.last, self.ready = getattr(dut, prefix + "last"), getattr(dut, prefix + "ready")
        self.queue: collections.deque = collections.deque()
        self.offered = None
        self.accepted = 0
        self._idle()
        cocotb.start_soon(self._run())

    def send(self, beats) -> None:
        self.queue.extend(beats)

    def flush(self) -> None:
        """Drop every beat not yet taken (the DUT is being reset)."""
        self.queue.clear()
        self.offered = None
        self._idle()

    @property
    def empty(self) -> bool:
        return not self.queue and self.offered is None

    def _idle(self) -> None:
        self.valid.value = 0
        self.data.value = self.rng.getrandbits(len(self.data))
        self.last.value = self.rng.getrandbits(1)

    async def _run(self):
        while True:
            await FallingEdge(self.tb.clk)
            ready = val(self.ready) == 1
            await RisingEdge(self.tb.clk)
            if self.offered is not None and ready:
                self.accepted += 1
                self.offered = None
            if self.offered is None:
                if self.queue and not next(self.pause):
                    self.offered = self.queue.popleft()
                    self.data.value, self.last.value = self.offered
                    self.valid.value = 1
                else:
                    self._idle()


async def wait_until(tb: BlockTb, cond, max_cycles: int = 100000) -> int:
    """Wait for a cycle in which cond() holds (sampled at the falling edge); return right after
    the rising edge that ends it (where drivers act). Returns the number of cycles waited."""
    for n in range(max_cycles):
        await FallingEdge(tb.clk)
        ok = cond()
        await RisingEdge(tb.clk)
        if ok:
            return n
    raise AssertionError(f"condition not met within {max_cycles} cycles")


async def start_checked_block(dut, name: str, inputs, model, sample_in, sample_out, what: str):
    """start_block, a monitor feeding every cycle's inputs (sample_in()) to model.on_input(cycle,
    inputs), and one checking every cycle's outputs (sample_out()) against model.expected(cycle)
    (None: nothing to check yet). Returns (tb, driver, scoreboard)."""
    tb, drv = await start_block(dut, inputs)
    sb = Scoreboard(dut._log, name)
    Monitor(tb, sample_in, "in").add_callback(model.on_input)

    def on_output(cycle, got):
        exp = model.expected(cycle)
        if exp is not None:
            sb.check(cycle, got, exp, what)
    Monitor(tb, sample_out, "out").add_callback(on_output)
    return tb, drv, sb
