"""The PennyLane device ``hybridq.qubit`` against ``default.qubit``: values, adjoint Jacobians
and VJPs, broadcasting as one engine batch, sampling statistics, torch backprop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

qml = pytest.importorskip("pennylane")

from hybridq.plugins import pennylane as plugin  # noqa: E402
from hybridq.plugins.pennylane import HybridqDevice  # noqa: E402

pnp = qml.numpy


def _circuit(x, w):
    """Gates the engine runs natively and some PennyLane decomposes (QFT, IsingXY)."""
    qml.RX(x[0], 0)
    qml.Rot(w[0], w[1], w[2], 1)
    qml.CRY(w[3], [0, 2])
    qml.IsingXY(w[4], [1, 2])
    qml.PauliRot(w[5], "XYZ", [0, 1, 2])
    qml.adjoint(qml.S(2))
    qml.QFT([0, 1, 2])
    qml.U3(x[1], w[0], 0.3, 2)
    qml.MultiControlledX(wires=[0, 1, 2], control_values=[0, 1])


OBSERVABLES = [
    qml.Z(0),
    qml.X(1) @ qml.Y(2),
    qml.Hamiltonian([0.5, -1.2, 0.3], [qml.Z(0) @ qml.Z(1), qml.X(2), qml.Y(0) @ qml.X(1)]),
    qml.Hermitian(np.array([[1.0, 0.5 - 0.2j], [0.5 + 0.2j, -0.3]]), 1),
]


def _node(device, diff_method, interface="autograd", measure=None, **kwargs):
    def f(x, w):
        _circuit(x, w)
        return measure() if measure else [qml.expval(o) for o in OBSERVABLES] + [qml.var(OBSERVABLES[2])]

    return qml.QNode(f, device, diff_method=diff_method, interface=interface, **kwargs)


def _stacked(node):
    return lambda x, w: qml.math.stack(node(x, w))


def _args(seed=0):
    rng = np.random.default_rng(seed)
    return pnp.array(rng.uniform(-1, 1, 2), requires_grad=False), pnp.array(rng.uniform(-np.pi, np.pi, 6), requires_grad=True)


def test_results_match_default_qubit():
    x, w = _args()

    def measure():
        return (qml.expval(OBSERVABLES[2]), qml.var(OBSERVABLES[3]), qml.probs(wires=[2, 0]), qml.state(),
                qml.density_matrix([1]))

    ours = _node(HybridqDevice(wires=3), None, measure=measure)(x, w)
    ref = _node(qml.device("default.qubit", wires=3), None, measure=measure)(x, w)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_adjoint_jacobian_matches_default_qubit():
    x, w = _args(1)
    ours = qml.jacobian(_stacked(_node(HybridqDevice(wires=3), "adjoint")), argnums=1)(x, w)
    ref = qml.jacobian(_stacked(_node(qml.device("default.qubit", wires=3), "backprop")), argnums=1)(x, w)
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_adjoint_vjp_in_torch_matches_default_qubit():
    x, w = _args(2)
    grads = []
    for device, method in [(HybridqDevice(wires=3), "adjoint"), (qml.device("default.qubit", wires=3), "backprop")]:
        wt = torch.tensor(np.array(w), requires_grad=True)
        node = _node(device, method, interface="torch", device_vjp=method == "adjoint")
        out = node(torch.tensor(np.array(x)), wt)
        (torch.stack(list(out)) @ torch.arange(1.0, 6.0, dtype=torch.float64)).backward()
        grads.append(wt.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-9)


def test_adjoint_uses_the_device_derivatives(mocker):
    spy = mocker.spy(HybridqDevice, "compute_derivatives")
    x, w = _args(3)
    qml.jacobian(_stacked(_node(HybridqDevice(wires=3), "adjoint")), argnums=1)(x, w)
    assert spy.call_count == 1


def test_broadcast_runs_as_one_engine_batch(mocker):
    spy = mocker.spy(plugin, "simulate")
    rng = np.random.default_rng(4)
    x = pnp.array(rng.uniform(-1, 1, (7, 2)).T, requires_grad=False)  # each angle broadcast over 7 samples
    _, w = _args(4)
    ours = _node(HybridqDevice(wires=3), None)(x, w)
    assert spy.call_count == 1 and spy.call_args.args[1].shape == (7, 2)
    ref = _node(qml.device("default.qubit", wires=3), None)(x, w)
    np.testing.assert_allclose(np.array(ours), np.array(ref), atol=1e-10)


def test_torch_backprop_through_a_torch_layer_matches_default_qubit():
    n = 4
    grads = []
    for name in ("hybridq", "default.qubit"):
        device = HybridqDevice(wires=n) if name == "hybridq" else qml.device(name, wires=n)

        @qml.qnode(device, interface="torch", diff_method="best" if name == "hybridq" else "backprop")
        def qnode(inputs, weights):
            qml.AngleEmbedding(inputs, wires=range(n))
            qml.StronglyEntanglingLayers(weights, wires=range(n))
            return [qml.expval(qml.Z(i)) for i in range(n)]

        torch.manual_seed(0)
        layer = qml.qnn.TorchLayer(qnode, {"weights": (2, n, 3)})
        x = torch.rand(5, n, dtype=torch.float64, requires_grad=True)
        out = layer(x)
        (out**2).sum().backward()
        grads.append((out.detach(), x.grad, layer.weights.grad))
    for a, b in zip(*grads):
        torch.testing.assert_close(a.to(torch.float64), b.to(torch.float64), atol=1e-9, rtol=0)


def test_best_method_is_backprop_in_torch_and_adjoint_otherwise():
    dev = HybridqDevice(wires=1)
    torch_config = qml.devices.ExecutionConfig(gradient_method="best", interface="torch")
    assert dev.setup_execution_config(torch_config).gradient_method == "backprop"
    numpy_config = qml.devices.ExecutionConfig(gradient_method="best", interface="autograd")
    assert dev.setup_execution_config(numpy_config).gradient_method == "adjoint"


def test_trainable_hamiltonian_coefficients_in_torch_backprop():
    coeffs = torch.tensor([0.4, -0.7], dtype=torch.float64, requires_grad=True)

    @qml.qnode(HybridqDevice(wires=2), interface="torch")  # "best": backprop in torch
    def energy(c):
        qml.RY(0.3, 0)
        qml.CNOT([0, 1])
        qml.RX(0.2, 1)
        return qml.expval(qml.Hamiltonian(c, [qml.X(0) @ qml.Z(1), qml.Y(1)]))

    energy(coeffs).backward()
    terms = qml.QNode(lambda: [qml.expval(qml.X(0) @ qml.Z(1)), qml.expval(qml.Y(1))],
                      qml.device("default.qubit", wires=2))
    ref = qml.QNode(lambda: (qml.RY(0.3, 0), qml.CNOT([0, 1]), qml.RX(0.2, 1),
                             [qml.expval(qml.X(0) @ qml.Z(1)), qml.expval(qml.Y(1))])[-1], terms.device)()
    np.testing.assert_allclose(coeffs.grad.numpy(), np.array(ref), atol=1e-10)


def _bell(device):
    @qml.qnode(device)
    def bell():
        qml.Hadamard(0)
        qml.CNOT([0, 1])
        qml.RY(0.4, 2)
        return qml.sample(wires=[0, 1]), qml.counts(qml.Z(2)), qml.expval(qml.X(0) @ qml.X(1)), qml.expval(qml.Z(2))

    return bell


def test_shots_are_repeatable_with_a_seed_and_statistically_right():
    shots = 20_000
    run = qml.set_shots(_bell(HybridqDevice(wires=3, seed=7)), shots=shots)
    samples, counts, xx, z2 = run()
    again = qml.set_shots(_bell(HybridqDevice(wires=3, seed=7)), shots=shots)()
    np.testing.assert_array_equal(samples, again[0])
    assert samples.shape == (shots, 2) and np.all(samples[:, 0] == samples[:, 1])  # Bell: equal bits
    assert sum(counts.values()) == shots
    assert xx == 1.0  # <XX> = 1 exactly on a Bell state, whatever the samples
    p1 = np.sin(0.2) ** 2  # P(qubit 2 = 1) after RY(0.4)
    assert abs(counts[-1] / shots - p1) < 5 * np.sqrt(p1 * (1 - p1) / shots)
    assert abs(z2 - np.cos(0.4)) < 5 * 2 * np.sqrt(p1 * (1 - p1) / shots)


def test_shot_vectors_and_broadcast_samples():
    @qml.set_shots(shots=[100, (50, 2)])
    @qml.qnode(HybridqDevice(wires=1, seed=3))
    def f(theta):
        qml.RX(theta, 0)
        return qml.expval(qml.Z(0)), qml.sample(wires=0)

    out = f(pnp.array([0.0, np.pi]))
    assert len(out) == 3 and [o[1].shape for o in out] == [(2, 100, 1), (2, 50, 1), (2, 50, 1)]
    for expval, sample in out:
        np.testing.assert_array_equal(expval, [1.0, -1.0])
        assert np.all(sample[0] == 0) and np.all(sample[1] == 1)


def test_adjoint_refuses_shots_and_parameter_shift_takes_them():
    dev = HybridqDevice(wires=1)
    assert not dev.supports_derivatives(qml.devices.ExecutionConfig(gradient_method="adjoint"),
                                        qml.tape.QuantumScript([qml.RX(0.1, 0)], [qml.expval(qml.Z(0))], shots=10))

    @qml.set_shots(shots=20_000)
    @qml.qnode(HybridqDevice(wires=1, seed=1), diff_method="parameter-shift")
    def f(theta):
        qml.RX(theta, 0)
        return qml.expval(qml.Z(0))

    assert abs(qml.grad(f)(pnp.array(0.6, requires_grad=True)) + np.sin(0.6)) < 0.05


def test_trainable_matrix_is_refused_with_a_way_out():
    dev = HybridqDevice(wires=1)
    u = qml.matrix(qml.RY(0.3, 0))

    @qml.qnode(dev, interface="torch")
    def f(m):
        qml.QubitUnitary(m, 0)
        return qml.expval(qml.Z(0))

    with pytest.raises(qml.exceptions.DeviceError, match="parameter-shift"):
        f(torch.tensor(u, requires_grad=True))
