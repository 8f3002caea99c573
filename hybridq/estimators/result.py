"""The value an estimator returns, and the shots-to-accuracy rule.

>>> r = EstimateResult(value=-1.13, stderr=0.002, shots=10_000, method="ClassicalShadows")
>>> round(shots_to_accuracy(4.0), 0)
1562500.0
"""

from __future__ import annotations

from dataclasses import dataclass

CHEMICAL_ACCURACY = 1.6e-3  # Hartree


@dataclass(frozen=True)
class EstimateResult:
    """An energy estimate.

    Attributes:
        value: the estimate of ``<H>`` (identity term included exactly).
        stderr: its estimated standard error.
        shots: number of shots used.
        method: name of the estimator.
        uncovered: number of terms that no shot measured (hit-count estimators only; such terms
            contribute 0, a bias of their exact contribution).
    """

    value: float
    stderr: float
    shots: int
    method: str
    uncovered: int = 0


def shots_to_accuracy(variance: float, accuracy: float = CHEMICAL_ACCURACY) -> float:
    """Shots ``N = Var_1 / accuracy**2`` for a standard error of ``accuracy`` (1.6 mHa default)."""
    return variance / accuracy**2
