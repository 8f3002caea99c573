"""A circuit's weight order survives Qiskit, Cirq and OpenQASM 3 round trips, and a QuantumLayer
state dict knows the names of its weights."""

from __future__ import annotations

import pytest
import torch

from hybridq.circuits import Circuit, Input, Weight, simulate
from hybridq.errors import ParameterError
from hybridq.nn import QuantumLayer


def circuit() -> Circuit:
    return (Circuit(3).ry(Weight("w") * Input(0) + Weight("b"), 0).rx(Weight("a"), 1)
            .crz(2 * Weight("w") + Weight("a"), 0, 2).rzz(Weight("zeta") + Input(1) * Weight("b"), 1, 2)
            .p(Weight("a") * Weight("b"), 2).pauli_rotation(Weight("zeta") + Weight("a"), "XYZ", [0, 1, 2]))


def round_trips():
    from hybridq.circuits.interop import from_cirq, from_qasm, from_qiskit, to_cirq, to_qasm, to_qiskit

    pytest.importorskip("qiskit")
    pytest.importorskip("cirq")
    pytest.importorskip("qiskit_qasm3_import")
    return {
        "qiskit": lambda c: from_qiskit(to_qiskit(c)),
        "cirq": lambda c: from_cirq(to_cirq(c)),
        "qasm3": lambda c: from_qasm(to_qasm(c, version=3)),
    }


@pytest.mark.parametrize("name", ["qiskit", "cirq", "qasm3"])
def test_round_trips_keep_the_weight_order_and_the_states(name):
    c = circuit()
    back = round_trips()[name](c)
    assert c.weight_names == ["w", "b", "a", "zeta"]
    assert back.weight_names == c.weight_names
    x = torch.rand(4, 2, dtype=torch.float64)
    w = torch.rand(4, dtype=torch.float64)
    psi, phi = simulate(c, x, w, dtype=torch.complex128), simulate(back, x, w, dtype=torch.complex128)
    assert torch.allclose(psi, phi, atol=1e-10)


def test_order_weights_puts_the_given_names_first():
    c = circuit().order_weights(["zeta", "nope", "a"])
    assert c.weight_names == ["zeta", "a", "w", "b"]
    assert c.copy().weight_names == c.weight_names and c.bind(weights={"w": 1.0}).weight_names == ["zeta", "a", "b"]


def test_a_state_dict_loads_into_a_round_tripped_circuit_with_the_same_outputs():
    layer = QuantumLayer(circuit())
    other = QuantumLayer(round_trips()["qiskit"](circuit()))
    other.load_state_dict(layer.state_dict())
    x = torch.rand(5, 2)
    assert torch.allclose(other(x), layer(x), atol=1e-6)


def test_the_same_names_in_another_order_load_reordered():
    layer = QuantumLayer(circuit())
    other = QuantumLayer(circuit().order_weights(["zeta", "a", "b", "w"]))
    other.load_state_dict(layer.state_dict())
    assert all(torch.equal(other.weights_dict()[k], v) for k, v in layer.weights_dict().items())
    x = torch.rand(5, 2)
    assert torch.allclose(other(x), layer(x), atol=1e-6)


def test_other_names_are_refused_before_anything_loads():
    layer = QuantumLayer(circuit())
    renamed = Circuit(3).rx(Weight("w"), 0).rx(Weight("b"), 1).rx(Weight("a"), 2).rx(Weight("eta"), 0)
    other = QuantumLayer(renamed)
    before = other.weight.detach().clone()
    with pytest.raises(ParameterError, match=r"holds weights \['w', 'b', 'a', 'zeta'\].*\['w', 'b', 'a', 'eta'\]"):
        other.load_state_dict(layer.state_dict())
    assert torch.equal(other.weight, before)


def test_a_state_dict_without_names_still_loads():
    layer = QuantumLayer(circuit())
    other = QuantumLayer(circuit())
    other.load_state_dict({"weight": layer.weight.detach()})
    assert torch.equal(other.weight, layer.weight)
