"""Quantized classical layers for hybrid models: training (LSQ), calibration, integer inference.

>>> import torch
>>> from hybridq.nn.quant import QuantLinear, calibrate, to_integer
>>> model = torch.nn.Sequential(QuantLinear(64, 10, weight_bits=4, act_bits=8))
>>> model = calibrate(model, torch.rand(128, 64), method="mse")
>>> to_integer(model)[0].weight.dtype
torch.int8
"""

from __future__ import annotations

from hybridq.nn.quant.calibration import calibrate
from hybridq.nn.quant.grid import QuantGrid, fake_quantize, quantize
from hybridq.nn.quant.integer import IntegerLayer, to_integer
from hybridq.nn.quant.layers import FakeQuantize, QuantConv2d, QuantLayer, QuantLinear, quantize_model
from hybridq.nn.quant.ranges import RangeMethod, fit_range
from hybridq.nn.quant.report import ModelSummary, QuantizationReport, accuracy, quantization_report, storage_bytes

__all__ = [
    "FakeQuantize",
    "IntegerLayer",
    "ModelSummary",
    "QuantConv2d",
    "QuantGrid",
    "QuantLayer",
    "QuantLinear",
    "QuantizationReport",
    "RangeMethod",
    "accuracy",
    "calibrate",
    "fake_quantize",
    "fit_range",
    "quantization_report",
    "quantize",
    "quantize_model",
    "storage_bytes",
    "to_integer",
]
