"""The ZZ feature map (Havlíček et al., Nature 2019) and batched quantum kernels.

The feature map follows Qiskit's ``zz_feature_map`` convention: each repetition applies H on
every qubit, ``P(alpha * x_i)`` on each qubit and ``CX . P(alpha (pi - x_i)(pi - x_j)) . CX``
on each pair. The kernel ``K(x, z) = |<psi(z)|psi(x)>|**2`` is computed from two batches of
states and three real matrix products of their real and imaginary parts per row chunk, never
one circuit per pair; the states come from
:func:`hybridq.circuits.phases.simulate_phases`, where the repetitions' phases are one matrix
product (the same for every repetition) and the H layers one engine run each.

>>> import torch
>>> fm = zz_feature_map(2, reps=2)
>>> K = kernel_matrix(fm, torch.rand(5, 2))
>>> K.shape, torch.allclose(K.diagonal(), torch.ones(5, dtype=K.dtype))
(torch.Size([5, 5]), True)
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from ...errors import ShapeError
from ..circuit import Circuit
from ..execute import simulate
from ..expr import Input
from ..phases import PhasePlan, simulate_phases

#: Largest block of kernel entries (bytes of complex overlaps) made at once.
CHUNK_BYTES = 2**26


def zz_feature_map(
    n_qubits: int, reps: int = 2, *, entanglement: Literal["full", "linear"] = "full", alpha: float = 2.0
) -> Circuit:
    """The second-order Pauli-Z feature map on ``n_qubits`` features.

    Args:
        n_qubits: number of qubits = number of input features.
        reps: repetitions of the (H, phases, ZZ phases) block. Defaults to 2.
        entanglement: ``"full"`` (all pairs ``i < j``) or ``"linear"`` (neighbours).
        alpha: angle scale. Defaults to 2 (Qiskit's default).
    """
    if entanglement == "full":
        pairs = [(i, j) for i in range(n_qubits) for j in range(i + 1, n_qubits)]
    elif entanglement == "linear":
        pairs = [(i, i + 1) for i in range(n_qubits - 1)]
    else:
        raise ShapeError(f"entanglement must be 'full' or 'linear', got {entanglement!r}")
    c = Circuit(n_qubits)
    for _ in range(reps):
        for q in range(n_qubits):
            c.h(q).p(alpha * Input(q), q)
        for i, j in pairs:
            c.cx(i, j).p(alpha * ((math.pi - Input(i)) * (math.pi - Input(j))), j).cx(i, j)
    return c


def kernel_matrix(
    feature_map: Circuit, x1: Tensor, x2: Tensor | None = None, *, weights=None, dtype: torch.dtype = torch.complex128
) -> Tensor:
    """Fidelity kernel ``K[i, j] = |<psi(x2_j)|psi(x1_i)>|**2``: real, shape ``(N1, N2)``.

    ``x2`` defaults to ``x1`` (a Gram matrix). Use it with scikit-learn as
    ``SVC(kernel="precomputed").fit(kernel_matrix(fm, x_train), y)`` and
    ``.predict(kernel_matrix(fm, x_test, x_train))``. Differentiable in ``weights`` (for
    trainable feature maps).
    """
    s1 = _states(feature_map, x1, weights, dtype)
    if x2 is None:
        return _fidelities(s1, None)
    return _fidelities(s1, _states(feature_map, x2, weights, dtype))


def _fidelities(s1: Tensor, s2: Tensor | None) -> Tensor:
    """``|s1 @ s2^H|**2`` (``s2`` None: ``s1`` itself), in three real matrix products per row
    chunk: ``P = R1 R2^T``, ``Q = I1 I2^T``, ``Re = P + Q`` and ``Im = I1 R2^T - R1 I2^T``, which
    is ``(R1 + I1)(R2 - I2)^T - P + Q``; for a Gram matrix in one chunk ``Im = M - M^T`` with
    ``M = I1 R1^T``."""
    r1, i1 = s1.real.contiguous(), s1.imag.contiguous()
    r2, i2 = (r1, i1) if s2 is None else (s2.real.contiguous(), s2.imag.contiguous())
    rows = max(1, CHUNK_BYTES // (2 * r2.shape[0] * r2.element_size()))
    gram = s2 is None and rows >= r1.shape[0]
    difference = None if gram else (r2 - i2).T
    parts = []
    for start in range(0, r1.shape[0], rows):
        r, i = r1[start : start + rows], i1[start : start + rows]
        p, q = r @ r2.T, i @ i2.T
        if gram:
            m = i @ r2.T
            im = m - m.T
        else:
            im = torch.addmm(q - p, r + i, difference)
        parts.append((p + q).square_().addcmul_(im, im))  # two passes over the block, not three
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def _states(feature_map: Circuit, x: Tensor, weights, dtype: torch.dtype) -> Tensor:
    if PhasePlan.of(feature_map).has_runs:
        return simulate_phases(feature_map, x, weights, dtype=dtype)
    return simulate(feature_map, x, weights, dtype=dtype)
