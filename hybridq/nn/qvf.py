"""Quantum Visual Fields (Wang, Theobalt, Golyanik, NeurIPS 2025): a coordinate network whose
output is read from a quantum state prepared by neural amplitude encoding.

``coords -> positional encoding -> MLP -> energies E (2**n) -> |psi> = sum_i sqrt(softmax(-beta E))_i |i>
-> real RY + CNOT-ring ansatz -> <Z_q>`` for the first ``out_channels`` qubits (values in
``[-1, 1]``; rescale targets to that range). The state is real, so the circuit runs on a real
dtype.

>>> import torch
>>> field = QVF(in_features=2, out_channels=3, n_qubits=4, layers=2, hidden=16)
>>> field(torch.rand(10, 2)).shape
torch.Size([10, 3])
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import torch
from torch import Tensor, nn

from ..circuits.ansatz.qvf import gibbs_amplitudes, qvf_ansatz
from ..errors import ParameterError
from .layer import QuantumLayer
from .observables import Z_each


class Sine(nn.Module):
    """``sin(omega * x)`` (SIREN-style activation)."""

    def __init__(self, omega: float = 30.0) -> None:
        super().__init__()
        self.omega = omega

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(self.omega * x)


def positional_encoding(x: Tensor, frequencies: int) -> Tensor:
    """``[x, sin(2**k pi x), cos(2**k pi x)]`` for ``k < frequencies``: ``(*, F) -> (*, F (1 + 2 frequencies))``."""
    if frequencies == 0:
        return x
    scales = (2.0 ** torch.arange(frequencies, dtype=x.dtype, device=x.device)) * math.pi
    angles = (x.unsqueeze(-1) * scales).flatten(-2)
    return torch.cat([x, angles.sin(), angles.cos()], dim=-1)


def _gauss(t: Tensor, std: float) -> Tensor:
    return torch.randn_like(t) * std


def _uniform_angle(t: Tensor) -> Tensor:
    return torch.rand_like(t) * (2 * math.pi)


class QVF(nn.Module):
    """A quantum visual field: coordinates ``(*, in_features)`` to values ``(*, out_channels)``.

    Args:
        in_features: coordinate dimension (2 for images, 3 for shapes).
        out_channels: outputs, one ``<Z_q>`` each (``<= n_qubits``).
        n_qubits: qubits ``n``; the MLP outputs ``2**n`` energies. Defaults to 5 (the paper's).
        layers: ansatz blocks ``J``. Defaults to 5.
        hidden: MLP width. Defaults to 128.
        depth: hidden layers of the MLP. Defaults to 3.
        frequencies: positional-encoding octaves. Defaults to 6.
        activation: ``"relu"`` or ``"sin"``. Defaults to relu.
        beta: inverse temperature of the Boltzmann amplitudes. Defaults to 1.
        init: ``"gauss"`` (angles ``N(0, 1/J)``) or ``"identity"`` (blocks ``S(b)^dag S(a)``
            with ``a = b ~ U[0, 2 pi)``, the identity at start).
    """

    def __init__(self, in_features: int = 2, out_channels: int = 3, *, n_qubits: int = 5, layers: int = 5,
                 hidden: int = 128, depth: int = 3, frequencies: int = 6, activation: Literal["relu", "sin"] = "relu",
                 beta: float = 1.0, init: Literal["gauss", "identity"] = "gauss", device=None, dtype=None) -> None:
        super().__init__()
        if not 1 <= out_channels <= n_qubits:
            raise ParameterError(f"out_channels must be in 1..{n_qubits} (one qubit each), got {out_channels}")
        if init not in ("gauss", "identity") or activation not in ("relu", "sin"):
            raise ParameterError(f"init must be 'gauss' or 'identity' and activation 'relu' or 'sin', got {init!r}, {activation!r}")
        self.frequencies, self.beta, self.init = frequencies, beta, init
        kw = dict(device=device, dtype=dtype)
        width = in_features * (1 + 2 * frequencies)
        mods: list[nn.Module] = []
        for _ in range(depth):
            mods += [nn.Linear(width, hidden, **kw), nn.ReLU() if activation == "relu" else Sine()]
            width = hidden
        mods.append(nn.Linear(width, 2**n_qubits, **kw))
        self.energy = nn.Sequential(*mods)
        circuit = qvf_ansatz(n_qubits, layers, identity_init=init == "identity")
        rule = functools.partial(_gauss, std=1 / math.sqrt(layers)) if init == "gauss" else _uniform_angle
        self.quantum = QuantumLayer(circuit, Z_each(n_qubits, range(out_channels)), init={"*": rule}, **kw)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the ansatz angles (MLP layers keep torch's default initialisation)."""
        self.quantum.reset_parameters()
        if self.init == "identity":
            names = self.quantum.circuit.weight_names
            index = {n: i for i, n in enumerate(names)}
            with torch.no_grad():
                w = self.quantum.weight
                for name in names:
                    if name.startswith("b"):
                        w[index[name]] = w[index["a" + name[1:]]]

    def amplitudes(self, coords: Tensor) -> Tensor:
        """The encoded input states (real, normalised): ``(B, 2**n)``."""
        return gibbs_amplitudes(self.energy(positional_encoding(coords, self.frequencies)), self.beta)

    def forward(self, coords: Tensor) -> Tensor:
        flat = coords.reshape(-1, coords.shape[-1])
        out = self.quantum(initial_state=self.amplitudes(flat))
        return out.reshape(*coords.shape[:-1], out.shape[-1])
