"""ShadowGrouping (Gresch and Kliesch, arXiv:2301.03385): greedy settings from an error bound.

Every new basis is built from the terms in order of a weight that says how much one more hit
would tighten the bound on the energy error: ``w_Q = |a_Q|`` for a term never hit, else
``|a_Q| (1/sqrt(N_Q) - 1/sqrt(N_Q + 1))`` with ``N_Q`` its hits so far. Going down that list,
a term joins the basis when it is compatible with the letters already fixed; a term whose
letters are all fixed already changes nothing, so the scan is the same as repeatedly adding
the heaviest compatible term that fixes a new qubit (at most ``n`` vectorised steps per basis).
Qubits no term fixes are measured in Z. Estimates use the hit-count ratio estimator; the
schedule (``n_bases`` bases) is repeated for more shots.

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5), ("ZI", 0.2)])
>>> ShadowGrouping(H, n_bases=4).fit().schedule.tolist()
[[3, 3], [1, 1], [3, 3], [1, 1]]
"""

from __future__ import annotations

import numpy as np

from ..progress import progress
from .base import ScheduleEstimator
from .terms import I, Z, PauliTerms


def setting_weights(coeffs: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """ShadowGrouping's weights: ``|a|`` unhit, else ``|a| (N**-1/2 - (N + 1)**-1/2)``."""
    a = np.abs(coeffs)
    seen = hits > 0
    out = a.copy()
    out[seen] = a[seen] * (1 / np.sqrt(hits[seen]) - 1 / np.sqrt(hits[seen] + 1))
    return out


def greedy_setting(codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The basis built by scanning ``codes`` by decreasing ``weights``: ``(n,)`` codes, 0 where free."""
    setting = np.zeros(codes.shape[1], dtype=np.uint8)
    candidates = np.ones(len(codes), dtype=bool)
    while True:
        fixed = setting != I
        compatible = np.all((codes == I) | (setting == I) | (codes == setting), axis=1)
        candidates &= compatible & np.any((codes != I) & ~fixed, axis=1)
        if not candidates.any():
            return setting
        best = np.flatnonzero(candidates)[np.argmax(weights[candidates])]
        setting = np.maximum(setting, codes[best])  # compatible: letters agree where both act


def shadow_grouping_schedule(terms: PauliTerms, n_bases: int) -> np.ndarray:
    """``n_bases`` ShadowGrouping bases ``(K, n)`` (free qubits measured in Z)."""
    codes = terms.codes
    hits = np.zeros(len(terms))
    out = np.empty((int(n_bases), terms.n_qubits), dtype=np.uint8)
    for k in progress(range(int(n_bases)), desc="shadow grouping"):
        setting = greedy_setting(codes, setting_weights(terms.coeffs, hits))
        hits += np.all((codes == I) | (codes == setting), axis=1)
        out[k] = np.where(setting == I, np.uint8(Z), setting)
    return out


class ShadowGrouping(ScheduleEstimator):
    """ShadowGrouping bases (a deterministic schedule) with the hit-count estimator.

    Args:
        hamiltonian: the Hamiltonian.
        n_bases: keyword-only; length of the schedule (repeated for more shots, cut for fewer).
            Defaults to 1000, the published benchmark's shot count.

    Attributes:
        schedule: ``(n_bases, n)`` bases in order; ``fractions`` is uniform over them.
    """

    cyclic = True

    def __init__(self, hamiltonian, *, n_bases: int = 1000) -> None:
        super().__init__(hamiltonian)
        self.n_bases = int(n_bases)
        if self.n_bases < 1:
            raise ValueError(f"n_bases must be a positive integer, got {n_bases}")

    def _fit(self) -> None:
        self.schedule = shadow_grouping_schedule(self.terms, self.n_bases)
        self.fractions = np.full(len(self.schedule), 1 / len(self.schedule))
