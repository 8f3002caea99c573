"""The packed gate data of a compiled circuit (one autograd node) against the gate builders and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight
from hybridq.circuits import compiled as compiled_module
from hybridq.circuits.compiled import CompiledCircuit
from hybridq.circuits.gate_data import GateData
from hybridq.sim import native
from hybridq.sim.engine import NativeExecutor
from hybridq.sim.layers import Dense, Diagonal, StepView, data_of

ONE_QUBIT = ("rx", "ry", "rz", "p")
TWO_QUBIT = ("crx", "cry", "crz", "cp", "rxx", "ryy", "rzz")


def random_circuit(n: int, seed: int, gates: int = 40) -> Circuit:
    """One-angle gates of every kind in random order on random qubits (pairs not neighbours), angles
    of the forms ``w * x + b``, ``w``, ``c * w - d``, ``x``, shared weights, fixed gates between."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    unitary = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
    for g in range(gates):
        form = rng.integers(4)
        k, i = int(rng.integers(6)), int(rng.integers(2))
        angle = [Weight(f"w{k}") * Input(i) + Weight(f"b{g}"), Weight(f"w{k}"), 0.5 * Weight(f"t{g}") - 0.2, Input(i)][form]
        a, b = (int(q) for q in rng.choice(n, size=2, replace=False))
        kind = rng.integers(4)
        if kind == 0:
            getattr(c, ONE_QUBIT[rng.integers(len(ONE_QUBIT))])(angle, a)
        elif kind == 1:
            getattr(c, TWO_QUBIT[rng.integers(len(TWO_QUBIT))])(angle, a, b)
        elif kind == 2:
            [c.h, c.s, c.sx][rng.integers(3)](a)
            c.cz(a, b) if rng.integers(2) else c.cx(a, b)
        else:
            c.unitary(unitary, [a, b]) if rng.integers(2) else c.diagonal(np.exp(1j * rng.normal(size=4)), [a, b])
    return c


def _without_plan(monkeypatch) -> None:
    monkeypatch.setattr(GateData, "of", classmethod(lambda cls, *args, **kwargs: None))


@pytest.mark.parametrize("chains_native", [True, False])
@pytest.mark.parametrize("n, batch, seed", [(3, 1, 0), (4, 5, 1), (5, 3, 2)])
def test_simulation_with_the_plan_equals_the_builders(n, batch, seed, chains_native, monkeypatch):
    if not chains_native:  # the one-qubit chains from the plan too (as on a GPU)
        monkeypatch.setattr(compiled_module.native_chains, "available", lambda device: False)
    c = random_circuit(n, seed)
    assert GateData.of(CompiledCircuit.of(c), torch.complex128, torch.device("cpu"), chains=not chains_native) is not None
    rng = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 2, dtype=torch.float64, generator=rng, requires_grad=True)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=rng, requires_grad=True)

    def run():
        for method in ("autograd", "adjoint"):
            psi = hq.simulate(c, x, w, dtype=torch.complex128, method=method)
            z = hq.sim.expval_z(psi)
            yield (psi.detach(), *torch.autograd.grad((z * torch.arange(1.0, n + 1, dtype=z.dtype)).sum(), (w, x)))

    fast = list(run())
    _without_plan(monkeypatch)
    slow = list(run())
    for got, want in zip(fast, slow):
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, atol=1e-11, rtol=0)


@pytest.mark.parametrize("chains", [True, False])
def test_packed_data_gradients_match_finite_differences(chains):
    c = random_circuit(3, 7, gates=20)
    plan = GateData.of(CompiledCircuit.of(c), torch.complex128, torch.device("cpu"), chains=chains)
    assert plan.per_entry == 2  # w * x + b: two terms per angle, summed side by side
    rng = torch.Generator().manual_seed(3)
    x = torch.randn(3, 2, dtype=torch.float64, generator=rng, requires_grad=True)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=rng, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, x: torch.view_as_real(plan(w, x)), (w, x))


def test_chain_products_and_step_data_equal_the_builders(monkeypatch):
    monkeypatch.setattr(compiled_module.native_chains, "available", lambda device: False)
    c = random_circuit(4, 3)
    x, w = torch.randn(2, 2, dtype=torch.float64), torch.randn(len(c.weight_names), dtype=torch.float64)
    args = dict(batch=2, dtype=torch.complex128, device="cpu")
    fast = CompiledCircuit.of(c).layered(x, w, **args)
    _without_plan(monkeypatch)
    slow = CompiledCircuit.of(c).layered(x, w, **args)
    assert fast.packed is not None and slow.packed is None
    torch.testing.assert_close(fast.one_qubit(), slow.one_qubit().expand_as(fast.one_qubit()), atol=1e-12, rtol=0)
    torch.testing.assert_close(fast.step_data(), slow.step_data().expand_as(fast.step_data()), atol=1e-12, rtol=0)


def test_gates_of_several_angles_and_pauli_rotations_keep_the_builders():
    for c in (Circuit(2).u3(Weight("a"), 0.2, Input(0), 0).crx(Weight("b"), 0, 1),
              Circuit(2).ry(Weight("a"), 0).pauli_rotation(Weight("b"), "ZZ", [0, 1])):
        assert GateData.of(CompiledCircuit.of(c), torch.complex128, torch.device("cpu"), chains=True) is None
        x, w = torch.rand(3, 1, dtype=torch.float64), torch.rand(2, dtype=torch.float64)
        torch.testing.assert_close(hq.simulate(c, x, w, dtype=torch.complex128),
                                   hq.simulate(c, x, w, dtype=torch.complex128, fusion=False), atol=1e-12, rtol=0)


def test_an_angle_of_many_terms_is_summed_by_index():
    c = random_circuit(3, 5, gates=30)
    c.ry(sum((Weight(f"m{k}") * Input(k % 2) for k in range(40)), Weight("m")), 1)
    plan = GateData.of(CompiledCircuit.of(c), torch.complex128, torch.device("cpu"), chains=True)
    assert plan.per_entry == 0  # not every entry padded to 41 terms
    rng = torch.Generator().manual_seed(5)
    x = torch.randn(2, 2, dtype=torch.float64, generator=rng, requires_grad=True)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=rng, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, x: torch.view_as_real(plan(w, x)), (w, x))


@pytest.mark.skipif(native.library() is None, reason="no C compiler: the native kernels are not built")
def test_steps_are_made_from_views_only_where_an_executor_reads_them(monkeypatch):
    c = random_circuit(4, 3)
    x, w = torch.randn(9, 2, dtype=torch.float64), torch.randn(len(c.weight_names), dtype=torch.float64)
    args = dict(batch=9, dtype=torch.complex128, device="cpu")  # 9: a batch the native kernels take
    fast = CompiledCircuit.of(c).layered(x, w.requires_grad_(True), **args)
    assert any(isinstance(s, StepView) for layer in fast.outline for s in layer.steps)
    made = []
    monkeypatch.setattr(StepView, "of", lambda view, data, of=StepView.of: made.append(view) or of(view, data))
    assert NativeExecutor().run(fast, None, "autograd") is not None and not made  # the native kernels read the step data
    steps = [s for layer in fast.layers for s in layer.steps]
    assert made  # the reference and Triton executors read the steps: made on the first call
    _without_plan(monkeypatch)
    slow = [s for layer in CompiledCircuit.of(c).layered(x, w, **args).layers for s in layer.steps]
    assert len(steps) == len(slow)
    for got, want in zip(steps, slow):
        assert type(got) is type(want) and all(getattr(got, f, None) == getattr(want, f, None)
                                               for f in ("qubits", "controls", "control_values"))
        if isinstance(got, (Diagonal, Dense)):  # the same data, shared by the batch (P = 1) alike
            torch.testing.assert_close(data_of(got), data_of(want), atol=1e-12, rtol=0)
