import numpy as np
import pytest

from hybridq.operators import PauliSum
from hybridq.operators.grouping import flip_mask_groups, qwc_groups

from pauli_reference import random_sum

STRATEGIES = ["largest-degree-first", "sorted-insertion"]


def assert_valid_qwc_grouping(paulis: PauliSum, groups) -> None:
    covered = sorted(i for g in groups for i in g.indices)
    assert covered == list(range(len(paulis)))  # every term exactly once
    labels = paulis.labels()
    for group in groups:
        assert list(group.indices) == sorted(group.indices)
        assert len(group.basis) == paulis.n_qubits and set(group.basis) <= set("XYZ")
        for q, basis_letter in enumerate(group.basis):
            letters = {labels[i][q] for i in group.indices} - {"I"}
            assert letters <= {basis_letter}  # members agree with the basis, hence pairwise QWC
            if not letters:
                assert basis_letter == "Z"


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", range(4))
def test_random_sums_are_partitioned_into_valid_qwc_groups(strategy, seed):
    paulis = random_sum(np.random.default_rng(seed), 5, 40)
    groups = qwc_groups(paulis, strategy=strategy)
    assert_valid_qwc_grouping(paulis, groups)
    for group in groups:
        assert paulis[list(group.indices)].qubitwise_commutes(paulis[list(group.indices)])


def test_method_and_function_agree_and_sorted_insertion_starts_with_the_largest_term():
    paulis = PauliSum.from_list([("XX", 0.1), ("ZZ", -3.0), ("ZI", 0.5), ("YY", 1.0)])
    assert paulis.qwc_groups() == qwc_groups(paulis)
    groups = paulis.qwc_groups(strategy="sorted-insertion")
    assert groups[0].indices == (1, 2) and groups[0].basis == "ZZ"
    assert [g.basis for g in groups[1:]] == ["YY", "XX"]
    with pytest.raises(ValueError, match="strategy"):
        paulis.qwc_groups(strategy="random")


@pytest.mark.parametrize(
    ("name", "n_groups"),
    [
        ("H2_STO-3G", 5), ("H2_6-31G", 46), ("LiH_STO-3G", 136), ("BeH2_STO-3G", 140), ("H2O_STO-3G", 224),
        ("NH3_STO-3G", 618),
    ],
)
def test_largest_degree_first_matches_the_benchmark_group_counts(name, n_groups):
    # The benchmark set ships largest-degree-first groupings (jw_grouped.txt) with these sizes.
    paulis = PauliSum.from_molecule(name)
    groups = paulis.qwc_groups()
    assert len(groups) == n_groups
    assert_valid_qwc_grouping(paulis, groups)


def test_sorted_insertion_on_a_molecule_is_valid():
    paulis = PauliSum.from_molecule("H2O")
    assert_valid_qwc_grouping(paulis, paulis.qwc_groups(strategy="sorted-insertion"))


def test_flip_mask_groups_share_one_permutation(rng):
    paulis = random_sum(rng, 4, 30)
    groups = flip_mask_groups(paulis)
    assert sorted(i for g in groups for i in g.indices) == list(range(len(paulis)))
    assert len({g.index_mask for g in groups}) == len(groups)
    assert [g.indices[0] for g in groups] == sorted(g.indices[0] for g in groups)  # first-appearance order
    cols = np.arange(16)
    for g in groups:
        assert all(tuple(np.flatnonzero(paulis.x[i])) == g.qubits for i in g.indices)
        assert g.index_mask == sum(1 << (3 - q) for q in g.qubits)
        matrix = paulis[list(g.indices)].to_matrix()
        off_pattern = np.ones_like(matrix, dtype=bool)
        off_pattern[cols ^ g.index_mask, cols] = False
        assert np.all(matrix[off_pattern] == 0)


def test_flip_groups_treat_y_as_a_flip_and_handle_empty_sums():
    groups = PauliSum.from_list([("ZY", 1.0), ("IX", 2.0), ("ZZ", 1.0)]).flip_mask_groups()
    assert [(g.qubits, g.index_mask, g.indices) for g in groups] == [((1,), 1, (0, 1)), ((), 0, (2,))]
    empty = PauliSum.from_list([], n_qubits=3)
    assert empty.flip_mask_groups() == [] and empty.qwc_groups() == []
