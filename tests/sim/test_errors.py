"""Bad input fails early with a specific error and a useful message."""

from __future__ import annotations

import pytest
import torch

import hybridq.sim as sim
from hybridq import errors


def test_unknown_gate_lists_known_ones():
    with pytest.raises(errors.UnknownGateError, match="known gates"):
        sim.apply_gate(sim.zero_state(1), "FOO", [0])


def test_qubit_out_of_range_and_repeated():
    psi = sim.zero_state(2)
    with pytest.raises(errors.QubitIndexError, match="out of range"):
        sim.apply_gate(psi, "H", [2])
    with pytest.raises(errors.QubitIndexError, match="repeated|overlap"):
        sim.apply_gate(psi, "CNOT", [1, 1])


def test_wrong_angle_count_and_shape():
    psi = sim.zero_state(2, batch=3)
    with pytest.raises(errors.ShapeError, match="takes 1 angle"):
        sim.apply_gate(psi, "RX", [0])
    with pytest.raises(errors.ShapeError, match=r"shape \(3,\)"):
        sim.apply_gate(psi, "RX", [0], torch.zeros(5))


def test_non_unitary_matrix_rejected():
    with pytest.raises(errors.NotUnitaryError):
        sim.apply_matrix(sim.zero_state(1), torch.tensor([[1.0, 1.0], [0.0, 1.0]]), [0])
    with pytest.raises(errors.ShapeError, match="must have shape"):
        sim.apply_matrix(sim.zero_state(2), torch.eye(2), [0, 1])


def test_bad_state_shapes_and_amplitudes():
    with pytest.raises(errors.ShapeError, match=r"\(B, 2\*\*n\)"):
        sim.apply_gate(torch.zeros(3, dtype=torch.complex64), "H", [0])
    with pytest.raises(errors.ShapeError, match="not normalised"):
        sim.from_amplitudes([1.0, 1.0])
    psi = sim.from_amplitudes([1.0, 1.0], normalize=True)
    assert torch.allclose(psi.abs().square().sum(), torch.tensor(1.0))


def test_state_too_large_says_how_much_is_needed():
    with pytest.raises(errors.StateTooLargeError, match="GiB"):
        sim.zero_state(40)
    with pytest.raises(MemoryError):  # also a built-in MemoryError
        sim.check_memory(36, 4)


def test_complex_angle_and_device_mismatch_rejected():
    with pytest.raises(errors.DTypeError, match="real"):
        sim.apply_gate(sim.zero_state(1), "RX", [0], torch.tensor(1j))


def test_cuda_without_a_gpu_says_so():
    import hybridq as hq

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(errors.DeviceError, match="no CUDA GPU"):
        sim.zero_state(3, device="cuda")
    with pytest.raises(errors.DeviceError, match="device='cpu'"):
        hq.simulate(hq.Circuit(2).h(0), device="cuda")
