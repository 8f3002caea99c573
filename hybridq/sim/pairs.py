"""Pair rotations: a run of commuting Pauli rotations that flip the same qubits, as one gate.

Pauli strings ``P_k`` with one flip mask ``m`` (their X/Y positions) that commute map each basis
state ``|x>`` to ``|x ^ m>``, and on every pair ``(|x>, |x ^ m>)`` they all equal ``+-Q(x)`` for
one 2x2 matrix ``Q(x)``. So ``prod_k exp(-i theta_k / 2 P_k)`` is, on each pair, the single
rotation ``exp(-i phi(x) / 2 Q(x))`` with ``phi(x) = sum_k eps_k(x) theta_k``:

    psi'[x]     = cos(phi/2) psi[x]     + sin(phi/2) b psi[x ^ m]
    psi'[x ^ m] = cos(phi/2) psi[x ^ m] - sin(phi/2) conj(b) psi[x]

with ``|b| = 1``. A fermionic excitation (the 2, 8 or more Pauli terms of ``T - T^dag``, all
angles multiples of one weight) cancels on every pair but those it excites, so only those
pairs are kept: one gather and one scatter per excitation instead of two passes per term.

>>> plan = PairPlan.build(["XY", "YX"], [[(1.0, 0)], [(-1.0, 0)]], n_qubits=2)  # exp(t (a1^dag a0 - h.c.))
>>> plan.x_index.tolist(), plan.y_index.tolist(), plan.coeffs.tolist()
([1], [2], [2.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..qubit_order import qubit_mask

Tensor = torch.Tensor
AngleTerms = Sequence[tuple[float, int | None]]  # coefficient, weight index (None: a constant)


def _masks(pauli: str) -> tuple[int, int]:
    """Flip and phase masks over basis-state bits (:func:`hybridq.qubit_order.qubit_mask`)."""
    n = len(pauli)
    flip = qubit_mask((q for q, p in enumerate(pauli) if p in "XY"), n)
    phase = qubit_mask((q for q, p in enumerate(pauli) if p in "YZ"), n)
    return flip, phase


def _parity(values: np.ndarray, mask: int, n: int) -> np.ndarray:
    out = np.zeros(values.shape, dtype=np.int64)
    for bit in range(n):
        if mask >> bit & 1:
            out ^= values >> bit & 1
    return out


def commuting_same_flip(paulis: Sequence[str]) -> bool:
    """Whether full-length Pauli strings share one non-zero flip mask and commute pairwise.

    >>> commuting_same_flip(["XXXY", "YXXX"]), commuting_same_flip(["XZ", "YI"])
    (True, False)
    """
    masks = [_masks(p) for p in paulis]
    flip = masks[0][0]
    if flip == 0 or any(f != flip for f, _ in masks):
        return False
    return all(bin(flip & (z ^ masks[0][1])).count("1") % 2 == 0 for _, z in masks)


@dataclass(frozen=True, eq=False)
class PairPlan:
    """The pairs a run of Pauli rotations moves, and how each pair's angle follows from the weights.

    Attributes:
        x_index, y_index: ``(S,)`` basis states of each moved pair (``y = x ^ m``).
        phase: ``(S,)`` complex ``b`` of each pair.
        rows, columns, coeffs: the angle of pair ``rows[j]`` has ``coeffs[j] * w[columns[j]]``
            (column -1: the constant 1).
    """

    x_index: np.ndarray
    y_index: np.ndarray
    phase: np.ndarray
    rows: np.ndarray
    columns: np.ndarray
    coeffs: np.ndarray

    @classmethod
    def build(cls, paulis: Sequence[str], angles: Sequence[AngleTerms], *, n_qubits: int) -> PairPlan:
        """The plan of ``exp(-i theta_k/2 P_k)`` for full-length strings that
        :func:`commuting_same_flip` accepts, ``theta_k = sum c * w[index]`` over ``angles[k]``."""
        flip, _ = _masks(paulis[0])
        top = 1 << (flip.bit_length() - 1)
        xs = np.arange(2**n_qubits, dtype=np.int64)
        xs = xs[(xs & top) == 0]
        signs = []
        for pauli in paulis:
            _, z = _masks(pauli)
            signs.append((1 - 2 * _parity(xs, z, n_qubits)) * 1j ** pauli.count("Y"))
        ref = signs[0]
        eps = np.stack([np.real(s / ref) for s in signs])  # (K, pairs), +-1
        columns = sorted({w if w is not None else -1 for terms in angles for _, w in terms})
        dense = np.zeros((len(columns), len(xs)))
        for k, terms in enumerate(angles):
            for c, w in terms:
                dense[columns.index(w if w is not None else -1)] += c * eps[k]
        dense[np.abs(dense) < 1e-12] = 0.0
        moved = np.flatnonzero(np.any(dense != 0, axis=0))
        block = dense[:, moved]
        entries = np.nonzero(block)
        return cls(
            x_index=xs[moved], y_index=xs[moved] ^ flip, phase=-1j * np.conj(ref[moved]),
            rows=entries[1], columns=np.array(columns)[entries[0]], coeffs=block[entries],
        )


def apply_pair_rotation(state: Tensor, phi: Tensor, phase: Tensor, x_index: Tensor, y_index: Tensor) -> Tensor:
    """The pair rotation (module docstring) of a ``(B, 2**n)`` state; ``phi`` ``(S,)`` or ``(B, S)``.

    >>> import torch
    >>> psi = torch.tensor([[0, 1, 0, 0]], dtype=torch.complex128)
    >>> out = apply_pair_rotation(psi, torch.tensor([torch.pi]), torch.tensor([1 + 0j]), torch.tensor([1]), torch.tensor([2]))
    >>> out.real.round().abs().tolist()
    [[0.0, 0.0, 1.0, 0.0]]
    """
    half = phi / 2
    c, s = torch.cos(half).to(state.dtype), torch.sin(half).to(state.dtype)
    px, py = state.index_select(1, x_index), state.index_select(1, y_index)
    sb = s * phase
    new_x = c * px + sb * py
    new_y = c * py - sb.conj() * px
    batch = max(state.shape[0], new_x.shape[0])
    out = state.expand(batch, -1) if state.shape[0] != batch else state
    return out.index_copy(1, x_index, new_x.expand(batch, -1)).index_copy(1, y_index, new_y.expand(batch, -1))


def adjoint_step(psi: Tensor, lam: Tensor, phi: Tensor, phase: Tensor, x_index: Tensor, y_index: Tensor,
                 ) -> tuple[Tensor, Tensor, Tensor]:
    """One step of the adjoint method through a pair rotation: the state and the adjoint state
    before it, and the gradient of the angles (``Re <lam| dU/dphi |psi>``, summed over a shared
    ``phi``'s batch), from the state ``psi`` after it and ``lam = dL/dpsi``.

    >>> import torch
    >>> ix, iy, b = torch.tensor([0]), torch.tensor([1]), torch.tensor([1 + 0j])
    >>> phi = torch.tensor([0.4], dtype=torch.float64)
    >>> after = apply_pair_rotation(torch.tensor([[1, 0j]]), phi, b, ix, iy)
    >>> before, _, grad = adjoint_step(after, torch.tensor([[0, 1 + 0j]]), phi, b, ix, iy)
    >>> before.real.tolist(), round(grad.item(), 6) == round(-0.5 * torch.cos(phi / 2).item(), 6)
    ([[1.0, 0.0]], True)
    """
    half = phi / 2
    c, s = torch.cos(half).to(psi.dtype), torch.sin(half).to(psi.dtype)
    sb = s * phase
    qx, qy = psi.index_select(1, x_index), psi.index_select(1, y_index)
    px, py = c * qx - sb * qy, c * qy + sb.conj() * qx  # the rotation undone
    lx, ly = lam.index_select(1, x_index), lam.index_select(1, y_index)
    cb = c * phase
    d = lx.conj() * (cb * py - s * px) - ly.conj() * (s * py + cb.conj() * px)
    grad = (d.real / 2).sum(0) if phi.dim() == 1 else d.real / 2
    lam_x, lam_y = c * lx - sb * ly, c * ly + sb.conj() * lx
    before = psi.index_copy(1, x_index, px).index_copy(1, y_index, py)
    return before, lam.index_copy(1, x_index, lam_x).index_copy(1, y_index, lam_y), grad
