"""Decision diagrams: dynamic-programming coverage vs enumeration, sampling, construction,
optimisation; derandomisation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from estimator_reference import all_bases

from hybridq.estimators import DecisionDiagram, Derandomized, LocallyBiasedShadows, PauliTerms
from hybridq.estimators import diagram as dd
from hybridq.estimators.shadows import product_coverage
from hybridq.operators import PauliSum


@pytest.fixture(scope="module")
def fitted(random_problem):
    H, _ = random_problem
    return DecisionDiagram(H).fit()


def _covers(string, basis):
    return np.all((string == 0) | (string == basis))


def test_coverage_of_partial_strings_sums_over_completions(fitted):
    bases = all_bases(4)
    law = fitted.coverage(bases)
    assert law.min() >= 0 and law.sum() == pytest.approx(1.0)
    strings = np.array(list(itertools.product(range(4), repeat=4)), dtype=np.uint8)
    expected = np.array([law[[_covers(s, b) for b in bases]].sum() for s in strings])
    np.testing.assert_allclose(fitted.coverage(strings), expected, atol=1e-12)


def test_sampling_follows_the_path_probabilities(fitted):
    shots = 40000
    samples = fitted.bases(shots, seed=2)
    bases = all_bases(4)
    law = fitted.coverage(bases)
    index = {tuple(b): i for i, b in enumerate(bases)}
    freq = np.bincount([index[tuple(s)] for s in samples], minlength=len(bases)) / shots
    assert np.all(np.abs(freq - law) < 5 * np.sqrt(law * (1 - law) / shots) + 1e-12)


def test_product_diagram_is_locally_biased_shadows():
    rng = np.random.default_rng(0)
    beta = rng.dirichlet(np.ones(3), size=5)
    strings = rng.integers(0, 4, size=(200, 5)).astype(np.uint8)
    np.testing.assert_allclose(dd.coverage(dd.Diagram.product(beta), strings), product_coverage(beta, strings))


def test_from_paths_draws_paths_in_proportion_to_weights():
    paths = np.array([[3, 3, 1], [3, 1, 1], [1, 0, 2]], dtype=np.uint8)  # identity on the last path
    weights = np.array([2.0, 1.0, 3.0])
    diagram = dd.from_paths(paths, weights)
    law = dd.coverage(diagram, paths)
    np.testing.assert_allclose(law, weights / weights.sum())
    # the identity letter is spread evenly over X, Y, Z
    np.testing.assert_allclose(dd.coverage(diagram, np.array([[1, 2, 2]])), [0.5 / 3])


def test_equal_suffixes_are_merged():
    paths = np.array([[1, 3, 3], [2, 3, 3], [3, 3, 3]], dtype=np.uint8)
    diagram = dd.from_paths(paths, np.ones(3))
    assert [layer.n_src for layer in diagram.layers] == [1, 1, 1]  # one node per level


def test_optimisation_lowers_the_cost_below_lbcs(lih):
    H, _ = lih
    est = DecisionDiagram(H).fit()
    history = est.history
    assert history[-1] < 0.5 * history[0]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(history, history[1:]))
    t = est.terms
    lbcs = LocallyBiasedShadows(H).fit()
    cost = lambda e: float(np.sum(t.coeffs**2 / e.coverage(t.codes)))  # noqa: E731
    assert cost(est) < 0.5 * cost(lbcs)


def test_derandomization_covers_every_term_and_prefers_heavy_terms(lih):
    H, _ = lih
    est = Derandomized(H, n_bases=300).fit()
    t = est.terms
    full = np.array([[_covers(q, b) for q in t.codes] for b in est.schedule]).sum(axis=0)
    assert full.min() >= 1
    heavy = np.abs(t.coeffs) > np.quantile(np.abs(t.coeffs), 0.9)
    assert full[heavy].mean() > 3 * full[~heavy].mean()


def test_derandomized_schedule_is_repeated_for_more_shots():
    H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5), ("YY", 0.25)])
    est = Derandomized(H, n_bases=7).fit()
    b = est.bases(20)
    assert np.array_equal(b[:7], est.schedule) and np.array_equal(b[7:14], est.schedule)


def test_terms_api_accepts_prebuilt_terms(random_problem):
    H, psi = random_problem
    t = PauliTerms.from_operator(H)
    assert DecisionDiagram(t).fit().variance(psi) == pytest.approx(DecisionDiagram(H).fit().variance(psi))
