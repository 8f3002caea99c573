"""Native chain products (hybridq.sim.chains) equal the tensor-op path, values and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from hybridq.circuits import Circuit, Input, Weight
from hybridq.circuits.compiled import CompiledCircuit
from hybridq.sim import chains
from hybridq.sim.gates import GATES

needs_native = pytest.mark.skipif(not chains.available(torch.device("cpu")), reason="native kernels not built")


@pytest.mark.parametrize("name", ["RX", "RY", "RZ", "PhaseShift"])
def test_trig_form_reproduces_the_gate(name):
    k, A, C, S = chains.trig_form(name)
    for t in (0.0, 0.41, -2.3, 7.9):
        data = GATES[name].build([torch.tensor(t, dtype=torch.float64)], torch.complex128, None)
        expected = torch.diag_embed(data) if GATES[name].kind == "diagonal" else data
        assert torch.allclose(A + math.cos(k * t) * C + math.sin(k * t) * S, expected, atol=1e-12)


def test_gates_without_a_trig_form():
    assert chains.trig_form("U3") is None and chains.trig_form("RXX") is None and chains.trig_form("H") is None


def circuit(n: int, inputs: bool) -> Circuit:
    c = Circuit(n)
    for k in range(2):
        for q in range(n):
            angle = Weight(f"w{k}{q}") * Input(q) + Weight(f"b{k}{q}") if inputs else 2 * Weight(f"w{k}{q}") - 0.3
            c.ry(angle, q).rz(Weight(f"t{k}{q}"), q).rx(Weight(f"u{k}{q}"), q).p(Weight(f"v{k}{q}"), q)
        c.h(0).s(1).x(2)
        for q in range(n):
            c.cx(q, (q + 1) % n)
    return c


@needs_native
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("batch,inputs", [(1, True), (37, True), (50, False)])
def test_chain_products_equal_the_tensor_ops(dtype, batch, inputs):
    """Forward and both gradients, batches off the 16-lane grid, with and without inputs."""
    gen = torch.Generator().manual_seed(batch)
    rdt = torch.float32 if dtype == torch.complex64 else torch.float64
    c = circuit(3, inputs)
    plan = CompiledCircuit.of(c)
    assert plan._native_ok
    x = torch.randn(batch, 3, dtype=rdt, generator=gen, requires_grad=True)
    w = torch.randn(len(c.weight_names), dtype=rdt, generator=gen, requires_grad=True)
    reference = plan._chain_products(plan.angles(x, w, rdt, "cpu"), plan._on("cpu"), dtype, "cpu")
    native = chains.chain_products(w, x, plan._chain_plan(rdt), dtype)
    tol = 1e-5 if dtype == torch.complex64 else 1e-12
    assert native.shape == reference.shape and (native - reference).abs().max() < tol
    g = torch.randn(reference.shape, dtype=dtype, generator=gen)
    wanted = torch.autograd.grad((reference * g.conj()).real.sum(), (w, x), allow_unused=True)
    got = torch.autograd.grad((native * g.conj()).real.sum(), (w, x), allow_unused=True)
    for a, b in zip(wanted, got):
        assert (a is None) == (b is None) and (a is None or (a - b).abs().max() < 10 * tol)


@needs_native
@pytest.mark.parametrize("scale", [1.0, 1e3, 1e5, 3e7])
def test_native_sines_and_cosines_at_large_angles(scale):
    """The polynomial sines and cosines keep double accuracy, past the reduction's range too."""
    c = Circuit(1).ry(Weight("w") * Input(0), 0)
    plan = CompiledCircuit.of(c)
    x = torch.linspace(-1, 1, 41, dtype=torch.float64).unsqueeze(1) * scale
    w = torch.tensor([1.0], dtype=torch.float64)
    native = chains.chain_products(w, x, plan._chain_plan(torch.float64), torch.complex128)
    half = x[:, 0] / 2
    assert torch.allclose(native[:, 0, 0, 0].real, torch.cos(half), atol=1e-13 * max(1.0, scale * 1e-3))
    assert torch.allclose(native[:, 0, 1, 0].real, torch.sin(half), atol=1e-13 * max(1.0, scale * 1e-3))


def test_one_qubit_gates_without_a_trigonometric_form_keep_the_tensor_ops():
    assert not CompiledCircuit.of(Circuit(2).u3(Weight("a"), 0.1, 0.2, 0).cx(0, 1))._native_ok
    assert CompiledCircuit.of(Circuit(2).ry(Weight("a"), 0).crx(Weight("b"), 0, 1))._native_ok  # CRX: a step of its own


@needs_native
def test_real_dtype_takes_the_real_part_of_real_gates():
    """Real circuits (RY only) may run on real dtypes: the products come out real, and equal."""
    c = Circuit(2).ry(Weight("a") * Input(0), 0).ry(Weight("b"), 0).ry(Weight("c"), 1)
    plan = CompiledCircuit.of(c)
    x = torch.randn(20, 1, dtype=torch.float64)
    w = torch.tensor([0.3, -1.1, 0.7], dtype=torch.float64, requires_grad=True)
    real = chains.chain_products(w, x, plan._chain_plan(torch.float64), torch.float64)
    full = chains.chain_products(w, x, plan._chain_plan(torch.float64), torch.complex128)
    assert real.dtype == torch.float64 and torch.allclose(real, full.real) and full.imag.abs().max() == 0
    (grad_real,) = torch.autograd.grad(real.sum(), w)
    (grad_full,) = torch.autograd.grad(full.real.sum(), w)
    assert torch.allclose(grad_real, grad_full)
