"""Integer inference: quantized layers converted to int8 weights and integer accumulation.

A layer with an input quantizer computes, per output channel ``c``::

    acc[c] = sum_k (q_x[k] - z_x) * (q_w[c, k] - z_w[c]) + b_int[c]      (int32, exact)
    y[c]   = acc[c] * s_x * s_w[c]                                      (rescale to float)

where ``q_x`` are the input's int8 codes and ``b_int = round(b / (s_x s_w))``, the bias grid the
fake-quantized layer already uses; so outputs equal the fake-quantized ones up to float32
rounding of the latter. The integer products run through torch's ``F.linear`` / ``F.conv2d``
on int32 tensors (exact; CPU only, as torch has no integer matmul/convolution on CUDA);
int64 is used instead when a layer's worst case could overflow int32. A layer without an
input quantizer keeps float inputs (weight-only quantization): ``y = op(x, q_w - z_w) * s_w + b``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hybridq.errors import ParameterError
from hybridq.nn.quant.grid import quantize
from hybridq.nn.quant.layers import QuantLayer, replace_modules

_INT32_LIMIT = 2**31 - 1


class IntegerLayer(nn.Module):
    """Integer-arithmetic version of a fitted :class:`QuantLinear` or :class:`QuantConv2d`.

    Buffers: ``weight`` (int8 codes), ``weight_scale`` and ``weight_zero_point`` (int8) per
    channel; with an input quantizer also ``input_scale``, ``input_zero_point`` (int8) and an
    integer ``bias`` (int32 unless int64 is needed), otherwise a float ``bias``.

    >>> from hybridq.nn.quant import QuantLinear
    >>> layer = QuantLinear(8, 3, act_bits=8)
    >>> _ = layer(torch.rand(4, 8))  # the first pass fits the quantizers
    >>> IntegerLayer(layer).weight.dtype
    torch.int8
    """

    def __init__(self, layer: QuantLayer) -> None:
        super().__init__()
        self.op = layer.op
        self.weight_bits = layer.weight_quant.bits
        w_scale, w_zero = layer.weight_quant.integer_params()
        self.register_buffer("weight", layer.weight_quant.quantize(layer.weight.detach()))
        self.register_buffer("weight_scale", w_scale)
        self.register_buffer("weight_zero_point", w_zero)
        bias = None if layer.bias is None else layer.bias.detach()
        quantizer = layer.input_quant
        self.input_grid = None if quantizer is None else quantizer.grid
        if quantizer is None:
            self.accumulator = self.weight_scale.dtype
            self.register_buffer("input_scale", None)
            self.register_buffer("input_zero_point", None)
            self.register_buffer("bias", None if bias is None else bias.clone())
            return
        in_scale, in_zero = quantizer.integer_params()
        self.register_buffer("input_scale", in_scale)
        self.register_buffer("input_zero_point", in_zero)
        bias_int = None if bias is None else torch.round(bias / layer.accumulator_scale()).to(torch.int64)
        self.accumulator = self._accumulator_dtype(bias_int)
        self.register_buffer("bias", None if bias_int is None else bias_int.to(self.accumulator))

    def forward(self, x: Tensor) -> Tensor:
        self.op.check(x, self.weight)
        channel_shape = (-1,) + (1,) * (self.weight.dim() - 1)
        weight = self.weight.to(self.accumulator) - self.weight_zero_point.view(channel_shape).to(self.accumulator)
        if self.input_scale is None:
            y = self.op(x, weight.to(x.dtype), None) * self._per_output(self.weight_scale)
            return y if self.bias is None else y + self._per_output(self.bias)
        codes = quantize(x, self.input_scale, self.input_zero_point.to(self.input_scale.dtype), self.input_grid)
        shifted = codes.to(self.accumulator) - self.input_zero_point.to(self.accumulator)
        acc = self.op(shifted, weight, self.bias)
        return acc.to(self.weight_scale.dtype) * self._per_output(self.input_scale * self.weight_scale)

    def extra_repr(self) -> str:
        act = None if self.input_grid is None else self.input_grid.bits
        return f"{self.op}, weight_bits={self.weight_bits}, act_bits={act}, accumulator={self.accumulator}"

    def _per_output(self, t: Tensor) -> Tensor:
        return t.view((-1,) + (1,) * (-self.op.out_axis - 1))

    def _accumulator_dtype(self, bias_int: Tensor | None) -> torch.dtype:
        """int32 if no input can overflow it, else int64."""
        centred = self.weight.to(torch.int64) - self.weight_zero_point.to(torch.int64).view(
            (-1,) + (1,) * (self.weight.dim() - 1)
        )
        input_span = self.input_grid.qmax - self.input_grid.qmin
        worst = int(centred.abs().flatten(1).sum(1).max()) * input_span
        if bias_int is not None:
            worst += int(bias_int.abs().max())
        return torch.int32 if worst <= _INT32_LIMIT else torch.int64


def to_integer(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) with every quantized layer as an :class:`IntegerLayer`.

    Every quantizer must be fitted (by a forward pass, training or :func:`calibrate`).
    Given a single QuantLinear / QuantConv2d, returns its IntegerLayer.

    >>> from hybridq.nn.quant import QuantLinear
    >>> model = nn.Sequential(QuantLinear(8, 3, act_bits=8))
    >>> _ = model(torch.rand(4, 8))
    >>> type(to_integer(model)[0]).__name__
    'IntegerLayer'
    """
    if not any(isinstance(m, QuantLayer) for m in model.modules()):
        raise ParameterError(f"to_integer found no QuantLinear or QuantConv2d in {type(model).__name__}")
    converted = replace_modules(model, lambda m: IntegerLayer(m) if isinstance(m, QuantLayer) else None)
    return converted.eval()
