"""Quantum Hamiltonian embedding of images (Wang, Myers, Hollenberg, Parampalli, 2024).

An image ``M`` (zero-padded to ``2**n x 2**n``) becomes the Hermitian matrix
``H_M = (M + M^T) / 2`` and is embedded as ``W(t) = exp(-i t H_M / 2)``, re-uploaded in every
layer with a trainable time ``t``. Each ``H_M`` is diagonalised once (``torch.linalg.eigh``);
every layer then applies ``V diag(exp(-i lambda t / 2)) V^T`` as three batched kernel calls.
Trainable blocks are special unitaries ``exp(i sum_k theta_k P_k)`` over all non-identity
Pauli strings, on all qubits or on pairs (a brickwall of SU(4) gates).

>>> import torch
>>> H = image_hamiltonians(torch.rand(2, 8, 8))
>>> H.shape, bool((H == H.transpose(1, 2)).all())
(torch.Size([2, 8, 8]), True)
>>> special_unitary(torch.zeros(15), 2).real.diagonal().tolist()
[1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import functools
import itertools

import torch
from torch import Tensor

from ...errors import ShapeError
from ...sim.ops import apply_diagonal, apply_matrix


def image_hamiltonians(images: Tensor, n_qubits: int | None = None) -> Tensor:
    """``(M + M^T) / 2`` of each image ``(B, h, w)``, zero-padded (centred) to ``2**n``: ``(B, 2**n, 2**n)``.

    ``n_qubits`` defaults to the fewest qubits whose ``2**n`` holds both sides.
    """
    images = torch.as_tensor(images)
    if images.dim() == 2:
        images = images.unsqueeze(0)
    if images.dim() != 3:
        raise ShapeError(f"images must have shape (B, h, w), got {tuple(images.shape)}")
    h, w = images.shape[1:]
    n = max(1, (max(h, w) - 1).bit_length()) if n_qubits is None else int(n_qubits)
    d = 2**n
    if max(h, w) > d:
        raise ShapeError(f"a {h}x{w} image does not fit in {d}x{d} ({n} qubits)")
    top, left = (d - h) // 2, (d - w) // 2
    m = torch.nn.functional.pad(images, (left, d - w - left, top, d - h - top))
    return (m + m.transpose(1, 2)) / 2


def hamiltonian_evolution(eigvals: Tensor, eigvecs: Tensor, t: Tensor | float) -> Tensor:
    """``exp(-i t H / 2)`` from ``H = V diag(lambda) V^T`` (``eigvals`` ``(B, d)``, ``eigvecs`` ``(B, d, d)``)."""
    phases = _phases(eigvals, t, _complex(eigvals.dtype))
    v = eigvecs.to(phases.dtype)
    return (v * phases.unsqueeze(-2)) @ v.transpose(-1, -2).conj()


def apply_hamiltonian_evolution(state: Tensor, eigvals: Tensor, eigvecs: Tensor, t: Tensor | float) -> Tensor:
    """Apply ``exp(-i t H_b / 2)`` to each state ``b`` of a ``(B, 2**n)`` batch (``H_b`` pre-diagonalised)."""
    n = state.shape[-1].bit_length() - 1
    qubits = list(range(n))
    v = eigvecs.to(state.dtype)
    state = apply_matrix(state, v.transpose(-1, -2).conj(), qubits, check_unitary=False)
    state = apply_diagonal(state, _phases(eigvals, t, state.dtype), qubits, check_unitary=False)
    return apply_matrix(state, v, qubits, check_unitary=False)


@functools.lru_cache(maxsize=8)
def _pauli_basis(n_qubits: int) -> Tensor:
    one = torch.tensor([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=torch.complex128)
    mats = []
    for letters in itertools.product(range(4), repeat=n_qubits):
        if any(letters):
            m = torch.ones(1, 1, dtype=torch.complex128)
            for k in letters:  # qubit 0 first = most significant
                m = torch.kron(m, one[k])
            mats.append(m)
    return torch.stack(mats)


def pauli_basis(n_qubits: int, *, dtype: torch.dtype = torch.complex128, device=None) -> Tensor:
    """All ``4**n - 1`` non-identity Pauli strings as matrices ``(4**n - 1, 2**n, 2**n)``.

    Order: letters I, X, Y, Z per qubit, qubit 0 most significant (``"IX"``, ``"IY"``, ...).
    """
    return _pauli_basis(n_qubits).to(dtype=dtype, device=device)


def special_unitary(theta: Tensor, n_qubits: int) -> Tensor:
    """``exp(i sum_k theta_k P_k)`` over :func:`pauli_basis`: ``theta`` ``(..., 4**n - 1)`` -> ``(..., 2**n, 2**n)``."""
    if theta.shape[-1] != 4**n_qubits - 1:
        raise ShapeError(f"SU({2**n_qubits}) needs {4**n_qubits - 1} angles, got {theta.shape[-1]}")
    basis = pauli_basis(n_qubits, dtype=_complex(theta.dtype), device=theta.device)
    generator = torch.einsum("...k,kij->...ij", theta.to(basis.dtype), basis)
    return torch.linalg.matrix_exp(1j * generator)


def brickwall_pairs(n_qubits: int) -> list[tuple[int, int]]:
    """Pairs for one brickwall layer of two-qubit blocks: ``(0,1), (2,3), ...`` then ``(1,2), (3,4), ...``."""
    return [(q, q + 1) for start in (0, 1) for q in range(start, n_qubits - 1, 2)]


def _phases(eigvals: Tensor, t: Tensor | float, dtype: torch.dtype) -> Tensor:
    angle = -0.5 * eigvals * t
    return torch.polar(torch.ones_like(angle), angle).to(dtype)


def _complex(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype in (torch.float64, torch.complex128) else torch.complex64
