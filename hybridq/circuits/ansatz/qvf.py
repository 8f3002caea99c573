"""Quantum Visual Fields pieces (Wang, Theobalt, Golyanik, 2025): neural amplitude encoding
and the real-valued ansatz.

A classical network maps a query to an energy spectrum ``E`` (``2**n`` values); the input
state has the Boltzmann amplitudes ``sqrt(softmax(-beta E))`` (real, non-negative, normalised).
The ansatz uses only RY rotations and CNOT/CZ gates, so states stay real and the circuit can run
on a real dtype.

>>> import torch
>>> a = gibbs_amplitudes(torch.randn(4, 8))
>>> torch.allclose(a.square().sum(1), torch.ones(4))
True
>>> qvf_ansatz(3, layers=2, identity_init=True).count_ops()
{'RY': 12, 'CX': 12}
"""

from __future__ import annotations

from torch import Tensor

from ..circuit import Circuit
from .layers import Entangler, hardware_efficient


def gibbs_amplitudes(energies: Tensor, beta: float = 1.0) -> Tensor:
    """``sqrt(softmax(-beta E))`` along the last axis, computed in log space (stable)."""
    return (0.5 * (-beta * energies).log_softmax(dim=-1)).exp()


def qvf_ansatz(n_qubits: int, layers: int, *, entangler: Entangler = "CNOT", identity_init: bool = False) -> Circuit:
    """``layers`` blocks of RY on every qubit and a ring of CNOT (or CZ) gates.

    With ``identity_init=True`` the circuit is ``S(b)^dag S(a)``, weights ``a[...]`` and
    ``b[...]``: it is the identity whenever ``b == a``, which is how it is initialised
    (``hybridq.nn.QVF``).
    """
    if not identity_init:
        return hardware_efficient(n_qubits, layers, rotations=("RY",), entangler=entangler, topology="ring")
    block = dict(rotations=("RY",), entangler=entangler, topology="ring")
    return hardware_efficient(n_qubits, layers, prefix="a", **block) + hardware_efficient(n_qubits, layers, prefix="b", **block).inverse()
