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

The authors' own procedure (their MATLAB code, which produced the settings behind the published
RMSE) also cuts the list: with ``copies=T`` it repeats, up to ten rounds, "sort the settings by
probability, keep the leading ones whose ``ceil(T p_s)`` add up to ``T``, if that lowers the cost
with every uncovered term charged ``T a_Q**2``; then re-optimise". With their ``T = 100`` it keeps
tens of settings and leaves many terms unmeasured (a bias the hit-count estimator carries), which
is what their published RMSE at 1000 shots measures.

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5), ("ZI", 0.3)])
>>> est = OverlappedGrouping(H).fit()
>>> est.settings.tolist(), est.probabilities.round(2).tolist()
([[3, 3], [1, 1]], [0.68, 0.32])
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, ShapeError
from .base import EstimatorKind, ImportanceEstimator, Seed, as_rng
from .postprocess import cover_fractions
from .terms import I, Z, PauliTerms, check_bases, pack_codes


def overlapped_settings(terms: PauliTerms) -> tuple[np.ndarray, np.ndarray]:
    """OGM's overlapping settings ``(G, n)`` (letter codes, I where no member acts) and their
    initial shares ``(G,)``: the summed ``|a_Q|`` of the seed and the later terms it absorbed."""
    codes, size = terms.codes, np.abs(terms.coeffs)
    order = np.argsort(-size, kind="stable")
    placed = np.zeros(len(terms), dtype=bool)
    settings, shares = [], []
    for rank, seed in enumerate(order):
        if placed[seed]:
            continue
        setting, share = codes[seed].copy(), size[seed]
        for later, t in [(True, t) for t in order[rank + 1:]] + [(False, t) for t in order[:rank]]:
            if np.all((codes[t] == I) | (setting == I) | (codes[t] == setting)):
                setting = np.maximum(setting, codes[t])
                share += size[t] if later else 0.0
        placed |= np.all((codes == I) | (codes == setting), axis=1)
        settings.append(setting)
        shares.append(share)
    return np.array(settings, dtype=np.uint8).reshape(-1, terms.n_qubits), np.array(shares) / np.sum(shares)


def optimise_probabilities(cover: np.ndarray, weights: np.ndarray, start: np.ndarray, *, iterations: int,
                           rtol: float) -> np.ndarray:
    """Minimise ``sum_Q weights_Q / chi_Q`` over the covered terms, ``chi = cover.T @ p``, on
    the simplex, from the probabilities ``start``.

    Args:
        cover: ``(G, T)`` bool, setting ``s`` covers term ``Q``.
        weights: ``(T,)`` nonnegative (``a_Q**2``).
        start: ``(G,)`` positive initial probabilities.
    """
    a = cover.astype(float)
    weights = np.where(cover.any(axis=0), weights, 0.0)
    p, cost = start / start.sum(), np.inf
    for _ in range(iterations):
        chi = p @ a
        new_cost = float(np.sum(np.divide(weights, chi, out=np.zeros_like(chi), where=weights > 0)))
        if cost - new_cost <= rtol * new_cost:
            break
        cost = new_cost
        g = a @ np.divide(weights, chi**2, out=np.zeros_like(chi), where=weights > 0)
        p = p * np.sqrt(g)
        p /= p.sum()
    return p


def charged_cost(cover: np.ndarray, weights: np.ndarray, p: np.ndarray, copies: int) -> float:
    """OGM's cost ``sum_Q weights_Q / chi_Q`` with every uncovered term charged ``copies * weights_Q``
    (``chi = p @ cover``: each term's covering probability under setting probabilities ``p``).

    >>> cover = np.array([[1.0, 0.0], [1.0, 0.0]])  # two settings, both cover only the first term
    >>> charged_cost(cover, np.array([1.0, 2.0]), np.array([0.5, 0.5]), copies=10)  # 1 / 1 + 10 * 2
    21.0
    """
    chi = p @ cover
    return float(np.sum(np.where(chi > 0, weights / np.where(chi > 0, chi, 1.0), copies * weights)))


def cut_settings(cover: np.ndarray, weights: np.ndarray, start: np.ndarray, *, copies: int, iterations: int,
                 rtol: float, rounds: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The authors' rounds of cut and re-optimisation (module docstring); returns the kept
    settings' indices and their probabilities."""
    keep, p = np.arange(len(start)), start / start.sum()
    cost = charged_cost(cover, weights, p, copies)
    for _ in range(rounds):
        order = np.argsort(-p, kind="stable")
        keep, p = keep[order], p[order]
        count = 1 + int(np.searchsorted(np.cumsum(np.ceil(copies * p)), copies))
        if count < len(p) and charged_cost(cover[keep[:count]], weights, p[:count] / p[:count].sum(), copies) < cost:
            keep, p = keep[:count], p[:count] / p[:count].sum()
        p = optimise_probabilities(cover[keep], weights, p, iterations=iterations, rtol=rtol)
        new_cost = charged_cost(cover[keep], weights, p, copies)
        if abs(cost - new_cost) <= rtol * new_cost:
            break
        cost = new_cost
    return keep, p


class OverlappedGrouping(ImportanceEstimator):
    """OGM: overlapping qubit-wise settings drawn with optimised probabilities.

    Args:
        hamiltonian: the Hamiltonian.
        batches: keyword-only; median of means if > 2. Defaults to 1.
        estimator: keyword-only; ``"importance"`` (``a_Q / chi(Q)`` weights, exact variance) or
            ``"ratio"`` (hit counts). Defaults to importance.
        iterations: keyword-only; cap on the probability updates. Defaults to 3000.
        rtol: keyword-only; stop when the cost falls by less than this fraction. Defaults to 1e-7.
        copies: keyword-only; the authors' cut of the settings list for ``copies`` draws (see
            the module docstring; 100 as in their code); needs ``estimator="ratio"``, since
            terms it leaves unmeasured have no unbiased weight. Defaults to None (no cut: every
            term covered).

    Attributes:
        settings: ``(G, n)`` bases (Z on free qubits), after :meth:`~hybridq.estimators.base.Estimator.fit`.
        probabilities: ``(G,)`` probability of each setting.
    """

    def __init__(self, hamiltonian, *, batches: int = 1, estimator: EstimatorKind = "importance",
                 iterations: int = 3000, rtol: float = 1e-7, copies: int | None = None) -> None:
        super().__init__(hamiltonian, batches=batches, estimator=estimator)
        if copies is not None and (int(copies) < 1 or estimator != "ratio"):
            raise ParameterError(f"copies (the authors' cut of the settings) needs a positive count and "
                                 f"estimator='ratio', got copies={copies}, estimator={estimator!r}; pass "
                                 "estimator='ratio' with copies >= 1, or copies=None for no cut")
        self.iterations, self.rtol = int(iterations), float(rtol)
        self.copies = None if copies is None else int(copies)
        self.settings = np.full((1, self.n_qubits), Z, dtype=np.uint8)
        self.probabilities = np.ones(1)

    @classmethod
    def with_settings(cls, hamiltonian, settings, probabilities, *, estimator: EstimatorKind = "ratio"
                      ) -> OverlappedGrouping:
        """OGM with given settings ``(G, n)`` (codes X=1, Y=2, Z=3) and their probabilities ``(G,)``
        (e.g. those the authors published), already fitted.

        >>> import numpy as np
        >>> from hybridq.operators import PauliSum
        >>> H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5)])
        >>> est = OverlappedGrouping.with_settings(H, np.array([[3, 3], [1, 1]]), np.array([0.6, 0.4]))
        >>> round(float(est.coverage(np.array([[3, 3]]))[0]), 6)
        0.6

        Raises:
            ShapeError: the settings do not match the Hamiltonian or the probabilities.
            ParameterError: probabilities that are negative or do not sum to 1.
        """
        est = cls(hamiltonian, estimator=estimator)
        settings = check_bases(settings, est.n_qubits)
        p = np.asarray(probabilities, dtype=float).reshape(-1)
        if len(p) != len(settings):
            raise ShapeError(f"{len(settings)} settings need as many probabilities, got {len(p)}; "
                             "pass one probability per row of settings")
        if (p < 0).any() or abs(p.sum() - 1) > 1e-6:
            raise ParameterError(f"probabilities must be nonnegative and sum to 1, got minimum {p.min()} and sum "
                                 f"{p.sum()}; divide nonnegative weights by their sum")
        est.settings, est.probabilities, est._fitted = settings, p / p.sum(), True
        return est

    @property
    def name(self) -> str:
        cut = "" if self.copies is None else f", cut {self.copies}"
        return "OGM" + ("(ratio" + cut + ")" if self.estimator == "ratio" else "")

    def _fit(self) -> None:
        settings, shares = overlapped_settings(self.terms)
        settings = np.where(settings == I, np.uint8(Z), settings)
        codes, weights = self.terms.codes, self.terms.coeffs**2
        cover = np.stack([np.all((codes == I) | (codes == s), axis=1) for s in settings])
        if self.copies is None:
            keep = np.arange(len(settings))
            p = optimise_probabilities(cover, weights, shares, iterations=self.iterations, rtol=self.rtol)
        else:
            keep, p = cut_settings(cover, weights, shares, copies=self.copies, iterations=self.iterations,
                                   rtol=self.rtol)
        self.settings, self.probabilities = settings[keep], p

    def coverage(self, codes: np.ndarray) -> np.ndarray:
        self.ensure_fitted()
        return cover_fractions(codes, *pack_codes(self.settings), self.probabilities)

    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        self.ensure_fitted()
        return self.settings[as_rng(seed).choice(len(self.settings), size=int(shots), p=self.probabilities)]
