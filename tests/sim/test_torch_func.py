"""torch.func transforms (grad, jacrev, vmap) through simulate and QuantumLayer."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call, grad, jacrev, vmap

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight
from hybridq.errors import ParameterError
from hybridq.nn import QuantumLayer


def circuit() -> Circuit:
    return (Circuit(3).ry(Weight("w") * Input(0) + Weight("b"), 0).rx(Input(1), 1).cz(0, 1)
            .crx(Weight("a"), 0, 2).rzz(Weight("w") * Input(1), 1, 2).h(2).u3(0.3, Weight("b"), 0.1, 1).cx(2, 0))


def energy(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    state = hq.simulate(circuit(), x, w, dtype=torch.complex128)
    return (hq.sim.expval_z(state) * torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)).sum()


W = torch.tensor([0.7, -0.4, 1.3], dtype=torch.float64)
X = torch.tensor([[0.2, 0.9], [-1.1, 0.4], [0.5, -0.3]], dtype=torch.float64)


def test_grad_and_jacrev_match_autograd():
    w = W.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(energy(w, X), w)
    assert torch.allclose(grad(energy)(W, X), expected, atol=1e-12)
    assert torch.allclose(jacrev(energy)(W, X), expected, atol=1e-12)
    jac_x = torch.autograd.functional.jacobian(lambda x: energy(W, x), X)
    assert torch.allclose(jacrev(energy, argnums=1)(W, X), jac_x, atol=1e-12)


def test_vmap_over_samples_matches_the_batch():
    per_sample = vmap(lambda x: hq.simulate(circuit(), x[None], W, dtype=torch.complex128)[0])(X)
    assert torch.allclose(per_sample, hq.simulate(circuit(), X, W, dtype=torch.complex128), atol=1e-12)


@pytest.mark.parametrize("observables", [None, ["XZI", "IYY"]])
def test_quantum_layer_under_functional_call(observables):
    layer = QuantumLayer(circuit(), observables=observables).double()
    params = {k: v.detach() for k, v in layer.named_parameters()}

    def loss(p, x):
        return functional_call(layer, p, (x,)).square().sum()

    layer.zero_grad()
    loss(dict(layer.named_parameters()), X).backward()
    assert torch.allclose(grad(loss)(params, X)["weight"], layer.weight.grad, atol=1e-12)
    per_sample = vmap(lambda x: functional_call(layer, params, (x[None],))[0])(X)
    assert torch.allclose(per_sample, layer(X), atol=1e-12)
    per_sample_grads = vmap(grad(lambda p, x: loss(p, x[None])), in_dims=(None, 0))(params, X)["weight"]
    assert per_sample_grads.shape == (3, 3)
    assert torch.allclose(per_sample_grads.sum(0), layer.weight.grad, atol=1e-12)


def test_the_adjoint_method_under_torch_func_names_the_alternative():
    with pytest.raises(ParameterError, match="method='autograd'"):
        grad(lambda w: hq.simulate(circuit(), X, w, method="adjoint").abs().sum())(W)
