"""Qiskit backends: Aer (ideal, hybridq noise, or a device's noise) and IBM Quantum Runtime.

Circuits go through :func:`hybridq.circuits.interop.to_qiskit`, get ``measure_all`` and are
transpiled; measured bitstrings come back in Qiskit order and are turned into hybridq order by
:func:`hybridq.qubit_order.from_qiskit_label`.

* :class:`AerBackend`: ``AerSimulator``. A hybridq :class:`~hybridq.sim.noise.NoiseModel` is
  turned into an Aer noise model with the same channel after every hybridq gate (a gate that
  Aer's density-matrix method lacks, a Pauli rotation say, and a controlled Pauli rotation,
  which :func:`~hybridq.circuits.interop.to_qiskit` decomposes, are passed as one labelled
  unitary; transpilation is at level 0), so that it matches :class:`~hybridq.backends.LocalBackend`
  with the same model gate for gate; ``device`` (a fake IBM device or
  its name) takes the device's noise, basis gates and coupling map instead.
* :class:`IBMBackend`: the Runtime Sampler (or Estimator), in batch, session or job mode,
  with circuits transpiled to the device's basis and layout. A device name needs credentials:
  an account saved with ``QiskitRuntimeService.save_account`` or ``QISKIT_IBM_TOKEN`` in the
  environment; the token is never read into messages or logs. A fake device (e.g.
  ``FakeManilaV2()``) runs locally with its noise.

>>> from hybridq.circuits import Circuit
>>> AerBackend(seed=3).counts(Circuit(2).x(1), 4)
{'01': 4}
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import warnings
from typing import Literal, Sequence

import numpy as np
import torch

from ..circuits.circuit import Circuit, Operation
from ..circuits.interop import to_qiskit
from ..errors import UnknownGateError, require
from ..qubit_order import bit_reversal_permutation, from_qiskit_label, to_qiskit_label
from ..sim.noise import NoiseModel
from .base import Backend
from .jobs import BackendError, CredentialsError, Done, Job, TransientBackendError

_NOT_GATES = frozenset({"measure", "barrier", "delay", "reset"})


def fake_device(name: str):
    """A fake IBM device of ``qiskit_ibm_runtime.fake_provider`` by class name (``"FakeManilaV2"``)."""
    provider = require("qiskit_ibm_runtime.fake_provider", "ibm")
    cls = getattr(provider, name, None)
    if not isinstance(cls, type) or not name.startswith("Fake"):
        known = sorted(n for n in dir(provider) if n.startswith("Fake") and n.endswith("V2"))
        raise ValueError(f"unknown fake device {name!r}; known: {', '.join(known[:12])}, ...")
    return cls()


def _measured(circuit: Circuit):
    qc = to_qiskit(circuit)
    qc.measure_all()
    return qc


def _indices(bitstrings: Sequence[str]) -> np.ndarray:
    """Qiskit bitstrings (qubit 0 last) -> hybridq outcome indices (qubit 0 most significant)."""
    return np.array([int(from_qiskit_label(s.replace(" ", "")), 2) for s in bitstrings], dtype=np.int64)


def _by_shots(shots: Sequence[int]) -> list[list[int]]:
    """Positions grouped by equal shot count (primitives want one count per call)."""
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(shots):
        groups.setdefault(int(s), []).append(i)
    return list(groups.values())


def _layout(isa, n_qubits: int) -> list[int]:
    """Physical qubit of each logical qubit after transpilation."""
    if isa.layout is None:
        return list(range(n_qubits))
    return list(isa.layout.final_index_layout())[:n_qubits]


def aer_noise_model(noise: NoiseModel, gates: dict[str, int]):
    """The Aer noise model of ``noise`` for the gate names used (name -> number of qubits)."""
    aer_noise = require("qiskit_aer.noise", "qiskit")
    model = aer_noise.NoiseModel()
    for name, k in sorted(gates.items()):
        error = None
        parts = []
        if k == 2 and noise.depolarizing_2q:
            parts.append(aer_noise.depolarizing_error(noise.depolarizing_2q, 2))
        elif k != 2 and noise.depolarizing:
            parts.append(_on_each(aer_noise.depolarizing_error(noise.depolarizing, 1), k))
        if noise.amplitude_damping:
            parts.append(_on_each(aer_noise.amplitude_damping_error(noise.amplitude_damping), k))
        if noise.phase_damping:
            parts.append(_on_each(aer_noise.phase_damping_error(noise.phase_damping), k))
        for part in parts:
            error = part if error is None else error.compose(part)
        if error is not None:
            model.add_all_qubit_quantum_error(error, [name])
    if any(noise.readout):
        p01, p10 = noise.readout
        model.add_all_qubit_readout_error(aer_noise.ReadoutError([[1 - p01, p01], [p10, 1 - p10]]))
    return model


def _on_each(error, k: int):
    out = error
    for _ in range(k - 1):
        out = out.tensor(error)
    return out


class AerBackend(Backend):
    """Qiskit Aer's ``AerSimulator``.

    Args:
        noise_model: a hybridq :class:`~hybridq.sim.noise.NoiseModel` (errors after every gate,
            as :class:`~hybridq.backends.LocalBackend`) or a ``qiskit_aer.noise.NoiseModel``.
            Defaults to None (ideal, or the device's noise).
        device: a Qiskit backend (e.g. a fake IBM device) or a fake device's class name: its noise,
            basis gates and coupling map, with circuits transpiled as :class:`IBMBackend` does.
        optimization_level: transpiler level for a device. Defaults to 1.
        **options: ``seed``, ``store``, ``policy`` (see :class:`~hybridq.backends.base.Backend`).
    """

    exact = True

    def __init__(self, noise_model=None, *, device=None, optimization_level: int = 1, **options) -> None:
        super().__init__(**options)
        aer = require("qiskit_aer", "qiskit")
        self.device = fake_device(device) if isinstance(device, str) else device
        self.simulator = aer.AerSimulator.from_backend(self.device) if self.device is not None else aer.AerSimulator()
        self.noise = noise_model if noise_model is None or not isinstance(noise_model, NoiseModel) or not noise_model.is_ideal else None
        self.optimization_level = optimization_level
        self.name = "aer" if self.device is None else f"aer:{self.device.name}"
        self.max_qubits = self.device.num_qubits if self.device is not None else None

    @property
    def identity(self) -> str:
        return f"{self.name}:{self.noise!r}:{self.optimization_level}"

    def __repr__(self) -> str:
        return f"AerBackend(noise_model={self.noise!r}, device={getattr(self.device, 'name', None)!r})"

    def _transpile(self, circuits: list):
        if self.device is not None:
            transpiler = require("qiskit.transpiler", "qiskit")
            pm = transpiler.generate_preset_pass_manager(optimization_level=self.optimization_level, backend=self.device,
                                                         seed_transpiler=0)
            return pm.run(circuits)
        return require("qiskit", "qiskit").transpile(circuits, self.simulator, optimization_level=0)

    def _gate_for_gate(self, circuit: Circuit) -> Circuit:
        """With a hybridq noise model, ``circuit`` with every controlled Pauli rotation as one
        unitary gate: :func:`~hybridq.circuits.interop.to_qiskit` would decompose it into several
        gates, each with its own noise, where :class:`~hybridq.backends.LocalBackend` has one."""
        if not isinstance(self.noise, NoiseModel) or not any(op.name == "PauliRot" and op.controls for op in circuit.ops):
            return circuit
        out = circuit.copy()
        out.ops = [_as_unitary(op) if op.name == "PauliRot" and op.controls else op for op in circuit.ops]
        return out

    def _compile(self, circuits: list) -> tuple[list, dict]:
        """Transpiled circuits and run options (hybridq noise: exact density matrices, one
        noisy instruction per hybridq gate)."""
        if self.noise is None or not isinstance(self.noise, NoiseModel):
            return self._transpile(circuits), {} if self.noise is None else {"noise_model": self.noise}
        isa = self._transpile([_density_ready(qc) for qc in circuits])
        gates = {_noise_name(inst.operation): inst.operation.num_qubits for qc in isa for inst in qc.data
                 if inst.operation.name not in _NOT_GATES and not inst.operation.name.startswith("save_")}
        return isa, {"noise_model": aer_noise_model(self.noise, gates), "method": "density_matrix"}

    def _submit(self, circuits: list[Circuit], shots: list[int], seed: int) -> Job:
        isa, options = self._compile([_measured(self._gate_for_gate(c)) for c in circuits])
        out: list[np.ndarray | None] = [None] * len(circuits)
        for group in _by_shots(shots):
            result = self.simulator.run([isa[i] for i in group], shots=shots[group[0]], seed_simulator=seed,
                                        memory=True, **options).result()
            for k, i in enumerate(group):
                out[i] = _indices(result.get_memory(k))
        return Done(out)

    def _probabilities(self, circuits: list[Circuit]) -> np.ndarray:
        isa, options = self._compile([to_qiskit(self._gate_for_gate(c)) for c in circuits])
        for qc, c in zip(isa, circuits):
            qc.save_probabilities(qubits=_layout(qc, c.n_qubits))
        result = self.simulator.run(isa, **options).result()
        out = []
        for k, c in enumerate(circuits):
            qiskit_probs = np.asarray(result.data(k)["probabilities"], dtype=np.float64)
            out.append(qiskit_probs[bit_reversal_permutation(c.n_qubits)])
        return np.stack(out)


def _as_unitary(op: Operation) -> Operation:
    """A bound operation as one ``"Unitary"`` on its controls and targets (in that order)."""
    from ..circuits.execute import simulate

    wires = op.controls + op.qubits
    local = op.remapped({q: i for i, q in enumerate(wires)})
    single = Circuit(len(wires))
    single.ops = [local]
    basis = np.eye(2 ** len(wires), dtype=np.complex128)
    columns = simulate(single, initial_state=torch.as_tensor(basis), fusion=False).numpy()  # row i: U |i>
    return Operation("Unitary", wires, matrix=columns.T)


def _noise_name(operation) -> str:
    """The name a noise model uses for an instruction (a labelled unitary: its label)."""
    return operation.label if operation.name == "unitary" and operation.label else operation.name


def _density_ready(qc):
    """``qc`` with every gate that Aer's density-matrix method lacks (and every unitary) as a
    unitary gate labelled by the original name and width, so that noise attaches gate for gate."""
    library = require("qiskit.circuit.library", "qiskit")
    supported = set(require("qiskit_aer", "qiskit").AerSimulator(method="density_matrix").configuration().basis_gates)
    out = qc.copy_empty_like()
    for inst in qc.data:
        op = inst.operation
        if op.name not in _NOT_GATES and (op.name not in supported or op.name == "unitary"):
            matrix = require("qiskit.quantum_info", "qiskit").Operator(op).data
            op = library.UnitaryGate(matrix, label=f"{op.name}_{op.num_qubits}q")
        out.append(op, inst.qubits, inst.clbits)
    return out


class IBMBackend(Backend):
    """IBM Quantum through ``qiskit-ibm-runtime`` (or a local fake device).

    Args:
        device: a device name (needs credentials, see the module docstring) or a Qiskit backend
            object (e.g. ``FakeManilaV2()``, which runs locally with its noise).
        mode: ``"batch"`` (one Runtime batch per call), ``"session"`` or ``"job"``. Defaults to batch.
        primitive: ``"sampler"`` (shots, any read-out) or ``"estimator"`` (:meth:`expectations`
            through the Runtime Estimator at precision ``1/sqrt(shots)``). Defaults to sampler.
        optimization_level: transpiler level. Defaults to 1.
        channel: passed to ``QiskitRuntimeService`` for a device name.
        instance: passed to ``QiskitRuntimeService`` for a device name.
        **options: ``seed``, ``store``, ``policy`` (see :class:`~hybridq.backends.base.Backend`).

    Raises:
        CredentialsError: a device name was given and no saved account or ``QISKIT_IBM_TOKEN`` exists.
    """

    def __init__(self, device, *, mode: Literal["batch", "session", "job"] = "batch",
                 primitive: Literal["sampler", "estimator"] = "sampler", optimization_level: int = 1,
                 channel: str | None = None, instance: str | None = None, **options) -> None:
        super().__init__(**options)
        if mode not in ("batch", "session", "job") or primitive not in ("sampler", "estimator"):
            raise ValueError(f"mode must be batch/session/job and primitive sampler/estimator, got {mode!r}, {primitive!r}")
        self.runtime = require("qiskit_ibm_runtime", "ibm")
        self.service = _service(self.runtime, channel, instance) if isinstance(device, str) else None
        self.device = self.service.backend(device) if isinstance(device, str) else device
        self.mode, self.primitive = mode, primitive
        self.optimization_level = optimization_level
        self.name = f"ibm:{self.device.name}"
        self.max_qubits = self.device.num_qubits
        self._open_mode = None

    @property
    def identity(self) -> str:
        return f"{self.name}:{self.optimization_level}"

    def __repr__(self) -> str:
        return f"IBMBackend(device={self.device.name!r}, mode={self.mode!r}, primitive={self.primitive!r})"

    @contextlib.contextmanager
    def _session(self):
        if self.mode == "job" or self._open_mode is not None:
            yield
            return
        cls = self.runtime.Batch if self.mode == "batch" else self.runtime.Session
        with cls(backend=self.device) as opened:
            self._open_mode = opened
            try:
                yield
            finally:
                self._open_mode = None

    def _is_transient(self, exc: BaseException) -> bool:
        api = require("qiskit_ibm_runtime.api.exceptions", "ibm")
        return super()._is_transient(exc) or isinstance(exc, api.RequestsApiError)

    def _transpile(self, circuits: list):
        transpiler = require("qiskit.transpiler", "qiskit")
        pm = transpiler.generate_preset_pass_manager(optimization_level=self.optimization_level, backend=self.device,
                                                     seed_transpiler=0)
        isa = pm.run(circuits)
        target = self.device.target
        for qc in isa:
            for inst in qc.data:
                name = inst.operation.name
                qargs = tuple(qc.find_bit(q).index for q in inst.qubits)
                if name not in _NOT_GATES and not target.instruction_supported(name, qargs):
                    raise UnknownGateError(f"{self.name} does not support {name!r} on qubits {qargs} after "
                                           f"transpilation; its basis is {sorted(target.operation_names)}")
        return isa

    def _legacy_sampler(self):
        """Runtime's server-side ``SamplerV2`` (PUBs of different shots in one job), if installed."""
        return getattr(self.runtime, "SamplerV2", None)

    def _primitive(self, kind: str, seed: int, *, legacy: bool = False):
        mode = self._open_mode if self._open_mode is not None else self.device
        options = {"simulator": {"seed_simulator": seed or 1}} if self.service is None else {}
        if kind == "sampler":
            module = None if legacy else _optional("qiskit_ibm_runtime.executor_sampler")
            if module is not None:
                return module.Sampler(mode=mode, options=options)
            with warnings.catch_warnings():  # deprecated for the client-side Sampler, which lacks per-PUB shots
                warnings.simplefilter("ignore", DeprecationWarning)
                return self._legacy_sampler()(mode=mode, options=options)
        module = _optional("qiskit_ibm_runtime.executor_estimator")
        return module.Estimator(mode=mode, options=options) if module else self.runtime.EstimatorV2(mode=mode, options=options)

    def _submit(self, circuits: list[Circuit], shots: list[int], seed: int) -> Job:
        isa = self._transpile([_measured(c) for c in circuits])
        pubs = [(qc, None, int(s)) for qc, s in zip(isa, shots)]  # every PUB its own, exact shots
        if len(set(shots)) == 1 or self._legacy_sampler() is None:
            # the client-side Sampler takes one shot count per job: one job per distinct count
            groups = _by_shots(shots)
            jobs = [self._primitive("sampler", seed).run([pubs[i] for i in g]) for g in groups]
            return _RuntimeJobs(jobs, groups, len(circuits), _sampled)
        with warnings.catch_warnings():  # per-PUB shots: deprecated by the Runtime (0.48), still one job
            warnings.simplefilter("ignore", DeprecationWarning)
            job = self._primitive("sampler", seed, legacy=True).run(pubs)
        return _RuntimeJobs([job], [list(range(len(circuits)))], len(circuits), _sampled)

    def _retrieve(self, job_id: str) -> Job | None:
        if self.service is None:
            return None
        record = json.loads(job_id)
        decode = _sampled if record["kind"] == "sampler" else _estimated
        return _RuntimeJobs([self.service.job(i) for i in record["ids"]], record["groups"], record["count"], decode)

    def expectations(self, circuits, observable, *, shots: int | None = None, seed: int | None = None) -> np.ndarray:
        if self.primitive != "estimator" or shots is None:
            return super().expectations(circuits, observable, shots=shots, seed=seed)
        from .base import circuit_key
        from .jobs import run_jobs

        circs = self._prepare(circuits)
        qi = require("qiskit.quantum_info", "qiskit")
        labels = [to_qiskit_label(label) for label in observable.labels()]
        terms = [qi.SparsePauliOp(label) for label in labels]
        keys = [f"{circuit_key(c)}:estimator:{shots}:{','.join(labels)}" for c in circs]

        def submit(indices: list[int], job_seed: int) -> Job:
            isa = self._transpile([to_qiskit(circs[i]) for i in indices])
            pubs = [(qc, [t.apply_layout(qc.layout) for t in terms]) for qc in isa]
            job = self._primitive("estimator", job_seed).run(pubs, precision=1 / np.sqrt(shots))
            return _RuntimeJobs([job], [list(range(len(indices)))], len(indices), _estimated)

        with self._session():
            found = run_jobs(keys, submit, identity=self.identity, seed=self.seed if seed is None else seed,
                             policy=self.policy, store=self.store, retrieve=self._retrieve, is_transient=self._is_transient)
        return np.stack([np.asarray(f, dtype=np.float64) for f in found])


class _RuntimeJobs:
    """Runtime jobs seen as one :class:`~hybridq.backends.jobs.Job` (``groups[k]``: the tasks
    of ``jobs[k]``, in PUB order)."""

    def __init__(self, jobs: list, groups: list[list[int]], count: int, decode) -> None:
        self.jobs, self.groups, self.count, self.decode = jobs, groups, count, decode

    def job_id(self) -> str | None:
        ids = [j.job_id() for j in self.jobs]
        kind = "sampler" if self.decode is _sampled else "estimator"
        record = {"ids": ids, "groups": self.groups, "count": self.count, "kind": kind}
        return json.dumps(record) if all(ids) else None

    def result(self, timeout: float | None) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * self.count
        errors = require("qiskit_ibm_runtime.exceptions", "ibm")
        for job, group in zip(self.jobs, self.groups):
            try:
                takes_timeout = "timeout" in inspect.signature(job.result).parameters
                result = job.result(timeout=timeout) if takes_timeout else job.result()
            except errors.RuntimeJobTimeoutError:
                raise TimeoutError(f"job {job.job_id()} timed out") from None
            except errors.RuntimeJobFailureError as exc:
                raise BackendError(f"job {job.job_id()} failed: {exc}") from None
            for pub, i in zip(result, group):
                out[i] = self.decode(pub)
        return out


def _sampled(pub) -> np.ndarray:
    return _indices(pub.data.meas.get_bitstrings())


def _estimated(pub) -> np.ndarray:
    return np.asarray(pub.data.evs, dtype=np.float64).reshape(-1)


def _optional(module: str):
    try:
        return require(module, "ibm")
    except ImportError:
        return None


def _service(runtime, channel: str | None, instance: str | None):
    """``QiskitRuntimeService`` from a saved account or the environment, never echoing a token."""
    if not os.environ.get("QISKIT_IBM_TOKEN") and not runtime.QiskitRuntimeService.saved_accounts():
        raise CredentialsError(
            "no IBM Quantum credentials found: save an account once with "
            "qiskit_ibm_runtime.QiskitRuntimeService.save_account(token=..., channel=..., instance=...) "
            "or set the QISKIT_IBM_TOKEN environment variable (and QISKIT_IBM_INSTANCE); "
            "for local runs use a fake device, e.g. get_backend('fake:FakeManilaV2')"
        )
    try:
        return runtime.QiskitRuntimeService(channel=channel, instance=instance)
    except Exception as exc:  # noqa: BLE001 - re-raised without the original text, which may hold the token
        kind = TransientBackendError if isinstance(exc, (ConnectionError, OSError)) else BackendError
        raise kind(f"could not open the IBM Quantum service ({type(exc).__name__}); check the saved account "
                   "or QISKIT_IBM_TOKEN, the channel and the instance") from None
