"""Torch modules for hybrid models: quantum layers, observable sets, quantized classical layers.

>>> import torch, hybridq as hq
>>> from hybridq import nn as hqnn
>>> circ = hq.Circuit(2).ry(hq.Input(0), 0).ry(hq.Input(1), 1).cz(0, 1).ry(hq.Weight("a"), 0)
>>> model = torch.nn.Sequential(torch.nn.Linear(4, 2), hqnn.QuantumLayer(circ), torch.nn.Linear(2, 3))
>>> model(torch.rand(8, 4)).shape
torch.Size([8, 3])
"""

from . import quant
from .hamiltonian import HamiltonianEmbeddingClassifier
from .layer import QuantumLayer
from .observables import X_each, Y_each, Z_each, ZZ_chain, pauli_each
from .qkan import DaruanActivation, QKANLayer
from .quant import QuantConv2d, QuantLinear, calibrate, quantization_report, to_integer
from .qvf import QVF
from .reuploading import ReuploadingClassifier

__all__ = [
    "DaruanActivation", "HamiltonianEmbeddingClassifier", "QKANLayer", "QVF", "QuantConv2d", "QuantLinear",
    "QuantumLayer", "ReuploadingClassifier", "X_each", "Y_each", "ZZ_chain", "Z_each", "calibrate", "pauli_each",
    "quant", "quantization_report", "to_integer",
]
