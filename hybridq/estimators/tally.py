"""Running tallies: measured shots are added chunk by chunk, the estimate is read at the end.

An estimator's run measures its shots in chunks (:data:`~hybridq.estimators.base.CHUNK_SHOTS`)
and adds each to a tally, so memory follows the tally, not the shot count:

* :class:`MeanTally` keeps the count, mean and sum of squared deviations of the per-shot values
  ``sum_Q w_Q mu_Q`` of each part (parts are the batches of a median of means), combined
  exactly as chunks arrive (Chan et al.'s pairwise update);
* :class:`RatioTally` keeps the distinct ``(basis, outcome)`` rows with their counts (the
  hit-count estimator's standard error needs them), merging identical rows as they come.

>>> import numpy as np
>>> from hybridq.estimators.terms import PauliTerms, Z
>>> terms = PauliTerms.from_codes(np.array([[Z]]), np.array([1.0]))
>>> tally = MeanTally(terms, np.ones(1), parts=1, method="demo")
>>> for outcomes in ([0, 0], [1]):
...     tally.add(0, Shots.from_arrays(np.full((len(outcomes), 1), Z), outcomes))
>>> round(tally.result().value, 6)
0.333333
"""

from __future__ import annotations

import numpy as np

from .postprocess import Shots, shot_sums
from .ratio import ratio_estimate
from .result import EstimateResult
from .terms import PauliTerms

#: Rows a :class:`RatioTally` holds before merging identical ones.
MERGE_ROWS = 1 << 20


class MeanTally:
    """Mean of the per-shot values ``sum_{Q covered} weights_Q mu_Q`` (importance estimators).

    Args:
        terms: the Hamiltonian's terms.
        weights: ``(T,)`` weight of each term's outcome (``a_Q / zeta(Q)``).
        parts: number of batches; more than 2 gives the median of the batch means, with the
            mean's standard error times ``sqrt(pi / 2)``.
        method: the estimator's name, for the result.
    """

    def __init__(self, terms: PauliTerms, weights: np.ndarray, *, parts: int, method: str) -> None:
        self.terms, self.weights, self.method = terms, weights, method
        self.moments = np.zeros((parts, 3))  # per part: shots, mean, sum of squared deviations

    def add(self, part: int, shots: Shots) -> None:
        """Add measured ``shots`` to batch ``part``."""
        if not len(shots.counts):
            return
        values, _ = shot_sums(self.terms, shots, self.weights)
        n = float(shots.counts.sum())
        mean = float(shots.counts @ values) / n
        self.moments[part] = _combine(self.moments[part], (n, mean, float(shots.counts @ (values - mean) ** 2)))

    def result(self) -> EstimateResult:
        """The estimate from everything added."""
        total = (0.0, 0.0, 0.0)
        for row in self.moments:
            total = _combine(total, row)
        n, mean, squares = total
        stderr = float(np.sqrt(squares / max(n - 1, 1) / max(n, 1)))
        if len(self.moments) > 2:
            mean = float(np.median(self.moments[:, 1]))
            stderr *= float(np.sqrt(np.pi / 2))
        return EstimateResult(self.terms.offset + float(mean), stderr, int(n), self.method)


def _combine(a, b) -> tuple[float, float, float]:
    """Count, mean and squared deviations of two samples together."""
    na, ma, sa = a
    nb, mb, sb = b
    n = na + nb
    if n == 0:
        return 0.0, 0.0, 0.0
    delta = mb - ma
    return n, ma + delta * nb / n, sa + sb + delta**2 * na * nb / n


class RatioTally:
    """The hit-count estimate (:func:`~hybridq.estimators.ratio.ratio_estimate`) of the added shots.

    Args:
        terms: the Hamiltonian's terms.
        method: the estimator's name, for the result.
    """

    def __init__(self, terms: PauliTerms, *, method: str) -> None:
        self.terms, self.method = terms, method
        self.parts: list[Shots] = []
        self.rows = 0

    def add(self, part: int, shots: Shots) -> None:
        """Add measured ``shots`` (``part`` is ignored: the estimator has no batches)."""
        self.parts.append(shots)
        self.rows += len(shots.counts)
        if self.rows > MERGE_ROWS and len(self.parts) > 1:
            self.parts = [Shots.concat(self.parts, self.terms.n_qubits)]
            self.rows = len(self.parts[0].counts)

    def result(self) -> EstimateResult:
        """The estimate from everything added."""
        if not self.parts:
            empty = np.empty(0, dtype=np.int64)
            return ratio_estimate(self.terms, Shots(empty, empty, empty, empty), self.method)
        return ratio_estimate(self.terms, Shots.concat(self.parts, self.terms.n_qubits), self.method)
