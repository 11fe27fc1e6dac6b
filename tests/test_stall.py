"""tb.env.stall: the back-pressure shapes of the top-level environment. The chain's long-run paused
fraction is p and its mean pause length is the burst (measured on the Python generator, which uses
the same rates as the HDL generators); impossible shapes are refused."""
from __future__ import annotations

import random
import re

import numpy as np
import pytest

from tb.env.stall import Stall, as_stall


def _runs(gen, n=200_000):
    """(paused fraction, mean length of the paused runs) over n cycles."""
    seq = np.fromiter((next(gen) for _ in range(n)), dtype=bool, count=n)
    lengths, cur = [], 0
    for v in seq:
        if v:
            cur += 1
        elif cur:
            lengths.append(cur)
            cur = 0
    return seq.mean(), (np.mean(lengths) if lengths else 0.0)


@pytest.mark.parametrize("p, burst", [(0.3, None), (0.5, 64), (0.2, 4), (0.7, 8)])
def test_fraction_and_burst(p, burst):
    frac, mean_len = _runs(Stall(p, burst).generator(random.Random(1)))
    assert abs(frac - p) < 0.03, (frac, p)
    want = burst if burst else 1 / (1 - p)            # Bernoulli: geometric runs
    assert abs(mean_len - want) / want < 0.15, (mean_len, want)


def test_never_paused():
    s = Stall(0.0)
    assert s.generator(random.Random(0)) is None and s.rates == (0.0, 1.0)


@pytest.mark.parametrize("p, burst, words", [(1.0, None, "outside [0, 1)"), (-0.1, None, "outside"),
                                             (0.3, 0.5, "below 1 cycle"), (0.9, 4, "p <= L / (L + 1)")])
def test_refused(p, burst, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        Stall(p, burst)


def test_as_stall():
    assert as_stall(0.25) == Stall(0.25)
    assert as_stall({"p": 0.5, "burst": 64}) == Stall(0.5, 64)
    assert as_stall(None) == Stall()
    assert as_stall(Stall(0.1)) == Stall(0.1)
