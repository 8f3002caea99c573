"""PennyLane devices as a backend: any device by name (``default.qubit``, ``lightning.qubit``...).

Circuits go through :func:`hybridq.circuits.interop.to_pennylane` into tapes, one per circuit,
executed together with ``qml.execute``. PennyLane, like hybridq, puts wire 0 in the most
significant bit, so samples and probabilities need no reordering.

>>> from hybridq.circuits import Circuit
>>> PennyLaneBackend(seed=0).counts(Circuit(2).x(1), 3)
{'01': 3}
"""

from __future__ import annotations

import numpy as np

from ..circuits.circuit import Circuit
from ..circuits.interop import to_pennylane
from ..errors import UnknownGateError, require
from ..qubit_order import bits_to_index
from .base import Backend
from .jobs import Done, Job


class PennyLaneBackend(Backend):
    """A PennyLane device.

    Args:
        device: the device name. Defaults to ``"default.qubit"``.
        device_options: further keyword arguments of ``qml.device`` (not ``wires``, ``seed``).
        **options: ``seed``, ``store``, ``policy`` (see :class:`~hybridq.backends.base.Backend`).
    """

    exact = True

    def __init__(self, device: str = "default.qubit", *, device_options: dict | None = None, **options) -> None:
        super().__init__(**options)
        self.qml = require("pennylane", "pennylane")
        self.device_name = device
        self.device_options = dict(device_options or {})
        self.name = f"pennylane:{device}"

    def __repr__(self) -> str:
        return f"PennyLaneBackend(device={self.device_name!r})"

    def _tape(self, circuit: Circuit, measurement, shots: int | None):
        qml = self.qml
        with qml.queuing.AnnotatedQueue() as queue:
            to_pennylane(circuit)()
        ops = qml.tape.QuantumScript.from_queue(queue).operations
        return qml.tape.QuantumScript(ops, [measurement(wires=list(range(circuit.n_qubits)))], shots=shots)

    def _execute(self, tapes: list, seed: int | None):
        wires = max(t.num_wires for t in tapes) if tapes else 1
        try:
            device = self.qml.device(self.device_name, wires=max(wires, 1), seed=seed, **self.device_options)
        except TypeError:  # a device without a seed option
            device = self.qml.device(self.device_name, wires=max(wires, 1), **self.device_options)
        try:
            return self.qml.execute(tapes, device)
        except require("pennylane.exceptions", "pennylane").DeviceError as exc:
            raise UnknownGateError(f"{self.name} cannot run this circuit: {exc}") from None

    def _submit(self, circuits: list[Circuit], shots: list[int], seed: int) -> Job:
        tapes = [self._tape(c, self.qml.sample, s) for c, s in zip(circuits, shots)]
        results = self._execute(tapes, seed)
        return Done([bits_to_index(np.asarray(r).reshape(s, -1)) for r, s in zip(results, shots)])

    def _probabilities(self, circuits: list[Circuit]) -> np.ndarray:
        results = self._execute([self._tape(c, self.qml.probs, None) for c in circuits], None)
        return np.stack([np.asarray(r, dtype=np.float64) for r in results])
