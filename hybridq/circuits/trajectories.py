"""Noisy circuits as quantum trajectories, run by the engine with the trajectories as the batch.

A :class:`~hybridq.sim.noise.NoiseModel` puts channels after every gate. Depolarizing and phase
damping are mixtures of Paulis with fixed weights: each trajectory draws its Paulis before the
run, and they enter the circuit as per-sample gates (``RZ(pi z) RX(pi x)`` on each noisy qubit,
angles read from extra input columns; the global phases they differ by do not matter for a
trajectory's ``|psi><psi|``). The noisy circuit then runs through :func:`hybridq.simulate`'s
engine like any circuit with per-sample angles. Amplitude damping is not a mixture of unitaries:
its quantum jump is drawn from the state, so the circuit is cut where a damped qubit is next
touched (a channel commutes with gates on other qubits), and the pending jumps are drawn between
the cuts (:func:`hybridq.sim.noise.amplitude_damp`). Without amplitude damping a noisy circuit is
one engine run.

>>> import torch
>>> from hybridq.circuits import Circuit
>>> from hybridq.sim.noise import NoiseModel
>>> states = simulate_trajectories(Circuit(1).x(0), NoiseModel(depolarizing=0.3), trajectories=4000,
...                                generator=torch.Generator().manual_seed(0))
>>> states.abs().square().mean(0).round(decimals=1).tolist()  # the density matrix's diagonal: 0.15, 0.85
[0.1, 0.9]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..checks import check_count, check_dtype
from ..errors import ShapeError
from ..sim.noise import NoiseModel, amplitude_damp, draw_paulis, draw_phase_flips
from ..sim.state import check_device
from .circuit import Circuit
from .execute import checked_inputs, evolve, weight_values
from .expr import Input

Tensor = torch.Tensor


@dataclass(frozen=True)
class NoisyPlan:
    """A circuit with its noise as segments run by the engine, each followed by the amplitude
    damping of ``damped[k]``; per-sample Pauli gates read input columns (after the circuit's):
    ``paulis[k]`` ``(slots, k, 2)`` the (x, z) columns of each k-qubit depolarizing channel,
    ``flips`` ``(slots,)`` the z column of each phase damping."""

    noise: NoiseModel
    segments: tuple[Circuit, ...]
    damped: tuple[tuple[int, ...], ...]
    paulis: dict[int, Tensor]
    flips: Tensor
    n_columns: int

    @classmethod
    def of(cls, circuit: Circuit, noise: NoiseModel) -> NoisyPlan:
        """The plan of ``circuit`` under ``noise``, cached on it while its operations and ``noise``
        are unchanged (:meth:`Circuit.derived`)."""
        return circuit.derived("noisy plan", lambda: cls._make(circuit, noise), key=noise)

    @classmethod
    def _make(cls, circuit: Circuit, noise: NoiseModel) -> NoisyPlan:
        """The plan of ``circuit`` under ``noise``, made anew."""
        n, column = circuit.n_qubits, circuit.n_inputs
        segments, damped, current, pending = [], [], Circuit(n), []
        paulis, flips = {1: [], 2: []}, []

        def columns(count: int) -> list[int]:
            nonlocal column
            column += count
            return list(range(column - count, column))

        def pauli(qubits: tuple[int, ...]) -> None:
            slot = []
            for q in qubits:
                x, z = columns(2)
                current.rz(Input(z), q).rx(Input(x), q)
                slot.append((x, z))
            paulis[len(qubits)].append(slot)

        for op in circuit.ops:
            wires = op.controls + op.qubits
            if set(wires) & set(pending):  # a damped qubit is touched again: its jump is drawn first
                segments.append(current)
                damped.append(tuple(pending))
                current, pending = Circuit(n), []
            current.append(op)
            if len(wires) == 2 and noise.depolarizing_2q:
                pauli(wires)
            elif len(wires) != 2 and noise.depolarizing:
                for q in wires:
                    pauli((q,))
            if noise.phase_damping:  # it commutes with the amplitude damping that precedes it
                for q in wires:
                    (z,) = columns(1)
                    current.rz(Input(z), q)
                    flips.append(z)
            if noise.amplitude_damping:
                pending.extend(wires)
        segments.append(current)
        damped.append(tuple(pending))
        table = {k: torch.tensor(v, dtype=torch.long).reshape(-1, k, 2) for k, v in paulis.items()}
        return cls(noise, tuple(segments), tuple(damped), table, torch.tensor(flips, dtype=torch.long), column)

    def draw(self, count: int, n_inputs: int, generator: torch.Generator | None) -> Tensor:
        """The error columns ``(count, n_columns - n_inputs)`` of ``count`` trajectories: ``pi``
        where a Pauli X or Z part was drawn, else 0."""
        out = torch.zeros(count, self.n_columns, dtype=torch.float64)
        for wires, columns in self.paulis.items():
            if len(columns):
                letters = draw_paulis(self.noise, wires, count, len(columns), generator=generator)
                x = (letters == 1) | (letters == 2)  # X, Y
                z = (letters == 2) | (letters == 3)  # Y, Z
                out[:, columns[..., 0].reshape(-1)] = math.pi * x.reshape(count, -1).double()
                out[:, columns[..., 1].reshape(-1)] = math.pi * z.reshape(count, -1).double()
        if len(self.flips):
            out[:, self.flips] = math.pi * draw_phase_flips(self.noise, count, len(self.flips), generator=generator).double()
        return out[:, n_inputs:]


def simulate_trajectories(
    circuit: Circuit,
    noise: NoiseModel,
    inputs=None,
    weights=None,
    *,
    trajectories: int | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.complex128,
    device=None,
) -> Tensor:
    """States ``(B, 2**n)`` from ``|0...0>``, row ``b`` after one random trajectory of ``circuit``
    under ``noise`` (gate channels; read-out errors are the sampler's). The mean of
    ``|psi><psi|`` over rows is the noisy density matrix.

    Args:
        circuit: the circuit.
        noise: the noise model.
        inputs: ``(B, n_inputs)``: one trajectory per row (repeat rows for more).
        weights: as for :func:`hybridq.simulate`.
        trajectories: the number of rows ``B`` when there are no inputs. Defaults to 1.
        generator: draws the noise (a fixed seed gives the same trajectories).
        dtype: state dtype. Defaults to complex128.
        device: defaults to the inputs' device, else CPU.

    >>> from hybridq.circuits import Circuit
    >>> from hybridq.sim.noise import NoiseModel
    >>> g = torch.Generator().manual_seed(1)
    >>> simulate_trajectories(Circuit(2).h(0).cx(0, 1), NoiseModel(amplitude_damping=0.1), trajectories=3, generator=g).shape
    torch.Size([3, 4])
    """
    x = checked_inputs(circuit, inputs)
    if x is not None and trajectories is not None and trajectories != x.shape[0]:
        raise ShapeError(f"one trajectory per row of inputs: got {x.shape[0]} rows and trajectories={trajectories}; "
                         "repeat the rows of inputs for more trajectories")
    count = x.shape[0] if x is not None else check_count(trajectories if trajectories is not None else 1, "trajectories")
    device = check_device(device or (x.device if x is not None else "cpu"))
    dtype = check_dtype(dtype)
    real = dtype.to_real()
    values = weight_values(circuit, weights)
    plan = NoisyPlan.of(circuit, noise)
    columns = plan.draw(count, circuit.n_inputs, generator).to(device=device, dtype=real)
    if x is not None:
        columns = torch.cat([x[:, : circuit.n_inputs].to(device=device, dtype=real), columns], dim=1)
    state = None
    for segment, damped in zip(plan.segments, plan.damped):
        state = evolve(segment, state, columns if columns.shape[1] else None,
                       {k: values[k] for k in segment.weight_names}, batch=count, dtype=dtype, device=device)
        for q in damped:
            state = amplitude_damp(state, q, noise.amplitude_damping, generator=generator)
    return state
