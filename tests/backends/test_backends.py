"""The same work on every backend: qubit order, bases, a classifier forward pass, an estimator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.backends import (AerBackend, Backend, BackendError, CredentialsError, LocalBackend, expectation,
                              get_backend, state_preparation)
from hybridq.circuits import Circuit, Input, Weight
from hybridq.errors import ParameterError, UnknownGateError
from hybridq.estimators import ClassicalShadows
from hybridq.nn import QuantumLayer, Z_each
from hybridq.operators.molecules import molecule_info

IDEAL = ["local", "aer", "pennylane", "cirq"]
ALL = IDEAL + ["fake:FakeManilaV2"]
#: Largest deviation from ideal values allowed for FakeManilaV2's noise on these small circuits.
NOISY = 0.15


@pytest.fixture(scope="module")
def backends() -> dict[str, Backend]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return {name: get_backend(name, seed=2) for name in ALL + ["aer:FakeManilaV2"]}


def test_qubit_zero_is_the_most_significant_bit_everywhere(backends):
    c = Circuit(3).x(0).h(2).cx(2, 1)
    for name in ALL:
        counts = backends[name].counts(c, 400)
        assert set(counts) <= {"100", "111", "101", "110", "000", "001", "010", "011"}
        top = {k for k, v in counts.items() if v > 100}
        assert top == {"100", "111"}, (name, counts)


def test_exact_probabilities_and_bases_agree_across_ideal_backends(backends):
    c = Circuit(3).h(0).cx(0, 1).ry(0.7, 2).crx(0.4, 2, 1).rzz(0.3, 0, 2).pauli_rotation(0.5, "XY", [0, 2])
    ref = backends["local"].probabilities(c, bases=["XYZ"])
    for name in IDEAL[1:]:
        assert np.allclose(backends[name].probabilities(c, bases=["XYZ"]), ref, atol=1e-6), name


def test_measure_bases_returns_plus_minus_one_in_hybridq_order(backends):
    c = Circuit(2).x(0).h(1)  # qubit 0 is |1> (Z = -1), qubit 1 is |+> (X = +1)
    bases = np.array([[3, 1]] * 5 + [[3, 3]] * 3)
    for name in ALL:
        out = backends[name].measure_bases(c, bases)
        assert out.shape == (8, 2) and out.dtype == np.int8
        assert (out[:, 0] == -1).mean() > 0.6 and (out[:5, 1] == 1).mean() > 0.6, name


def test_state_vectors_are_measured_through_a_preparation_gate():
    psi = np.array([0.6, 0, 0, 0.8j])
    probs = LocalBackend().probabilities(state_preparation(psi))
    assert np.allclose(probs, [[0.36, 0, 0, 0.64]])
    assert LocalBackend(seed=1).measure_bases(psi, np.array([[3, 3]] * 4)).shape == (4, 2)


def classifier() -> QuantumLayer:
    torch.manual_seed(0)
    c = (Circuit(2).ry(Weight("a") * Input(0), 0).ry(Weight("b") * Input(1), 1).cx(0, 1)
         .rx(Weight("c"), 0).crz(Weight("d"), 1, 0).ry(Weight("e"), 1))
    return QuantumLayer(c, observables=Z_each(2))


def test_a_classifier_forward_pass_agrees_on_every_backend(backends):
    layer = classifier()
    x = torch.tensor([[0.1, 0.5], [1.2, -0.3], [-0.8, 2.0]])
    exact = layer(x).detach().double()
    shots = 2000
    outputs = {}
    for name in ALL + ["aer:FakeManilaV2"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            outputs[name] = (expectation(layer.circuit, x, layer.weight, layer.observable, backends[name], shots)
                             @ layer.readout).detach().double()
    stderr = ((1 - exact**2) / shots).sqrt() + 1e-3
    for name in IDEAL:
        assert ((outputs[name] - exact).abs() < 3.5 * stderr).all(), name
    # the fake device and Aer with its noise model are noisy: close to the ideal values, not within shot noise
    for name in ("fake:FakeManilaV2", "aer:FakeManilaV2"):
        assert ((outputs[name] - exact).abs() < NOISY).all(), name
    exact_on = {name: expectation(layer.circuit, x, layer.weight, layer.observable, backends[name]) @ layer.readout
                for name in IDEAL}
    assert all(torch.allclose(v.double(), exact, atol=1e-5) for v in exact_on.values())


def test_classical_shadows_on_h2_agree_on_every_backend(backends):
    H = hq.PauliSum.from_molecule("H2")
    occupation = molecule_info("H2").hf_bitstring
    hf = Circuit(4)
    for q, bit in enumerate(occupation):
        if bit == "1":
            hf.x(q)
    state = np.zeros(16)
    state[int(occupation, 2)] = 1
    est = ClassicalShadows(H).fit()
    exact = est.exact(state)
    results = {}
    for name in ALL:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            results[name] = est.run(state, 2000, backend=backends[name].measure_function(hf), seed=4)
    for name in IDEAL:
        assert abs(results[name].value - exact) < 3 * results[name].stderr, (name, results[name])
    fake = results["fake:FakeManilaV2"]  # readout errors bias the energy
    assert abs(fake.value - exact) < 3 * fake.stderr + NOISY, fake


def test_ibm_estimator_primitive_estimates_expectations():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        backend = get_backend("fake:FakeManilaV2", primitive="estimator", seed=3)
        obs = hq.PauliSum.from_list([("ZZ", 1.0), ("XX", 1.0), ("IZ", 1.0)])
        found = backend.expectations(Circuit(2).h(0).cx(0, 1), obs, shots=4000)
    assert np.allclose(found, [[1, 1, 0]], atol=0.15)


def test_unbound_circuits_wide_circuits_and_unknown_names_are_refused(backends):
    with pytest.raises(ParameterError, match="bind"):
        LocalBackend().sample(Circuit(1).rx(Weight("w"), 0), 10)
    with pytest.raises(BackendError, match="6 qubits but ibm:fake_manila has only 5"):
        backends["fake:FakeManilaV2"].sample(Circuit(6).h(5), 10)
    with pytest.raises(BackendError, match="exact"):
        backends["fake:FakeManilaV2"].probabilities(Circuit(1))
    with pytest.raises(ValueError, match="unknown backend"):
        get_backend("quantum-computer")
    with pytest.raises(ValueError, match="unknown fake device"):
        get_backend("fake:FakeNowhere")


def test_a_device_without_the_gate_raises_a_clear_error():
    with pytest.raises(UnknownGateError, match="default.gaussian cannot run"):
        get_backend("pennylane:default.gaussian").sample(Circuit(1).ry(0.3, 0), 10)


def test_missing_ibm_credentials_are_reported_without_network(monkeypatch):
    runtime = pytest.importorskip("qiskit_ibm_runtime")
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setattr(runtime.QiskitRuntimeService, "saved_accounts", staticmethod(lambda *a, **k: {}))
    with pytest.raises(CredentialsError, match="QISKIT_IBM_TOKEN"):
        get_backend("ibm:ibm_brisbane")


def test_a_service_failure_never_shows_the_token(monkeypatch):
    runtime = pytest.importorskip("qiskit_ibm_runtime")
    secret = "token-abc-123-do-not-print"
    monkeypatch.setenv("QISKIT_IBM_TOKEN", secret)

    def refuse(self, *args, **kwargs):
        raise ValueError(f"invalid token {secret}")

    monkeypatch.setattr(runtime.QiskitRuntimeService, "__init__", refuse)
    with pytest.raises(BackendError) as info:
        get_backend("ibm:ibm_brisbane")
    assert secret not in str(info.value) and info.value.__cause__ is None and info.value.__suppress_context__
    assert secret not in repr(AerBackend())
