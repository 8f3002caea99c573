"""Noise on the engine: gate errors as density matrices (small n) or quantum trajectories.

A :class:`NoiseModel` says which channels follow every gate, on the qubits the gate touches
(its controls and targets), in this order:

1. depolarizing on all of the gate's qubits together (``depolarizing`` after 1-qubit gates,
   ``depolarizing_2q`` after 2-qubit gates; gates on 3+ qubits get the 1-qubit channel on each);
2. amplitude damping (``amplitude_damping`` = gamma) on each of them;
3. phase damping (``phase_damping`` = lambda) on each of them.

Readout error flips a measured bit: 0 -> 1 with ``readout[0]``, 1 -> 0 with ``readout[1]``.
Parameters follow Qiskit Aer's ``depolarizing_error``, ``amplitude_damping_error`` and
``phase_damping_error``: depolarizing ``E(rho) = (1 - p) rho + p Tr(rho) I / 2**k``.

Two ways to run noisy circuits:

* :func:`run_density` (a program: a list of unfused :class:`~hybridq.sim.program.Op`): the
  exact density matrix, as a vector on ``2n`` qubits (rows are qubits ``0..n-1``, columns
  ``n..2n-1``): a gate ``U`` acts as ``U`` on the rows and ``conj(U)`` on the columns, a
  channel as its superoperator ``sum_k K_k (x) conj(K_k)``. Memory ``4**n``.
* trajectories (:func:`hybridq.circuits.trajectories.simulate_trajectories`, through the engine):
  each row of a state batch follows one random trajectory. Depolarizing and phase damping are
  mixtures of Paulis of fixed weights, drawn per trajectory before the run (:func:`draw_paulis`,
  :func:`draw_phase_flips`) and run as per-sample gates; amplitude damping draws its quantum jump
  from the state (:func:`amplitude_damp`). The average of ``|psi><psi|`` over trajectories is the
  density matrix.

>>> import torch
>>> from hybridq.sim import gate_op
>>> noise = NoiseModel(depolarizing=0.3)
>>> program = [gate_op("X", [0], n_qubits=1, dtype=torch.complex128)]
>>> density_probabilities(run_density(zero_density(1), program, noise))
tensor([[0.1500, 0.8500]], dtype=torch.float64)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

from ..errors import ShapeError
from ..qubit_order import bit_position, bits_to_index, index_to_bits
from .kernels import apply_dense, n_qubits_of
from .program import Op

Tensor = torch.Tensor

_PAULIS = {
    "I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1, -1]),
}


@dataclass(frozen=True)
class NoiseModel:
    """Errors after every gate and on every measured bit (see the module docstring).

    Attributes:
        depolarizing: depolarizing parameter after 1-qubit gates (and per qubit after 3+ qubit gates).
        depolarizing_2q: 2-qubit depolarizing parameter after 2-qubit gates.
        amplitude_damping: decay probability gamma per touched qubit.
        phase_damping: dephasing parameter lambda per touched qubit.
        readout: ``(P(read 1 | 0), P(read 0 | 1))``.

    >>> NoiseModel(depolarizing=0.01, readout=(0.02, 0.03)).is_ideal
    False
    """

    depolarizing: float = 0.0
    depolarizing_2q: float = 0.0
    amplitude_damping: float = 0.0
    phase_damping: float = 0.0
    readout: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self):
        limits = {"depolarizing": 4 / 3, "depolarizing_2q": 16 / 15, "amplitude_damping": 1.0, "phase_damping": 1.0}
        for name, top in limits.items():
            value = getattr(self, name)
            if not 0.0 <= float(value) <= top:
                raise ShapeError(f"{name} must lie in [0, {top:.4g}], got {value!r}")
        if len(self.readout) != 2 or not all(0.0 <= float(p) <= 1.0 for p in self.readout):
            raise ShapeError(f"readout must be two probabilities (P(1|0), P(0|1)), got {self.readout!r}")
        object.__setattr__(self, "readout", (float(self.readout[0]), float(self.readout[1])))

    @property
    def is_ideal(self) -> bool:
        """Whether no channel and no readout error is set."""
        return not (self.has_gate_noise or any(self.readout))

    @property
    def has_gate_noise(self) -> bool:
        """Whether any channel follows the gates."""
        return bool(self.depolarizing or self.depolarizing_2q or self.amplitude_damping or self.phase_damping)

    def channels(self, wires: Sequence[int]) -> list[tuple[np.ndarray, tuple[int, ...]]]:
        """The channels after a gate on ``wires``: ``(Kraus operators (K, d, d), qubits)`` in order."""
        wires = tuple(wires)
        out = []
        if len(wires) == 2 and self.depolarizing_2q:
            out.append((depolarizing_kraus(self.depolarizing_2q, 2), wires))
        elif len(wires) != 2 and self.depolarizing:
            out += [(depolarizing_kraus(self.depolarizing, 1), (q,)) for q in wires]
        if self.amplitude_damping:
            out += [(amplitude_damping_kraus(self.amplitude_damping), (q,)) for q in wires]
        if self.phase_damping:
            out += [(phase_damping_kraus(self.phase_damping), (q,)) for q in wires]
        return out

    def confusion(self) -> np.ndarray:
        """Readout confusion matrix ``C[read, true]`` of one qubit."""
        p01, p10 = self.readout
        return np.array([[1 - p01, p10], [p01, 1 - p10]])


@lru_cache(maxsize=8)
def depolarizing_kraus(p: float, n_qubits: int) -> np.ndarray:
    """Kraus operators ``(4**k, 2**k, 2**k)`` of the k-qubit depolarizing channel (Pauli form)."""
    weight = p / 4**n_qubits
    ops = []
    for letters in itertools.product("IXYZ", repeat=n_qubits):
        m = np.ones((1, 1))
        for letter in letters:
            m = np.kron(m, _PAULIS[letter])
        identity = set(letters) == {"I"}
        ops.append(math.sqrt((1 - p + weight) if identity else weight) * m)
    return np.stack(ops).astype(np.complex128)


@lru_cache(maxsize=8)
def amplitude_damping_kraus(gamma: float) -> np.ndarray:
    """Kraus operators of amplitude damping: ``|1> -> |0>`` with probability gamma."""
    return np.array([[[1, 0], [0, math.sqrt(1 - gamma)]], [[0, math.sqrt(gamma)], [0, 0]]], dtype=np.complex128)


@lru_cache(maxsize=8)
def phase_damping_kraus(lam: float) -> np.ndarray:
    """Kraus operators of phase damping (coherences scaled by ``sqrt(1 - lambda)``)."""
    return np.array([[[1, 0], [0, math.sqrt(1 - lam)]], [[0, 0], [0, math.sqrt(lam)]]], dtype=np.complex128)


# ----- density matrices


def zero_density(n_qubits: int, batch: int = 1, *, dtype: torch.dtype = torch.complex128, device=None) -> Tensor:
    """``|0..0><0..0|`` as a vectorised density matrix ``(B, 4**n)``."""
    rho = torch.zeros(batch, 4**n_qubits, dtype=dtype, device=device)
    rho[:, 0] = 1
    return rho


def run_density(rho: Tensor, ops: Sequence[Op], noise: NoiseModel) -> Tensor:
    """Apply a program and its noise to vectorised density matrices ``(B, 4**n)``.

    The ops must be unfused (no ``"permutation"`` ops, which act on every qubit at once).
    """
    n = _density_qubits(rho)
    for op in ops:
        rho = _mirror(op, n).apply(op.apply(rho))
        for kraus, wires in noise.channels(op.controls + op.qubits):
            k = torch.as_tensor(kraus, dtype=rho.dtype, device=rho.device)
            superop = torch.einsum("kab,kcd->acbd", k, k.conj()).reshape(4 ** len(wires), -1)
            rho = apply_dense(rho, superop, wires + tuple(q + n for q in wires))
    return rho


def density_probabilities(rho: Tensor) -> Tensor:
    """Outcome probabilities ``(B, 2**n)`` (the real diagonal) of vectorised density matrices."""
    n = _density_qubits(rho)
    return rho.reshape(rho.shape[0], 2**n, 2**n).diagonal(dim1=1, dim2=2).real


def _density_qubits(rho: Tensor) -> int:
    n2 = n_qubits_of(rho)
    if rho.dim() != 2 or n2 % 2 or rho.shape[1] != 1 << n2:
        raise ShapeError(f"a vectorised density matrix has shape (B, 4**n), got {tuple(rho.shape)}")
    return n2 // 2


def _mirror(op: Op, n: int) -> Op:
    """The op acting as ``conj(U)`` on the column qubits ``q + n``."""
    if op.kind == "permutation":
        raise ShapeError("run_density needs an unfused program (got a permutation op); compile without fusion")
    data = op.data
    if data is not None:
        if op.kind == "pauli_rotation":
            data = data if op.pauli.count("Y") % 2 else -data
        else:
            data = data.conj()
    return replace(op, qubits=tuple(q + n for q in op.qubits), controls=tuple(c + n for c in op.controls), data=data)


# ----- trajectories


def draw_paulis(noise: NoiseModel, wires: int, count: int, slots: int, *,
                generator: torch.Generator | None = None) -> Tensor:
    """Pauli letters ``(count, slots, wires)`` (0, 1, 2, 3 = I, X, Y, Z) of ``slots`` depolarizing
    channels on ``wires`` qubits, one draw per trajectory: the channel's Kraus operators are Paulis
    of state-independent weights, so a trajectory draws them before it runs.

    >>> draw_paulis(NoiseModel(depolarizing_2q=1.0), 2, 3, 4).shape
    torch.Size([3, 4, 2])
    """
    p = noise.depolarizing_2q if wires == 2 else noise.depolarizing
    weights = torch.full((4**wires,), p / 4**wires, dtype=torch.float64)
    weights[0] += 1 - p
    cdf = weights.cumsum(0)
    u = torch.rand(count, slots, generator=generator, dtype=torch.float64) * cdf[-1]
    index = torch.searchsorted(cdf, u, right=True).clamp_max(4**wires - 1)
    return torch.stack([(index >> 2 * (wires - 1 - j)) & 3 for j in range(wires)], dim=-1)


def draw_phase_flips(noise: NoiseModel, count: int, slots: int, *, generator: torch.Generator | None = None) -> Tensor:
    """Booleans ``(count, slots)``: phase damping as the phase-flip channel it equals (``Z`` with
    probability ``(1 - sqrt(1 - lambda)) / 2`` scales the coherences by ``sqrt(1 - lambda)`` too).

    >>> flips = draw_phase_flips(NoiseModel(phase_damping=0.75), 4000, 2, generator=torch.Generator().manual_seed(0))
    >>> flips.shape, round(flips.double().mean().item(), 1)  # (1 - sqrt(0.25)) / 2 = 0.25
    (torch.Size([4000, 2]), 0.2)
    """
    flip = (1 - math.sqrt(1 - noise.phase_damping)) / 2
    return torch.rand(count, slots, generator=generator, dtype=torch.float64) < flip


def amplitude_damp(state: Tensor, qubit: int, gamma: float, *, generator: torch.Generator | None = None) -> Tensor:
    """Amplitude damping of ``qubit`` on normalised states ``(B, 2**n)``, one quantum jump drawn
    per row: ``|1> -> |0>`` with probability ``gamma * P(qubit = 1)``, else ``|1>`` shrinks by
    ``sqrt(1 - gamma)``; each row renormalised.

    >>> psi = torch.tensor([[0, 1]], dtype=torch.complex128)
    >>> amplitude_damp(psi, 0, 1.0).real.tolist()
    [[1.0, 0.0]]
    """
    n = n_qubits_of(state)
    view = state.reshape(state.shape[0], 2**qubit, 2, 2 ** bit_position(qubit, n))
    one = view[:, :, 1]
    parts = torch.view_as_real(one) if one.is_complex() else one[..., None]  # |z|**2 as re**2 + im**2: abs() is slower
    p_jump = gamma * parts.square().sum((1, 2, 3)).to(torch.float64)  # (B,)
    jump = torch.rand(state.shape[0], generator=generator, dtype=torch.float64).to(state.device) < p_jump
    stay = (1 - p_jump).clamp_min(1e-300).rsqrt()
    # per row: |0> part <- a |0> + b |1>, |1> part <- c |1> (the drawn Kraus operator, renormalised)
    a = torch.where(jump, 0.0, stay)
    b = torch.where(jump, (gamma / p_jump.clamp_min(1e-300)).sqrt(), 0.0)
    c = torch.where(jump, 0.0, math.sqrt(1 - gamma) * stay)
    a, b, c = (v.to(state.real.dtype)[:, None, None] for v in (a, b, c))
    out = torch.empty_like(view)
    torch.addcmul(view[:, :, 0] * a, one, b, out=out[:, :, 0])
    torch.mul(one, c, out=out[:, :, 1])
    return out.reshape(state.shape)


# ----- readout


def readout_probabilities(probs: Tensor, noise: NoiseModel) -> Tensor:
    """Outcome probabilities ``(B, 2**n)`` after independent readout errors on every qubit."""
    if not any(noise.readout):
        return probs
    n = n_qubits_of(probs)
    c = torch.as_tensor(noise.confusion(), dtype=probs.dtype, device=probs.device)
    for q in range(n):
        view = probs.reshape(probs.shape[0], 2**q, 2, -1)
        probs = torch.einsum("ij,bajc->baic", c, view).reshape(probs.shape[0], -1)
    return probs


def apply_readout(outcomes: Tensor, n_qubits: int, noise: NoiseModel, *,
                  generator: torch.Generator | None = None) -> Tensor:
    """Flip the bits of int64 outcome indices (any shape) by the readout error rates."""
    if not any(noise.readout):
        return outcomes
    bits = index_to_bits(outcomes, n_qubits)
    rates = torch.tensor(noise.readout, dtype=torch.float64, device=outcomes.device)[bits]
    flips = torch.rand(bits.shape, generator=generator, dtype=torch.float64, device=outcomes.device) < rates
    return bits_to_index(bits ^ flips.long())
