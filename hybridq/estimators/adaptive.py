"""Adaptive Pauli shadows (Hadfield 2021, arXiv:2105.12207).

Each shot's basis is built qubit by qubit in a random order. For the next qubit ``q`` the
candidates are the terms acting on ``q`` that are still compatible with the letters chosen so
far; letter ``B`` gets probability ``∝ sqrt(sum_{candidates with Q_q = B} a_Q**2)`` (uniform if
there is none). Estimates use the hit-count ratio estimator. The covering law of this adaptive
distribution has no closed form, so :meth:`AdaptivePauliShadows.variance` evaluates the exact
ratio-estimator variance for a fixed pool of ``pool`` sampled bases (Monte Carlo over bases
only, exact over outcomes).

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("ZI", 0.5)])
>>> AdaptivePauliShadows(H).bases(3, seed=0).tolist()
[[3, 3], [3, 3], [3, 3]]
"""

from __future__ import annotations

import numpy as np

from .base import ScheduleEstimator, Seed, as_rng
from ..progress import progress

CHUNK_ELEMENTS = 1 << 21


class AdaptivePauliShadows(ScheduleEstimator):
    """Adaptive Pauli shadows.

    Args:
        hamiltonian: the Hamiltonian.
        pool: keyword-only; number of bases sampled (seed 0) to evaluate :meth:`variance`.
            Defaults to 2000.
    """

    uncovered_hint = "runs draw fresh bases that can measure them, so it is a lower bound: raise `pool`"

    def __init__(self, hamiltonian, *, pool: int = 2000) -> None:
        super().__init__(hamiltonian)
        self.pool = int(pool)

    def _fit(self) -> None:
        self.schedule = self.bases(self.pool, seed=0)
        self.fractions = np.full(self.pool, 1 / self.pool)

    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        rng = as_rng(seed)
        shots = int(shots)
        step = max(1, CHUNK_ELEMENTS // max(len(self.terms), 1))
        chunks = range(0, shots, step)
        if len(chunks) > 4:
            chunks = progress(chunks, desc="adaptive shadows")
        return np.concatenate([self._sample(min(step, shots - s), rng) for s in chunks] or
                              [np.empty((0, self.n_qubits), dtype=np.uint8)])

    def _sample(self, shots: int, rng: np.random.Generator) -> np.ndarray:
        by_qubit = self.terms.codes.T  # (n, T)
        a2 = self.terms.coeffs**2
        order = np.argsort(rng.random((shots, self.n_qubits)), axis=1)
        alive = np.ones((shots, len(self.terms)), dtype=bool)
        out = np.empty((shots, self.n_qubits), dtype=np.uint8)
        rows = np.arange(shots)
        for step in range(self.n_qubits):
            q = order[:, step]
            letters = by_qubit[q]  # (S, T)
            mass = np.stack([(alive & (letters == b)) @ a2 for b in (1, 2, 3)], axis=1)
            weight = np.sqrt(mass)
            total = weight.sum(axis=1, keepdims=True)
            beta = np.where(total > 0, weight / np.where(total > 0, total, 1), 1 / 3)
            cdf = np.cumsum(beta, axis=1)
            u = rng.random((shots, 1)) * cdf[:, 2:]
            choice = (1 + (u >= cdf[:, :2]).sum(axis=1)).astype(np.uint8)
            out[rows, q] = choice
            alive &= (letters == 0) | (letters == choice[:, None])
        return out
