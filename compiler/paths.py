"""Where the repository is: its root and the folders several packages read (config/, rtl/).
The one module that knows the checkout's layout; it imports nothing of the project, so the
compiler stays importable on its own and sps/, tb/ and the tests take their paths from here."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"        # config/sps.json (the array parameters), energy tables, FPGA ceilings
RTL = ROOT / "rtl"              # the Verilog of the accelerator
