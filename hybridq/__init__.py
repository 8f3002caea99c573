"""hybridq: quantum-classical hybrid machine learning and Hamiltonian estimation on a fast,
batched, differentiable PyTorch state-vector simulator.

>>> import hybridq as hq
>>> c = hq.Circuit(2).h(0).cx(0, 1)
>>> hq.sim.probabilities(hq.simulate(c))
tensor([[0.5000, 0.0000, 0.0000, 0.5000]])
"""

from . import errors, sim
from .circuits import Circuit, Input, Weight, simulate

__version__ = "0.1.0"

__all__ = ["Circuit", "Input", "Weight", "errors", "sim", "simulate", "__version__"]
