"""Qiskit V2 primitives on hybridq's engine: :class:`EstimatorV2` and :class:`SamplerV2`.

They take the same PUBs as Qiskit's ``StatevectorEstimator`` / ``StatevectorSampler`` and
return the same results (data containers, shapes, metadata; with the same seed, the same noise
and samples), but a PUB's parameter sets run as one batch: the circuit is converted once
(:func:`~hybridq.circuits.interop.qiskit.read_qiskit`, its parameters becoming
:class:`~hybridq.Input` columns in ``circuit.parameters`` order), simulated once for every
parameter set, and every observable of the PUB is read from the same states
(:func:`~hybridq.sim.measure.expval`: one sparse product per
:class:`~hybridq.operators.pauli_sum.PauliSum`, its terms grouped by X/Y flip mask).

>>> from qiskit.circuit import Parameter, QuantumCircuit
>>> from qiskit.quantum_info import SparsePauliOp
>>> qc = QuantumCircuit(2)
>>> _ = qc.ry(Parameter("a"), 0); _ = qc.cx(0, 1)
>>> pub = (qc, [[SparsePauliOp("ZZ")], [SparsePauliOp("IZ")]], [[0.0], [3.14159265]])
>>> EstimatorV2().run([pub]).result()[0].data.evs.round(6)
array([[ 1.,  1.],
       [ 1., -1.]])
"""

from __future__ import annotations

import functools
import warnings
from typing import Iterable

import numpy as np
import torch

from ..circuits.circuit import Circuit
from ..circuits.execute import simulate
from ..circuits.expr import Input
from ..circuits.interop.qiskit import read_qiskit
from ..errors import PauliError, ShapeError, require
from ..operators import PauliSum
from ..qubit_order import from_qiskit_label
from ..sim import expval, probabilities

_primitives = require("qiskit.primitives", "qiskit")
_containers = require("qiskit.primitives.containers", "qiskit")
_estimator_pub = require("qiskit.primitives.containers.estimator_pub", "qiskit")
_sampler_pub = require("qiskit.primitives.containers.sampler_pub", "qiskit")

#: Amplitudes held at once while a PUB runs (chunks of parameter sets stay below this).
_CHUNK_AMPLITUDES = 1 << 24


def engine_circuit(qc) -> tuple[Circuit, list]:
    """``qc`` as a hybridq circuit whose angles read :class:`~hybridq.Input` columns, and the
    Qiskit parameters of those columns (``qc.parameters`` order, as a PUB's parameter values).

    Final measurements and barriers are dropped.

    >>> from qiskit.circuit import Parameter, QuantumCircuit
    >>> qc = QuantumCircuit(1)
    >>> _ = qc.rx(2 * Parameter("t"), 0)
    >>> engine_circuit(qc)[0].ops[0].params
    (2.0 * Input(0),)
    """
    parameters = list(qc.parameters)
    column = {p: i for i, p in enumerate(parameters)}
    return read_qiskit(qc, lambda p: Input(column[p])), parameters


def _final_states(qc, values: np.ndarray, dtype: torch.dtype):
    """Final states of ``qc`` for each row of ``values`` ``(P, n_parameters)``, in chunks:
    yields ``(row slice, states)``."""
    circuit, parameters = engine_circuit(qc)
    rows = values.reshape(-1, len(parameters)) if parameters else np.zeros((values.size or 1, 0))
    step = max(1, _CHUNK_AMPLITUDES >> circuit.n_qubits)
    rdt = torch.float64 if dtype == torch.complex128 else torch.float32
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        x = torch.as_tensor(chunk, dtype=rdt) if parameters else None
        with torch.no_grad():
            states = simulate(circuit, x, batch=len(chunk), dtype=dtype)
        yield slice(start, start + len(chunk)), states


def _results(run_pub, pubs: list):
    return _containers.PrimitiveResult([run_pub(pub) for pub in pubs], metadata={"version": 2})


def _started(run_pub, pubs: list):
    """A submitted Qiskit job whose result holds ``run_pub(pub)`` for every PUB, as Qiskit's."""
    job = _primitives.PrimitiveJob(_results, run_pub, pubs)
    job._submit()
    return job


class _OnTheEngine:
    """What both primitives hold: the seed of their randomness and the simulation's dtype."""

    def __init__(self, seed: np.random.Generator | int | None, dtype: torch.dtype) -> None:
        self._seed = seed
        self._dtype = dtype

    @property
    def seed(self) -> np.random.Generator | int | None:
        """Seed of the randomness: the estimator's noise at non-zero precision, the sampler's samples."""
        return self._seed


class EstimatorV2(_OnTheEngine, _primitives.BaseEstimatorV2):
    """Qiskit's ``BaseEstimatorV2`` on hybridq's engine, with ``StatevectorEstimator``'s results.

    Args:
        default_precision: precision of PUBs that give none. 0 (the default) is exact; a
            positive precision adds Gaussian noise of that standard deviation to every value,
            drawn as ``StatevectorEstimator`` draws it (``stds`` stay 0, as there).
        seed: seed or ``numpy.random.Generator`` of that noise. Defaults to None (fresh).
        dtype: the simulation's dtype. Defaults to complex128 (agreement to about 1e-12).
    """

    def __init__(self, *, default_precision: float = 0.0, seed: np.random.Generator | int | None = None,
                 dtype: torch.dtype = torch.complex128) -> None:
        super().__init__(seed, dtype)
        self._default_precision = default_precision

    @property
    def default_precision(self) -> float:
        """Precision of PUBs that give none."""
        return self._default_precision

    def run(self, pubs: Iterable, *, precision: float | None = None):
        """Estimate every PUB ``(circuit, observables[, parameter values[, precision]])``; returns a job."""
        precision = self._default_precision if precision is None else precision
        return _started(self._run_pub, [_estimator_pub.EstimatorPub.coerce(pub, precision) for pub in pubs])

    def _run_pub(self, pub):
        observables = _pauli_sums(pub.observables, pub.circuit.num_qubits)
        values = pub.parameter_values.as_array(pub.circuit.parameters)
        table = np.empty((max(1, pub.parameter_values.size), len(observables)))
        for rows, states in _final_states(pub.circuit, values, self._dtype):
            table[rows] = torch.stack([expval(states, h) for h in observables], dim=1).to(torch.float64).numpy()
        parameter_index = np.arange(table.shape[0]).reshape(pub.parameter_values.shape)
        observable_index = np.arange(table.shape[1]).reshape(pub.observables.shape)
        evs = table[np.broadcast_arrays(parameter_index, observable_index)]
        if pub.precision != 0:
            evs = np.random.default_rng(self._seed).normal(evs, pub.precision)
        data = _containers.DataBin(evs=evs, stds=np.zeros_like(evs), shape=evs.shape)
        return _containers.PubResult(data, metadata={"target_precision": pub.precision,
                                                     "circuit_metadata": pub.circuit.metadata})


def _pauli_sums(observables, n_qubits: int) -> list[PauliSum]:
    """The observables of an ``ObservablesArray`` (flattened) as hybridq Pauli sums."""
    flat = observables.ravel()
    return [_pauli_sum(n_qubits, tuple(flat[j].items())) for j in range(flat.size)]


@functools.lru_cache(maxsize=64)
def _pauli_sum(n_qubits: int, items: tuple) -> PauliSum:
    """One observable's ``(Qiskit label, coeff)`` items as a PauliSum, kept for later runs (with
    it, what the engine derives from it: the grouped sparse form)."""
    terms = [(from_qiskit_label(label), coeff) for label, coeff in items]
    for label, _ in terms:
        if set(label) - set("IXYZ"):
            raise PauliError(f"observable term {label!r} is not a Pauli word; hybridq's EstimatorV2 takes Pauli "
                             "observables (SparsePauliOp, Pauli, labels of I, X, Y, Z)")
    return PauliSum.from_list(terms or [("I" * n_qubits, 0.0)], n_qubits=n_qubits)


class SamplerV2(_OnTheEngine, _primitives.BaseSamplerV2):
    """Qiskit's ``BaseSamplerV2`` on hybridq's engine, with ``StatevectorSampler``'s results.

    Measured bits come back in one ``BitArray`` per classical register, as Qiskit's; with an
    integer seed every parameter set is sampled from a generator seeded afresh, as
    ``StatevectorSampler`` does (a ``numpy.random.Generator`` is drawn from in turn).

    Args:
        default_shots: shots of PUBs that give none. Defaults to 1024.
        seed: seed or ``numpy.random.Generator`` of the samples. Defaults to None (fresh).
        dtype: the simulation's dtype. Defaults to complex128.

    >>> from qiskit import QuantumCircuit
    >>> qc = QuantumCircuit(2)
    >>> _ = qc.x(0); _ = qc.measure_all()
    >>> SamplerV2(seed=1).run([qc], shots=3).result()[0].data.meas.get_counts()
    {'01': 3}
    """

    def __init__(self, *, default_shots: int = 1024, seed: np.random.Generator | int | None = None,
                 dtype: torch.dtype = torch.complex128) -> None:
        super().__init__(seed, dtype)
        self._default_shots = default_shots

    @property
    def default_shots(self) -> int:
        """Shots of PUBs that give none."""
        return self._default_shots

    def run(self, pubs: Iterable, *, shots: int | None = None):
        """Sample every PUB ``(circuit[, parameter values[, shots]])``; returns a job."""
        shots = self._default_shots if shots is None else shots
        coerced = [_sampler_pub.SamplerPub.coerce(pub, shots) for pub in pubs]
        if any(not pub.circuit.cregs for pub in coerced):
            warnings.warn("a circuit has no classical register, so its result is empty; add measurements "
                          "(e.g. circuit.measure_all())", UserWarning, stacklevel=2)
        return _started(self._run_pub, coerced)

    def _run_pub(self, pub):
        qc, shots = pub.circuit, pub.shots
        measured = _final_measurements(qc)
        qubits = sorted(set(measured.values()))
        values = pub.parameter_values.as_array(qc.parameters)
        count = max(1, pub.parameter_values.size)
        outcomes = np.zeros((count, shots), dtype=np.int64)  # bit i = qubit qubits[i]
        shared = self._seed if isinstance(self._seed, np.random.Generator) else None
        if qubits:
            for rows, states in _final_states(qc, values, self._dtype):
                probs = probabilities(states, qubits[::-1]).to(torch.float64).numpy()
                for r, p in zip(range(rows.start, rows.stop), probs):
                    outcomes[r] = (shared or np.random.default_rng(self._seed)).choice(len(p), size=shots, p=p / p.sum())
        position = {q: i for i, q in enumerate(qubits)}
        arrays = {}
        for creg in qc.cregs:
            bits = np.zeros((count, shots, creg.size), dtype=np.uint8)
            for j, clbit in enumerate(creg):
                if clbit in measured:
                    bits[..., j] = (outcomes >> position[measured[clbit]]) & 1
            padded = np.pad(bits[..., ::-1], ((0, 0), (0, 0), (-creg.size % 8, 0)))
            packed = np.packbits(padded, axis=-1).reshape(*pub.shape, shots, -1)
            arrays[creg.name] = _containers.BitArray(packed, creg.size)
        return _containers.SamplerPubResult(_containers.DataBin(**arrays, shape=pub.shape),
                                            metadata={"shots": shots, "circuit_metadata": qc.metadata})


def _final_measurements(qc) -> dict:
    """Classical bit -> index of the qubit last measured into it."""
    out = {}
    for inst in qc.data:
        if inst.operation.name == "measure":
            out[inst.clbits[0]] = qc.find_bit(inst.qubits[0]).index
        elif inst.operation.name != "barrier" and inst.clbits:
            raise ShapeError(f"instruction {inst.operation.name!r} uses classical bits; hybridq's SamplerV2 takes "
                             "circuits whose only classical operations are final measurements")
    return out
