"""The circuit IR: construction, errors, inverse, depth, parameters, simulation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq import errors
from hybridq.circuits import Circuit, Input, Weight


def random_circuit(n: int, depth: int, rng) -> Circuit:
    c = Circuit(n)
    for _ in range(depth):
        q = [int(v) for v in rng.permutation(n)]
        kind = rng.integers(6)
        if kind == 0:
            c.u3(*rng.normal(size=3), q[0])
        elif kind == 1 and n > 1:
            c.crx(rng.normal(), q[0], q[1])
        elif kind == 2 and n > 1:
            c.rzz(rng.normal(), q[0], q[1])
        elif kind == 3:
            c.pauli_rotation(rng.normal(), "XYZ"[: min(3, n)], q[:3])
        elif kind == 4 and n > 2:
            c.ccx(q[0], q[1], q[2])
        else:
            c.h(q[0]).t(q[0]).sx(q[0])
    return c


def test_inverse_undoes_the_circuit(rng):
    for n in (1, 3, 5):
        c = random_circuit(n, 20, rng)
        psi = hq.simulate(c + c.inverse(), dtype=torch.complex128)
        np.testing.assert_allclose(psi.abs()[0, 0].item(), 1.0, atol=1e-10)


def test_compose_on_subset_and_depth():
    bell = Circuit(2).h(0).cx(0, 1)
    c = Circuit(3).compose(bell, [2, 0])
    assert [op.wires for op in c.ops] == [(2,), (2, 0)]
    assert c.depth() == 2 and Circuit(3).h(0).h(1).h(2).depth() == 1


def test_parameters_are_listed_and_bound():
    c = Circuit(2).ry(Weight("a") * Input(1) + Weight("b"), 0).rz(Weight("a"), 1)
    assert c.weight_names == ["a", "b"] and c.n_inputs == 2
    x = torch.tensor([[0.0, 1.0], [0.0, 2.0]])
    psi = hq.simulate(c, x, torch.tensor([0.5, 0.1]))
    ref = hq.simulate(c, x, {"a": 0.5, "b": 0.1})
    torch.testing.assert_close(psi, ref)
    expected = np.cos((0.5 * x[:, 1].numpy() + 0.1) / 2) ** 2
    np.testing.assert_allclose(hq.sim.probabilities(psi, [0])[:, 0].numpy(), expected, rtol=1e-5)


def test_parameter_errors():
    c = Circuit(1).ry(Weight("a") * Input(0), 0)
    with pytest.raises(errors.ParameterError, match="no inputs"):
        hq.simulate(c, weights={"a": 1.0})
    with pytest.raises(errors.ParameterError, match="no value given"):
        hq.simulate(c, torch.zeros(2, 1), weights={})
    with pytest.raises(errors.ParameterError, match="length 1"):
        hq.simulate(c, torch.zeros(2, 1), weights=torch.zeros(3))
    with pytest.raises(errors.ShapeError, match=r"\(B, 1\)"):
        hq.simulate(c, torch.zeros(2, 1, 1), weights={"a": 1.0})


def test_construction_errors():
    with pytest.raises(errors.QubitIndexError, match="out of range"):
        Circuit(2).cx(0, 2)
    with pytest.raises(errors.UnknownGateError):
        Circuit(1).add("BLAH", [0])
    with pytest.raises(errors.NotUnitaryError):
        Circuit(1).unitary([[1, 1], [0, 1]], [0])
    with pytest.raises(errors.ParameterError):
        Circuit(1).rx(torch.tensor(1.0, requires_grad=True), 0)


def test_methods_give_equal_gradients_and_draw():
    c = Circuit(3)
    for q in range(3):
        c.ry(Weight(f"w{q}") * Input(q) + Weight(f"b{q}"), q)
    c.cx(0, 1).cx(1, 2).cx(2, 0).rx(Weight("t"), 1)
    x = torch.randn(4, 3)
    w = torch.randn(len(c.weight_names), requires_grad=True)
    grads = [torch.autograd.grad(hq.sim.expval_z(hq.simulate(c, x, w, method=m)).square().sum(), w)[0]
             for m in ("autograd", "adjoint")]
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-5)
    assert "RY(w0 * x0 + b0)" in c.draw()
