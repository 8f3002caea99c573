"""One helper holds the bit-order rule (qubit 0 = most significant bit); every user agrees."""

from __future__ import annotations

import numpy as np
import pytest

from hybridq import qubit_order
from hybridq.errors import QubitIndexError
from hybridq.operators import PauliSum
from hybridq.operators import _symplectic as sym


def test_bits_and_indices_round_trip_with_qubit_0_on_top():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(50, 7))
    index = qubit_order.bits_to_index(bits)
    np.testing.assert_array_equal(qubit_order.index_to_bits(index, 7), bits)
    assert qubit_order.bits_to_index([[1, 0, 0]]).tolist() == [4]  # qubit 0 alone is the top bit
    assert qubit_order.bit_weights(63)[0] == 2**62


def test_torch_tensors_follow_the_numpy_rule_and_masks_match_weights():
    import torch

    rng = np.random.default_rng(1)
    index = rng.integers(0, 2**6, size=(4, 5))
    bits = qubit_order.index_to_bits(torch.as_tensor(index), 6)
    assert bits.shape == (4, 5, 6)
    np.testing.assert_array_equal(bits.numpy(), qubit_order.index_to_bits(index, 6))
    np.testing.assert_array_equal(qubit_order.bits_to_index(bits).numpy(), index)
    weights = qubit_order.bit_weights(6)
    for qubits in ([], [0], [5], [1, 3, 4]):
        assert qubit_order.qubit_mask(qubits, 6) == int(weights[qubits].sum())
    assert [1 << qubit_order.bit_position(q, 6) for q in range(6)] == weights.tolist()


def test_more_than_63_qubits_are_refused():
    with pytest.raises(QubitIndexError, match="63 qubits"):
        qubit_order.bit_weights(64)


def test_operators_and_simulator_use_the_one_rule():
    from hybridq.sim import measure

    assert measure.bits_to_index is qubit_order.bits_to_index
    H = PauliSum.from_list([("XIY", 1.0), ("IXZ", 0.5), ("ZZZ", 0.2)])
    np.testing.assert_array_equal(sym.index_masks(H._xw, 3), qubit_order.bits_to_index(H.x))
    for group in H.flip_mask_groups():
        assert group.index_mask == int(qubit_order.bits_to_index([np.isin(np.arange(3), group.qubits)])[0])
