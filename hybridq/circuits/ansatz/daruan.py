"""DARUAN: a data re-uploading single-qubit activation (Jiang, Huang, Chen, Goan, 2025).

``phi(x) = <0| U^dag Z U |0>`` with ``U = W_{r+1} S(w_r x + b_r) W_r ... S(w_1 x + b_1) W_1 H``,
``W_l = RY(theta[l,1]) RZ(theta[l,0])`` and the encoding ``S(z) = exp(-i z sigma / 2)``
(``sigma`` = Z by default). The trainable pre-processing ``w_l x + b_l`` lets the frequency
spectrum grow with the number of repetitions ``r``.

:func:`daruan` is the circuit for one activation; :func:`daruan_expval` evaluates many
independent activations at once (one single-qubit state per sample and edge), which is how
:class:`hybridq.nn.QKANLayer` batches all edges of a layer.

>>> daruan(reps=2).count_ops()
{'H': 1, 'RZ': 5, 'RY': 3}
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ...errors import ShapeError
from ...sim.measure import expval_z
from ...sim.ops import apply_gate
from ...sim.state import zero_state
from ..circuit import Circuit
from ..expr import Input, Weight

Encoding = Literal["X", "Y", "Z"]


def daruan(reps: int = 3, *, encoding: Encoding = "Z", prefix: str = "") -> Circuit:
    """One DARUAN activation on input column 0: weights ``theta[l,k]``, ``w[l]``, ``b[l]``."""
    gate = _encoding_gate(encoding)
    c = Circuit(1).h(0)
    for layer in range(reps + 1):
        c.rz(Weight(f"{prefix}theta[{layer},0]"), 0).ry(Weight(f"{prefix}theta[{layer},1]"), 0)
        if layer < reps:
            c.add(gate, [0], Weight(f"{prefix}w[{layer}]") * Input(0) + Weight(f"{prefix}b[{layer}]"))
    return c


def daruan_expval(x: Tensor, theta: Tensor, w: Tensor, b: Tensor, *, encoding: Encoding = "Z") -> Tensor:
    """Batched DARUAN activations: ``x`` ``(N,)``, ``theta`` ``(N, r+1, 2)``, ``w``, ``b`` ``(N, r)`` -> ``(N,)``.

    Row ``i`` is an independent single-qubit circuit (the same as :func:`daruan`); the
    ``N`` circuits run as one state batch. The parameter tensors may be broadcast views.
    """
    reps = w.shape[-1]
    if theta.shape[-2:] != (reps + 1, 2) or b.shape[-1] != reps:
        raise ShapeError(f"expected theta (N, {reps + 1}, 2) and b (N, {reps}) for {reps} repetitions, "
                         f"got {tuple(theta.shape)} and {tuple(b.shape)}")
    gate = _encoding_gate(encoding)
    dtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    state = apply_gate(zero_state(1, x.shape[0], dtype=dtype, device=x.device), "H", [0])
    z = w * x.unsqueeze(-1) + b  # (N, r)
    for layer in range(reps + 1):
        state = apply_gate(state, "RZ", [0], theta[:, layer, 0])
        state = apply_gate(state, "RY", [0], theta[:, layer, 1])
        if layer < reps:
            state = apply_gate(state, gate, [0], z[:, layer])
    return expval_z(state)[:, 0]


def _encoding_gate(encoding: str) -> str:
    if encoding not in ("X", "Y", "Z"):
        raise ShapeError(f"encoding must be 'X', 'Y' or 'Z', got {encoding!r}")
    return "R" + encoding
