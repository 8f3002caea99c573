"""Image classifier with quantum Hamiltonian embedding and data re-uploading (Wang et al. 2024).

``|psi> = prod_l [ V(omega_l) exp(-i t_l H_M / 2) ] |+>^n``, with ``H_M = (M + M^T)/2`` of the
padded image, trainable times ``t_l`` and trainable special-unitary blocks ``V``; the class
probabilities are the outcome probabilities of the first ``ceil(log2 C)`` qubits.

>>> import torch
>>> model = HamiltonianEmbeddingClassifier(3, layers=2, n_classes=8)
>>> p = model(torch.rand(4, 8, 8))
>>> p.shape, torch.allclose(p.sum(1), torch.ones(4))
(torch.Size([4, 8]), True)
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from ..circuits.ansatz.hamiltonian import apply_hamiltonian_evolution, brickwall_pairs, image_hamiltonians, special_unitary
from ..errors import ParameterError
from ..sim.measure import probabilities
from ..sim.ops import apply_matrix

Block = Literal["su", "su4"]


class HamiltonianEmbeddingClassifier(nn.Module):
    """Hamiltonian-embedding re-uploading classifier for square images.

    Args:
        n_qubits: qubits; images are padded to ``2**n x 2**n`` (3 for 8x8 digits, 5 for 28x28).
        layers: re-uploading layers ``L``.
        n_classes: classes ``C <= 2**n_qubits``.
        block: trainable block per layer: ``"su"`` (one SU(2**n) on all qubits, ``4**n - 1``
            angles) or ``"su4"`` (a brickwall of SU(4) gates, 15 angles each). Defaults to su4.

    Shape:
        Input ``(B, h, w)`` images; output ``(B, C)`` class probabilities (they sum to 1 when
        ``C`` is a power of two). Use ``log`` of them with ``nll_loss``, or them as logits as
        the paper does.

    Attributes:
        times: ``(L,)`` evolution times, initialised ``N(0, 1)`` as in the paper.
        angles: ``(L, blocks, 4**k - 1)`` block angles, initialised ``N(0, 1)`` as in the paper.
    """

    def __init__(self, n_qubits: int, layers: int, n_classes: int, *, block: Block = "su4", device=None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if not 2 <= n_classes <= 2**n_qubits:
            raise ParameterError(f"n_classes must be in 2..{2**n_qubits} for {n_qubits} qubits, got {n_classes}")
        if block not in ("su", "su4"):
            raise ParameterError(f"block must be 'su' or 'su4', got {block!r}")
        if block == "su4" and n_qubits < 2:
            raise ParameterError("block='su4' needs at least 2 qubits")
        self.n_qubits, self.layers, self.n_classes, self.block = n_qubits, layers, n_classes, block
        self.pairs = [tuple(range(n_qubits))] if block == "su" else brickwall_pairs(n_qubits)
        size = 4 ** len(self.pairs[0]) - 1
        kw = dict(device=device, dtype=dtype)
        self.times = nn.Parameter(torch.empty(layers, **kw))
        self.angles = nn.Parameter(torch.empty(layers, len(self.pairs), size, **kw))
        self.readout = list(range(math.ceil(math.log2(n_classes))))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Times and angles ``N(0, 1)``."""
        nn.init.normal_(self.times)
        nn.init.normal_(self.angles)

    def forward(self, images: Tensor) -> Tensor:
        rdt = self.times.dtype
        cdt = torch.complex128 if rdt == torch.float64 else torch.complex64
        with torch.no_grad():  # the data are not trained; eigh has unstable gradients on degenerate spectra
            h = image_hamiltonians(images.to(device=self.times.device, dtype=rdt), self.n_qubits)
            eigvals, eigvecs = torch.linalg.eigh(h)
        d = 2**self.n_qubits
        state = torch.full((h.shape[0], d), d**-0.5, dtype=cdt, device=h.device)  # |+>^n
        k = len(self.pairs[0])
        blocks = special_unitary(self.angles, k)  # (L, blocks, 2**k, 2**k)
        for layer in range(self.layers):
            state = apply_hamiltonian_evolution(state, eigvals, eigvecs, self.times[layer])
            for j, qubits in enumerate(self.pairs):
                state = apply_matrix(state, blocks[layer, j], list(qubits), check_unitary=False)
        return probabilities(state, self.readout)[:, : self.n_classes]

    def extra_repr(self) -> str:
        return f"n_qubits={self.n_qubits}, layers={self.layers}, n_classes={self.n_classes}, block={self.block!r}"
