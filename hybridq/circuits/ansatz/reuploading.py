"""Data re-uploading classifier (Pérez-Salinas, Cervera-Lierta, Gil-Fuster, Latorre, Quantum 2020).

Each layer applies ``U(theta + w * x)`` to every qubit, a ZYZ rotation (RZ, RY, RZ in time order) whose three angles take
three input features each (``theta`` and ``w`` trainable; more than three features use several
rotations per layer), then a CZ entangler between layers. A sample is assigned the class whose
*label state* is closest (in fidelity) to the qubits' reduced states.

>>> c = data_reuploading(1, n_features=2, layers=3)
>>> c.n_inputs, len(c.weight_names)
(2, 15)
>>> label_states(3).shape
torch.Size([3, 2])
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...errors import ParameterError, ShapeError
from ...sim.measure import reduced_density_matrix
from ..circuit import Circuit
from ..expr import Input, Weight


def data_reuploading(n_qubits: int, n_features: int, layers: int, *, entangle: bool = True, prefix: str = "") -> Circuit:
    """The re-uploading circuit ``L(N) ... L(1) |0>``.

    Args:
        n_qubits: number of qubits (each sees every feature).
        n_features: number of input features.
        layers: number of re-uploading layers ``N``.
        entangle: put CZ gates between layers: ``(0,1)`` for two qubits; for more, the pairs
            ``(0,1), (2,3), ...`` and ``(1,2), (3,4), ..., (n-1, 0)`` alternately.
        prefix: weight-name prefix; weights are ``theta[l,q,k]`` (angle ``k``) and ``w[l,q,k]``
            (scale of feature ``k``).
    """
    if n_features < 1 or layers < 1:
        raise ShapeError(f"need n_features >= 1 and layers >= 1, got {n_features} and {layers}")
    c = Circuit(n_qubits)
    n_angles = 3 * math.ceil(n_features / 3)
    for layer in range(layers):
        for q in range(n_qubits):
            for start in range(0, n_angles, 3):
                angles = []
                for k in range(start, start + 3):
                    angle = Weight(f"{prefix}theta[{layer},{q},{k}]")
                    if k < n_features:
                        angle = Weight(f"{prefix}w[{layer},{q},{k}]") * Input(k) + angle
                    angles.append(angle)
                c.rz(angles[0], q).ry(angles[1], q).rz(angles[2], q)
        if entangle and layer < layers - 1:
            for a, b in _cz_pairs(n_qubits, layer):
                c.cz(a, b)
    return c


def _cz_pairs(n_qubits: int, layer: int) -> list[tuple[int, int]]:
    if n_qubits < 3:
        return [(0, 1)] if n_qubits == 2 else []
    return [(a, (a + 1) % n_qubits) for a in range(layer % 2, n_qubits - 1 + layer % 2, 2)]


def label_states(n_classes: int, *, dtype: torch.dtype = torch.complex128) -> Tensor:
    """Single-qubit label states, maximally apart on the Bloch sphere: shape ``(C, 2)``.

    2 classes: ``|0>, |1>``; 3: a triangle; 4: a tetrahedron; 6: the ``±x, ±y, ±z`` states.
    """
    s3 = math.sqrt(3)
    if n_classes == 2:
        rows = [[1, 0], [0, 1]]
    elif n_classes == 3:
        rows = [[1, 0], [0.5, s3 / 2], [0.5, -s3 / 2]]
    elif n_classes == 4:
        b = math.sqrt(2 / 3)
        rows = [[1, 0]] + [[1 / s3, b * complex(math.cos(p), math.sin(p))] for p in (0, 2 * math.pi / 3, -2 * math.pi / 3)]
    elif n_classes == 6:
        h = 1 / math.sqrt(2)
        rows = [[1, 0], [0, 1], [h, h], [h, -h], [h, 1j * h], [h, -1j * h]]
    else:
        raise ParameterError(f"label states are defined for 2, 3, 4 or 6 classes, got {n_classes}")
    return torch.tensor(rows, dtype=dtype)


def fidelities(states: Tensor, labels: Tensor) -> Tensor:
    """``F[b, q, c] = <label_c| rho_q |label_c>`` for each qubit's reduced state: ``(B, n, C)``."""
    n = states.shape[-1].bit_length() - 1
    labels = labels.to(states.dtype)
    rhos = torch.stack([reduced_density_matrix(states, [q]) for q in range(n)], dim=1)  # (B, n, 2, 2)
    return torch.einsum("ci,bqij,cj->bqc", labels.conj(), rhos, labels).real


def fidelity_cost(states: Tensor, targets: Tensor, labels: Tensor) -> Tensor:
    """Mean over samples and qubits of ``1 - F`` with the true class's label state."""
    f = fidelities(states, labels)  # (B, n, C)
    index = targets.long().view(-1, 1, 1).expand(-1, f.shape[1], 1)
    return (1 - f.gather(2, index)).mean()


def weighted_fidelity_cost(states: Tensor, targets: Tensor, labels: Tensor, alpha: Tensor) -> Tensor:
    """``1/2 mean_b sum_c (sum_q alpha[c,q] F[b,q,c] - Y[b,c])**2``.

    ``Y[b, c] = |<label_c|label_{y_b}>|**2``: 1 for the true class and the label states'
    overlap otherwise (0, 1/4, 1/3 for 2, 3, 4 classes, as in the paper). ``alpha`` has shape
    ``(C, n_qubits)`` and is trainable (start it at 1).
    """
    f = fidelities(states, labels)
    overlap = (labels.conj() @ labels.T).abs().square().to(f.dtype)  # (C, C)
    y = overlap[targets.long()]  # (B, C)
    scores = (alpha.T.unsqueeze(0) * f).sum(1)  # (B, C)
    return 0.5 * (scores - y).square().sum(1).mean()


def predict(states: Tensor, labels: Tensor, alpha: Tensor | None = None) -> Tensor:
    """Class with the largest (alpha-weighted) fidelity summed over qubits: ``(B,)`` int64."""
    f = fidelities(states, labels)
    scores = (alpha.T.unsqueeze(0) * f).sum(1) if alpha is not None else f.sum(1)
    return scores.argmax(1)
