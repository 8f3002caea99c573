"""Post-processing memory stays bounded: 10**6 shots on NH3 (16 qubits, 3057 terms)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from hybridq.estimators import ClassicalShadows, Grouping, PauliTerms
from hybridq.operators import PauliSum


@pytest.mark.slow
def test_million_shots_on_nh3_use_little_memory():
    terms = PauliTerms.from_operator(PauliSum.from_molecule("NH3_STO-3G"))
    assert terms.n_qubits == 16 and len(terms) + 1 == 3057
    rng = np.random.default_rng(0)
    shots = 1_000_000
    outcomes = rng.integers(0, 2**16, size=shots)
    for est in (ClassicalShadows(terms), Grouping(terms)):
        bases = est.fit().bases(shots, seed=1)
        tracemalloc.start()
        res = est.estimate(bases, outcomes)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert res.shots == shots and np.isfinite(res.value)
        assert peak < 1 << 30, f"{type(est).__name__} peaked at {peak / 2**20:.0f} MiB"
