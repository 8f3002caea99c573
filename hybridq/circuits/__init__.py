"""Circuits: the IR, angle expressions, ansatz builders and conversions.

>>> from hybridq.circuits import Circuit, Input, Weight
>>> Circuit(2).h(0).cx(0, 1).n_qubits
2
"""

from .circuit import Circuit, Operation
from .execute import compile_ops, simulate, simulate_sharded, weight_values
from .expr import Const, Expr, Input, Weight
from .trajectories import simulate_trajectories

__all__ = ["Circuit", "Const", "Expr", "Input", "Operation", "Weight", "compile_ops", "simulate", "simulate_sharded",
           "simulate_trajectories", "weight_values"]
