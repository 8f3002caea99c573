"""hybridq: quantum-classical hybrid machine learning and Hamiltonian estimation on a fast,
batched, differentiable PyTorch state-vector simulator.

>>> import hybridq as hq
>>> c = hq.Circuit(2).h(0).cx(0, 1)
>>> hq.sim.probabilities(hq.simulate(c))
tensor([[0.5000, 0.0000, 0.0000, 0.5000]])
>>> H = hq.PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5)])
>>> hq.sim.expval(hq.simulate(c), H)
tensor([1.5000])
"""

from . import errors, estimators, nn, sim
from .circuits import Circuit, Input, Weight, ansatz, simulate
from .cuda_graph import GraphedStep
from .nn import observables as paulis
from .operators import PauliString, PauliSum

__version__ = "0.1.0"

__all__ = [
    "Circuit", "GraphedStep", "Input", "PauliString", "PauliSum", "Weight", "ansatz", "errors", "estimators", "nn", "paulis", "sim", "simulate",
    "__version__",
]
