"""Estimator.run takes a circuit and a backend name: the same call on every backend."""

from __future__ import annotations

import pytest

import hybridq as hq
from hybridq.estimators import DerandomizedDecisionDiagram, LocallyBiasedShadows
from hybridq.operators import molecule_info


def hartree_fock_circuit(name: str) -> hq.Circuit:
    info = molecule_info(name)
    c = hq.Circuit(info.n_qubits)
    for q, bit in enumerate(info.hf_bitstring):
        if bit == "1":
            c.x(q)
    return c


@pytest.mark.parametrize("backend", ["local", "aer", "pennylane", "cirq"])
@pytest.mark.parametrize("method", [DerandomizedDecisionDiagram, LocallyBiasedShadows])
def test_estimate_from_a_circuit_on_every_backend(backend, method):
    H = hq.PauliSum.from_molecule("H2")
    est = method(H).fit()
    result = est.run(hartree_fock_circuit("H2"), 4000, backend=backend, seed=3)
    assert abs(result.value - molecule_info("H2").e_hf) < 4 * result.stderr


def test_circuit_with_the_wrong_width_is_refused():
    est = LocallyBiasedShadows(hq.PauliSum.from_molecule("H2")).fit()
    with pytest.raises(ValueError, match="3 qubits"):
        est.run(hq.Circuit(3), 10)
