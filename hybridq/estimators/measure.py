"""Simulated Pauli-basis measurement: the one step a backend replaces.

Each shot's basis (codes X=1, Y=2, Z=3 per qubit) is measured by rotating the state with H
(X) or H S^dagger (Y) on the simulator, then sampling the computational basis. Shots that share
a basis are sampled from one rotated state; distinct bases are rotated in batches, in complex64,
with the rotations of ``BLOCK`` neighbouring qubits fused into one per-sample matrix (one
batched product per block instead of one pass per qubit).

>>> import torch
>>> plus = torch.tensor([1, 1], dtype=torch.complex64) / 2 ** 0.5
>>> measure_bases(plus, [[1], [1]], torch.Generator().manual_seed(0)).tolist()
[0, 0]
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ShapeError
from .postprocess import basis_groups
from .terms import X, Y, check_bases, pack_codes

BATCH_ELEMENTS = 1 << 22
BLOCK = 4

_H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
_ROTATIONS = np.stack([np.eye(2), _H, _H @ np.diag([1, -1j]), np.eye(2)])  # by code I, X, Y, Z


def _as_batch(state) -> torch.Tensor:
    t = state.detach() if isinstance(state, torch.Tensor) else torch.as_tensor(np.asarray(state))
    t = t.reshape(1, -1) if t.dim() == 1 else t
    if t.dim() != 2 or t.shape[0] != 1 or t.shape[1] & (t.shape[1] - 1):
        raise ShapeError(f"state must have shape (2**n,) or (1, 2**n), got {tuple(t.shape)}")
    return t.to(torch.complex64)


def _block_rotations(rotations: torch.Tensor, codes: np.ndarray) -> torch.Tensor:
    """Per-row Kronecker product of the single-qubit rotations for ``codes`` ``(B, k)``."""
    from ..sim.kernels import kron_matrices

    return kron_matrices(rotations[torch.as_tensor(codes, dtype=torch.long)])


def measure_bases(state, bases, generator: torch.Generator | None = None) -> np.ndarray:
    """Measure one copy of ``state`` per row of ``bases``: int64 outcome indices ``(S,)``.

    Args:
        state: a state vector ``(2**n,)`` or ``(1, 2**n)`` (torch or numpy).
        bases: ``(S, n)`` codes in {1, 2, 3} (X, Y, Z), qubit 0 first.
        generator: torch generator for the samples (fixed seed -> identical outcomes).

    Returns:
        Outcome indices with qubit 0 as the most significant bit; bit 0 means eigenvalue +1
        of the measured Pauli.

    Raises:
        ShapeError: the state is not a vector, or the bases do not match its qubit count.
    """
    from .. import sim

    psi = _as_batch(state)
    n = int(psi.shape[1]).bit_length() - 1
    bases = check_bases(bases, n)
    first, inverse = basis_groups(*pack_codes(bases), n)
    uniq = bases[first]
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(uniq))
    starts = np.concatenate([[0], np.cumsum(counts)])
    rotations = torch.as_tensor(_ROTATIONS, dtype=psi.dtype, device=psi.device)
    out = np.empty(len(bases), dtype=np.int64)
    dev = psi.device
    rows_per_batch = max(1, BATCH_ELEMENTS >> n)
    for first in range(0, len(uniq), rows_per_batch):
        block = uniq[first:first + rows_per_batch]
        rotated = psi.expand(len(block), -1)
        for q0 in range(0, n, BLOCK):
            qubits = list(range(q0, min(q0 + BLOCK, n)))
            if np.any((block[:, qubits] == X) | (block[:, qubits] == Y)):
                matrices = _block_rotations(rotations, block[:, qubits])
                rotated = sim.apply_matrix(rotated, matrices, qubits, check_unitary=False)
        cdf = torch.cumsum(sim.probabilities(rotated).to(torch.float64), dim=1)
        cdf = cdf / cdf[:, -1:]  # rows end at exactly 1, so the shifted rows below stay sorted
        rows = torch.repeat_interleave(torch.arange(len(block), device=dev),
                                       torch.as_tensor(counts[first:first + len(block)], device=dev))
        u = torch.rand(len(rows), generator=generator, dtype=torch.float64, device=dev)
        shifted = (cdf + torch.arange(len(block), dtype=torch.float64, device=dev)[:, None]).reshape(-1)
        flat = torch.searchsorted(shifted, rows.to(torch.float64) + u, right=True)
        index = (flat - rows * cdf.shape[1]).clamp_(0, cdf.shape[1] - 1)
        out[order[starts[first]:starts[first + len(block)]]] = index.cpu().numpy()
    return out
