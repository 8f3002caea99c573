"""Runs and estimates stream their shots in chunks: the same numbers as in one piece, bounded
memory, and a local measurement (a tree of collapsed states) that follows Born's rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hybridq.estimators import ClassicalShadows, Derandomized, Grouping, LocallyBiasedShadows, base, measure_bases
from hybridq.estimators.measure import sample_counts

from estimator_reference import basis_probabilities

ROOT = Path(__file__).resolve().parents[2]
METHODS = {
    "shadows": lambda H: ClassicalShadows(H),
    "median-of-means": lambda H: ClassicalShadows(H, batches=5),
    "lbcs-ratio": lambda H: LocallyBiasedShadows(H, estimator="ratio"),
    "grouping": lambda H: Grouping(H),
    "derandomized": lambda H: Derandomized(H, n_bases=7),
}


@pytest.mark.parametrize("name", METHODS)
def test_a_chunked_run_equals_one_estimate_of_its_shots(name, random_problem, monkeypatch):
    H, psi = random_problem
    est = METHODS[name](H).fit()
    recorded = []

    def device(state, bases, generator):  # a user's measurement function that records what it measured
        outcomes = measure_bases(state, bases, generator)
        recorded.append((bases.copy(), outcomes))
        return outcomes

    monkeypatch.setattr(base, "CHUNK_SHOTS", 700)
    run = est.run(psi, 5000, backend=device, seed=3)
    assert len(recorded) == (8 if est.iid_bases else 1) + (name == "median-of-means") * 2
    bases = np.concatenate([b for b, _ in recorded])
    outcomes = np.concatenate([o for _, o in recorded])
    whole = est.estimate(bases, outcomes)
    monkeypatch.setattr(base, "CHUNK_SHOTS", 1 << 20)
    unchunked = est.estimate(bases, outcomes)
    assert run.shots == whole.shots == unchunked.shots == 5000
    for other in (whole, unchunked):
        assert run.value == pytest.approx(other.value, rel=1e-12, abs=1e-12)
        assert run.stderr == pytest.approx(other.stderr, rel=1e-12, abs=1e-12)


def test_the_same_seed_gives_the_same_run(random_problem):
    H, psi = random_problem
    a, b = (LocallyBiasedShadows(H).run(psi, 3000, seed=5) for _ in range(2))
    assert a == b


@pytest.mark.parametrize("basis", [[1, 2, 3, 1], [2, 2, 1, 3], [3, 3, 3, 3]])
def test_tree_sampling_follows_born_probabilities(basis, random_problem):
    _, psi = random_problem
    shots = 200_000
    rows, outcomes, counts = sample_counts(psi, [basis], [shots], np.random.default_rng(1))
    freq = np.bincount(outcomes, weights=counts, minlength=16) / shots
    p = basis_probabilities(psi, np.array(basis))
    assert counts.sum() == shots and set(rows) == {0}
    assert np.abs(freq - p).max() < 5 * np.sqrt(p.max() / shots)


def test_many_bases_share_the_tree_and_keep_their_counts(random_problem):
    _, psi = random_problem
    rng = np.random.default_rng(2)
    bases = np.unique(rng.integers(1, 4, size=(60, 4)), axis=0)
    counts = rng.integers(0, 50, size=len(bases))
    rows, outcomes, found = sample_counts(psi, bases, counts, rng)
    assert np.array_equal(np.bincount(rows, weights=found, minlength=len(bases)), counts)
    assert len(set(zip(rows.tolist(), outcomes.tolist()))) == len(rows)  # one entry per (basis, outcome)


MEMORY = """
import resource, sys
import numpy as np
from hybridq.estimators import {method}
from hybridq.operators import PauliSum
from hybridq.sim import ground_state
H = PauliSum.from_molecule("{molecule}")
_, psi = ground_state(H)
est = {method}(H).fit()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
res = est.run(psi, {shots}, seed=0)
print(res.shots, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
"""


@pytest.mark.slow
@pytest.mark.parametrize("method, shots", [("Grouping", 10**8), ("LocallyBiasedShadows", 5 * 2 * base.CHUNK_SHOTS)])
def test_memory_does_not_grow_with_the_shots(method, shots):
    # runs of 1/5 and all of the shots: a random-basis run measures at least two chunks in both
    def run(n):
        code = MEMORY.format(method=method, molecule="LiH_STO-3G", shots=n)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=900,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "CI": "1"})
        assert done.returncode == 0, done.stderr
        measured, grown = map(int, done.stdout.split())
        assert measured == n
        return grown

    small, large = run(shots // 5), run(shots)
    assert large < small + 100, f"{method}: {shots:,} shots grew the peak by {large} MiB ({shots // 5:,}: {small} MiB)"


def test_a_state_handed_to_a_backend_never_becomes_a_unitary():
    from hybridq.backends import LocalBackend
    from hybridq.backends.base import state_preparation
    from hybridq.errors import StateTooLargeError

    psi = np.zeros(2**14)
    psi[5] = 1.0  # |00000000000101>
    rows, outcomes, counts = LocalBackend(seed=0).measure_counts(psi, [[3] * 14, [0] * 14], [7, 3])
    assert rows.tolist() == [0, 1] and outcomes.tolist() == [5, 5] and counts.tolist() == [7, 3]
    with pytest.raises(StateTooLargeError, match="pass the bound circuit"):
        state_preparation(psi)
