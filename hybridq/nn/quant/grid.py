"""The b-bit integer grid, and fake quantization onto it with LSQ gradients.

A real value ``x`` is stored as the integer code ``q = round(clamp(x / s + z, qmin, qmax))``
and read back as ``x_hat = (q - z) * s``, with step size (scale) ``s > 0`` and integer zero
point ``z``. Fake quantization computes ``x_hat`` in floating point; its gradients follow
Learned Step Size Quantization (LSQ, Esser et al., ICLR 2020):

* ``d x_hat / d x`` is 1 inside the clamping range ``[qmin, qmax]``, its ends included, and 0
  outside (straight-through estimator); the zero point's clamp passes its gradient the same way.
  The range is applied by :func:`clamp_closed`, not ``torch.clamp``, whose gradient at the ends
  changed from 1 (torch <= 2.13) to 0 (2.14): a zero point fitted to data ``>= 0`` sits exactly
  on ``qmin``, and values at the data's maximum on ``qmax``;
* ``d x_hat / d s`` is ``round(x / s) - x / s`` inside, ``qmin - z`` or ``qmax - z`` outside;
* both the scale's and the zero point's gradients are multiplied by ``grad_scale``, which LSQ
  sets to ``1 / sqrt(N * Qp)`` (``N`` values share the scale, ``Qp`` = :attr:`QuantGrid.positive_levels`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from hybridq.errors import ParameterError

MIN_BITS = 2
MAX_BITS = 8
_MIN_SCALE = 1e-12


@dataclass(frozen=True)
class QuantGrid:
    """The integer codes of a b-bit quantizer; codes always fit in ``int8``.

    Symmetric grids are narrow and zero-centred, ``[-(2**(b-1) - 1), 2**(b-1) - 1]`` with zero
    point 0 (4 bits: -7..7). Asymmetric grids use all ``2**b`` codes, ``[-2**(b-1), 2**(b-1) - 1]``,
    with an integer zero point inside the range, so any interval ``[lo, hi]`` containing 0 fits.

    >>> QuantGrid(4).qmin, QuantGrid(4).qmax, QuantGrid(4, symmetric=False).qmin
    (-7, 7, -8)
    """

    bits: int
    symmetric: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int):
            raise ParameterError(f"bits must be an int in [{MIN_BITS}, {MAX_BITS}], got {self.bits!r}")
        if not MIN_BITS <= self.bits <= MAX_BITS:
            raise ParameterError(
                f"bits must be in [{MIN_BITS}, {MAX_BITS}], got {self.bits}; "
                "use a float layer for more than 8 bits"
            )

    @property
    def qmin(self) -> int:
        """Smallest integer code."""
        return -(2 ** (self.bits - 1)) + (1 if self.symmetric else 0)

    @property
    def qmax(self) -> int:
        """Largest integer code."""
        return 2 ** (self.bits - 1) - 1

    @property
    def positive_levels(self) -> int:
        """LSQ's ``Qp``: steps above zero, ``qmax`` (symmetric) or ``2**b - 1`` (asymmetric)."""
        return self.qmax if self.symmetric else self.qmax - self.qmin

    def grad_scale(self, n: int) -> float:
        """LSQ gradient scale ``1 / sqrt(n * Qp)`` for a step size shared by ``n`` values.

        >>> round(QuantGrid(3).grad_scale(12), 4)
        0.1667
        """
        return 1.0 / math.sqrt(max(n, 1) * self.positive_levels)


def _scaled_grad(t: Tensor, factor: float) -> Tensor:
    """``t`` with its gradient multiplied by ``factor``; the value is exactly ``t``."""
    detached = t.detach()
    return detached + (t - detached) * factor


def clamp_closed(t: Tensor, low: float, high: float) -> Tensor:
    """``clamp(t, low, high)`` whose gradient is 1 on the closed range ``[low, high]`` and 0 outside,
    whatever torch's convention at the ends.

    >>> t = torch.tensor([-9.0, -8.0, 7.0, 8.0], requires_grad=True)
    >>> clamp_closed(t, -8, 7).sum().backward()
    >>> t.grad
    tensor([0., 1., 1., 0.])
    """
    inside = (t >= low) & (t <= high)
    return torch.where(inside, t, t.detach().clamp(low, high))


def _round_ste(t: Tensor) -> Tensor:
    """``round(t)`` exactly, with gradient 1 (straight-through)."""
    return torch.round(t).detach() + (t - t.detach())


def effective_params(
    scale: Tensor, zero_point: Tensor | None, grid: QuantGrid, *, grad_scale: float = 1.0
) -> tuple[Tensor, Tensor | int]:
    """The step size (clamped positive) and integer zero point (rounded, on the grid) in use.

    Args:
        scale: Learned step size(s); values below 1e-12 act as 1e-12.
        zero_point: Learned zero point(s), or None for a symmetric grid (zero point 0).
        grid: The integer grid.
        grad_scale: Factor applied to the gradients of ``scale`` and ``zero_point``.

    Returns:
        ``(s, z)``; ``z`` is the int 0 when ``zero_point`` is None.
    """
    s = _scaled_grad(scale, grad_scale).clamp_min(_MIN_SCALE)
    if zero_point is None:
        return s, 0
    z = _round_ste(clamp_closed(_scaled_grad(zero_point, grad_scale), grid.qmin, grid.qmax))
    return s, z


def fake_quantize(
    x: Tensor, scale: Tensor, zero_point: Tensor | None, grid: QuantGrid, *, grad_scale: float = 1.0
) -> Tensor:
    """Round ``x`` to the grid and back, ``(round(clamp(x / s + z)) - z) * s``, with LSQ gradients.

    ``scale`` and ``zero_point`` must broadcast against ``x``.

    >>> fake_quantize(torch.tensor([0.26, -3.0, 9.0]), torch.tensor(0.5), None, QuantGrid(3))
    tensor([ 0.5000, -1.5000,  1.5000])
    """
    s, z = effective_params(scale, zero_point, grid, grad_scale=grad_scale)
    q = _round_ste(clamp_closed(x / s + z, grid.qmin, grid.qmax))
    return (q - z) * s


@torch.no_grad()
def quantize(x: Tensor, scale: Tensor, zero_point: Tensor | None, grid: QuantGrid) -> Tensor:
    """The ``int8`` codes of ``x``: the same rounding as :func:`fake_quantize`, without ``- z``.

    >>> quantize(torch.tensor([0.26, -3.0, 9.0]), torch.tensor(0.5), None, QuantGrid(3))
    tensor([ 1, -3,  3], dtype=torch.int8)
    """
    s, z = effective_params(scale, zero_point, grid)
    return torch.round(torch.clamp(x / s + z, grid.qmin, grid.qmax)).to(torch.int8)
