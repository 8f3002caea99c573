"""``to_pennylane`` in every PennyLane interface: autograd (``qml.grad``), lightning's adjoint,
NumPy arrays and plain numbers give the values and gradients of hybridq's own simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

qml = pytest.importorskip("pennylane")

import hybridq as hq  # noqa: E402
from hybridq.circuits import Circuit, Input, Weight  # noqa: E402

pnp = qml.numpy
CIRCUIT = (Circuit(2).ry(Weight("w") * Input(0), 0).u3(Weight("a"), 0.3, Weight("b"), 1).cx(0, 1)
           .crx(Weight("a") + Input(1), 1, 0))
X = [0.7, -0.4]
W = [0.4, 0.2, -0.5]  # CIRCUIT.weight_names order: w, a, b
ZZ = hq.PauliSum.from_list([("ZZ", 1.0)])


def _reference() -> tuple[float, np.ndarray]:
    w = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    value = hq.sim.expval(hq.simulate(CIRCUIT, inputs=torch.tensor([X]), weights=w, dtype=torch.complex128), ZZ)[0]
    value.backward()
    return value.item(), w.grad.numpy()


def _node(device: str, diff_method: str):
    qfunc = CIRCUIT.to_pennylane()

    def f(x, w):
        qfunc(x, w)
        return qml.expval(qml.Z(0) @ qml.Z(1))

    return qml.QNode(f, qml.device(device, wires=2), diff_method=diff_method)


@pytest.mark.parametrize("device, diff_method", [("default.qubit", "backprop"), ("lightning.qubit", "adjoint"),
                                                 ("default.qubit", "parameter-shift")])
def test_qml_grad_matches_hybridq(device, diff_method):
    if device == "lightning.qubit":
        pytest.importorskip("pennylane_lightning")
    value, grad = _reference()
    node = _node(device, diff_method)
    x, w = pnp.array(X, requires_grad=False), pnp.array(W, requires_grad=True)
    assert node(x, w) == pytest.approx(value, abs=1e-10)
    np.testing.assert_allclose(qml.grad(node, argnums=1)(x, w), grad, atol=1e-8)
    by_name = qml.grad(lambda v: node(x, {"w": v[0], "a": v[1], "b": v[2]}))(w)
    np.testing.assert_allclose(by_name, grad, atol=1e-8)


def test_numbers_and_numpy_arrays():
    value, _ = _reference()
    node = _node("default.qubit", "backprop")
    assert node(X, W) == pytest.approx(value, abs=1e-10)
    assert node(np.array(X), {"w": 0.4, "a": 0.2, "b": -0.5}) == pytest.approx(value, abs=1e-10)


def test_wrong_weights_are_refused():
    qfunc = CIRCUIT.to_pennylane()
    with pytest.raises(hq.errors.ParameterError, match="length 3"):
        qml.tape.make_qscript(qfunc)(X, np.zeros(2))
    with pytest.raises(hq.errors.ParameterError, match="no value given"):
        qml.tape.make_qscript(qfunc)(X, {"w": 1.0})
