"""Measurement-efficient estimation of Pauli-sum expectation values (molecular energies).

Every method shares one interface (:class:`~hybridq.estimators.base.Estimator`): ``fit()``
proposes the measurement distribution, ``variance(state)`` the exact single-shot variance, and
``run(state, shots)`` measures and estimates. Pauli-basis methods
(:class:`~hybridq.estimators.base.PauliEstimator`) also give ``bases(shots, seed)`` (codes X=1,
Y=2, Z=3, qubit 0 first) and ``estimate(bases, outcomes)``; circuit-setting methods
(:class:`~hybridq.estimators.base.SettingEstimator`, e.g. CliffordGrouping) ``settings(shots)``,
``measure(state, shots)`` and ``estimate(settings, outcomes, counts)``.

>>> import numpy as np
>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5)])
>>> bell = np.array([1, 0, 0, 1]) / 2 ** 0.5
>>> est = DecisionDiagram(H, estimator="ratio").fit()
>>> est.run(bell, 100, seed=0).value, est.variance(bell)
(1.5, 0.0)
"""

from .adaptive import AdaptivePauliShadows
from .base import Estimator, ImportanceEstimator, PauliEstimator, ScheduleEstimator, SettingEstimator
from .commuting import CliffordGrouping
from .decision_diagram import DecisionDiagram
from .derandomized import Derandomized, DerandomizedDecisionDiagram
from .grouping import Grouping
from .measure import measure_bases
from .overlapped import OverlappedGrouping
from .result import CHEMICAL_ACCURACY, EstimateResult, shots_to_accuracy
from .shadow_grouping import ShadowGrouping
from .shadows import ClassicalShadows, LocallyBiasedShadows
from .terms import PauliTerms

__all__ = [
    "CHEMICAL_ACCURACY", "AdaptivePauliShadows", "ClassicalShadows", "CliffordGrouping", "DecisionDiagram",
    "Derandomized", "DerandomizedDecisionDiagram", "EstimateResult", "Estimator", "Grouping", "ImportanceEstimator",
    "LocallyBiasedShadows", "OverlappedGrouping", "PauliEstimator", "PauliTerms", "ScheduleEstimator",
    "SettingEstimator", "ShadowGrouping",
    "measure_bases", "shots_to_accuracy",
]
