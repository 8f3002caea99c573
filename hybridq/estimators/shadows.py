"""Classical shadows with random Pauli bases: uniform (Huang, Kueng, Preskill 2020) and
locally biased (Hadfield, Bravyi, Raymond, Mezzacapo 2022).

A locally biased shadow draws qubit ``i``'s basis from its own distribution ``beta[i]`` over
(X, Y, Z); uniform shadows are ``beta = 1/3``. A term ``Q`` is covered with probability
``zeta(Q) = prod_{i in supp Q} beta[i, Q_i]``. :meth:`LocallyBiasedShadows.fit` minimises the
state-independent ("diagonal") cost ``sum_Q a_Q**2 / zeta(Q)`` by the damped Lagrange fixed
point ``beta[i, p] <- sum_{Q: Q_i = p} a_Q**2/zeta(Q) / sum_{Q: Q_i != I} a_Q**2/zeta(Q)``,
with backtracking: a step that would raise the cost is halved until it lowers it (the plain
damped iteration can cycle, e.g. on LiH, and stop far from the optimum). The cost is convex in
``log beta``, so the descent reaches the published optimum (LiH 14.8, BeH2 67.6, H2O 258,
NH3 352.7 Ha^2 on the exact ground states, JW).

>>> import numpy as np
>>> from hybridq.estimators.terms import PauliTerms, X, Z
>>> t = PauliTerms.from_codes(np.array([[Z, Z], [X, X]]), np.array([1.0, 0.1]))
>>> LocallyBiasedShadows(t).fit().beta.round(2).tolist()
[[0.18, 0.0, 0.82], [0.18, 0.0, 0.82]]
"""

from __future__ import annotations

import numpy as np

from ..checks import check_count, check_fraction
from .base import EstimatorKind, ImportanceEstimator, Seed, as_rng
from .terms import I


def product_coverage(beta: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``prod_{i: codes_i != I} beta[i, codes_i - 1]`` for each row of ``codes`` ``(M, n)``."""
    table = np.concatenate([np.ones((beta.shape[0], 1)), beta], axis=1)  # column 0 = identity
    return np.prod(table[np.arange(beta.shape[0]), codes], axis=1)


def sample_product(beta: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``(shots, n)`` codes with qubit ``i`` drawn from ``beta[i]`` (columns X, Y, Z)."""
    cdf = np.cumsum(beta, axis=1)
    out = np.empty((int(shots), beta.shape[0]), dtype=np.uint8)
    for q, (first, second, total) in enumerate(cdf):  # one qubit at a time: no (shots, n, 3) temporaries
        u = rng.random(int(shots)) * total
        out[:, q] = 1 + (u >= first).astype(np.uint8) + (u >= second)
    return out


class ClassicalShadows(ImportanceEstimator):
    """Uniformly random Pauli bases; importance-weighted (``3**|Q|``) estimator.

    Args:
        hamiltonian: the Hamiltonian.
        batches: keyword-only; median of ``batches`` means if > 2 (see
            :class:`~hybridq.estimators.base.ImportanceEstimator`). Defaults to 1.
        estimator: keyword-only; ``"importance"`` (``3**|Q|`` weights) or ``"ratio"``.
            Defaults to importance.

    >>> import numpy as np
    >>> from hybridq.estimators.terms import PauliTerms, Z
    >>> ClassicalShadows(PauliTerms.from_codes(np.array([[Z, Z]]), np.array([1.0]))).variance(
    ...     np.array([1, 0, 0, 0]))
    8.0
    """

    @property
    def beta(self) -> np.ndarray:
        """Per-qubit basis probabilities ``(n, 3)`` (all 1/3)."""
        return np.full((self.n_qubits, 3), 1 / 3)

    def coverage(self, codes: np.ndarray) -> np.ndarray:
        return 3.0 ** -(np.asarray(codes) != I).sum(axis=1)

    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        return as_rng(seed).integers(1, 4, size=(int(shots), self.n_qubits), dtype=np.uint8)


class LocallyBiasedShadows(ImportanceEstimator):
    """Random Pauli bases with optimised per-qubit probabilities (LBCS).

    Args:
        hamiltonian: the Hamiltonian.
        batches: keyword-only; median of means if > 2. Defaults to 1.
        estimator: keyword-only; ``"importance"`` or ``"ratio"`` (see
            :class:`~hybridq.estimators.base.ImportanceEstimator`). Defaults to importance.
        damping: keyword-only; largest step ``w`` of the fixed-point update (halved while a
            step would raise the cost). Defaults to 0.5.
        tol: keyword-only; stop when ``max |delta beta| < tol``. Defaults to 1e-7.
        max_iter: keyword-only; iteration cap. Defaults to 2000.

    Attributes:
        beta: ``(n, 3)`` probabilities of X, Y, Z per qubit (after :meth:`~hybridq.estimators.base.Estimator.fit`).
        iterations: fixed-point iterations used by the last :meth:`~hybridq.estimators.base.Estimator.fit`.
    """

    def __init__(self, hamiltonian, *, batches: int = 1, estimator: EstimatorKind = "importance", damping: float = 0.5,
                 tol: float = 1e-7, max_iter: int = 2000) -> None:
        super().__init__(hamiltonian, batches=batches, estimator=estimator)
        self.damping, self.tol = check_fraction(damping, "damping"), float(tol)
        self.max_iter = check_count(max_iter, "max_iter")
        self.beta = np.full((self.n_qubits, 3), 1 / 3)
        self.iterations = 0

    def _fit(self) -> None:
        codes = self.terms.codes
        a2 = self.terms.coeffs**2
        beta = np.full((self.n_qubits, 3), 1 / 3)
        qubits = np.broadcast_to(np.arange(self.n_qubits), codes.shape)
        load = a2 / product_coverage(beta, codes)
        cost = load.sum()
        step_size = self.damping
        for self.iterations in range(1, self.max_iter + 1):
            table = np.zeros((self.n_qubits, 4))
            np.add.at(table, (qubits, codes), load[:, None])
            used = table[:, 1:].sum(axis=1, keepdims=True)
            direction = np.where(used > 0, table[:, 1:] / np.where(used > 0, used, 1), 1 / 3) - beta
            while True:  # backtracking: never accept a step that raises the cost
                trial = beta + step_size * direction
                trial_load = a2 / product_coverage(trial, codes)
                if trial_load.sum() <= cost or step_size < 1e-6:
                    break
                step_size /= 2
            beta, load, cost = trial, trial_load, trial_load.sum()
            if np.abs(step_size * direction).max() < self.tol:
                break
            step_size = min(self.damping, 2 * step_size)
        self.beta = beta

    def coverage(self, codes: np.ndarray) -> np.ndarray:
        self.ensure_fitted()
        return product_coverage(self.beta, codes)

    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        self.ensure_fitted()
        return sample_product(self.beta, shots, as_rng(seed))
