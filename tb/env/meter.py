"""The simulation meter: simulated clock cycles and simulator wall seconds of a run, measured inside
the simulator process (the build is not in it); tb.env.host prints its figures (`sim_line`)."""
from __future__ import annotations

import time

from cocotb.utils import get_sim_time

from tb.env.runner import CLK_NS


class SimMeter:
    """Simulated clock cycles and simulator wall seconds since it was made."""

    def __init__(self):
        self.t0, self.s0 = time.perf_counter(), get_sim_time(unit="ns")

    def figures(self) -> dict:
        cycles = int(round((get_sim_time(unit="ns") - self.s0) / CLK_NS))
        secs = time.perf_counter() - self.t0
        return {"sim_cycles": cycles, "sim_seconds": secs, "sim_cycles_per_s": cycles / secs if secs else 0.0}
