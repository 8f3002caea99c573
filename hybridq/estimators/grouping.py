"""Grouped measurement baseline: qubit-wise-commuting groups with allocated shots.

Groups come from :func:`hybridq.operators.grouping.qwc_groups` (largest degree first, or
sorted insertion). Each group is measured in its merged basis; shots are allocated in
proportion to ``sum_{Q in group} |a_Q|``, the allocation that minimises the worst-case
variance bound ``sum_g (sum_{Q in g} |a_Q|)**2 / m_g``, or (``allocation="variance"``) to the
group's estimated standard deviation ``sqrt(a_g^T S_g a_g)``, with ``S_g`` the covariance in
the basis state of lowest diagonal energy (the Hartree-Fock determinant) shrunk towards the
identity (as in :class:`~hybridq.estimators.commuting.CliffordGrouping`), which minimises
``sum_g Var_g / m_g`` for that model. Each term is then averaged over every shot whose basis
covers it (its own group's and any other that happens to cover it).

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("ZI", 0.5), ("XX", 0.5)])
>>> est = Grouping(H).fit()
>>> est.schedule.tolist(), est.fractions.round(3).tolist()
([[1, 1], [3, 3]], [0.25, 0.75])
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .base import ScheduleEstimator
from .terms import I, Z, PauliTerms

Strategy = Literal["largest-degree-first", "sorted-insertion"]
Allocation = Literal["l1", "variance"]


def qwc_partition(
    terms: PauliTerms, strategy: Strategy = "largest-degree-first"
) -> tuple[np.ndarray, list[np.ndarray]]:
    """QWC groups of ``terms``: merged strings ``(G, n)`` (I where no member acts) and the
    member indices of each group."""
    from ..operators import PauliSum
    from ..operators.grouping import qwc_groups

    codes = terms.codes
    paulis = PauliSum.from_masks((codes == 1) | (codes == 2), (codes == 2) | (codes == 3), terms.coeffs)
    members = [np.asarray(g.indices, dtype=np.int64) for g in qwc_groups(paulis, strategy=strategy)]
    paths = np.array([np.maximum.reduce(codes[m], axis=0) for m in members], dtype=np.uint8)
    return paths, members


class Grouping(ScheduleEstimator):
    """QWC grouping with shots allocated in proportion to each group's ``sum |a_Q|``.

    Args:
        hamiltonian: the Hamiltonian.
        strategy: keyword-only; ``"largest-degree-first"`` or ``"sorted-insertion"``.
            Defaults to largest degree first.
        allocation: keyword-only; ``"l1"`` (shots ``∝ sum |a_Q|``) or ``"variance"`` (``∝`` the
            estimated standard deviation, see the module docstring). Defaults to l1.
        shrinkage: keyword-only; identity weight of the ``"variance"`` model. Defaults to 0.03.

    Attributes:
        schedule: ``(G, n)`` group bases (Z on qubits no member acts on), after :meth:`~hybridq.estimators.base.Estimator.fit`.
        fractions: ``(G,)`` share of the shots of each group.
    """

    def __init__(self, hamiltonian, *, strategy: Strategy = "largest-degree-first", allocation: Allocation = "l1",
                 shrinkage: float = 0.03) -> None:
        super().__init__(hamiltonian)
        if allocation not in ("l1", "variance"):
            raise ValueError(f"allocation must be 'l1' or 'variance', got {allocation!r}")
        self.strategy, self.allocation, self.shrinkage = strategy, allocation, float(shrinkage)

    @property
    def name(self) -> str:
        name = "Grouping(LDF" if self.strategy == "largest-degree-first" else "Grouping(SI"
        return name + (", variance)" if self.allocation == "variance" else ")")

    def _fit(self) -> None:
        paths, members = qwc_partition(self.terms, self.strategy)
        a = self.terms.coeffs
        if self.allocation == "variance":
            from .commuting import basis_state_covariance, lowest_diagonal_state

            bits, lam = lowest_diagonal_state(self.terms), self.shrinkage
            load = np.sqrt([(1 - lam) * a[m] @ basis_state_covariance(self.terms, m, bits) @ a[m] + lam * a[m] @ a[m]
                            for m in members])
        else:
            load = np.array([np.abs(a[m]).sum() for m in members])
        self.schedule = np.where(paths == I, np.uint8(Z), paths)
        self.fractions = load / load.sum()
