"""Parameter-shift gradients on backends vs exact autograd gradients of the engine."""

from __future__ import annotations

import math

import numpy as np
import torch

from hybridq.backends import LocalBackend, expectation, shift_rule
from hybridq.circuits import Circuit, Input, Weight
from hybridq.circuits.execute import simulate
from hybridq.operators import PauliSum
from hybridq.sim import expval_terms


def every_gate() -> Circuit:
    w = [Weight(f"w{i}") for i in range(18)]
    return (Circuit(3).ry(w[0] * Input(0) + w[1], 0).rx(w[2], 1).crx(w[3], 0, 1).cry(w[4] * Input(1), 1, 2)
            .crz(w[5], 2, 0).rzz(w[6], 0, 2).u3(w[7], 2 * w[8], w[9], 1).p(w[10], 2).cp(w[11], 0, 2)
            .rxx(w[12], 1, 2).ryy(w[13] + Input(0), 0, 1).pauli_rotation(w[14], "XYZ", [0, 1, 2])
            .add("U3", [2], w[15], w[16], w[17], controls=[1]).rz(w[1] * w[2], 0).h(0))


def test_exact_shift_rules_match_autograd_for_every_gate_and_expression():
    torch.manual_seed(0)
    c = every_gate()
    obs = PauliSum.from_list([("ZII", 1.0), ("XXI", 1.0), ("IYZ", 1.0), ("ZZZ", 1.0)])
    x = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    w = torch.rand(len(c.weight_names), dtype=torch.float64, requires_grad=True)
    ref = expval_terms(simulate(c, x, w, dtype=torch.complex128), obs)
    g = torch.randn_like(ref)
    gx, gw = torch.autograd.grad((ref * g).sum(), [x, w])
    found = expectation(c, x, w, obs, LocalBackend())
    assert torch.allclose(found, ref, atol=1e-10)
    gx2, gw2 = torch.autograd.grad((found * g).sum(), [x, w])
    assert torch.allclose(gw2, gw, atol=1e-10) and torch.allclose(gx2, gx, atol=1e-10)


def test_four_term_rule_on_a_controlled_rotation():
    # <Z_1> after H(0), CRY(t): cos(t)/2 + 1/2, derivative -sin(t)/2
    c = Circuit(2).h(0).cry(Weight("t"), 0, 1)
    assert len(shift_rule(c.ops[1]).shifts) == 4
    t = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)
    e = expectation(c, None, t, PauliSum.from_list([("IZ", 1.0)]), "local")
    (grad,) = torch.autograd.grad(e.sum(), t)
    assert math.isclose(grad.item(), -math.sin(0.7) / 2, abs_tol=1e-12)


def test_shot_gradients_agree_with_exact_ones_within_three_standard_errors():
    # each weight appears once, in an angle k * w (+ input), so a shift s of the angle is a
    # shift s / k of the weight and the shifted expectations are plain bound simulations
    scale = {"a": 1.0, "b": 2.0, "c": 1.0, "d": 0.5}
    c = (Circuit(3).ry(Weight("a") + Input(0), 0).crx(2 * Weight("b"), 0, 1).ryy(Weight("c"), 1, 2)
         .h(2).cry(0.5 * Weight("d") + Input(1), 2, 0))
    obs = PauliSum.from_list([("ZZI", 1.0)])
    x = torch.tensor([[0.3, -0.4], [1.1, 0.2]], dtype=torch.float64)
    w = torch.tensor([0.4, 0.9, -0.3, 1.2], dtype=torch.float64, requires_grad=True)
    shots = 4000
    exact = torch.autograd.grad(expval_terms(simulate(c, x, w, dtype=torch.complex128), obs).sum(), w)[0]
    found = torch.autograd.grad(expectation(c, x, w, obs, LocalBackend(seed=11), shots).sum(), w)[0]
    variance = np.zeros(len(w))
    for j, name in enumerate(c.weight_names):
        op = next(o for o in c.ops if name in [n for p in o.params if hasattr(p, "weight_names") for n in p.weight_names()])
        rule = shift_rule(op)
        for b in range(len(x)):
            for shift, coeff in zip(rule.shifts, rule.coeffs):
                shifted = w.detach().clone()
                shifted[j] += shift / scale[name]
                e = expval_terms(simulate(c.bind(x[b].tolist(), shifted.tolist()), dtype=torch.complex128), obs).item()
                variance[j] += (scale[name] * coeff) ** 2 * (1 - e**2) / shots
    z = (found - exact).abs().numpy() / np.sqrt(variance)
    assert np.all(z < 3), z
    assert np.all(np.abs(exact.numpy()) > 0.05)  # the gradients are not trivially zero


def test_gradient_flows_to_inputs_for_a_classical_layer_in_front():
    torch.manual_seed(1)
    c = Circuit(2).ry(Input(0), 0).ry(Input(1) * Weight("s"), 1).cz(0, 1).rx(Weight("r"), 0)
    obs = PauliSum.from_list([("ZI", 1.0), ("IX", 1.0)])
    linear = torch.nn.Linear(3, 2).double()
    w = torch.tensor([0.8, 0.3], dtype=torch.float64, requires_grad=True)
    data = torch.rand(4, 3, dtype=torch.float64)
    loss = expectation(c, linear(data), w, obs, "local").square().sum()
    grads = torch.autograd.grad(loss, [linear.weight, w])
    ref_loss = expval_terms(simulate(c, linear(data), w, dtype=torch.complex128), obs).square().sum()
    ref = torch.autograd.grad(ref_loss, [linear.weight, w])
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(grads, ref))
