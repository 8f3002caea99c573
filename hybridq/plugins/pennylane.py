"""The PennyLane device ``hybridq.qubit``: PennyLane circuits run on hybridq's engine.

Each tape becomes a hybridq :class:`~hybridq.circuits.Circuit` whose angles are slots: a
parameter broadcast over a batch (PennyLane parameter broadcasting, e.g. ``qml.qnn.TorchLayer``
on a batch of inputs) is an :class:`~hybridq.circuits.Input` column, any other parameter a
:class:`~hybridq.circuits.Weight`. A broadcast tape is therefore ONE :func:`hybridq.simulate`
call on a ``(B, 2**n)`` batch, and a circuit of the same structure is compiled once. Gates the
engine lacks are decomposed by PennyLane first (``preprocess_transforms``).

* Results: ``expval`` and ``var`` of Pauli words, Hamiltonians and sums (hybridq's Pauli-sum
  expectation), of other observables (their eigenbasis); ``probs``, ``state``,
  ``density_matrix`` and other state measurements; with shots ``sample``, ``counts`` and
  estimates from samples drawn by :func:`hybridq.sim.sample` (``seed`` for repeatable draws).
* Gradients: ``diff_method="backprop"`` with the torch interface (the engine is differentiable
  in torch); ``diff_method="adjoint"``: Jacobians and vector-Jacobian products from the engine's
  adjoint method (``compute_derivatives``, ``compute_vjp``); parameter-shift and the other
  PennyLane gradient transforms work as on any device.

>>> import pennylane as qml
>>> dev = HybridqDevice(wires=2)
>>> @qml.qnode(dev)
... def bell(theta):
...     qml.RY(theta, 0)
...     qml.CNOT([0, 1])
...     return qml.expval(qml.Z(0) @ qml.Z(1) + 0.5 * qml.Z(0)), qml.probs()
>>> energy, probs = bell(qml.numpy.array([0.0, 1.5707963]))
>>> energy.round(4).tolist(), probs[1].round(3).tolist()
([1.5, 1.0], [0.5, 0.0, 0.0, 0.5])

Installed hybridq registers the device: ``qml.device("hybridq.qubit", wires=2)``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Sequence

import numpy as np
import torch

from ..circuits.circuit import Circuit, Operation
from ..circuits.execute import simulate
from ..circuits.expr import Input, Weight
from ..circuits.interop import controlled, phase_ops
from ..circuits.interop.pennylane import PENNYLANE_GATES
from ..errors import require
from ..operators.interop import from_pennylane
from ..qubit_order import index_to_bits
from ..sim import measure as hqmeasure
from ..sim.ops import apply_matrix

qml = require("pennylane", "pennylane")

from pennylane.devices import Device, ExecutionConfig  # noqa: E402
from pennylane.devices.modifiers import simulator_tracking, single_tape_support  # noqa: E402
from pennylane.devices.preprocess import (  # noqa: E402
    decompose,
    validate_device_wires,
    validate_measurements,
    validate_observables,
)
from pennylane.exceptions import DeviceError  # noqa: E402
from pennylane.measurements import (  # noqa: E402
    ExpectationMP,
    ProbabilityMP,
    SampleMeasurement,
    StateMeasurement,
    StateMP,
    VarianceMP,
)
from pennylane.operation import StatePrepBase  # noqa: E402
from pennylane.ops.op_math import Adjoint, Controlled  # noqa: E402
from pennylane.transforms import broadcast_expand, defer_measurements, split_non_commuting  # noqa: E402
from pennylane.transforms.core import CompilePipeline, transform  # noqa: E402

Tensor = torch.Tensor

#: Other PennyLane operations the engine runs as they are (besides ``PENNYLANE_GATES``, the
#: converter's table of PennyLane names read as hybridq gates).
_SPECIAL = {"Identity", "Rot", "PauliRot", "MultiRZ", "QubitUnitary", "DiagonalQubitUnitary", "GlobalPhase"}
_MATRIX_OPS = {"QubitUnitary", "DiagonalQubitUnitary"}
#: Names for PennyLane's graph-based decomposition (the ``target_gates`` of ``decompose``).
_TARGET_GATES = set(PENNYLANE_GATES) | _SPECIAL | {
    "CNOT", "CZ", "CY", "CH", "CRX", "CRY", "CRZ", "ControlledPhaseShift", "Toffoli", "CSWAP", "CCZ",
    "MultiControlledX", "ControlledQubitUnitary", "Adjoint(S)", "Adjoint(T)", "Adjoint(SX)"}
_CACHE_SIZE = 128
#: Observables on up to this many wires are applied as dense matrices (else as sparse ones).
_DENSE_OBSERVABLE_WIRES = 8


def supported(op) -> bool:
    """Whether the engine runs the PennyLane operation ``op`` without decomposing it.

    >>> supported(qml.CRX(0.1, [0, 1])), supported(qml.QFT([0, 1]))
    (True, False)
    """
    name = op.name
    if name in PENNYLANE_GATES or name in _SPECIAL:
        return name not in _MATRIX_OPS or op.batch_size is None
    if isinstance(op, Adjoint):
        return supported(op.base)
    if isinstance(op, Controlled) and op.base.name != "GlobalPhase" and supported(op.base):
        return True
    return not op.has_decomposition and op.has_matrix and op.batch_size is None  # run as its matrix


def _adjoint_supported(op) -> bool:
    """Supported, and every trainable parameter of ``op`` an angle (not a matrix)."""
    return supported(op) and not (_matrix_params(op) and any(qml.math.requires_grad(p) for p in op.data))


def _matrix_params(op) -> bool:
    """Whether ``op``'s parameters are applied through a fixed matrix, not as angles."""
    base = _base(op)
    return base.name in _MATRIX_OPS or not (base.name in PENNYLANE_GATES or base.name in _SPECIAL)


def _base(op):
    while isinstance(op, (Adjoint, Controlled)):
        op = op.base
    return op


def _operations(op, angles: list) -> list[Operation]:
    """hybridq operations applying the (supported) PennyLane operation ``op``; ``angles`` holds
    the angle of each of ``op.data`` (None for a matrix)."""
    name, qs = op.name, tuple(int(w) for w in op.wires)
    if name == "Identity":
        return [Operation("I", (q,)) for q in qs]
    if name in PENNYLANE_GATES:
        return [Operation(PENNYLANE_GATES[name], qs, tuple(angles))]
    if name == "Rot":  # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)
        phi, theta, omega = angles
        return [Operation("RZ", qs, (phi,)), Operation("RY", qs, (theta,)), Operation("RZ", qs, (omega,))]
    if name in ("PauliRot", "MultiRZ"):
        return [Operation("PauliRot", qs, (angles[0],), pauli=op.hyperparameters.get("pauli_word", "Z" * len(qs)))]
    if name in _MATRIX_OPS:
        return [Operation("Unitary" if name == "QubitUnitary" else "Diagonal", qs, matrix=_fixed(op, op.data[0]))]
    if name == "GlobalPhase":  # GlobalPhase(phi) = e^{-i phi}
        return phase_ops(-angles[0], ())
    if isinstance(op, Adjoint):
        return [o.inverse() for o in reversed(_operations(op.base, angles))]
    if not isinstance(op, Controlled):  # an operation without decomposition, by its matrix
        return [Operation("Unitary", qs, matrix=_fixed(op, qml.matrix(op)))]
    k = len(op.control_wires)
    return controlled(_operations(op.base, angles), qs[:k], [int(v) for v in op.control_values])


def _fixed(op, matrix) -> np.ndarray:
    """A matrix the engine holds as a constant (refused if it would need a gradient)."""
    if any(qml.math.requires_grad(p) for p in op.data):
        raise DeviceError(f"hybridq.qubit applies {op.name} as a fixed matrix and cannot differentiate its "
                          "parameters; use diff_method='parameter-shift'")
    return np.asarray(qml.math.toarray(qml.math.unwrap(matrix)), dtype=complex)


def _structure(op) -> tuple:
    """What makes two operations compile alike (their angles aside)."""
    parts = [op.name, tuple(op.wires), op.hyperparameters.get("pauli_word")]
    if isinstance(op, Controlled):
        parts.append(tuple(op.control_values))
    if isinstance(op, (Adjoint, Controlled)):
        parts.append(_structure(op.base))
    if _matrix_params(op):
        parts.append(np.asarray(qml.math.toarray(qml.math.unwrap(qml.matrix(op)))).tobytes())
    return tuple(parts)


class _Program:
    """A tape's operations as a hybridq circuit with one slot per parameter.

    Attributes:
        circuit: the circuit; parameter ``k`` of the tape's operations reads ``Weight(f"p{k}")``,
            or ``Input(j)`` if it is broadcast (the ``j``-th broadcast parameter).
        weights: tape parameter index of each of ``circuit.weight_names``.
        inputs: tape parameter index of each input column.
    """

    def __init__(self, operations: Sequence, n_qubits: int, broadcast: Sequence[bool], first: int):
        self.circuit = Circuit(n_qubits)
        self.inputs: list[int] = []
        k = first
        for op in operations:
            angles = []
            for p in op.data:
                if _matrix_params(op):
                    angles.append(None)
                elif broadcast[k]:
                    angles.append(Input(len(self.inputs)))
                    self.inputs.append(k)
                else:
                    angles.append(Weight(f"p{k}"))
                k += 1
            for o in _operations(op, angles):
                self.circuit.append(o)
        self.weights = [int(name[1:]) for name in self.circuit.weight_names]


@transform
def _split_if_sampled(tape):
    """``split_non_commuting`` for tapes with shots (analytic tapes measure any sum at once)."""
    if tape.shots:
        return split_non_commuting(tape)
    return (tape,), lambda results: results[0]


def _analytic_measurement(mp) -> bool:
    return isinstance(mp, StateMeasurement)


def _sample_measurement(mp) -> bool:
    return isinstance(mp, SampleMeasurement)


def _adjoint_measurement(mp) -> bool:
    return isinstance(mp, (ExpectationMP, VarianceMP))


def _adjoint_observable(obs) -> bool:
    return obs.has_matrix or obs.pauli_rep is not None


@simulator_tracking
@single_tape_support
class HybridqDevice(Device):
    """PennyLane device ``hybridq.qubit``: a state-vector simulator on hybridq's torch engine.

    Args:
        wires: number of wires or their labels. Defaults to the wires each circuit uses.
        shots: default shots (None: exact results). Defaults to None.
        seed: seed of the sampler (an int), or None to draw one from NumPy's global generator.
            The same seed and torch version give the same samples. Defaults to None.
        dtype: state dtype, ``torch.complex128`` or ``torch.complex64``. Defaults to complex128.
        device: torch device of the states. Defaults to the CPU.
    """

    name = "hybridq.qubit"

    def __init__(self, wires=None, shots=None, *, seed: int | None = None, dtype: torch.dtype = torch.complex128,
                 device=None):
        super().__init__(wires=wires, shots=shots)
        if dtype not in (torch.complex64, torch.complex128):
            raise DeviceError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
        self.dtype = dtype
        self.torch_device = torch.device(device or "cpu")
        seed = int(np.random.randint(2**31)) if seed is None else int(seed)
        self._generator = torch.Generator(device=self.torch_device).manual_seed(seed)
        self._programs: OrderedDict[tuple, _Program] = OrderedDict()

    # ----- configuration

    def supports_derivatives(self, execution_config: ExecutionConfig | None = None, circuit=None) -> bool:
        """Backprop with the torch interface (no shots); adjoint without shots."""
        config = execution_config or ExecutionConfig()
        shots = circuit is not None and bool(circuit.shots)
        if config.gradient_method == "backprop":
            return config.interface == qml.math.Interface.TORCH and not shots
        if config.gradient_method in ("adjoint", "best"):
            if config.gradient_method == "best" and config.interface == qml.math.Interface.TORCH and not shots:
                return True
            return not shots and (circuit is None or self._adjoint_ready(circuit))
        return False

    def supports_vjp(self, execution_config: ExecutionConfig | None = None, circuit=None) -> bool:
        """The adjoint method's vector-Jacobian products."""
        config = execution_config or ExecutionConfig()
        return config.gradient_method in ("adjoint", "best") and self.supports_derivatives(config, circuit)

    def _adjoint_ready(self, circuit) -> bool:
        try:
            self._adjoint_pipeline()((circuit,))
        except (DeviceError, AttributeError, qml.operation.DecompositionUndefinedError):
            return False
        return True

    def setup_execution_config(self, config: ExecutionConfig | None = None, circuit=None) -> ExecutionConfig:
        """Resolve ``"best"`` (backprop with torch, else adjoint) and the mid-circuit measurement method."""
        config = config or ExecutionConfig()
        method = config.gradient_method
        if method == "best":
            method = "backprop" if config.interface == qml.math.Interface.TORCH else "adjoint"
        mcm = config.mcm_config
        if mcm.mcm_method not in (None, "deferred"):
            raise DeviceError(f"hybridq.qubit runs mid-circuit measurements deferred; got mcm_method={mcm.mcm_method!r}")
        unknown = set(config.device_options) - {"seed"}
        if unknown:
            raise DeviceError(f"unknown device options {sorted(unknown)} for hybridq.qubit")
        updates = {
            "gradient_method": method,
            "use_device_gradient": method in ("adjoint", "backprop"),
            "use_device_jacobian_product": config.use_device_jacobian_product
            if config.use_device_jacobian_product is not None else method == "adjoint",
            "grad_on_execution": config.grad_on_execution if config.grad_on_execution is not None else False,
            "mcm_config": replace(mcm, mcm_method="deferred"),
        }
        return replace(config, **updates)

    def preprocess_transforms(self, execution_config: ExecutionConfig | None = None) -> CompilePipeline:
        """Defer mid-circuit measurements, decompose what the engine lacks, validate, split sums
        for sampling; for the adjoint method, also expand broadcasts."""
        config = execution_config or ExecutionConfig()
        pipeline = CompilePipeline()
        pipeline.add_transform(defer_measurements, allow_postselect=False)
        pipeline.add_transform(decompose, stopping_condition=supported, device_wires=self.wires,
                               target_gates=_TARGET_GATES, name=self.name)
        pipeline.add_transform(validate_device_wires, self.wires, name=self.name)
        pipeline.add_transform(validate_measurements, analytic_measurements=_analytic_measurement,
                               sample_measurements=_sample_measurement, name=self.name)
        pipeline.add_transform(_split_if_sampled)
        if config.gradient_method == "adjoint":
            for t, args, kwargs in self._adjoint_steps():
                pipeline.add_transform(t, *args, **kwargs)
        return pipeline

    def _adjoint_steps(self) -> list:
        name = "adjoint + hybridq.qubit"
        return [
            (decompose, (), dict(stopping_condition=_adjoint_supported, device_wires=self.wires,
                                 target_gates=_TARGET_GATES, name=name, skip_initial_state_prep=False)),
            (validate_observables, (_adjoint_observable,), dict(name=name)),
            (validate_measurements, (_adjoint_measurement,), dict(name=name)),
            (broadcast_expand, (), {}),
        ]

    def _adjoint_pipeline(self) -> CompilePipeline:
        pipeline = CompilePipeline()
        pipeline.add_transform(validate_device_wires, self.wires, name=self.name)
        for t, args, kwargs in self._adjoint_steps():
            pipeline.add_transform(t, *args, **kwargs)
        return pipeline

    # ----- execution

    def execute(self, circuits, execution_config: ExecutionConfig | None = None):
        """Run each tape: one engine call per tape (a broadcast tape is one batch)."""
        seed = (execution_config or ExecutionConfig()).device_options.get("seed")
        generator = self._generator if seed is None else torch.Generator(self.torch_device).manual_seed(int(seed))
        return tuple(self._run(tape, generator) for tape in circuits)

    def _run(self, tape, generator):
        tape = tape.map_to_standard_wires()
        keep_torch = any(isinstance(p, Tensor) for p in tape.get_parameters(trainable_only=False))
        state, n = self._final_state(tape)
        if tape.shots:
            results = _sampled(tape, state.detach(), n, self, generator)
        else:
            results = tuple(self._measure(mp, state, n, tape.batch_size is not None) for mp in tape.measurements)
            results = results[0] if len(results) == 1 else results
        return results if keep_torch else _numpy(results)

    def _final_state(self, tape, leaves: list | None = None) -> tuple[Tensor, int]:
        """The final states ``(B, 2**n)`` of ``tape`` (wires ``0..n-1``) and ``n``.

        ``leaves``, if given, receives the tape's operation parameters as the tensors the engine
        read (to differentiate with respect to them).
        """
        n = max(len(tape.wires), 1)
        ops = tape.operations
        prep = ops[0] if ops and isinstance(ops[0], StatePrepBase) else None
        ops = ops[1:] if prep is not None else ops
        params = [p for op in tape.operations for p in op.data]
        rdt = self.dtype.to_real()
        first = len(prep.data) if prep is not None else 0
        broadcast = [qml.math.ndim(p) > 0 and not _matrix_params(op) for op in tape.operations for p in op.data]
        program = self._program(ops, n, broadcast, first)
        values: list[Tensor | None] = [None] * len(params)
        for k in program.weights + program.inputs:
            values[k] = self._tensor(params[k], rdt)
            if leaves is not None:
                values[k] = values[k].detach().requires_grad_(True)
        if leaves is not None:
            leaves[:] = values
        weights = torch.stack([values[k] for k in program.weights]) if program.weights else None
        inputs = torch.stack([values[k] for k in program.inputs], dim=1) if program.inputs else None
        initial = None
        if prep is not None:
            vector = prep.state_vector(wire_order=range(n))
            initial = self._tensor(vector, self.dtype).reshape(-1, 2**n)
        state = simulate(program.circuit, inputs, weights, initial_state=initial, dtype=self.dtype,
                         device=self.torch_device, method="adjoint" if leaves is not None else "auto")
        return state, n

    def _tensor(self, value, dtype: torch.dtype) -> Tensor:
        if isinstance(value, Tensor):
            return value.to(device=self.torch_device, dtype=dtype)
        return torch.as_tensor(np.asarray(qml.math.unwrap(value)), device=self.torch_device).to(dtype)

    def _program(self, ops: Sequence, n: int, broadcast: list[bool], first: int) -> _Program:
        """The compiled-once program of operations of this structure."""
        key = (n, first, tuple(broadcast), tuple(_structure(op) for op in ops))
        program = self._programs.get(key)
        if program is None:
            program = _Program(ops, n, broadcast, first)
            self._programs[key] = program
            if len(self._programs) > _CACHE_SIZE:
                self._programs.popitem(last=False)
        else:
            self._programs.move_to_end(key)
        return program

    def _measure(self, mp, state: Tensor, n: int, batched: bool):
        """One measurement of the exact states ``(B, 2**n)`` (torch, differentiable)."""
        obs = mp.obs
        if isinstance(mp, (ExpectationMP, VarianceMP)) and obs is not None and obs.pauli_rep is not None:
            value = _pauli_expval(state, obs.pauli_rep, n)
            if isinstance(mp, VarianceMP):
                value = _pauli_expval(state, obs.pauli_rep @ obs.pauli_rep, n) - value**2
            return value if batched else value[0]
        if isinstance(mp, (ExpectationMP, VarianceMP)) and obs is not None and obs.has_matrix:
            value = _moments(state, obs, n, variance=isinstance(mp, VarianceMP))
            return value if batched else value[0]
        if isinstance(mp, ProbabilityMP) and obs is None and mp.mv is None:
            probs = hqmeasure.probabilities(state, [int(w) for w in mp.wires] or None)
            return probs if batched else probs[0]
        if type(mp) is StateMP and [int(w) for w in mp.wires] in ([], list(range(n))):
            return state if batched else state[0]
        if obs is not None and obs.has_diagonalizing_gates:
            state = self._rotated(state, obs.diagonalizing_gates(), n)
        return mp.process_state(state if batched else state[0], qml.wires.Wires(range(n)))

    def _rotated(self, state: Tensor, gates: Sequence, n: int) -> Tensor:
        """``state`` after the (numeric) PennyLane ``gates``."""
        if not gates:
            return state
        circuit = Circuit(n)
        for gate in gates:
            angles = [float(qml.math.unwrap(p)) if qml.math.ndim(p) == 0 else None for p in gate.data]
            for op in _operations(gate, angles):
                circuit.append(op)
        return simulate(circuit, initial_state=state, dtype=state.dtype, device=state.device)

    # ----- derivatives (adjoint method)

    def compute_derivatives(self, circuits, execution_config: ExecutionConfig | None = None):
        """Jacobians by the engine's adjoint method: for each tape, ``jac[measurement][parameter]``
        (squeezed like PennyLane's)."""
        return tuple(_squeezed(self._jacobian(tape)) for tape in circuits)

    def execute_and_compute_derivatives(self, circuits, execution_config: ExecutionConfig | None = None):
        """Results and Jacobians."""
        return self.execute(circuits, execution_config), self.compute_derivatives(circuits, execution_config)

    def compute_vjp(self, circuits, cotangents, execution_config: ExecutionConfig | None = None):
        """Vector-Jacobian products by the engine's adjoint method (one backward pass per tape)."""
        return tuple(self._vjp(tape, cot) for tape, cot in zip(circuits, cotangents))

    def execute_and_compute_vjp(self, circuits, cotangents, execution_config: ExecutionConfig | None = None):
        """Results and vector-Jacobian products."""
        return self.execute(circuits, execution_config), self.compute_vjp(circuits, cotangents, execution_config)

    def _outputs(self, tape) -> tuple[list[Tensor], list[Tensor]]:
        """The tape's measurement results (torch) and its trainable parameters' leaves."""
        tape = tape.map_to_standard_wires()
        leaves: list = []
        state, n = self._final_state(tape, leaves)
        outputs = [self._measure(mp, state, n, False) for mp in tape.measurements]
        trainable = [leaves[k] for k in tape.trainable_params]
        if any(t is None for t in trainable):
            raise DeviceError("the adjoint method differentiates operation angles only; a trainable parameter is "
                              "a matrix, a state or an observable's: use diff_method='parameter-shift'")
        return outputs, trainable

    @torch.enable_grad()
    def _jacobian(self, tape) -> np.ndarray:
        outputs, trainable = self._outputs(tape)
        jac = np.zeros((len(outputs), len(trainable)))
        for m, out in enumerate(outputs):
            if trainable:
                grads = torch.autograd.grad(out, trainable, retain_graph=True, allow_unused=True)
                jac[m] = [0.0 if g is None else float(g) for g in grads]
        return jac

    @torch.enable_grad()
    def _vjp(self, tape, cotangent):
        cot = [cotangent] if len(tape.measurements) == 1 else list(cotangent)
        if any(np.ndim(qml.math.unwrap(c)) > 0 for c in cot):  # batched cotangents: through the Jacobian
            jac = self._jacobian(tape)
            stacked = np.stack([np.asarray(qml.math.unwrap(c), dtype=float) for c in cot])
            return tuple(np.tensordot(jac[:, p], stacked, axes=(0, 0)) for p in range(jac.shape[1]))
        outputs, trainable = self._outputs(tape)
        if not trainable:
            return ()
        total = sum(out * float(qml.math.unwrap(c)) for out, c in zip(outputs, cot))
        grads = torch.autograd.grad(total, trainable, allow_unused=True)
        return tuple(np.array(0.0 if g is None else float(g)) for g in grads)


def _pauli_expval(state: Tensor, sentence, n: int) -> Tensor:
    """``<H>`` of a PennyLane ``PauliSentence`` on wires ``0..n-1``: ``(B,)``, differentiable in
    the state and in torch coefficients."""
    words = list(sentence)
    if not words:
        return torch.zeros(state.shape[0], dtype=state.real.dtype, device=state.device)
    coeffs = [_real(sentence[w]) for w in words]
    if all(len(w) == 1 and next(iter(w.values())) == "Z" for w in words):  # <Z_q>: the engine's fast read-out
        z = hqmeasure.expval_z(state, [int(next(iter(w))) for w in words])
        return z @ torch.stack([torch.as_tensor(c, dtype=z.dtype) for c in coeffs]).to(z.device)
    if not any(isinstance(c, Tensor) and c.requires_grad for c in coeffs):
        return hqmeasure.expval(state, from_pennylane(sentence, wire_order=range(n)))
    unit = from_pennylane(qml.pauli.PauliSentence({w: 1.0 for w in words}), wire_order=range(n))
    terms = hqmeasure.expval_terms(state, unit)  # (B, T), terms in the order of ``words``
    return terms @ torch.stack([torch.as_tensor(c, dtype=terms.dtype) for c in coeffs]).to(terms.device)


def _moments(state: Tensor, obs, n: int, *, variance: bool) -> Tensor:
    """``<O>`` (or its variance) of an observable given by its matrix: ``(B,)``. One product
    ``phi = O psi`` gives both, ``<O> = <psi|phi>`` and ``<O^2> = <phi|phi>``."""
    if len(obs.wires) <= _DENSE_OBSERVABLE_WIRES:
        matrix = qml.matrix(obs, wire_order=obs.wires)
        matrix = matrix if isinstance(matrix, Tensor) else torch.as_tensor(np.asarray(matrix))
        phi = apply_matrix(state, matrix.to(state.dtype), [int(w) for w in obs.wires], check_unitary=False)
    else:
        sparse = obs.sparse_matrix(wire_order=range(n)).tocoo()
        matrix = torch.sparse_coo_tensor(np.vstack([sparse.row, sparse.col]), sparse.data, sparse.shape)
        phi = torch.sparse.mm(matrix.to(dtype=state.dtype, device=state.device), state.T.contiguous()).T
    mean = (state.conj() * phi).sum(dim=1).real
    return (phi.abs().square().sum(dim=1) - mean**2) if variance else mean


def _real(value):
    """A real coefficient (a torch tensor stays one, for its gradient)."""
    if isinstance(value, Tensor):
        return value.real if value.is_complex() else value
    return float(np.real(qml.math.unwrap(value)))


def _sampled(tape, state: Tensor, n: int, device: HybridqDevice, generator: torch.Generator):
    """Measurements of ``tape`` from samples of ``state`` (commuting groups share samples)."""
    shots = tape.shots
    batched = tape.batch_size is not None
    results: list = [None] * len(tape.measurements)
    wires = qml.wires.Wires(range(n))
    for group, gates in _sample_groups(tape.measurements):
        rotated = device._rotated(state, gates, n)
        draws = hqmeasure.sample(rotated, shots.total_shots, generator=generator)  # (B, S)
        bits = index_to_bits(draws, n).cpu().numpy()
        for i in group:
            mp = tape.measurements[i]
            per_bin = []
            for lo, hi in shots.bins():
                values = [mp.process_samples(bits[b, lo:hi], wires) for b in range(bits.shape[0])]
                per_bin.append(_stack(values) if batched else values[0])
            results[i] = tuple(per_bin) if shots.has_partitioned_shots else per_bin[0]
    if shots.has_partitioned_shots:
        per_copy = tuple(tuple(r[c] for r in results) for c in range(shots.num_copies))
        return tuple(r[0] if len(r) == 1 else r for r in per_copy)
    return results[0] if len(results) == 1 else tuple(results)


def _sample_groups(measurements) -> list[tuple[list[int], list]]:
    """Measurement indices that can share samples, with the gates rotating into their basis:
    Pauli words that commute qubit-wise, or measurements without observable, share one group."""
    groups: list[tuple[list[int], list]] = []
    pauli = [i for i, mp in enumerate(measurements) if mp.obs is not None and qml.pauli.is_pauli_word(mp.obs)]
    plain = [i for i, mp in enumerate(measurements) if mp.obs is None]
    other = [i for i, mp in enumerate(measurements) if i not in pauli and i not in plain]
    if pauli:
        for part in qml.pauli.compute_partition_indices([measurements[i].obs for i in pauli]):
            members = [pauli[j] for j in part]
            gates, covered = [], set()
            for i in members:
                new = [g for g in measurements[i].diagonalizing_gates() if not set(g.wires) & covered]
                gates += new
                covered |= set(measurements[i].wires)
            groups.append((members, gates))
    if plain:
        groups.append((plain, []))
    groups += [([i], measurements[i].diagonalizing_gates()) for i in other]
    return groups


def _stack(values: list):
    """Per-state results of a broadcast tape as one array (counts: a tuple of dicts)."""
    return tuple(values) if isinstance(values[0], dict) else np.stack(values)


def _numpy(results):
    if isinstance(results, Tensor):
        return results.detach().cpu().numpy()
    if isinstance(results, tuple):
        return tuple(_numpy(r) for r in results)
    return results


def _squeezed(jac: np.ndarray):
    """A ``(measurements, parameters)`` Jacobian in PennyLane's nesting (singleton axes dropped)."""
    jac = np.squeeze(jac)
    if jac.ndim == 0:
        return np.array(jac)
    if jac.ndim == 1:
        return tuple(np.array(j) for j in jac)
    return tuple(tuple(np.array(j) for j in row) for row in jac)
