"""The hybridq engine as a backend: exact or sampled, ideal or noisy.

Ideal circuits are simulated as state vectors. With a :class:`~hybridq.sim.noise.NoiseModel`
circuits up to ``density_max_qubits`` run as exact density matrices; wider ones as quantum
trajectories through the engine (:func:`~hybridq.circuits.trajectories.simulate_trajectories`: one
trajectory per shot, at most ``max_trajectories`` at a time, as one batch), and exact
probabilities are then not available. Readout errors flip sampled bits; exact probabilities
are those of the state before read-out.

>>> from hybridq.circuits import Circuit
>>> from hybridq.sim.noise import NoiseModel
>>> backend = LocalBackend(NoiseModel(depolarizing=0.3))
>>> backend.probabilities(Circuit(1).x(0)).round(3).tolist()
[[0.15, 0.85]]
"""

from __future__ import annotations

import numpy as np
import torch

from ..circuits.circuit import Circuit
from ..circuits.execute import compile_ops, simulate
from ..circuits.trajectories import simulate_trajectories
from ..sim import expval_terms, probabilities, sample
from ..sim.noise import NoiseModel, apply_readout, density_probabilities, run_density, zero_density
from .base import Backend
from .jobs import BackendError, Done, Job


class LocalBackend(Backend):
    """The hybridq simulator.

    Args:
        noise_model: errors after every gate and on read-out. Defaults to None (ideal).
        density_max_qubits: widest noisy circuit run as a density matrix. Defaults to 10.
        max_trajectories: trajectories simulated at once for wider noisy circuits. Defaults to 1024.
        dtype: complex dtype of the simulation. Defaults to complex128.
        **options: ``seed``, ``store``, ``policy`` (see :class:`~hybridq.backends.base.Backend`).
    """

    name = "local"
    exact = True

    def __init__(self, noise_model: NoiseModel | None = None, *, density_max_qubits: int = 10,
                 max_trajectories: int = 1024, dtype: torch.dtype = torch.complex128, **options) -> None:
        super().__init__(**options)
        self.noise = noise_model if noise_model is not None and not noise_model.is_ideal else None
        self.density_max_qubits = density_max_qubits
        self.max_trajectories = max_trajectories
        self.dtype = dtype

    @property
    def identity(self) -> str:
        return f"local:{self.noise!r}:{self.dtype}"

    def __repr__(self) -> str:
        return f"LocalBackend(noise_model={self.noise!r})"

    def _submit(self, circuits: list[Circuit], shots: list[int], seed: int) -> Job:
        generator = torch.Generator().manual_seed(seed)
        out = []
        for circuit, s in zip(circuits, shots):
            n = circuit.n_qubits
            if self.noise is None:
                found = sample(simulate(circuit, dtype=self.dtype), s, generator=generator)[0]
            elif n <= self.density_max_qubits:
                found = torch.multinomial(self._noisy_probabilities(circuit), s, replacement=True, generator=generator)
                found = apply_readout(found, n, self.noise, generator=generator)
            else:
                found = torch.cat([self._trajectory_samples(circuit, min(self.max_trajectories, s - done), generator)
                                   for done in range(0, s, self.max_trajectories)])
            out.append(found.reshape(-1).numpy())
        return Done(out)

    def _probabilities(self, circuits: list[Circuit]) -> np.ndarray:
        if self.noise is None:
            return np.stack([probabilities(simulate(c, dtype=self.dtype))[0].numpy() for c in circuits])
        wide = [c.n_qubits for c in circuits if c.n_qubits > self.density_max_qubits]
        if wide:
            raise BackendError(f"exact noisy probabilities need a density matrix, limited to {self.density_max_qubits} "
                               f"qubits (got {max(wide)}); pass shots to sample trajectories instead")
        return np.stack([self._noisy_probabilities(c).numpy() for c in circuits])

    def expectations(self, circuits, observable, *, shots: int | None = None, seed: int | None = None) -> np.ndarray:
        if shots is not None or self.noise is not None:
            return super().expectations(circuits, observable, shots=shots, seed=seed)
        states = [simulate(c, dtype=self.dtype) for c in self._prepare(circuits)]
        return expval_terms(torch.cat(states), observable).numpy().astype(np.float64)

    def measure_counts(self, source, bases, counts, *, seed: int | None = None):
        """As :meth:`Backend.measure_counts`; an ideal backend measures a state vector directly
        (:func:`~hybridq.estimators.measure.sample_counts`), without a circuit that prepares it."""
        if self.noise is not None or isinstance(source, Circuit):
            return super().measure_counts(source, bases, counts, seed=seed)
        from ..estimators.measure import sample_counts

        codes = np.asarray(bases)
        codes = np.where(codes == 0, 3, codes) if codes.size else codes  # identity letters measure Z
        return sample_counts(source, codes, counts, np.random.default_rng(self.seed if seed is None else seed))

    def _noisy_probabilities(self, circuit: Circuit) -> torch.Tensor:
        program = compile_ops(circuit, None, {}, batch=1, dtype=self.dtype, device="cpu")
        rho = run_density(zero_density(circuit.n_qubits, dtype=self.dtype), program, self.noise)
        return density_probabilities(rho)[0].clamp_min(0).to(torch.float64)

    def _trajectory_samples(self, circuit: Circuit, count: int, generator: torch.Generator) -> torch.Tensor:
        states = simulate_trajectories(circuit, self.noise, trajectories=count, generator=generator, dtype=self.dtype)
        found = sample(states, 1, generator=generator)[:, 0]
        return apply_readout(found, circuit.n_qubits, self.noise, generator=generator)
