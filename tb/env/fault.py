"""Fault injection into an input stream of the top-level testbench (the "mem" transport of
tb/hdl/sps_tb.v, whose sources put TLAST on a chosen beat): what each fault does to the beats, and
what the hardware must answer (docs/ARCHITECTURE.md 5.1, soft abort).

  tlast_early    TLAST on beat `at` < the last, the stream going on after it: a framing error; the
                 loader ends the packet at that beat (takes no beat after it), the layer ends with
                 done and STATUS.ERR_STREAM.
  tlast_missing  every beat, no TLAST: a framing error at the last beat, the same answer.
  stops          the stream stops after `at` beats without TLAST (a sender that died): the layer
                 waits; the host's CTRL.ABORT ends it with done and STATUS.ABORTED.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("tlast_early", "tlast_missing", "stops")
STREAMS = ("act", "wgt")


@dataclass(frozen=True)
class Fault:
    stream: str             # "act" or "wgt"
    kind: str               # one of KINDS
    at: int = 0             # tlast_early: the beat with TLAST; stops: the beats sent

    def __post_init__(self):
        if self.stream not in STREAMS:
            raise ValueError(f"fault stream {self.stream!r}: expected one of {', '.join(STREAMS)}")
        if self.kind not in KINDS:
            raise ValueError(f"fault kind {self.kind!r}: expected one of {', '.join(KINDS)}")

    def apply(self, beats: np.ndarray) -> tuple[np.ndarray, int]:
        """(the beats the source sends, the index of the beat with TLAST; >= their number: none)."""
        n = beats.shape[0]
        if self.kind == "tlast_missing":
            return beats, n
        if not 0 <= self.at < n - 1:
            raise ValueError(f"{self}: at={self.at} must be below the stream's last beat ({n - 1})")
        if self.kind == "tlast_early":
            return beats, self.at
        return beats[: self.at], self.at         # stops: `at` beats, none with TLAST

    @property
    def status_bit(self) -> str:
        """The STATUS bit the fault must set: ERR_STREAM for a framing error, ABORTED for a hang."""
        return "ST_ABORTED" if self.kind == "stops" else "ST_ERR_STREAM"
