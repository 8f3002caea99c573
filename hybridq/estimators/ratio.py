"""The hit-count ("ratio") estimator: every term averaged over the shots that cover it.

``E = offset + sum_Q a_Q mean_Q`` with ``mean_Q`` the mean outcome of ``Q`` over its ``h_Q``
covering shots (0 if ``h_Q = 0``, reported as ``uncovered``). Given the bases, the estimate is
the sum over shots of ``y_s = sum_{Q covered} (a_Q / h_Q) mu_Q``, independent across shots and
identically distributed among the shots of one basis. Its standard error therefore uses the
unbiased within-basis variance of ``y`` for bases measured at least twice; bases measured once
use the residuals ``sum_{Q covered} (a_Q / h_Q) (mu_Q - mean_Q) sqrt(h_Q / (h_Q - 1))`` (the
factor undoes the shrinkage around a fitted mean), and a term seen once adds its bound
``a_Q**2``.

>>> import numpy as np
>>> from hybridq.estimators.terms import PauliTerms, Z
>>> from hybridq.estimators.postprocess import Shots
>>> terms = PauliTerms.from_codes(np.array([[Z, 0]]), np.array([2.0]), offset=1.0)
>>> ratio_estimate(terms, Shots.from_arrays(np.full((4, 2), Z), np.array([0, 0, 2, 3])), "demo").value
1.0
"""

from __future__ import annotations

import numpy as np

from .postprocess import Shots, basis_groups, shot_sums, term_sums
from .result import EstimateResult
from .terms import PauliTerms


def ratio_estimate(terms: PauliTerms, shots: Shots, method: str) -> EstimateResult:
    """Hit-count estimate of ``<H>`` from merged ``shots``."""
    hits, sums = term_sums(terms, shots)
    seen = hits > 0
    means = np.divide(sums, hits, out=np.zeros_like(sums), where=seen)
    value = terms.offset + float(terms.coeffs @ means)
    spread = _spread(terms, shots, hits, means)
    return EstimateResult(value, float(np.sqrt(spread)), shots.total, method, int((~seen).sum()))


def _spread(terms: PauliTerms, shots: Shots, hits: np.ndarray, means: np.ndarray) -> float:
    """Estimated variance of the estimate given the bases (see the module docstring)."""
    scale = np.divide(terms.coeffs, hits, out=np.zeros_like(hits), where=hits > 0)
    y, _ = shot_sums(terms, shots, scale)
    _, basis = basis_groups(shots.x, shots.z, terms.n_qubits)
    m = np.bincount(basis, weights=shots.counts)
    centre = np.bincount(basis, weights=shots.counts * y) / m
    squares = np.bincount(basis, weights=shots.counts * (y - centre[basis]) ** 2)
    repeated = m > 1
    spread = float(np.sum(m[repeated] / (m[repeated] - 1) * squares[repeated]))
    single = ~repeated[basis]
    if single.any():
        alone = Shots(shots.x[single], shots.z[single], shots.outcome[single], shots.counts[single])
        scale = scale * np.sqrt(np.divide(hits, hits - 1, out=np.ones_like(hits), where=hits > 1))
        signed, centred = shot_sums(terms, alone, scale, scale * means)
        spread += float(np.sum((signed - centred) ** 2))
        spread += float(np.sum(terms.coeffs[hits == 1] ** 2))  # unestimable: Var(mu) <= 1
    return spread
