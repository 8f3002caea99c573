"""Terms encoding, bit-mask post-processing, measurement and input validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridq.errors import NotHermitianError, ShapeError
from hybridq.estimators import ClassicalShadows, DecisionDiagram, Grouping, PauliTerms, measure_bases
from hybridq.estimators.postprocess import Shots, shot_sums, term_sums
from hybridq.estimators.terms import pack_codes
from hybridq.operators import PauliSum

from estimator_reference import basis_probabilities


def test_terms_merge_duplicates_and_split_identity():
    H = PauliSum.from_list([("XZ", 0.5), ("II", 1.5), ("XZ", 0.25), ("IY", -1.0), ("II", -0.5)])
    t = PauliTerms.from_operator(H)
    assert t.offset == pytest.approx(1.0)
    assert dict(zip(t.labels(), t.coeffs)) == {"IY": -1.0, "XZ": 0.75}
    # masks: qubit 0 is the most significant bit
    i = t.labels().index("XZ")
    assert (int(t.x[i]), int(t.z[i]), int(t.support[i])) == (0b10, 0b01, 0b11)


def test_non_hermitian_hamiltonian_is_rejected():
    with pytest.raises(NotHermitianError, match="Hermitian"):
        ClassicalShadows(PauliSum.from_list([("XZ", 0.5 + 0.1j)]))


def test_post_processing_matches_a_naive_loop(random_problem):
    H, _ = random_problem
    t = PauliTerms.from_operator(H)
    rng = np.random.default_rng(0)
    bases = rng.integers(1, 4, size=(500, 4)).astype(np.uint8)
    bases[:200] = bases[0]  # repeated rows exercise the merging of identical shots
    outcomes = rng.integers(0, 16, size=500)
    outcomes[:100] = outcomes[0]
    shots = Shots.from_arrays(bases, outcomes)
    weights = rng.normal(size=len(t))
    values, _ = shot_sums(t, shots, weights)
    hits, sums = term_sums(t, shots)
    naive = np.zeros(500)
    naive_hits, naive_sums = np.zeros(len(t)), np.zeros(len(t))
    for s, (basis, b) in enumerate(zip(bases, outcomes)):
        bits = [(b >> (3 - q)) & 1 for q in range(4)]
        for k, codes in enumerate(t.codes):
            if all(c == 0 or c == p for c, p in zip(codes, basis)):
                mu = (-1) ** sum(bits[q] for q in range(4) if codes[q])
                naive[s] += weights[k] * mu
                naive_hits[k] += 1
                naive_sums[k] += mu
    key = {(int(x), int(z), int(o)): v for x, z, o, v in zip(shots.x, shots.z, shots.outcome, values)}
    x, z = pack_codes(bases)
    np.testing.assert_allclose([key[int(a), int(b), int(o)] for a, b, o in zip(x, z, outcomes)], naive, atol=1e-12)
    assert shots.total == 500 and len(shots.counts) < 500
    np.testing.assert_allclose(hits, naive_hits)
    np.testing.assert_allclose(sums, naive_sums)


def test_outcomes_as_bits_or_indices_agree():
    bases = np.array([[3, 1, 2], [1, 1, 1]], dtype=np.uint8)
    a = Shots.from_arrays(bases, np.array([5, 2]))
    b = Shots.from_arrays(bases, np.array([[1, 0, 1], [0, 1, 0]]))
    assert np.array_equal(a.outcome, b.outcome) and np.array_equal(a.x, b.x)


def test_shape_mismatches_raise_clear_errors(h2):
    H, psi = h2
    est = ClassicalShadows(H)
    bases = est.bases(10, seed=0)
    with pytest.raises(ShapeError, match=r"outcomes must have shape \(10,\)"):
        est.estimate(bases, np.zeros(9, dtype=int))
    with pytest.raises(ShapeError, match=r"bases must have shape \(shots, 4\)"):
        est.estimate(bases[:, :3], np.zeros(10, dtype=int))
    with pytest.raises(ShapeError, match="basis codes"):
        est.estimate(np.zeros((10, 4), dtype=np.uint8), np.zeros(10, dtype=int))
    with pytest.raises(ShapeError, match="acts on 4 qubits"):
        est.run(np.ones(8) / 8**0.5, 10)
    with pytest.raises(ShapeError, match="acts on 4 qubits"):
        est.variance(np.ones(32) / 32**0.5)


def test_measure_bases_follows_born_probabilities():
    rng = np.random.default_rng(1)
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    psi /= np.linalg.norm(psi)
    shots = 20000
    for basis in ([1, 2, 3], [2, 2, 1], [3, 3, 3]):
        out = measure_bases(torch.as_tensor(psi), np.tile(basis, (shots, 1)), torch.Generator().manual_seed(3))
        freq = np.bincount(out, minlength=8) / shots
        expected = basis_probabilities(psi, basis)
        assert np.all(np.abs(freq - expected) < 5 * np.sqrt(expected * (1 - expected) / shots) + 1e-9)


def test_measure_bases_eigenvalue_convention():
    plus_i = np.array([1, 1j]) / 2**0.5  # +1 eigenstate of Y
    assert measure_bases(plus_i, [[2]] * 50).max() == 0
    minus = np.array([1, -1]) / 2**0.5  # -1 eigenstate of X
    assert measure_bases(minus, [[1]] * 50).min() == 1


def test_run_is_reproducible_with_a_seed(h2):
    H, psi = h2
    a = DecisionDiagram(H).run(psi, 500, seed=11)
    b = DecisionDiagram(H).run(torch.as_tensor(psi)[None], 500, seed=11)
    assert a == b and a.shots == 500


def test_identity_only_hamiltonian_is_exact():
    est = Grouping(PauliSum.from_list([("II", -2.5)]))
    res = est.run(np.array([1, 0, 0, 0]), 10, seed=0)
    assert res.value == -2.5 and res.stderr == 0.0
    assert ClassicalShadows(PauliSum.from_list([("II", -2.5)])).variance(np.array([1, 0, 0, 0])) == 0.0


def test_custom_backend_function_replaces_measurement(h2):
    H, psi = h2
    calls = []

    def backend(state, bases, generator):
        calls.append(len(bases))
        return measure_bases(state, bases, generator)

    res = ClassicalShadows(H).run(psi, 100, backend=backend, seed=0)
    assert calls == [100] and res.shots == 100
