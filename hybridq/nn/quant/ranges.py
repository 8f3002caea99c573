"""Choosing a quantizer's step size and zero point from data (range estimation).

Three estimators, per tensor or per channel (axis 0):

* ``"minmax"``: the grid spans the data's full range; no clipping, coarse steps.
* ``"percentile"``: the grid spans the central ``percentile`` % of the data (for symmetric grids,
  of ``|x|``); outliers are clipped.
* ``"mse"``: the range ``alpha * [lo, hi]`` (``[lo, hi]`` the min-max range) that minimises
  the squared error of fake quantization, ``alpha`` searched on a geometric grid in
  ``[2**-10, 1]`` (geometric, as the best clipping of heavy tails can be far below the max).

On heavy-tailed data the last two give much smaller error than min-max at low bit widths.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import torch
from torch import Tensor

from hybridq.errors import ParameterError, ShapeError
from hybridq.nn.quant.grid import QuantGrid, fake_quantize

RangeMethod = Literal["minmax", "percentile", "mse"]
METHODS: tuple[str, ...] = get_args(RangeMethod)
_MSE_OCTAVES = 10


def fit_range(
    x: Tensor,
    grid: QuantGrid,
    *,
    method: RangeMethod = "minmax",
    per_channel: bool = False,
    percentile: float = 99.9,
    search_steps: int = 100,
) -> tuple[Tensor, Tensor]:
    """Step size and zero point that quantize ``x`` well on ``grid``.

    Args:
        x: Data, at least one element; with ``per_channel`` one channel per index of axis 0.
        grid: The integer grid.
        method: ``"minmax"``, ``"percentile"`` or ``"mse"``. Defaults to ``"minmax"``.
        per_channel: One step size per index of axis 0. Defaults to False (one for all).
        percentile: Percentage of values inside the range for ``"percentile"``, in (50, 100].
        search_steps: Number of clipping ratios tried by ``"mse"``.

    Returns:
        ``(scale, zero_point)``, float tensors of shape ``(C,)``; ``C = x.shape[0]`` if
        ``per_channel`` else 1. The zero point is integer-valued, and 0 for symmetric grids.

    >>> fit_range(torch.tensor([-1.0, 0.5, 3.5]), QuantGrid(8))
    (tensor([0.0276]), tensor([0.]))
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    if not 50.0 < percentile <= 100.0:
        raise ParameterError(f"percentile must be in (50, 100], got {percentile}")
    if x.numel() == 0:
        raise ShapeError(f"cannot fit a quantization range to an empty tensor of shape {tuple(x.shape)}")
    rows = x.detach().reshape(x.shape[0] if per_channel else 1, -1)
    lo, hi = _bounds(rows, grid, percentile if method == "percentile" else 100.0)
    if method == "mse":
        alpha = _mse_clip_ratio(rows, lo, hi, grid, search_steps)
        lo, hi = lo * alpha, hi * alpha
    return range_to_params(lo, hi, grid)


def range_to_params(lo: Tensor, hi: Tensor, grid: QuantGrid) -> tuple[Tensor, Tensor]:
    """Step size and zero point whose grid spans ``[lo, hi]`` (widened to contain 0).

    >>> range_to_params(torch.tensor([0.0]), torch.tensor([2.55]), QuantGrid(8, symmetric=False))
    (tensor([0.0100]), tensor([-128.]))
    """
    lo, hi = lo.clamp(max=0.0), hi.clamp(min=0.0)
    if grid.symmetric:
        scale = torch.maximum(-lo, hi) / grid.qmax
    else:
        scale = (hi - lo) / (grid.qmax - grid.qmin)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # constant data: any step works
    if grid.symmetric:
        return scale, torch.zeros_like(scale)
    return scale, torch.round(grid.qmin - lo / scale).clamp(grid.qmin, grid.qmax)


def _bounds(rows: Tensor, grid: QuantGrid, percentile: float) -> tuple[Tensor, Tensor]:
    """Per-row range holding ``percentile`` % of the values (of ``|x|`` on a symmetric grid)."""
    n = rows.shape[1]
    k = min(n, max(1, math.ceil(percentile / 100.0 * n)))
    if grid.symmetric:
        hi = rows.abs().kthvalue(k, dim=1).values
        return -hi, hi
    return rows.kthvalue(n - k + 1, dim=1).values, rows.kthvalue(k, dim=1).values


def _mse_clip_ratio(rows: Tensor, lo: Tensor, hi: Tensor, grid: QuantGrid, steps: int) -> Tensor:
    """Per-row ratio ``alpha`` in [2**-10, 1] minimising the error of quantizing on ``alpha * [lo, hi]``."""
    if steps < 2:
        raise ParameterError(f"search_steps must be >= 2, got {steps}")
    best_err = torch.full_like(lo, math.inf)
    best_alpha = torch.ones_like(lo)
    for alpha in torch.logspace(-_MSE_OCTAVES, 0, steps, base=2.0).tolist():
        scale, zero_point = range_to_params(lo * alpha, hi * alpha, grid)
        approx = fake_quantize(rows, scale[:, None], zero_point[:, None], grid)
        err = (approx - rows).square().sum(dim=1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_alpha = torch.where(better, torch.full_like(lo, alpha), best_alpha)
    return best_alpha
