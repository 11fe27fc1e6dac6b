"""The array configuration, read from the project's single parameter source, config/sps.json.

RTL defaults (build/gen/sps_config.vh), the compiler and the testbench all come from here:
    python -m compiler.config --vh build/gen/sps_config.vh
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "sps.json"


@dataclasses.dataclass(frozen=True)
class ArrayConfig:
    ROWS: int = 8
    COLS: int = 8
    LANES: int = 8
    ACT_DEPTH: int = 1024
    ACC_DEPTH: int = 1024
    PMAX: int = 8
    DIM_BITS: int = 10
    CH_BITS: int = 12
    OUT_FIFO_DEPTH: int = 8

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"array config: {f.name} must be a positive integer, got {v!r}")
        if self.ROWS > 255 or self.COLS > 255 or self.LANES > 255 or self.PMAX > 255:
            raise ValueError("array config: ROWS, COLS, LANES and PMAX must be <= 255 (CFG0 register fields)")
        if self.OUT_FIFO_DEPTH < 6:
            # the drain keeps 4 reads in flight and the FIFO holds 1 beat in steady state; a shallower
            # FIFO throttles the drain below one beat per cycle
            raise ValueError(f"array config: OUT_FIFO_DEPTH must be >= 6 for a full-rate drain, got {self.OUT_FIFO_DEPTH}")

    @property
    def pes(self) -> int:
        return self.ROWS * self.COLS

    def hdl_parameters(self) -> dict[str, int]:
        """The values passed to the RTL top as Verilog parameters."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **kw) -> "ArrayConfig":
        return dataclasses.replace(self, **kw)

    def verilog_header(self) -> str:
        lines = [
            "// Generated from config/sps.json by `python -m compiler.config --vh`. Do not edit.",
            "`ifndef SPS_CONFIG_VH",
            "`define SPS_CONFIG_VH",
        ]
        for k, v in self.hdl_parameters().items():
            lines.append(f"`define SPS_{k} {v}")
        lines.append("`endif")
        return "\n".join(lines) + "\n"


def load_config(path: str | Path | None = None) -> ArrayConfig:
    path = Path(path) if path else CONFIG_PATH
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"array config {path}: cannot read: {e}") from None
    names = {f.name for f in dataclasses.fields(ArrayConfig)}
    unknown = sorted(k for k in raw if not k.startswith("_") and k not in names)
    if unknown:
        raise ValueError(f"array config {path}: unknown key(s) {unknown}")
    return ArrayConfig(**{k: v for k, v in raw.items() if k in names})


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def clog2(n: int) -> int:
    return max(1, math.ceil(math.log2(n))) if n > 1 else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vh", metavar="FILE", help="write the Verilog header here")
    ap.add_argument("--config", help="config JSON (default config/sps.json)")
    a = ap.parse_args(argv)
    try:
        cfg = load_config(a.config)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.vh:
        p = Path(a.vh)
        p.parent.mkdir(parents=True, exist_ok=True)
        text = cfg.verilog_header()
        if not p.exists() or p.read_text() != text:
            p.write_text(text)
    else:
        print(json.dumps(cfg.hdl_parameters(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
