"""Exact ground states of Pauli sums, as state batches of the simulator.

:meth:`hybridq.operators.pauli_sum.PauliSum.ground_state` (matrix-free Lanczos: memory is one diagonal per
X mask, never a stored matrix) returned as a ``(1, 2**n)`` complex128 tensor; needs scipy
(installed with the ``chem`` or ``notebook`` extras).

>>> from hybridq.operators import PauliSum
>>> energy, state = ground_state(PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5)]))
>>> round(energy, 6), state.shape
(-1.118034, torch.Size([1, 4]))
"""

from __future__ import annotations

import torch


def ground_state(observable, *, tol: float = 1e-10) -> tuple[float, torch.Tensor]:
    """Lowest eigenvalue and a normalised eigenvector ``(1, 2**n)`` complex128 of a Hermitian Pauli sum."""
    energy, psi = observable.ground_state(tol=tol)
    return energy, torch.from_numpy(psi).reshape(1, -1)
