"""Back-pressure shapes for the top-level environment's streams (tb/env/transports.py): the same two-state
Markov chain drives the HDL stall generators of the "mem" transport (tb/hdl/sps_tb_pause.v) and the
cocotbext-axi pause generators of the "axi" one. No cocotb here: the sps commands check a stall
before they start a simulation."""
from __future__ import annotations

import dataclasses
import random


@dataclasses.dataclass(frozen=True)
class Stall:
    """Back-pressure on a stream: paused a fraction p of the cycles in the long run, in pauses of
    mean length `burst` cycles (burst=None: each cycle independently, Bernoulli p). A two-state
    Markov chain: running -> paused with probability `enter`, paused -> running with `leave`."""
    p: float = 0.0
    burst: float | None = None

    def __post_init__(self):
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"stall probability {self.p} is outside [0, 1)")
        if self.burst is not None and self.burst < 1.0:
            raise ValueError(f"stall burst length {self.burst} is below 1 cycle")
        if self.burst is not None and self.p / (1.0 - self.p) > self.burst:
            # running -> paused would need a probability above 1
            raise ValueError(f"stall fraction {self.p} with pauses of {self.burst:g} cycles: the runs between "
                             f"pauses would be shorter than a cycle (needs p <= L / (L + 1))")

    @property
    def rates(self) -> tuple[float, float]:
        """(enter, leave) per-cycle probabilities."""
        if self.p == 0.0:
            return 0.0, 1.0
        if self.burst is None:
            return self.p, 1.0 - self.p
        leave = 1.0 / self.burst
        return leave * self.p / (1.0 - self.p), leave

    def generator(self, rng: random.Random):
        """The same chain for cocotbext-axi's pause generators (None: never paused)."""
        if self.p == 0.0:
            return None
        enter, leave = self.rates

        def gen():
            paused = False
            while True:
                paused = (rng.random() >= leave) if paused else (rng.random() < enter)
                yield paused
        return gen()


def as_stall(spec) -> Stall:
    """A float p (Bernoulli), a Stall, or {"p": .., "burst": ..} (test cases are JSON)."""
    if isinstance(spec, Stall):
        return spec
    if isinstance(spec, dict):
        return Stall(float(spec.get("p", 0.0)), spec.get("burst"))
    return Stall(float(spec or 0.0))
