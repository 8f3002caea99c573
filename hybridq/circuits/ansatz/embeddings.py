"""Data embeddings: angle embedding (a circuit) and amplitude embedding (an initial state).

>>> angle_embedding(3).count_ops()
{'RY': 3}
>>> import torch
>>> amplitude_embedding(torch.tensor([[3.0, 4.0]])).real
tensor([[0.6000, 0.8000]])
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ...errors import ShapeError
from ...sim.state import from_amplitudes
from ..circuit import Circuit
from ..expr import Input

_ROTATIONS = {"X": "RX", "Y": "RY", "Z": "RZ"}


def angle_embedding(
    n_qubits: int,
    *,
    rotation: str = "Y",
    features: Sequence[int] | None = None,
    scale: float = 1.0,
    hadamard: bool = False,
) -> Circuit:
    """Input ``features[q]`` as the angle of a rotation on qubit ``q``: ``R(scale * x_q)``.

    Args:
        n_qubits: number of qubits.
        rotation: ``"X"``, ``"Y"`` or ``"Z"``. Defaults to Y.
        features: input column for each qubit. Defaults to ``0..n_qubits-1``.
        scale: multiplies every angle. Defaults to 1.
        hadamard: start each qubit with a Hadamard (useful with ``rotation="Z"``).

    >>> angle_embedding(2, rotation="X").ops[1].params
    (Input(1),)
    """
    if rotation not in _ROTATIONS:
        raise ShapeError(f"rotation must be 'X', 'Y' or 'Z', got {rotation!r}")
    features = list(range(n_qubits)) if features is None else [int(f) for f in features]
    if len(features) != n_qubits:
        raise ShapeError(f"need one feature index per qubit ({n_qubits}), got {len(features)}")
    c = Circuit(n_qubits)
    for q, f in enumerate(features):
        if hadamard:
            c.h(q)
        c.add(_ROTATIONS[rotation], [q], Input(f) if scale == 1.0 else scale * Input(f))
    return c


def amplitude_embedding(
    x: Tensor, n_qubits: int | None = None, *, pad_with: float = 0.0, normalize: bool = True, dtype: torch.dtype | None = None
) -> Tensor:
    """Rows of ``x`` ``(B, F)`` as normalised amplitudes of ``n_qubits`` qubits: shape ``(B, 2**n)``.

    Rows are padded with ``pad_with`` up to ``2**n_qubits`` entries (``n_qubits`` defaults to
    the fewest that hold ``F`` values) and rescaled to unit norm. Differentiable in ``x``. The
    state is complex unless ``dtype`` is a real dtype (for real circuits).
    """
    x = torch.as_tensor(x)
    x = x.unsqueeze(0) if x.dim() == 1 else x
    if x.dim() != 2:
        raise ShapeError(f"x must have shape (B, F), got {tuple(x.shape)}")
    features = x.shape[1]
    n = max(1, (features - 1).bit_length()) if n_qubits is None else int(n_qubits)
    if features > 2**n:
        raise ShapeError(f"{features} features do not fit in the 2**{n} = {2**n} amplitudes of {n} qubits")
    if features < 2**n:
        x = torch.cat([x, x.new_full((x.shape[0], 2**n - features), float(pad_with))], dim=1)
    if dtype is None:
        dtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    return from_amplitudes(x.to(dtype), normalize=normalize)
