"""The data re-uploading classifier (Pérez-Salinas et al., Quantum 2020) as a torch module.

>>> import torch
>>> clf = ReuploadingClassifier(n_qubits=1, n_features=2, layers=4, n_classes=2)
>>> clf(torch.rand(5, 2)).shape
torch.Size([5, 2])
>>> clf.loss(torch.rand(5, 2), torch.tensor([0, 1, 0, 1, 1])).shape
torch.Size([])
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from ..circuits.ansatz.reuploading import data_reuploading, fidelities, fidelity_cost, label_states, weighted_fidelity_cost
from ..errors import ParameterError
from .layer import QuantumLayer

Cost = Literal["fidelity", "weighted_fidelity"]


class ReuploadingClassifier(nn.Module):
    """Re-uploading circuit + label states + (weighted) fidelity cost.

    Args:
        n_qubits: qubits (each sees every feature).
        n_features: input features.
        layers: re-uploading layers.
        n_classes: 2, 3, 4 or 6 (see :func:`~hybridq.circuits.ansatz.label_states`).
        cost: ``"fidelity"`` or ``"weighted_fidelity"`` (trainable class weights ``alpha``
            of shape ``(C, n_qubits)``, starting at 1). Defaults to fidelity.
        entangle: CZ gates between layers. Defaults to True.

    Shape:
        Input ``(B, n_features)``; output ``(B, C)`` class scores (``alpha``-weighted label
        fidelities summed over qubits); the prediction is their argmax.
    """

    def __init__(self, n_qubits: int, n_features: int, layers: int, n_classes: int, *, cost: Cost = "fidelity",
                 entangle: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if cost not in ("fidelity", "weighted_fidelity"):
            raise ParameterError(f"cost must be 'fidelity' or 'weighted_fidelity', got {cost!r}")
        self.cost = cost
        circuit = data_reuploading(n_qubits, n_features, layers, entangle=entangle)
        self.circuit = QuantumLayer(circuit, output="state", device=device, dtype=dtype)
        self.register_buffer("labels", label_states(n_classes).to(device), persistent=False)
        self.alpha = nn.Parameter(torch.ones(n_classes, n_qubits, device=device, dtype=dtype))
        self.alpha.requires_grad_(cost == "weighted_fidelity")

    def reset_parameters(self) -> None:
        self.circuit.reset_parameters()
        nn.init.ones_(self.alpha)

    def forward(self, x: Tensor) -> Tensor:
        f = fidelities(self.circuit(x), self.labels)  # (B, n, C)
        return (self.alpha.T.unsqueeze(0) * f).sum(1)

    def loss(self, x: Tensor, targets: Tensor) -> Tensor:
        """The configured cost on a batch."""
        states = self.circuit(x)
        if self.cost == "fidelity":
            return fidelity_cost(states, targets, self.labels)
        return weighted_fidelity_cost(states, targets, self.labels, self.alpha)

    def predict(self, x: Tensor) -> Tensor:
        return self(x).argmax(1)
