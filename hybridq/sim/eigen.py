"""Exact ground states of Pauli sums, by Lanczos on the simulator's sparse Hamiltonian.

Uses the same cached sparse matrix as :func:`hybridq.sim.expval` (one entry per row and
X/Y flip mask) inside scipy's ``eigsh``; needs scipy (installed with the ``chem`` or
``notebook`` extras).

>>> from hybridq.operators import PauliSum
>>> energy, state = ground_state(PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5)]))
>>> round(energy, 6), state.shape
(-1.118034, torch.Size([1, 4]))
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import require
from .measure import _plan, _sparse_matrix


def ground_state(observable, *, tol: float = 1e-10) -> tuple[float, torch.Tensor]:
    """Lowest eigenvalue and a normalised eigenvector ``(1, 2**n)`` complex128 of a Hermitian Pauli sum."""
    linalg = require("scipy.sparse.linalg", "chem")
    coeffs = np.array(observable.coeffs)
    if np.abs(coeffs.imag).max(initial=0) > 1e-12:
        from ..errors import NotHermitianError

        raise NotHermitianError("ground_state needs a Hermitian operator (real coefficients)")
    plan = _plan(observable)
    matrix = _sparse_matrix(observable, plan, torch.float64, "cpu")
    n = 2**plan.n
    dtype = np.float64 if not matrix.is_complex() else np.complex128

    def matvec(v: np.ndarray) -> np.ndarray:
        return (matrix @ torch.from_numpy(np.ascontiguousarray(v).reshape(n, -1))).numpy().reshape(v.shape)

    op = linalg.LinearOperator((n, n), matvec=matvec, dtype=dtype)
    start = np.random.default_rng(0).normal(size=n).astype(dtype)
    values, vectors = linalg.eigsh(op, k=1, which="SA", v0=start, tol=tol)
    state = torch.from_numpy(vectors[:, 0]).to(torch.complex128).reshape(1, -1)
    return float(values[0]), state / state.norm()
