"""Post-training calibration: fit every quantizer of a model from a little data.

Weight quantizers are fitted to the weights. Input quantizers are fitted to the inputs their
layer receives when the calibration data runs through the model in eval mode with input
quantization bypassed (the usual observer pass), so no layer's range depends on the order in
which the others were fitted. Observed inputs are kept in memory until fitted, so pass a
calibration set of modest size (a few hundred to a few thousand samples).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
from torch import Tensor, nn

from hybridq.errors import ParameterError, ShapeError
from hybridq.nn.quant.layers import QuantLayer
from hybridq.nn.quant.ranges import METHODS, RangeMethod

CalibrationData = Tensor | Iterable[Tensor] | Iterable[tuple[Tensor, ...]]


def calibrate(
    model: nn.Module, data: CalibrationData, *, method: RangeMethod = "mse", percentile: float = 99.9
) -> nn.Module:
    """Set the step size and zero point of every quantizer in ``model``, in place.

    Args:
        model: A module containing QuantLinear / QuantConv2d layers.
        data: Model inputs: one tensor (a batch), or an iterable of batches, each a tensor or a
            tuple/list whose first item is the input (e.g. a DataLoader of ``(x, y)``).
        method: Range estimator, ``"minmax"``, ``"percentile"`` or ``"mse"``. Defaults to ``"mse"``.
        percentile: Percentage of values kept inside the range by ``"percentile"``.

    Returns:
        ``model``, calibrated (its train/eval mode is left as it was).

    >>> from hybridq.nn.quant import QuantLinear
    >>> model = nn.Sequential(QuantLinear(8, 4, act_bits=8), nn.ReLU(), QuantLinear(4, 2, act_bits=4))
    >>> model = calibrate(model, torch.randn(256, 8), method="percentile")
    >>> all(bool(m.initialized) for m in model.modules() if hasattr(m, "initialized"))
    True
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    layers = [m for m in model.modules() if isinstance(m, QuantLayer)]
    if not layers:
        raise ParameterError(f"calibrate found no QuantLinear or QuantConv2d in {type(model).__name__}")
    for layer in layers:
        layer.weight_quant.fit(layer.weight, method=method, percentile=percentile)
    quantizers = [layer.input_quant for layer in layers if layer.input_quant is not None]
    records = _observe(model, quantizers, data)
    for quantizer, seen in zip(quantizers, records):
        if not seen:
            raise ParameterError("calibration data never reached a quantized layer's input; check the model's forward")
        quantizer.fit(torch.cat([x.reshape(-1) for x in seen]), method=method, percentile=percentile)
    return model


def _observe(model: nn.Module, quantizers: list, data: CalibrationData) -> list[list[Tensor]]:
    """Run ``data`` through ``model`` (eval, no grad) recording each quantizer's inputs."""
    device = next(model.parameters()).device
    was_training = model.training
    with contextlib.ExitStack() as stack:
        records = [stack.enter_context(q.observing()) for q in quantizers]
        model.eval()
        try:
            with torch.no_grad():
                batches = 0
                for x in _batches(data):
                    model(x.to(device))
                    batches += 1
        finally:
            model.train(was_training)
    if batches == 0:
        raise ParameterError("calibration data is empty: the iterable yielded no batches")
    return records


def _batches(data: CalibrationData) -> Iterator[Tensor]:
    if data is None:
        raise ParameterError(
            "calibrate needs data: a tensor of inputs or an iterable of batches "
            "(tensors or (inputs, targets) pairs), got None"
        )
    if isinstance(data, Tensor):
        if data.dim() == 0 or data.shape[0] == 0:
            raise ShapeError(f"calibration tensor must hold at least one sample, got shape {tuple(data.shape)}")
        yield data
        return
    if not isinstance(data, Iterable):
        raise ParameterError(f"calibration data must be a tensor or an iterable of batches, got {type(data).__name__}")
    for batch in data:
        x = batch[0] if isinstance(batch, (tuple, list)) and batch else batch
        if not isinstance(x, Tensor):
            raise ParameterError(f"calibration batches must be tensors or (inputs, ...) tuples, got {type(x).__name__}")
        yield x
