"""Analytic single-shot variances against brute-force enumeration of every basis and outcome."""

from __future__ import annotations

import numpy as np
import pytest
from estimator_reference import all_bases, basis_probabilities

from hybridq.estimators import (
    AdaptivePauliShadows,
    ClassicalShadows,
    DecisionDiagram,
    Derandomized,
    DerandomizedDecisionDiagram,
    Grouping,
    LocallyBiasedShadows,
    OverlappedGrouping,
    ShadowGrouping,
)
from hybridq.operators import PauliSum


def _outcome_values(terms, basis, weights):
    """nu(b) = sum_{Q covered by basis} weights_Q (-1)^{bits of b on supp Q}, for every b."""
    n = terms.n_qubits
    bits = (np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))) & 1
    covered = np.all((terms.codes == 0) | (terms.codes == basis), axis=1)
    signs = (-1.0) ** (bits @ (terms.codes[covered] != 0).T)
    return signs @ weights[covered]


def test_exact_value_matches_dense(random_problem):
    H, psi = random_problem
    dense = np.vdot(psi, H.to_matrix() @ psi).real
    assert ClassicalShadows(H).exact(psi) == pytest.approx(dense, abs=1e-10)


@pytest.mark.parametrize("method", [ClassicalShadows, LocallyBiasedShadows, DecisionDiagram, OverlappedGrouping])
def test_importance_variance_is_exact(random_problem, method):
    H, psi = random_problem
    est = method(H).fit()
    t = est.terms
    bases = all_bases(4)
    law = est.coverage(bases)  # probability of drawing each full basis
    assert law.sum() == pytest.approx(1.0)
    weights = t.coeffs / est.coverage(t.codes)
    first = second = 0.0
    for basis, p_basis in zip(bases, law):
        p = basis_probabilities(psi, basis)
        nu = _outcome_values(t, basis, weights)
        first += p_basis * p @ nu
        second += p_basis * p @ nu**2
    mean = est.exact(psi) - t.offset
    assert first == pytest.approx(mean, abs=1e-10)  # unbiased
    assert est.variance(psi) == pytest.approx(second - mean**2, rel=1e-10)


@pytest.mark.parametrize("make", [
    lambda H: Derandomized(H, n_bases=40),
    lambda H: DerandomizedDecisionDiagram(H, n_bases=40),
    lambda H: Grouping(H),
    lambda H: Grouping(H, strategy="sorted-insertion"),
    lambda H: Grouping(H, strategy="sorted-insertion", allocation="variance"),
    lambda H: AdaptivePauliShadows(H, pool=60),
    lambda H: ShadowGrouping(H, n_bases=40),
])
def test_schedule_variance_is_exact(random_problem, make):
    H, psi = random_problem
    est = make(H).fit()
    t = est.terms
    shots = 1000.0  # shots per basis: shots * fractions (the formula holds for real counts)
    uniq, inverse = np.unique(est.schedule, axis=0, return_inverse=True)
    counts = shots * np.bincount(inverse.reshape(-1), weights=est.fractions)
    hits = np.array([np.sum(counts[np.all((q == 0) | (q == uniq), axis=1)]) for q in t.codes])
    weights = np.divide(t.coeffs, hits, out=np.zeros(len(t)), where=hits > 0)  # uncovered terms drop out
    variance = 0.0
    for basis, m in zip(uniq, counts):
        p = basis_probabilities(psi, basis)
        y = _outcome_values(t, basis, weights)
        variance += m * (p @ y**2 - (p @ y) ** 2)
    assert est.variance(psi) == pytest.approx(shots * variance, rel=1e-9)


def test_schedules_that_miss_terms_say_so():
    H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5), ("YY", 0.01)])
    est = AdaptivePauliShadows(H, pool=3).fit()  # 3 bases: the rare YY term goes unmeasured
    missed = est.uncovered_terms()
    assert list(est.terms.codes[missed].tolist()) and all(est.coverage(est.terms.codes)[missed] == 0)
    with pytest.warns(UserWarning, match=r"never measured .* lower bound: raise `pool`"):
        low = est.variance(np.array([1, 0, 0, 0], dtype=complex))
    full = AdaptivePauliShadows(H, pool=4000).fit()
    assert len(full.uncovered_terms()) == 0
    assert full.variance(np.array([1, 0, 0, 0], dtype=complex)) > low
