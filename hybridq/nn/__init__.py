"""Torch modules for hybrid models: quantum layers, observable sets, quantized classical layers.

>>> import torch, hybridq as hq
>>> from hybridq import nn as hqnn
>>> circ = hq.Circuit(2).ry(hq.Input(0), 0).ry(hq.Input(1), 1).cz(0, 1).ry(hq.Weight("a"), 0)
>>> model = torch.nn.Sequential(torch.nn.Linear(4, 2), hqnn.QuantumLayer(circ), torch.nn.Linear(2, 3))
>>> model(torch.rand(8, 4)).shape
torch.Size([8, 3])
"""

from . import quant
from .layer import QuantumLayer
from .observables import X_each, Y_each, Z_each, ZZ_chain, pauli_each
from .quant import QuantConv2d, QuantLinear, calibrate, quantization_report, to_integer

__all__ = [
    "QuantConv2d", "QuantLinear", "QuantumLayer", "X_each", "Y_each", "ZZ_chain", "Z_each",
    "calibrate", "pauli_each", "quant", "quantization_report", "to_integer",
]
