"""The LBCS optimiser reaches the optimum of its (convex in log beta) diagonal objective."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from hybridq.estimators import LocallyBiasedShadows
from hybridq.estimators.shadows import product_coverage
from hybridq.operators import PauliSum


def _cost(est, beta):
    return float(np.sum(est.terms.coeffs**2 / product_coverage(beta, est.terms.codes)))


def _reference_optimum(est) -> float:
    """The objective minimised by scipy over softmax logits (an independent optimiser)."""
    n = est.n_qubits

    def cost(logits):
        u = logits.reshape(n, 3)
        beta = np.exp(u - u.max(axis=1, keepdims=True))
        return np.log(_cost(est, beta / beta.sum(axis=1, keepdims=True)))

    best = minimize(cost, np.zeros(3 * n), method="BFGS", options={"gtol": 1e-10, "maxiter": 5000})
    return float(np.exp(best.fun))


def test_lbcs_reaches_the_optimum_on_lih():
    # the plain damped fixed point cycles on LiH (JW) and stopped 19% above the optimum
    est = LocallyBiasedShadows(PauliSum.from_molecule("LiH_STO-3G")).fit()
    assert est.iterations < est.max_iter
    assert _cost(est, est.beta) == pytest.approx(_reference_optimum(est), rel=1e-6)
    assert np.allclose(est.beta.sum(axis=1), 1.0)


def test_lbcs_cost_never_rises(random_problem):
    H, _ = random_problem
    coarse = LocallyBiasedShadows(H, max_iter=3).fit()
    fine = LocallyBiasedShadows(H).fit()
    uniform = np.full((H.n_qubits, 3), 1 / 3)
    assert _cost(fine, fine.beta) <= _cost(coarse, coarse.beta) <= _cost(coarse, uniform)
    assert _cost(fine, fine.beta) == pytest.approx(_reference_optimum(fine), rel=1e-6)
