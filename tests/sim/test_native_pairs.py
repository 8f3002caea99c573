"""Pair-rotation programs on the native CPU kernels (hybridq.sim.native_pairs): the same states and
gradients as the torch reference executor, finite differences and Qiskit, batches 1 and odd,
shared and per-sample angles, complex64 and complex128."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Weight
from hybridq.sim import engine, fused, native_pairs
from hybridq.sim.layers import Layer, Layered, PairRotation, Permutation
from hybridq.sim.pairs import PairPlan

needs_native = pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built")


def _native_calls(monkeypatch) -> list:
    calls: list = []
    apply = native_pairs._PairsRun.apply
    monkeypatch.setattr(native_pairs._PairsRun, "apply", lambda *a: calls.append(1) or apply(*a))
    return calls


def _pair_step(rng: np.random.Generator, n: int, rows: int, dtype: torch.dtype) -> PairRotation:
    """A random excitation-like run (``XY..`` and ``YX..`` on a random flip mask) as a pair rotation."""
    qubits = sorted(rng.choice(n, size=int(rng.integers(2, n + 1)), replace=False).tolist())
    first, second = ["I"] * n, ["I"] * n
    for k, q in enumerate(qubits):
        first[q], second[q] = ("X", "Y") if k == 0 else ("Y", "X") if k == 1 else ("Z", "Z")
    for q in range(min(qubits), max(qubits)):
        if q not in qubits:
            first[q] = second[q] = "Z"
    plan = PairPlan.build(["".join(first), "".join(second)], [[(1.0, 0)], [(-1.0, 0)]], n_qubits=n)
    real = dtype.to_real()
    angles = torch.tensor(rng.normal(size=(rows, 1)), dtype=real) * torch.tensor(plan.coeffs, dtype=real)[plan.rows]
    return PairRotation(torch.tensor(plan.x_index), torch.tensor(plan.y_index),
                        torch.tensor(plan.phase, dtype=dtype), angles.requires_grad_(True))


def _program(seed: int, n: int, batch: int, per_sample: bool, dtype: torch.dtype) -> Layered:
    rng = np.random.default_rng(seed)
    index = torch.tensor(rng.permutation(2**n), dtype=torch.int32)
    steps = [_pair_step(rng, n, batch if per_sample and k % 2 else 1, dtype) for k in range(5)]
    steps.insert(2, Permutation(index, torch.argsort(index).to(torch.int32)))
    return Layered(n, batch, dtype, torch.device("cpu"), (Layer((), tuple(steps[:3])), Layer((), tuple(steps[3:]))))


def _run(executor, program: Layered, state: torch.Tensor) -> list[torch.Tensor]:
    """States, and the gradients of a loss of the amplitudes with respect to every angle and the start state."""
    angles = [s.angles for layer in program.layers for s in layer.steps if isinstance(s, PairRotation)]
    out = executor.run(program, state, "adjoint")
    loss = (out.abs() ** 3).sum() + (out[:, 1] * out[:, -1].conj()).real.sum()
    return [out.detach(), *torch.autograd.grad(loss, [*angles, state])]


@needs_native
@pytest.mark.parametrize("dtype, tol", [(torch.complex128, 1e-12), (torch.complex64, 2e-5)])
@pytest.mark.parametrize("n, batch, per_sample", [(4, 1, False), (6, 3, True), (5, 9, False), (7, 1, True)])
def test_native_pairs_equal_the_reference(n, batch, per_sample, dtype, tol, monkeypatch):
    calls = _native_calls(monkeypatch)
    program = _program(n + batch, n, batch, per_sample, dtype)
    g = torch.Generator().manual_seed(n)
    state = torch.randn(batch if per_sample else 1, 2**n, dtype=dtype, generator=g).requires_grad_(True)
    fast, slow = _run(engine.NativeExecutor(), program, state), _run(engine.ReferenceExecutor(), program, state)
    assert calls, "the native executor did not run"
    for a, b in zip(fast, slow):
        assert a.shape == b.shape
        assert float((a - b).abs().max()) < tol * max(1.0, float(b.abs().max()))


def _uccsd_like(n: int, seed: int) -> Circuit:
    """Hartree-Fock-like X gates, then excitations (``XY`` - ``YX`` runs with Z strings) of shared weights."""
    rng = np.random.default_rng(seed)
    circuit = Circuit(n).x(0).x(1)
    for k in range(6):
        a, b = sorted(rng.choice(n, size=2, replace=False).tolist())
        strings = [("X", "Y"), ("Y", "X")]
        for sign, (p, q) in zip((1.0, -1.0), strings):
            label = p + "Z" * (b - a - 1) + q
            circuit.pauli_rotation(sign * Weight(f"t{k % 4}"), label, list(range(a, b + 1)))
    return circuit


@needs_native
def test_excitation_circuits_match_qiskit_and_finite_differences(monkeypatch):
    """A Hartree-Fock-like start (X gates, run first) and excitations, on one state."""
    pytest.importorskip("qiskit")
    from qiskit.quantum_info import Statevector

    from hybridq.circuits.interop import to_qiskit
    from hybridq.qubit_order import bit_reversal_permutation

    n = 6
    circuit = _uccsd_like(n, seed=3)
    assert any(s.kind == "pair_rotation" for s in hq.circuits.compiled.CompiledCircuit.of(circuit).steps)
    w = torch.tensor([0.3, -0.7, 1.1, 0.45], dtype=torch.float64)
    calls = _native_calls(monkeypatch)
    state = hq.simulate(circuit, weights=w, dtype=torch.complex128)[0].numpy()
    assert calls, "the native executor did not run"
    qc = to_qiskit(circuit)
    values = dict(zip(circuit.weight_names, w.tolist()))
    expected = Statevector(qc.assign_parameters({p: values[p.name] for p in qc.parameters})).data
    assert np.abs(state - expected[bit_reversal_permutation(n)]).max() < 1e-10
    observable = hq.PauliSum.from_list([("ZZIIII", 0.5), ("XXYYII", 0.3), ("IIZIZI", -0.2)])

    def energy(weights):
        return hq.sim.expval(hq.simulate(circuit, weights=weights, dtype=torch.complex128, method="adjoint"), observable).sum()

    wd = w.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(wd), wd)
    for i in range(len(w)):
        step = torch.zeros_like(w)
        step[i] = 1e-6
        assert abs(float((energy(w + step) - energy(w - step)) / 2e-6) - float(grad[i])) < 1e-7


@needs_native
def test_the_fallbacks_give_the_same_energy_and_gradient(monkeypatch):
    circuit = _uccsd_like(5, seed=8)
    observable = hq.PauliSum.from_list([("ZIZII", 0.5), ("XYYXI", 0.3)])
    w = torch.tensor([0.2, -0.4, 0.9, 0.1], dtype=torch.float64)
    results = []
    for fused_on in ("1", "0"):
        monkeypatch.setenv("HYBRIDQ_FUSED", fused_on)
        wd = w.clone().requires_grad_(True)
        e = hq.sim.expval(hq.simulate(circuit, weights=wd, dtype=torch.complex128, method="adjoint"), observable).sum()
        results.append((e.detach(), *torch.autograd.grad(e, wd)))
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-12)
