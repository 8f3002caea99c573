"""The engine (hybridq.sim.engine) on every circuit family: the native CPU executor equals Qiskit,
the torch reference executor and finite differences, with per-sample angles, random qubit pairs,
odd batches and the fallbacks (``HYBRIDQ_FUSED=0``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight
from hybridq.errors import QubitIndexError
from hybridq.sim import engine, fused, native_run
from hybridq.sim.layers import Dense, Diagonal, Layer, Layered, Permutation

needs_native = pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built")


def _unitary(rng: np.random.Generator, k: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


#: One entangling gate of each family on qubits a, b (``t``: a third qubit, or None), angle ``e``.
ENTANGLERS = {
    "cz": lambda c, a, b, t, e, rng: c.cz(a, b),
    "cp": lambda c, a, b, t, e, rng: c.cp(e, a, b),
    "crz": lambda c, a, b, t, e, rng: c.crz(e, a, b),
    "rzz": lambda c, a, b, t, e, rng: c.rzz(e, a, b),
    "zz_rotation": lambda c, a, b, t, e, rng: c.pauli_rotation(e, "ZZ", [a, b]),
    "diagonal": lambda c, a, b, t, e, rng: c.diagonal(np.exp(1j * rng.uniform(-np.pi, np.pi, 4)), [a, b]),
    "crx": lambda c, a, b, t, e, rng: c.crx(e, a, b),
    "cry": lambda c, a, b, t, e, rng: c.cry(e, a, b),
    "ch": lambda c, a, b, t, e, rng: c.ch(a, b),
    "cu3": lambda c, a, b, t, e, rng: c.add("U3", [b], e, 0.3, Weight("phi"), controls=[a]),
    "ccrx": lambda c, a, b, t, e, rng: c.add("RX", [b], e, controls=[a] + ([t] if t is not None else [])),
    "rxx": lambda c, a, b, t, e, rng: c.rxx(e, a, b),
    "ryy": lambda c, a, b, t, e, rng: c.ryy(e, a, b),
    "xy_rotation": lambda c, a, b, t, e, rng: c.pauli_rotation(e, "XY", [a, b]),
    "unitary": lambda c, a, b, t, e, rng: c.unitary(_unitary(rng, 2), [a, b]),
    "cnot_swap": lambda c, a, b, t, e, rng: c.cx(a, b).swap(a, b),
}
FAMILIES = list(ENTANGLERS)


def family_circuit(family: str, n: int, layers: int, seed: int, layered: bool = True) -> Circuit:
    """Re-uploading layers (RY(w x + b), RZ, RY on every qubit) and entanglers of ``family`` on
    random pairs, with angles per sample (``w * x``) or shared; ``layered=False`` shuffles
    one-qubit gates between the entanglers."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for k in range(layers):
        for i in range(n):
            c.ry(Weight(f"w{k}_{i}") * Input(i) + Weight(f"b{k}_{i}"), i)
            c.rz(Weight(f"t{k}_{i}"), i).ry(Weight(f"u{k}_{i}"), i)
        for i in range(n):
            a, b = (int(q) for q in rng.permutation(n)[:2])
            angle = Weight(f"e{k}_{i}") * Input(i) if i % 2 else Weight(f"e{k}_{i}")
            third = next((q for q in range(n) if q not in (a, b)), None)
            ENTANGLERS[family](c, a, b, third, angle, rng)
            if not layered:
                c.rx(Weight(f"r{k}_{i}"), int(rng.integers(n)))
    return c


def _values(circuit: Circuit, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, circuit.n_qubits, dtype=torch.float64, generator=g) * 2 - 1
    w = torch.rand(len(circuit.weight_names), dtype=torch.float64, generator=g) * 4 - 2
    return x, w


def _run(circuit: Circuit, x: torch.Tensor, w: torch.Tensor, dtype=torch.complex128):
    """States, and the gradients of a loss of <Z> and amplitudes with respect to weights and inputs."""
    wd, xd = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
    psi = hq.simulate(circuit, xd, wd, dtype=dtype)
    loss = hq.sim.expval_z(psi).square().sum() + (psi[:, 0] * psi[:, -1].conj()).real.sum()
    return [psi.detach(), *torch.autograd.grad(loss, (wd, xd))]


def _native_calls(monkeypatch) -> list:
    calls: list = []
    apply = native_run._ProgramRun.apply
    monkeypatch.setattr(native_run._ProgramRun, "apply", lambda *a: calls.append(1) or apply(*a))
    return calls


def _qiskit_states(circuit: Circuit, x: torch.Tensor, w: torch.Tensor) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    from hybridq.circuits.interop import to_qiskit
    from hybridq.qubit_order import bit_reversal_permutation

    qc = to_qiskit(circuit)
    perm = bit_reversal_permutation(circuit.n_qubits)
    weights = dict(zip(circuit.weight_names, w.tolist()))
    return np.array([Statevector(qc.assign_parameters(
        {p: row[p.index].item() if p.name.startswith("x[") else weights[p.name] for p in qc.parameters})).data[perm]
        for row in x])


@needs_native
@pytest.mark.parametrize("family", FAMILIES)
def test_families_match_qiskit_on_the_native_executor(family, monkeypatch):
    pytest.importorskip("qiskit")
    calls = _native_calls(monkeypatch)
    circuit = family_circuit(family, 5, 2, seed=len(family))
    x, w = _values(circuit, 9, seed=1)
    got = hq.simulate(circuit, x, w, dtype=torch.complex128).numpy()
    assert calls, "the native executor did not run"
    assert np.abs(got - _qiskit_states(circuit, x, w)).max() < 1e-10


def _assert_fused_equals_reference(circuit: Circuit, x: torch.Tensor, w: torch.Tensor, monkeypatch) -> None:
    """States and gradients (weights, inputs) with the fused executors on and off (``HYBRIDQ_FUSED=0``:
    the torch reference) agree, complex128 and complex64."""
    for dtype, tol in ((torch.complex128, 1e-10), (torch.complex64, 2e-4)):
        fast = _run(circuit, x, w, dtype)
        monkeypatch.setenv("HYBRIDQ_FUSED", "0")
        slow = _run(circuit, x, w, dtype)
        monkeypatch.delenv("HYBRIDQ_FUSED")
        for a, b in zip(fast, slow):
            assert float((a - b).abs().max()) < tol * max(1.0, float(b.abs().max()))


@needs_native
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n, batch, layered", [(2, 17, True), (7, 9, False), (12, 8, True)])
def test_native_executor_equals_the_reference(family, n, batch, layered, monkeypatch):
    """States and gradients (weights, per-sample inputs) of the native executor and of the torch
    reference (``HYBRIDQ_FUSED=0``), complex128 and complex64."""
    calls = _native_calls(monkeypatch)
    circuit = family_circuit(family, n, 2, seed=n + batch, layered=layered)
    x, w = _values(circuit, batch, seed=n)
    _assert_fused_equals_reference(circuit, x, w, monkeypatch)
    assert len(calls) == 2  # the native run each time, and never with HYBRIDQ_FUSED=0


def _shared_diagonals_circuit(family: str, n: int) -> Circuit:
    """Per-sample one-qubit angles, then a ring of ``family`` entanglers whose angles are weights
    only (their data is shared by the batch), twice."""
    c, rng = Circuit(n), np.random.default_rng(n)
    for k in range(2):
        for i in range(n):
            c.ry(Weight(f"w{k}_{i}") * Input(i), i).rz(Weight(f"t{k}_{i}"), i)
        for i in range(n):
            ENTANGLERS[family](c, i, (i + 1) % n, None, Weight(f"e{k}_{i}"), rng)
    return c


@needs_native
@pytest.mark.parametrize("family", ["cz", "cp", "crz", "rzz", "diagonal"])
@pytest.mark.parametrize("n, batch", [(3, 17), (10, 40)])
def test_diagonal_runs_shared_by_the_batch_equal_the_reference(family, n, batch, monkeypatch):
    """Runs of diagonals with weights only take the kernels' shared path (one table per call, the
    gradient summed over the lanes, a last block of lanes partly filled); states and gradients
    equal the reference's."""
    made = []
    tables = native_run._tables
    monkeypatch.setattr(native_run, "_tables", lambda *a, **k: made.append(tables(*a, **k)) or made[-1])
    circuit = _shared_diagonals_circuit(family, n)
    x, w = _values(circuit, batch, seed=batch)
    _assert_fused_equals_reference(circuit, x, w, monkeypatch)
    starts = made[-1].table[made[-1].table[:, 13] == 1]
    assert bool((starts[:, 12] >= 0).any()), "no diagonal run took the shared path"


@needs_native
@pytest.mark.parametrize("family", ["crx", "rxx", "unitary"])
def test_large_states_run_dense_steps_tile_by_tile_as_the_reference(family, monkeypatch):
    """From 15 qubits the kernels run dense steps on low qubits tile by tile (runs of them between
    steps on high qubits): the same states and gradients as the reference."""
    calls = _native_calls(monkeypatch)
    n = native_run.BLOCKED_FROM
    circuit = family_circuit(family, n, 1, seed=n)
    for q in range(n - 4, n - 1):  # a run of steps on the lowest qubits' bits
        ENTANGLERS[family](circuit, q, q + 1, None, Weight(f"low{q}"), np.random.default_rng(q))
    x, w = _values(circuit, 8, seed=4)
    fast = _run(circuit, x, w)
    monkeypatch.setenv("HYBRIDQ_FUSED", "0")
    slow = _run(circuit, x, w)
    assert len(calls) == 1
    for a, b in zip(fast, slow):
        assert float((a - b).abs().max()) < 1e-10 * max(1.0, float(b.abs().max()))


@needs_native
@pytest.mark.parametrize("family", ["cz", "rzz", "crx", "rxx", "unitary"])
def test_native_gradients_match_finite_differences(family):
    circuit = family_circuit(family, 4, 2, seed=3)
    x, w = _values(circuit, 8, seed=2)

    def loss(weights: torch.Tensor) -> torch.Tensor:
        psi = hq.simulate(circuit, x, weights, dtype=torch.complex128)
        return hq.sim.expval_z(psi).square().sum()

    wd = w.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(wd), wd)
    eps = 1e-6
    for i in range(0, len(w), 5):
        step = torch.zeros_like(w)
        step[i] = eps
        assert abs(float((loss(w + step) - loss(w - step)) / (2 * eps)) - float(grad[i])) < 1e-6


@needs_native
@pytest.mark.parametrize("batch", [1, 3])
def test_small_batches_take_the_native_kernels_and_one_qubit_the_reference(batch, monkeypatch):
    """A batch smaller than the native kernels' 16 lanes fills one block (one sample of a CRX
    ring ran 40x slower through the reference); one qubit takes the reference. The results are
    the reference's."""
    calls = _native_calls(monkeypatch)
    one_qubit = Circuit(1).ry(Weight("a") * Input(0), 0).rz(Weight("b"), 0)
    circuits = ((family_circuit("crx", 4, 2, seed=5), True), (one_qubit, False))
    for circuit, native in circuits:
        x, w = _values(circuit, batch, seed=batch)
        monkeypatch.setenv("HYBRIDQ_FUSED", "0")
        slow = _run(circuit, x, w)
        monkeypatch.delenv("HYBRIDQ_FUSED")
        calls.clear()
        for a, b in zip(_run(circuit, x, w), slow):
            assert float((a - b).abs().max()) < 1e-12
        assert bool(calls) == native


@pytest.mark.parametrize("batch", [1, 9])
def test_a_circuit_without_gates_returns_its_start(batch):
    """No layers: the start state, |0...0> or the one given (the native executor declines)."""
    zero = hq.simulate(Circuit(3), batch=batch)
    assert zero.shape == (batch, 8) and torch.equal(zero[:, 0], torch.ones(batch, dtype=zero.dtype))
    start = torch.randn(batch, 8, dtype=torch.complex128, generator=torch.Generator().manual_seed(batch))
    start = start / start.norm(dim=1, keepdim=True)
    assert torch.equal(hq.simulate(Circuit(3), initial_state=start), start)


@needs_native
def test_described_steps_run_the_same_on_every_executor():
    """A hand-written description: open controls, a permutation between steps, per-sample
    diagonals and two-qubit matrices, a layer without one-qubit gates."""
    n, batch = 4, 10
    g = torch.Generator().manual_seed(7)
    rand = lambda *s: torch.randn(*s, dtype=torch.complex128, generator=g)  # noqa: E731
    unitary = lambda *s: torch.linalg.qr(rand(*s))[0]  # noqa: E731
    phases = torch.exp(1j * torch.randn(batch, 8, dtype=torch.float64, generator=g))
    index = torch.tensor([(i ^ 0b0101) for i in range(2**n)], dtype=torch.int32)
    steps = (Dense((2,), unitary(1, 2, 2), (0, 3), (0, 1)), Permutation(index, index), Diagonal((3, 0, 1), phases),
             Dense((3, 1), unitary(batch, 4, 4)))
    layers = (Layer(tuple(range(n)), steps), Layer((), (Dense((0,), unitary(1, 2, 2), (1,), (0,)),)))
    eye = torch.eye(2, dtype=torch.complex128).expand(batch, 1, n, 2, 2)  # the second layer has no one-qubit gates
    mats = torch.cat([unitary(batch, 1, n, 2, 2), eye], dim=1).requires_grad_(True)
    program = Layered(n, batch, torch.complex128, torch.device("cpu"), layers, mats)
    state = rand(batch, 2**n)
    outs = [engine.NativeExecutor().run(program, state, "autograd"), engine.ReferenceExecutor().run(program, state, "autograd")]
    grads = [torch.autograd.grad((out.abs() ** 3).sum(), mats)[0] for out in outs]
    assert float((outs[0] - outs[1]).detach().abs().max()) < 1e-12
    assert float((grads[0][:, 0] - grads[1][:, 0]).abs().max()) < 1e-10  # the second layer's are not in the circuit


@pytest.mark.parametrize("fused_on", ["1", "0"])
def test_an_empty_batch_gives_no_states(fused_on, monkeypatch):
    """A program (or a start state) of no samples: ``(0, 2**n)`` states, on every executor choice;
    a batch of one through the same program still runs."""
    monkeypatch.setenv("HYBRIDQ_FUSED", fused_on)
    h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / 2**0.5
    layers = (Layer((0, 1, 2), (Diagonal((0, 2), torch.tensor([[1, 1j, 1, -1]], dtype=torch.complex128)),)),)
    empty = Layered(3, 0, torch.complex128, torch.device("cpu"), layers, h.expand(0, 1, 3, 2, 2))
    assert engine.execute(empty).shape == (0, 8)
    one = Layered(3, 1, torch.complex128, torch.device("cpu"), layers, h.expand(1, 1, 3, 2, 2))
    assert engine.execute(one, torch.zeros(0, 8, dtype=torch.complex128)).shape == (0, 8)
    out = engine.execute(one)
    assert out.shape == (1, 8) and torch.allclose(out.abs(), torch.full((1, 8), 8**-0.5, dtype=torch.float64))


def test_bad_input_still_raises_the_library_errors():
    with pytest.raises(QubitIndexError):
        Circuit(3).crx(0.1, 0, 3)
    with pytest.raises(QubitIndexError):
        Circuit(3).rzz(0.1, 1, 1)
