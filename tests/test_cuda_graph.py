"""GraphedStep off the GPU: the step is called as is; bad arguments are refused."""

from __future__ import annotations

import pytest
import torch

import hybridq as hq


def test_off_gpu_the_step_is_called_directly():
    layer = hq.nn.QuantumLayer(hq.Circuit(2).ry(hq.Input(0), 0).ry(hq.Weight("a"), 1).cx(0, 1))
    calls = []

    def step(x):
        calls.append(x)
        layer.zero_grad(set_to_none=True)
        loss = layer(x).square().sum()
        loss.backward()
        return loss, layer.weight.grad

    x = torch.rand(5, 1)
    loss, grad = hq.GraphedStep(step)(x)
    assert calls == [x]  # no warm-up, no capture on the CPU
    ref = layer(x).square().sum()
    assert torch.allclose(loss, ref)
    assert grad is layer.weight.grad and grad.abs().sum() > 0


def test_non_tensor_arguments_are_refused():
    with pytest.raises(TypeError, match="tensors only"):
        hq.GraphedStep(lambda x: x)(3.0)


def _families(n: int) -> list[hq.Circuit]:
    """Rotations reading inputs, then a CNOT ring, a CZ chain, a CRX ring or an RZZ ring."""
    out = []
    for entangler in ("cx", "cz", "crx", "rzz"):
        c = hq.Circuit(n)
        for layer in range(2):
            for q in range(n):
                c.ry(hq.Weight(f"w{layer}{q}") * hq.Input(q) + hq.Weight(f"b{layer}{q}"), q).rz(hq.Weight(f"t{layer}{q}"), q)
            for q in range(n):
                pair = (q, (q + 1) % n)
                if entangler in ("cx", "cz"):
                    getattr(c, entangler)(*pair)
                else:
                    getattr(c, entangler)(hq.Weight(f"e{layer}{q}"), *pair)
        out.append(c)
    return out


@pytest.mark.cuda
@pytest.mark.parametrize("family", range(4), ids=["cx", "cz", "crx", "rzz"])
def test_graphed_step_captures_every_family(family):
    circuit = _families(5)[family]
    w = torch.randn(len(circuit.weight_names), device="cuda", requires_grad=True)

    def step(x):
        w.grad = None
        out = hq.sim.expval_z(hq.simulate(circuit, x, w, method="adjoint"))
        (out**2).sum().backward()
        return out.detach(), w.grad

    x = torch.rand(7, 5, device="cuda")
    graphed = hq.GraphedStep(step)
    out, grad = (t.clone() for t in graphed(x))
    ref_out, ref_grad = step(x)
    assert torch.allclose(out, ref_out, atol=1e-5) and torch.allclose(grad, ref_grad, atol=1e-4)


@pytest.mark.cuda
@pytest.mark.parametrize("family", range(4), ids=["cx", "cz", "crx", "rzz"])
def test_quantum_layer_replays_its_graphs_like_eager_calls(family):
    circuit = _families(5)[family]
    graphed = hq.nn.QuantumLayer(circuit).cuda()
    eager = hq.nn.QuantumLayer(circuit, cuda_graphs=False).cuda()
    eager.load_state_dict(graphed.state_dict())
    x1, x2 = torch.rand(6, 5, device="cuda"), torch.rand(6, 5, device="cuda")
    for _ in range(3):  # captures, then replays; two calls before one backward
        for layer in (graphed, eager):
            layer.zero_grad(set_to_none=True)
            a, b = layer(x1), layer(x2)
            (a.square().sum() + 2 * b.sin().sum()).backward()
        assert torch.allclose(graphed(x1), eager(x1), atol=1e-5)
        assert torch.allclose(graphed.weight.grad, eager.weight.grad, atol=1e-4)
        with torch.no_grad():
            for layer in (graphed, eager):
                layer.weight -= 0.1 * layer.weight.grad  # the graphs read the updated weights
    assert graphed._graphed._graphs and all(v is not None for v in graphed._graphed._graphs.values())
