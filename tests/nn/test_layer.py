from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Input, Weight
from hybridq.errors import ParameterError, ShapeError
from hybridq.nn import QuantumLayer, Z_each
from hybridq.operators import PauliSum
from tests.conftest import pauli_matrix


def _circuit() -> hq.Circuit:
    c = hq.Circuit(3)
    for q in range(3):
        c.ry(Weight(f"w{q}") * Input(q) + Weight(f"b{q}"), q)
    c.cx(0, 1).cz(1, 2).rx(Weight("a"), 2).u3(Weight("t"), Input(0), 0.3, 1).crz(Weight("c"), 2, 0)
    return c


def _dense_expectations(layer: QuantumLayer, x: torch.Tensor, labels: list[str]) -> np.ndarray:
    psi = hq.simulate(layer.circuit, x, layer.weight.detach(), dtype=torch.complex128).numpy()
    return np.stack([np.einsum("bi,ij,bj->b", psi.conj(), pauli_matrix(lab), psi).real for lab in labels], axis=1)


def test_default_readout_is_z_on_each_qubit_matching_dense_reference():
    torch.manual_seed(0)
    layer = QuantumLayer(_circuit(), dtype=torch.float64)
    x = torch.rand(6, 3, dtype=torch.float64)
    out = layer(x)
    assert out.shape == (6, 3) and out.dtype == torch.float64
    ref = _dense_expectations(layer, x, ["ZII", "IZI", "IIZ"])
    assert np.allclose(out.detach().numpy(), ref, atol=1e-10)


@pytest.mark.parametrize("entangler", ["cx", "cz", "crx", "rzz", "rxx"])
@pytest.mark.parametrize("labels", [None, ["IIIZ", "ZIII", "IZII"]])
def test_outputs_and_gradients_equal_the_internal_path(entangler, labels):
    """The layer is simulate + expval_z (+ its read-out matrix), values and gradients, for the W4
    entanglers on random qubit pairs; Z_each (the plain read-out) and a subset of Z's."""
    g = torch.Generator().manual_seed(7)
    n = 4
    c = hq.Circuit(n)
    for layer in range(2):
        for q in range(n):
            c.ry(Weight(f"w{layer}_{q}") * Input(q) + Weight(f"b{layer}_{q}"), q).rz(Weight(f"t{layer}_{q}"), q)
        for k in range(n):
            a, b = torch.randperm(n, generator=g)[:2].tolist()
            if entangler in ("cx", "cz"):
                getattr(c, entangler)(a, b)
            else:
                getattr(c, entangler)(Weight(f"e{layer}_{k}"), a, b)
    observables = None if labels is None else [PauliSum.from_list([(lab, 1.0)]) for lab in labels]
    layer = QuantumLayer(c, observables, dtype=torch.float64)
    x = torch.rand(5, n, generator=g, dtype=torch.float64, requires_grad=True)
    probe = torch.randn(5, n if labels is None else 3, generator=g, dtype=torch.float64)
    out = layer(x)
    grads = torch.autograd.grad((out * probe).sum(), (layer.weight, x))
    w = layer.weight.detach().clone().requires_grad_(True)
    x_ref = x.detach().clone().requires_grad_(True)
    z = hq.sim.expval_z(hq.simulate(c, x_ref, w, dtype=torch.complex128, method="adjoint"))
    ref = z if labels is None else z[:, [3, 0, 1]]
    grads_ref = torch.autograd.grad((ref * probe).sum(), (w, x_ref))
    assert torch.allclose(out, ref, atol=1e-12)
    for got, want in zip(grads, grads_ref):
        assert torch.allclose(got, want, atol=1e-10)


def test_sequence_of_sums_gives_one_output_per_sum():
    torch.manual_seed(1)
    h = PauliSum.from_list([("XXI", 0.5), ("IYZ", -2.0)])
    layer = QuantumLayer(_circuit(), [h, "ZZZ"], dtype=torch.float64)
    x = torch.rand(4, 3, dtype=torch.float64)
    terms = _dense_expectations(layer, x, ["XXI", "IYZ", "ZZZ"])
    assert np.allclose(layer(x).detach().numpy(), np.stack([0.5 * terms[:, 0] - 2 * terms[:, 1], terms[:, 2]], 1), atol=1e-10)
    per_term = QuantumLayer(_circuit(), h, dtype=torch.float64)
    per_term.load_state_dict(layer.state_dict())
    assert np.allclose(per_term(x).detach().numpy(), terms[:, :2] * [0.5, -2.0], atol=1e-10)


def test_gradients_match_finite_differences_for_weights_and_inputs():
    torch.manual_seed(2)
    layer = QuantumLayer(_circuit(), ["XZY", Z_each(3)], dtype=torch.float64)
    x = torch.rand(3, 3, dtype=torch.float64, requires_grad=True)
    loss = (layer(x) * torch.tensor([1.0, -0.7], dtype=torch.float64)).sum()
    gw, gx = torch.autograd.grad(loss, [layer.weight, x])

    def f(weight, inputs):
        with torch.no_grad():
            layer.weight.copy_(weight)
            return (layer(inputs) * torch.tensor([1.0, -0.7], dtype=torch.float64)).sum().item()

    w0, x0, eps = layer.weight.detach().clone(), x.detach().clone(), 1e-6
    for i in range(len(w0)):
        d = torch.zeros_like(w0)
        d[i] = eps
        fd = (f(w0 + d, x0) - f(w0 - d, x0)) / (2 * eps)
        assert abs(fd - gw[i].item()) < 1e-6
    for idx in [(0, 0), (1, 2), (2, 1)]:
        d = torch.zeros_like(x0)
        d[idx] = eps
        fd = (f(w0, x0 + d) - f(w0, x0 - d)) / (2 * eps)
        assert abs(fd - gx[idx].item()) < 1e-6


def test_adjoint_method_gives_the_same_values_and_gradients():
    torch.manual_seed(3)
    auto = QuantumLayer(_circuit(), method="autograd", dtype=torch.float64)
    adj = QuantumLayer(_circuit(), method="adjoint", dtype=torch.float64)
    adj.load_state_dict(auto.state_dict())
    x = torch.rand(5, 3, dtype=torch.float64)
    (ya,), (yb,) = [torch.autograd.grad(m(x).square().sum(), [m.weight]) for m in (auto, adj)]
    assert torch.allclose(ya, yb, atol=1e-10)


def test_state_dict_round_trip_through_torch_save():
    torch.manual_seed(4)
    layer = QuantumLayer(_circuit())
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    buf.seek(0)
    other = QuantumLayer(_circuit())
    assert not torch.equal(other.weight, layer.weight)
    other.load_state_dict(torch.load(buf))
    x = torch.rand(7, 3)
    assert torch.equal(other(x), layer(x))
    assert list(layer.state_dict()) == ["weight", "weight_names"]
    assert all(isinstance(v, torch.Tensor) for v in layer.state_dict().values())
    buf = io.BytesIO()
    torch.save(layer, buf)  # whole-module pickling (circuit and observables included)
    buf.seek(0)
    assert torch.equal(torch.load(buf, weights_only=False)(x), layer(x))


def test_inside_sequential_training_reduces_loss():
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), QuantumLayer(_circuit()), torch.nn.Linear(3, 1))
    x = torch.rand(32, 4)
    y = 0.5 * x[:, :1] - x[:, 1:2]
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert model[0].weight.grad is not None and model[1].weight.grad.abs().sum() > 0


def test_dtype_move_follows_to_and_keeps_values():
    torch.manual_seed(6)
    layer = QuantumLayer(_circuit())
    x = torch.rand(3, 3)
    y32 = layer(x)
    layer = layer.to(torch.float64)
    assert layer.weight.dtype == torch.float64 and layer.readout.dtype == torch.float64
    y64 = layer(x)
    assert y64.dtype == torch.float64 and torch.allclose(y64.float(), y32, atol=1e-5)
    assert layer(x.double(), ).shape == (3, 3)
    assert layer.to("cpu").weight.device.type == "cpu"


@pytest.mark.cuda
def test_device_move_to_cuda():
    layer = QuantumLayer(_circuit()).to("cuda")
    out = layer(torch.rand(4, 3, device="cuda"))
    assert out.device.type == "cuda" and layer.readout.device.type == "cuda"


def test_probs_and_state_outputs_and_leading_dimensions():
    torch.manual_seed(7)
    probs = QuantumLayer(_circuit(), output="probs", qubits=[2, 0])
    state = QuantumLayer(_circuit(), output="state")
    state.load_state_dict(probs.state_dict())
    x = torch.rand(2, 5, 3)
    p, s = probs(x), state(x)
    assert p.shape == (2, 5, 4) and s.shape == (2, 5, 8) and s.is_complex()
    assert torch.allclose(p.reshape(10, 4), hq.sim.probabilities(s.reshape(10, 8), [2, 0]))
    assert probs.n_outputs == 4 and state.n_outputs == 8


def test_default_initialisation_and_init_patterns():
    layer = QuantumLayer(_circuit(), init={"b*": 0.0, "a": lambda t: t * 0 + 0.25})
    w = layer.weights_dict()
    assert all(w[f"w{q}"].item() == 1.0 and w[f"b{q}"].item() == 0.0 for q in range(3))
    assert w["a"].item() == 0.25 and 0 <= w["t"].item() < 2 * math.pi
    with pytest.raises(ParameterError, match="match no weight"):
        QuantumLayer(_circuit(), init={"zz*": 0.0})


def test_initial_state_and_errors():
    c = hq.Circuit(2).ry(Weight("a"), 0).cx(0, 1)
    layer = QuantumLayer(c, init={"a": 0.0})
    psi = torch.tensor([[0, 0, 1, 0]], dtype=torch.float32)  # |10>, real dtype (RY and CNOT are real)
    assert torch.allclose(layer(initial_state=psi), torch.tensor([[-1.0, -1.0]]))
    with pytest.raises(ShapeError):
        QuantumLayer(_circuit())(torch.rand(4, 2))
    with pytest.raises(ParameterError):
        QuantumLayer(_circuit(), output="probs", observables=Z_each(3))


def test_torch_compile_gives_the_same_output():
    layer = QuantumLayer(hq.Circuit(2).ry(Input(0), 0).ry(Weight("a"), 1).cz(0, 1))
    x = torch.rand(4, 1)
    compiled = torch.compile(layer, backend="eager")
    assert torch.allclose(compiled(x), layer(x))


def test_torch_compile_of_a_fused_layer_is_quiet_and_equal():
    import warnings

    c = hq.Circuit(4)  # layered: on a CPU with a C compiler, the native fused kernels
    for k in range(2):
        for i in range(4):
            c.ry(Weight(f"w{k}{i}") * Input(i), i)
        for i in range(4):
            c.cx(i, (i + 1) % 4)
    layer = QuantumLayer(c, observables=Z_each(4))
    x = torch.rand(16, 4)
    torch._dynamo.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = torch.compile(layer, backend="eager")(x)
        out.sum().backward()
    assert torch.allclose(out, layer(x), atol=1e-6)
    assert not [str(w.message) for w in caught if "hybridq" in str(w.filename) or "Dynamo" in str(w.message)]


def test_quantum_layer_on_a_shot_backend_matches_exact_gradients():
    import hybridq as hq
    from hybridq.nn import QuantumLayer

    c = hq.Circuit(2).ry(hq.Weight("a") * hq.Input(0), 0).cx(0, 1).rx(hq.Weight("b"), 1)
    exact = QuantumLayer(c)
    shots = QuantumLayer(c, backend="local", shots=20000)
    shots.load_state_dict(exact.state_dict())
    x = torch.tensor([[0.7], [1.3]])
    (ge,) = torch.autograd.grad(exact(x).sum(), exact.weight)
    (gs,) = torch.autograd.grad(shots(x).sum(), shots.weight)
    # 2 samples x 2 outputs, shift rules: each gradient entry has a std. error of about 0.02
    assert torch.allclose(ge, gs.to(ge.dtype), atol=0.1)
    import pytest

    with pytest.raises(ValueError, match="expval"):
        QuantumLayer(c, output="probs", backend="local")
