"""Overlapped grouping measurement, OGM (Wu, Sun, Huang, Yuan, Quantum 7, 896 (2023)).

Settings: terms are taken by decreasing ``|a_Q|``; each term not yet in a setting seeds a new
one, which then absorbs every compatible term (later ones first, then earlier ones: settings
overlap, a term can be covered by several). Setting ``s`` is drawn with probability ``p_s``;
a term is covered with probability ``chi(Q) = sum_{s covers Q} p_s``. The probabilities
minimise the diagonal cost ``sum_Q a_Q**2 / chi(Q)`` (convex in ``p``) by the multiplicative
update ``p_s <- p_s sqrt(g_s) / sum_t p_t sqrt(g_t)`` with ``g_s = sum_{Q covered by s} a_Q**2 / chi(Q)**2``
(the stationarity condition ``g_s = const`` on the support), which lowers the cost monotonically.
Estimates are importance-weighted (``a_Q mu_Q / chi(Q)``; exact single-shot variance) or, with
``estimator="ratio"``, hit counts.

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5), ("ZI", 0.3)])
>>> est = OverlappedGrouping(H).fit()
>>> est.settings.tolist(), est.probabilities.round(2).tolist()
([[3, 3], [1, 1]], [0.68, 0.32])
"""

from __future__ import annotations

import numpy as np

from .base import EstimatorKind, ImportanceEstimator, Seed, as_rng
from .postprocess import cover_fractions
from .terms import I, Z, PauliTerms, pack_codes


def overlapped_settings(terms: PauliTerms) -> np.ndarray:
    """OGM's overlapping settings ``(G, n)`` (letter codes, I where no member acts)."""
    codes = terms.codes
    order = np.argsort(-np.abs(terms.coeffs), kind="stable")
    placed = np.zeros(len(terms), dtype=bool)
    settings = []
    for rank, seed in enumerate(order):
        if placed[seed]:
            continue
        setting = codes[seed].copy()
        for t in np.concatenate([order[rank + 1:], order[:rank]]):
            if np.all((codes[t] == I) | (setting == I) | (codes[t] == setting)):
                setting = np.maximum(setting, codes[t])
        placed |= np.all((codes == I) | (codes == setting), axis=1)
        settings.append(setting)
    return np.array(settings, dtype=np.uint8).reshape(-1, terms.n_qubits)


def optimise_probabilities(cover: np.ndarray, weights: np.ndarray, *, iterations: int, rtol: float) -> np.ndarray:
    """Minimise ``sum_Q weights_Q / chi_Q`` with ``chi = cover.T @ p`` over the simplex.

    Args:
        cover: ``(G, T)`` bool, setting ``s`` covers term ``Q``.
        weights: ``(T,)`` nonnegative (``a_Q**2``).
    """
    a = cover.astype(float)
    p = a @ np.sqrt(weights)  # start from the l1-like share of each setting
    p /= p.sum()
    cost = np.inf
    for _ in range(iterations):
        chi = p @ a
        new_cost = float(np.sum(weights / chi))
        if cost - new_cost <= rtol * new_cost:
            break
        cost = new_cost
        g = a @ (weights / chi**2)
        p = p * np.sqrt(g)
        p /= p.sum()
    return p


class OverlappedGrouping(ImportanceEstimator):
    """OGM: overlapping qubit-wise settings drawn with optimised probabilities.

    Args:
        hamiltonian: the Hamiltonian.
        batches: keyword-only; median of means if > 2. Defaults to 1.
        estimator: keyword-only; ``"importance"`` (``a_Q / chi(Q)`` weights, exact variance) or
            ``"ratio"`` (hit counts). Defaults to importance.
        iterations: keyword-only; cap on the probability updates. Defaults to 3000.
        rtol: keyword-only; stop when the cost falls by less than this fraction. Defaults to 1e-7.

    Attributes:
        settings: ``(G, n)`` bases (Z on free qubits), after :meth:`~hybridq.estimators.base.Estimator.fit`.
        probabilities: ``(G,)`` probability of each setting.
    """

    def __init__(self, hamiltonian, *, batches: int = 1, estimator: EstimatorKind = "importance",
                 iterations: int = 3000, rtol: float = 1e-7) -> None:
        super().__init__(hamiltonian, batches=batches, estimator=estimator)
        self.iterations, self.rtol = int(iterations), float(rtol)
        self.settings = np.full((1, self.n_qubits), Z, dtype=np.uint8)
        self.probabilities = np.ones(1)

    @property
    def name(self) -> str:
        return "OGM" + ("(ratio)" if self.estimator == "ratio" else "")

    def _fit(self) -> None:
        settings = overlapped_settings(self.terms)
        self.settings = np.where(settings == I, np.uint8(Z), settings)
        codes = self.terms.codes
        cover = np.stack([np.all((codes == I) | (codes == s), axis=1) for s in self.settings])
        self.probabilities = optimise_probabilities(cover, self.terms.coeffs**2, iterations=self.iterations,
                                                    rtol=self.rtol)

    def coverage(self, codes: np.ndarray) -> np.ndarray:
        self._ensure_fitted()
        return cover_fractions(codes, *pack_codes(self.settings), self.probabilities)

    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        self._ensure_fitted()
        return self.settings[as_rng(seed).choice(len(self.settings), size=int(shots), p=self.probabilities)]
