"""The array configuration: print its parameters, or write the Verilog header the RTL reads its
defaults from. config/sps.json is the single source of every parameter (docs/ARCHITECTURE.md 1); a
--config file overrides the keys it names.

example:
  sps config                                   the parameters of config/sps.json (JSON)
  sps config --config my16x16.json             a 16x16 array's parameters, checked
  sps config --vh build/gen/sps_config.vh      the RTL defaults header (make does this)
"""
from __future__ import annotations

from pathlib import Path

from sps.cli import add_config_argument

HELP = "print the array parameters or write the RTL header"


def add_arguments(ap) -> None:
    ap.add_argument("--vh", metavar="FILE", help="write the Verilog header here (unchanged file: left as it is)")
    add_config_argument(ap)


def run(a) -> int:
    import json

    from compiler.config import load_config

    cfg = load_config(a.config)
    if not a.vh:
        print(json.dumps(cfg.hdl_parameters(), indent=2))
        return 0
    p = Path(a.vh)
    text = cfg.verilog_header()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.read_bytes() != text.encode():   # unchanged: keep the timestamp for make
            p.write_text(text)
    except OSError as e:
        raise OSError(f"--vh {p}: cannot write: {e.strerror or e}") from None
    return 0
