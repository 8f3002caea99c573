"""Pauli-basis and circuit-setting estimators: every method has one kind, and all its calls work."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import hybridq.estimators as E
from hybridq.estimators import CliffordGrouping, PauliEstimator, SettingEstimator

METHODS = [cls for _, cls in inspect.getmembers(E, inspect.isclass)
           if issubclass(cls, E.Estimator) and cls.__module__ != "hybridq.estimators.base"]


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_each_method_is_one_kind(cls):
    assert issubclass(cls, PauliEstimator) != issubclass(cls, SettingEstimator)


@pytest.mark.parametrize("cls", [c for c in METHODS if issubclass(c, PauliEstimator)], ids=lambda c: c.__name__)
def test_pauli_methods_run_and_estimate_the_same_shots(h2, cls):
    H, psi = h2
    est = cls(H).fit()
    bases = est.bases(200, seed=1)
    assert bases.shape == (200, 4) and set(np.unique(bases)) <= {1, 2, 3}
    res = est.run(psi, 20_000, seed=2)
    assert abs(res.value - est.exact(psi)) < 5 * res.stderr + 1e-12


def test_setting_methods_have_no_pauli_calls(h2):
    H, psi = h2
    est = CliffordGrouping(H).fit()
    assert not hasattr(est, "bases") and not hasattr(est, "_tally")
    rows = est.measure(psi, 5_000, seed=3)
    assert est.run(psi, 5_000, seed=3).value == est.estimate(*rows).value
    assert np.bincount(est.settings(5_000), minlength=len(est.groups)).tolist() == [
        int(rows[2][rows[0] == k].sum()) for k in range(len(est.groups))]
