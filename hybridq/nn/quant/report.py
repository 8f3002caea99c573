"""Size and accuracy of a float model next to its quantized and integer versions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from hybridq.errors import ShapeError
from hybridq.nn.quant.integer import IntegerLayer, to_integer
from hybridq.nn.quant.layers import FakeQuantize, QuantLayer

_INT32_BYTES = 4


@dataclass(frozen=True)
class ModelSummary:
    """One row of a :class:`QuantizationReport`."""

    name: str
    size_bytes: int
    accuracy: float


@dataclass(frozen=True)
class QuantizationReport:
    """Rows of (model, parameter bytes, accuracy); ``str()`` prints them as a table.

    >>> print(QuantizationReport((ModelSummary("float32", 2600, 0.96), ModelSummary("quantized", 380, 0.95))))
    model        bytes   size  accuracy
    float32       2600  1.000    0.9600
    quantized      380  0.146    0.9500
    """

    rows: tuple[ModelSummary, ...]

    def __str__(self) -> str:
        width = max(len("model"), *(len(r.name) for r in self.rows))
        base = self.rows[0].size_bytes if self.rows else 1
        lines = [f"{'model':<{width}}  {'bytes':>10}  {'size':>5}  {'accuracy':>8}"]
        lines += [
            f"{r.name:<{width}}  {r.size_bytes:>10}  {r.size_bytes / base:>5.3f}  {r.accuracy:>8.4f}"
            for r in self.rows
        ]
        return "\n".join(lines)


def storage_bytes(model: nn.Module) -> int:
    """Bytes to store ``model``'s parameters: float tensors as they are, quantized weights packed.

    A quantized layer counts ``bits`` bits per weight, 4 bytes per bias (int32), and its
    quantizers' step sizes (float) and zero points (1 byte each); an :class:`IntegerLayer`
    counts its buffers as stored (int8 weights, one byte each).

    >>> from hybridq.nn.quant import QuantLinear
    >>> storage_bytes(nn.Linear(64, 10)), storage_bytes(QuantLinear(64, 10, weight_bits=4))
    (2600, 400)
    """
    total = 0
    for module in model.modules():
        if isinstance(module, QuantLayer):
            total += math.ceil(module.weight.numel() * module.weight_quant.bits / 8)
            total += 0 if module.bias is None else module.bias.numel() * _INT32_BYTES
        elif isinstance(module, FakeQuantize):
            total += module.log_scale.numel() * module.log_scale.element_size()
            total += 0 if module.zero_point is None else module.zero_point.numel()
        elif isinstance(module, IntegerLayer):
            total += sum(b.numel() * b.element_size() for b in module.buffers(recurse=False))
        else:
            total += sum(p.numel() * p.element_size() for p in module.parameters(recurse=False))
    return total


def accuracy(model: nn.Module, data: Tensor, targets: Tensor) -> float:
    """Fraction of samples whose arg-max output equals the target class (model in eval mode).

    >>> accuracy(nn.Identity(), torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    0.5
    """
    if targets.dim() != 1 or data.dim() == 0 or data.shape[0] != targets.shape[0]:
        raise ShapeError(
            f"expected data (N, ...) and integer targets (N,), "
            f"got shapes {tuple(data.shape)} and {tuple(targets.shape)}"
        )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            predicted = model(data).argmax(dim=-1)
    finally:
        model.train(was_training)
    return (predicted == targets.to(predicted.device)).double().mean().item()


def quantization_report(
    float_model: nn.Module, quant_model: nn.Module, data: Tensor, targets: Tensor, *, integer: bool = True
) -> QuantizationReport:
    """Compare a float model, its quantized (fake-quant) version and, by default, its integer version.

    Args:
        float_model: The reference model.
        quant_model: The model with QuantLinear / QuantConv2d layers, fitted.
        data: Evaluation inputs ``(N, ...)``.
        targets: Class labels ``(N,)``.
        integer: Add a row for ``to_integer(quant_model)``. Defaults to True.

    Returns:
        A :class:`QuantizationReport` with rows ``float32``, ``quantized`` (and ``integer``).
    """
    models = {"float32": float_model, "quantized": quant_model}
    if integer:
        models["integer"] = to_integer(quant_model)
    return QuantizationReport(
        tuple(ModelSummary(name, storage_bytes(m), accuracy(m, data, targets)) for name, m in models.items())
    )
