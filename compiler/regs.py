"""The AXI4-Lite register map (docs/ARCHITECTURE.md section 5.1) and the weight stream's header
size (5.3): addresses and helpers shared by the program builder, the functional model, the cycle
model and the testbench."""
from __future__ import annotations

CTRL = 0x00
STATUS = 0x04
CTRL_START = 1 << 0     # CTRL bits (written; self-clearing)
CTRL_ABORT = 1 << 1
ST_BUSY = 1 << 0        # STATUS bits
ST_DONE = 1 << 1
ST_ERR_STREAM = 1 << 2
ST_ERR_CONFIG = 1 << 3
ST_ABORTED = 1 << 4
C = 0x08
H = 0x0C
W = 0x10
HOUT = 0x14
WOUT = 0x18
STRIDE = 0x1C
PAD_TOP = 0x20
PAD_LEFT = 0x24
MODE = 0x28
NPAT = 0x2C
PAT_BASE = 0x30
BATCH = 0xFC           # the last word of the RW block: images per band (PAT[] and FG[] stay below it)
CYCLES = 0x100
BUSY = 0x104
MACS_LO = 0x108
MACS_HI = 0x10C
STALL_ACT = 0x110
STALL_WGT = 0x114
STALL_RES = 0x118
PASSES = 0x11C
CFG0 = 0x180
CFG1 = 0x184
CFG2 = 0x188

HEADER_BEATS = 7       # weight stream (section 5.3): header beats per column tile (bias 4, M 2, shift 1)

MODE_REQUANT = 1
MODE_RELU = 2


def mode_bits(requant: bool, relu: bool) -> int:
    """The MODE register: bit 0 requantise to int8, bit 1 ReLU."""
    return (MODE_REQUANT if requant else 0) | (MODE_RELU if relu else 0)

SCALAR_RW = (("C", C), ("H", H), ("W", W), ("HOUT", HOUT), ("WOUT", WOUT), ("STRIDE", STRIDE),
             ("PAD_TOP", PAD_TOP), ("PAD_LEFT", PAD_LEFT), ("MODE", MODE), ("NPAT", NPAT))


def max_pmax() -> int:
    """Largest PMAX for which PAT[] and FG[] stay below BATCH (0xFC, before the counters at 0x100)."""
    return (BATCH - PAT_BASE) // 8


def pat(i: int, cfg) -> int:
    return PAT_BASE + 4 * i


def fg(g: int, cfg) -> int:
    return PAT_BASE + 4 * cfg.PMAX + 4 * g


def rw_registers(cfg) -> list[tuple[int, str]]:
    """Every RW register (address, name) in address order: CTRL (write-only start) excluded."""
    out = [(a, n) for n, a in SCALAR_RW]
    out += [(pat(i, cfg), f"PAT[{i}]") for i in range(cfg.PMAX)]
    out += [(fg(g, cfg), f"FG[{g}]") for g in range(cfg.PMAX)]
    out.append((BATCH, "BATCH"))
    return out


def decode(regs, cfg) -> dict:
    """(address, value) pairs or {address: value} -> {name: value} with lists PAT and FG.
    Raises ValueError when a RW register is missing or an unknown address is given."""
    d = dict(regs.items()) if isinstance(regs, dict) else {}
    if not isinstance(regs, dict):
        for item in regs:
            a, v = (int(x) for x in item)
            d[a] = v
    names = dict(rw_registers(cfg))
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ValueError(f"registers: unknown RW address(es) {[hex(a) for a in unknown]}")
    missing = [names[a] for a in sorted(set(names) - set(d))]
    if missing:
        raise ValueError(f"registers: missing {missing}")
    out = {n: int(d[a]) & 0xFFFFFFFF for n, a in SCALAR_RW}
    out["PAT"] = [int(d[pat(i, cfg)]) & 0xFFFFFFFF for i in range(cfg.PMAX)]
    out["FG"] = [int(d[fg(g, cfg)]) & 0xFFFFFFFF for g in range(cfg.PMAX)]
    out["BATCH"] = int(d[BATCH]) & 0xFFFFFFFF
    return out
