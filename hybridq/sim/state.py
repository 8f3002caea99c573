"""Initial states and the memory check made before any state is allocated.

A batch of states is a tensor of shape ``(B, 2**n)``, complex64 unless asked otherwise.

>>> zero_state(2, batch=3).shape
torch.Size([3, 4])
>>> basis_state(3, "101").nonzero()[:, 1].tolist()
[5]
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

from ..checks import check_dtype
from ..errors import DeviceError, ShapeError, StateTooLargeError

Tensor = torch.Tensor

#: Out-of-place gates hold input, output and a temporary at the same time.
WORKING_COPIES = 3
#: Below this many bytes no memory query is made (it costs about a millisecond).
ALWAYS_FITS = 256 * 2**20


def check_device(device: torch.device | str | None) -> torch.device:
    """The device as ``torch.device``; :class:`DeviceError` if it is CUDA and none is available."""
    try:
        device = torch.device(device or "cpu")
    except (RuntimeError, TypeError) as error:
        raise DeviceError(f"{device!r} is not a device; use 'cpu', 'cuda' or 'cuda:<index>' ({error})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            f"device {str(device)!r} was requested but torch {torch.__version__} sees no CUDA GPU; "
            "use device='cpu' (everything in hybridq runs on the CPU too)"
        )
    return device


def available_memory(device: torch.device | str | None = None) -> int:
    """Bytes free on ``device`` (CUDA: free device memory; CPU: MemAvailable)."""
    device = check_device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def check_memory(n_qubits: int, batch: int = 1, *, dtype=torch.complex64, device=None, copies: int = WORKING_COPIES) -> int:
    """Raise :class:`StateTooLargeError` if ``copies`` states of this size do not fit; return bytes per copy.

    >>> check_memory(10, 4)  # 4 states of 10 qubits, complex64: 4 * 1024 * 8 bytes
    32768
    """
    check_device(device)
    itemsize = dtype.itemsize
    need = batch * (2**n_qubits) * itemsize
    if need * copies <= ALWAYS_FITS:
        return need
    free = available_memory(device)
    if need * copies > free:
        raise StateTooLargeError(
            f"a batch of {batch} state(s) of {n_qubits} qubits in {dtype} needs "
            f"{need * copies / 2**30:.2f} GiB ({copies} working copies of {need / 2**30:.2f} GiB) "
            f"but only {free / 2**30:.2f} GiB is available on {torch.device(device or 'cpu')}; "
            "use fewer qubits, a smaller batch, or complex64 instead of complex128"
        )
    return need


def zero_state(n_qubits: int, batch: int = 1, *, dtype=torch.complex64, device=None) -> Tensor:
    """``|0...0>`` repeated ``batch`` times: shape ``(batch, 2**n_qubits)``."""
    return basis_state(n_qubits, 0, batch, dtype=dtype, device=device)


def basis_state(
    n_qubits: int, index: int | str | Sequence[int], batch: int = 1, *, dtype=torch.complex64, device=None
) -> Tensor:
    """A computational basis state given by its index, a bitstring ``"0110"`` (qubit 0 first)
    or a list of bits."""
    if n_qubits < 0:
        raise ShapeError(f"n_qubits must be >= 0, got {n_qubits}")
    if isinstance(index, str) or not isinstance(index, (int, np.integer)):
        bits = [int(b) for b in index]
        if len(bits) != n_qubits or any(b not in (0, 1) for b in bits):
            raise ShapeError(f"expected {n_qubits} bits (0 or 1), got {index!r}")
        index = int("".join(map(str, bits)) or "0", 2)
    if not 0 <= int(index) < 2**n_qubits:
        raise ShapeError(f"basis index {index} out of range for {n_qubits} qubits (0..{2**n_qubits - 1})")
    check_dtype(dtype)
    check_memory(n_qubits, batch, dtype=dtype, device=device)
    state = torch.zeros(batch, 2**n_qubits, dtype=dtype, device=device)
    state[:, int(index)] = 1
    return state


def from_amplitudes(amplitudes, *, normalize: bool = False, dtype=None, device=None, atol: float = 1e-5) -> Tensor:
    """A state batch from given amplitudes, shape ``(2**n,)`` or ``(B, 2**n)``.

    Amplitudes must be normalised (within ``atol``) unless ``normalize=True``, which rescales
    each row. Gradients flow through the amplitudes (amplitude encoding).
    """
    amps = torch.as_tensor(amplitudes, device=device)
    if dtype is None:
        dtype = amps.dtype if (amps.is_complex() or amps.is_floating_point()) else torch.complex64
        if amps.dtype == torch.float64:
            dtype = torch.complex128
        elif amps.dtype == torch.float32:
            dtype = torch.complex64
    amps = amps.to(dtype)
    if amps.dim() == 1:
        amps = amps.unsqueeze(0)
    if amps.dim() != 2 or amps.shape[1] < 1 or amps.shape[1] & (amps.shape[1] - 1):
        raise ShapeError(f"amplitudes must have shape (2**n,) or (B, 2**n), got {tuple(torch.as_tensor(amplitudes).shape)}")
    norms = torch.linalg.vector_norm(amps, dim=1, keepdim=True)
    if normalize:
        if bool((norms == 0).any()):
            raise ShapeError("cannot normalise an all-zero amplitude vector")
        return amps / norms
    worst = float((norms.detach() - 1).abs().max())
    if worst > atol:
        raise ShapeError(
            f"amplitudes are not normalised (largest |norm - 1| = {worst:.3g} > {atol}); "
            "pass normalize=True to rescale them"
        )
    return amps
