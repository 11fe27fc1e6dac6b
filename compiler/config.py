"""The array configuration, read from the project's single parameter source, config/sps.json.

RTL defaults (build/gen/sps_config.vh), the compiler and the testbench all come from here:
    sps config --vh build/gen/sps_config.vh
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path

from compiler import regs as R
from compiler.paths import CONFIG

CONFIG_PATH = CONFIG / "sps.json"


def _read_json(path: Path) -> dict:
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:          # ValueError: bad JSON or encoding
        raise ValueError(f"array config {path}: cannot read: {e}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"array config {path}: expected a JSON object of parameters, got {type(raw).__name__}")
    unknown = sorted(k for k in raw if not k.startswith("_") and k not in _FIELDS)
    if unknown:
        raise ValueError(f"array config {path}: unknown key(s) {unknown}")
    null = sorted(k for k in _FIELDS if k in raw and raw[k] is None)
    if null:                         # said here, where the file is known
        raise ValueError(f"array config {path}: {null} must be positive integers, got null")
    return {k: v for k, v in raw.items() if k in _FIELDS}


@functools.lru_cache(maxsize=1)
def _defaults() -> dict:
    """config/sps.json: the value of every parameter a config does not set."""
    raw = _read_json(CONFIG_PATH)
    missing = [k for k in _FIELDS if k not in raw]
    if missing:
        raise ValueError(f"array config {CONFIG_PATH}: missing key(s) {missing}")
    return raw


def _from_defaults(name: str):
    """A field whose default is config/sps.json's value, read when an ArrayConfig is made."""
    return dataclasses.field(default_factory=lambda: _defaults()[name])


@dataclasses.dataclass(frozen=True)
class ArrayConfig:
    """The array parameters. A field left out takes its value from config/sps.json, so
    ArrayConfig() is the project's configuration and ArrayConfig(ROWS=4) differs in ROWS only.
    Derived figures (pes) are properties, computed from these."""
    ROWS: int = _from_defaults("ROWS")
    COLS: int = _from_defaults("COLS")
    LANES: int = _from_defaults("LANES")
    ACT_DEPTH: int = _from_defaults("ACT_DEPTH")
    ACC_DEPTH: int = _from_defaults("ACC_DEPTH")
    PMAX: int = _from_defaults("PMAX")
    DIM_BITS: int = _from_defaults("DIM_BITS")
    CH_BITS: int = _from_defaults("CH_BITS")
    OUT_FIFO_DEPTH: int = _from_defaults("OUT_FIFO_DEPTH")
    MACS_PER_DSP: int = _from_defaults("MACS_PER_DSP")

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"array config: {f.name} must be a positive integer, got {v!r}")
        if self.ROWS > 255 or self.COLS > 255 or self.LANES > 255 or self.PMAX > 255:
            raise ValueError("array config: ROWS, COLS, LANES and PMAX must be <= 255 (CFG0 register fields)")
        if self.ROWS % self.LANES:
            # the walker binds array row r to activation lane r mod LANES (ARCHITECTURE section 3)
            raise ValueError(f"array config: LANES={self.LANES} must divide ROWS={self.ROWS}")
        if self.PMAX > R.max_pmax():
            raise ValueError(f"array config: PMAX={self.PMAX} puts FG[] past BATCH (0xFC) in the register map "
                             f"(PMAX must be <= {R.max_pmax()})")
        if self.OUT_FIFO_DEPTH < 8:
            # the drain keeps 6 reads in flight and the FIFO holds 1 beat in steady state; a shallower
            # FIFO throttles the drain below one beat per cycle
            raise ValueError(f"array config: OUT_FIFO_DEPTH must be >= 8 for a full-rate drain, got {self.OUT_FIFO_DEPTH}")
        if self.MACS_PER_DSP not in (1, 2):
            # rtl/sps_array.v: sps_pe (one int8 MAC per multiplier) or sps_pe_pair (two columns, one DSP)
            raise ValueError(f"array config: MACS_PER_DSP must be 1 or 2, got {self.MACS_PER_DSP}")

    @property
    def pes(self) -> int:
        return self.ROWS * self.COLS

    @property
    def pe_sum_lat(self) -> int:
        """Cycles by which a PE adds its product after the activation arrives (rtl/sps_array.v):
        2 for sps_pe, 3 for sps_pe_pair (the products are separated in a stage of their own)."""
        return 3 if self.MACS_PER_DSP == 2 else 2

    @property
    def array_dsps(self) -> int:
        """Multipliers (MULT18X18D) of the array: one per PE, or one per pair of columns."""
        return self.ROWS * (self.COLS if self.MACS_PER_DSP == 1 else -(-self.COLS // 2))

    @property
    def dsps(self) -> int:
        """Multipliers of the design: the array's and one per requantisation lane (a lane a column)."""
        return self.array_dsps + self.COLS

    def hdl_parameters(self) -> dict[str, int]:
        """The values passed to the RTL top as Verilog parameters."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **kw) -> "ArrayConfig":
        return dataclasses.replace(self, **kw)

    def verilog_header(self) -> str:
        lines = [
            "// Generated from config/sps.json by `sps config --vh`. Do not edit.",
            "`ifndef SPS_CONFIG_VH",
            "`define SPS_CONFIG_VH",
        ]
        for k, v in self.hdl_parameters().items():
            lines.append(f"`define SPS_{k} {v}")
        lines.append("`endif")
        return "\n".join(lines) + "\n"



_FIELDS = tuple(f.name for f in dataclasses.fields(ArrayConfig))     # the parameter names

def load_config(path: str | Path | None = None) -> ArrayConfig:
    """The configuration in `path` (default config/sps.json); keys it leaves out come from
    config/sps.json."""
    path = Path(path) if path else CONFIG_PATH
    try:
        return ArrayConfig(**_read_json(path))
    except ValueError as e:              # said with the file: ArrayConfig does not know it
        raise ValueError(str(e).replace("array config: ", f"array config {path}: ", 1)) from None


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def clog2(n: int) -> int:
    return max(1, math.ceil(math.log2(n))) if n > 1 else 1
