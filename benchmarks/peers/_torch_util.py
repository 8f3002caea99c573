"""Small helpers shared by the torch-based peers."""

from __future__ import annotations

import numpy as np
import torch


def torch_device(device: str) -> torch.device:
    """The torch device for ``"cpu"`` or ``"cuda"`` (CUDA must be available when asked for)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was given but torch.cuda.is_available() is False")
    return torch.device(device)


def tensor(array: np.ndarray, device: torch.device, *, dtype=torch.float32, grad: bool = False) -> torch.Tensor:
    """A torch copy of ``array`` on ``device``, optionally a leaf that requires grad."""
    return torch.tensor(array, dtype=dtype, device=device, requires_grad=grad)
