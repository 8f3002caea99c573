"""Cirq as a backend: ``cirq.Simulator`` or any ``cirq.Sampler``.

Circuits go through :func:`hybridq.circuits.interop.to_cirq` on ``cirq.LineQubit(0..n-1)``;
a final measurement of all qubits in that order gives bits already in hybridq order. Exact
probabilities need a sampler that simulates final states (as ``cirq.Simulator``).

>>> from hybridq.circuits import Circuit
>>> CirqBackend(seed=0).counts(Circuit(2).x(0), 3)
{'10': 3}
"""

from __future__ import annotations

import numpy as np

from ..circuits.circuit import Circuit
from ..circuits.interop import to_cirq
from ..errors import require
from ..qubit_order import bits_to_index
from .base import Backend
from .jobs import BackendError, Done, Job

_KEY = "m"


class CirqBackend(Backend):
    """A Cirq sampler.

    Args:
        sampler: a ``cirq.Sampler``. Defaults to a ``cirq.Simulator`` seeded per job.
        **options: ``seed``, ``store``, ``policy`` (see :class:`~hybridq.backends.base.Backend`).
    """

    def __init__(self, sampler=None, **options) -> None:
        super().__init__(**options)
        self.cirq = require("cirq", "cirq")
        self.sampler = sampler
        self.name = "cirq" if sampler is None else f"cirq:{type(sampler).__name__}"
        self.exact = sampler is None or isinstance(sampler, self.cirq.SimulatesFinalState)

    def __repr__(self) -> str:
        return f"CirqBackend(sampler={self.sampler!r})"

    def _sampler(self, seed: int | None):
        return self.sampler if self.sampler is not None else self.cirq.Simulator(seed=seed, dtype=np.complex128)

    def _submit(self, circuits: list[Circuit], shots: list[int], seed: int) -> Job:
        cirq = self.cirq
        sampler = self._sampler(seed)
        out = []
        for circuit, s in zip(circuits, shots):
            program = to_cirq(circuit)
            program.append(cirq.measure(*cirq.LineQubit.range(circuit.n_qubits), key=_KEY))
            bits = np.asarray(sampler.run(program, repetitions=s).measurements[_KEY], dtype=np.int64)
            out.append(bits_to_index(bits))
        return Done(out)

    def _probabilities(self, circuits: list[Circuit]) -> np.ndarray:
        simulator = self._sampler(None)
        if not isinstance(simulator, self.cirq.SimulatesFinalState):
            raise BackendError(f"{self.name} does not simulate final states; pass a number of shots")
        out = []
        for circuit in circuits:
            result = simulator.simulate(to_cirq(circuit), qubit_order=self.cirq.LineQubit.range(circuit.n_qubits))
            state = getattr(result, "final_state_vector", None)
            probs = np.abs(state) ** 2 if state is not None else np.real(np.diag(result.final_density_matrix))
            out.append(probs / probs.sum())
        return np.stack(out)
