"""Decision-diagram measurement (Hillmich et al. 2021; benchmarked in CSHOREBench, Dutt et al. 2023).

:meth:`DecisionDiagram.fit` builds a diagram whose paths are the qubit-wise-commuting group
bases (free qubits become X/Y/Z edges), starting from path probabilities proportional to each
group's ``sum |a_Q|``; it then optimises the edge probabilities for the diagonal cost
``C = sum_Q a_Q**2 / zeta(Q)``. The stationarity condition of ``C`` on each node's simplex is
``p(e) ∝ T(e) = sum_Q a_Q**2 zeta(Q through e) / zeta(Q)**2``; the fit iterates
``p <- (1 - damping) p + damping T / sum T`` with ``zeta`` and ``T`` from the forward-backward
dynamic programme of :mod:`hybridq.estimators.diagram`. Bases are sampled path by path and the
estimate is the importance-weighted mean with the exact ``zeta``.

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5), ("ZI", 0.3)])
>>> dd = DecisionDiagram(H).fit()
>>> dd.terms.labels(), dd.coverage(dd.terms.codes).round(2).tolist()
(['ZZ', 'XX', 'ZI'], [0.68, 0.32, 0.68])
"""

from __future__ import annotations

import numpy as np

from ..checks import check_count, check_fraction
from . import diagram as dd
from .base import EstimatorKind, ImportanceEstimator, Seed, as_rng
from .grouping import Strategy, qwc_partition
from ..progress import progress


def optimise(diagram: dd.Diagram, codes: np.ndarray, coeffs: np.ndarray, *, iterations: int, damping: float,
             rtol: float) -> tuple[dd.Diagram, list[float]]:
    """Damped fixed-point minimisation of ``sum a**2 / zeta``; returns the diagram and the cost
    before each iteration."""
    history: list[float] = []
    weights = coeffs**2
    for _ in progress(range(iterations), desc="optimising decision diagram"):
        loads, cost = dd.edge_loads(diagram, codes, weights)
        history.append(cost)
        if len(history) > 1 and history[-2] - cost <= rtol * cost:
            break
        targets = [dd.normalise(layer, load) for layer, load in zip(diagram.layers, loads)]
        diagram = diagram.with_probs([(1 - damping) * layer.prob + damping * target
                                      for layer, target in zip(diagram.layers, targets)])
    return diagram, history


class DecisionDiagram(ImportanceEstimator):
    """Bases sampled from an optimised decision diagram; importance-weighted estimator.

    Args:
        hamiltonian: the Hamiltonian.
        batches: keyword-only; median of means if > 2. Defaults to 1.
        estimator: keyword-only; ``"importance"`` (exact ``zeta`` weights) or ``"ratio"``
            (hit counts; usually fewer shots, see
            :class:`~hybridq.estimators.base.ImportanceEstimator`). Defaults to importance.
        grouping: keyword-only; QWC strategy that seeds the diagram's paths. Defaults to
            ``"largest-degree-first"``.
        iterations: keyword-only; cap on optimisation steps (0 keeps the coefficient
            diagram). Defaults to 25.
        damping: keyword-only; step of the fixed-point update. Defaults to 0.6.
        rtol: keyword-only; stop when the cost falls by less than this fraction. Defaults to 1e-3.

    Attributes:
        diagram: the fitted :class:`~hybridq.estimators.diagram.Diagram` (uniform before).
        history: diagonal cost ``sum a**2 / zeta`` before each optimisation step.
    """

    def __init__(self, hamiltonian, *, batches: int = 1, estimator: EstimatorKind = "importance",
                 grouping: Strategy = "largest-degree-first", iterations: int = 25, damping: float = 0.6,
                 rtol: float = 1e-3) -> None:
        super().__init__(hamiltonian, batches=batches, estimator=estimator)
        self.grouping, self.iterations, self.rtol = grouping, check_count(iterations, "iterations", minimum=0), float(rtol)
        self.damping = check_fraction(damping, "damping")
        self.diagram = dd.Diagram.product(np.full((self.n_qubits, 3), 1 / 3))
        self.history: list[float] = []

    def _fit(self) -> None:
        paths, members = qwc_partition(self.terms, self.grouping)
        load = np.array([np.abs(self.terms.coeffs[m]).sum() for m in members])
        self.diagram, self.history = optimise(
            dd.from_paths(paths, load), self.terms.codes, self.terms.coeffs,
            iterations=self.iterations, damping=self.damping, rtol=self.rtol,
        )

    def coverage(self, codes: np.ndarray) -> np.ndarray:
        self.ensure_fitted()
        return dd.coverage(self.diagram, codes)

    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        self.ensure_fitted()
        return dd.sample(self.diagram, shots, as_rng(seed))
