"""DARUAN activations and QKAN layers (Jiang, Huang, Chen, Goan, 2025) as torch modules.

A QKAN layer replaces each weight of a linear layer by a learnable single-qubit re-uploading
activation ``phi_ji(x_i)`` (see :mod:`hybridq.circuits.ansatz.daruan`):
``y_j = sum_i c_ji phi_ji(x_i) + sum_i a_ji silu(x_i)``. All ``B * out * in`` edge circuits
run as one batch of single-qubit states.

>>> import torch
>>> layer = QKANLayer(4, 3, reps=2)
>>> layer(torch.rand(8, 4)).shape
torch.Size([8, 3])
>>> DaruanActivation(5)(torch.rand(2, 5)).shape
torch.Size([2, 5])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..circuits.ansatz.daruan import Encoding, daruan_expval
from ..errors import ShapeError


class _Daruan(nn.Module):
    """Shared parameters of a grid ``shape`` of DARUAN activations."""

    def __init__(self, shape: tuple[int, ...], reps: int, encoding: Encoding, preact_trainable: bool, device, dtype):
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.reps, self.encoding = reps, encoding
        self.theta = nn.Parameter(torch.empty(*shape, reps + 1, 2, **kw))
        if preact_trainable:
            self.preact_weight = nn.Parameter(torch.empty(*shape, reps, **kw))
            self.preact_bias = nn.Parameter(torch.empty(*shape, reps, **kw))
        else:
            self.register_buffer("preact_weight", torch.empty(*shape, reps, **kw))
            self.register_buffer("preact_bias", torch.empty(*shape, reps, **kw))

    def reset_daruan(self) -> None:
        with torch.no_grad():
            self.theta.normal_(0.0, 0.5)
            self.preact_weight.fill_(1.0)
            self.preact_bias.zero_()

    def activations(self, x: Tensor) -> Tensor:
        """``phi(x)`` for ``x`` broadcastable to ``(B, *shape)``: shape ``(B, *shape)``."""
        shape = self.theta.shape[:-2]
        x = x.expand(x.shape[0], *shape)
        n = x.numel()
        grid = lambda p: p.expand(x.shape[0], *p.shape).reshape(n, *p.shape[len(shape):])  # noqa: E731
        out = daruan_expval(x.reshape(n), grid(self.theta), grid(self.preact_weight), grid(self.preact_bias),
                            encoding=self.encoding)
        return out.view(x.shape)


class DaruanActivation(_Daruan):
    """An element-wise quantum activation: feature ``i`` goes through its own DARUAN ``phi_i``.

    Args:
        features: number of features ``F``.
        reps: re-uploading repetitions ``r``. Defaults to 3.
        encoding: encoding axis ``"X"``, ``"Y"`` or ``"Z"``. Defaults to Z.
        preact_trainable: train the pre-processing ``w x + b`` (else fixed at ``w=1, b=0``).

    Shape:
        Input ``(*, F)``; output ``(*, F)`` in ``[-1, 1]``.
    """

    def __init__(self, features: int, reps: int = 3, *, encoding: Encoding = "Z", preact_trainable: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__((features,), reps, encoding, preact_trainable, device, dtype)
        self.features = features
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``theta ~ N(0, 0.5**2)``, ``w = 1``, ``b = 0``."""
        self.reset_daruan()

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.features:
            raise ShapeError(f"expected input of shape (*, {self.features}), got {tuple(x.shape)}")
        flat = x.reshape(-1, self.features)
        return self.activations(flat).reshape(x.shape)

    def extra_repr(self) -> str:
        return f"features={self.features}, reps={self.reps}, encoding={self.encoding!r}"


class QKANLayer(_Daruan):
    """A Kolmogorov-Arnold layer with DARUAN edge activations; a drop-in for ``nn.Linear``.

    ``y_j = sum_i weight[j,i] * phi_ji(x_i) + sum_i base_weight[j,i] * silu(x_i) + bias[j]``.

    Args:
        in_features: input size.
        out_features: output size.
        reps: re-uploading repetitions per activation. Defaults to 3.
        encoding: encoding axis. Defaults to Z.
        base: include the ``silu`` residual branch. Defaults to True.
        bias: include an output bias. Defaults to True.
        preact_trainable: train the pre-processing ``w x + b``. Defaults to True.

    Shape:
        Input ``(*, in_features)``; output ``(*, out_features)``.
    """

    def __init__(self, in_features: int, out_features: int, reps: int = 3, *, encoding: Encoding = "Z",
                 base: bool = True, bias: bool = True, preact_trainable: bool = True, device=None, dtype=None) -> None:
        super().__init__((out_features, in_features), reps, encoding, preact_trainable, device, dtype)
        kw = dict(device=device, dtype=dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features, **kw))
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features, **kw)) if base else None
        self.bias = nn.Parameter(torch.empty(out_features, **kw)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Activations as :class:`DaruanActivation`; weights and bias ``U(-1/sqrt(in), 1/sqrt(in))``."""
        self.reset_daruan()
        bound = 1 / math.sqrt(self.in_features)
        with torch.no_grad():
            for p in (self.weight, self.base_weight, self.bias):
                if p is not None:
                    p.uniform_(-bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ShapeError(f"expected input of shape (*, {self.in_features}), got {tuple(x.shape)}")
        flat = x.reshape(-1, self.in_features)
        phi = self.activations(flat.unsqueeze(1))  # (B, out, in)
        y = (phi * self.weight).sum(-1)
        if self.base_weight is not None:
            y = y + F.silu(flat) @ self.base_weight.T
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, reps={self.reps}, "
                f"encoding={self.encoding!r}, base={self.base_weight is not None}")
