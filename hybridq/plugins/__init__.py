"""hybridq's engine inside other frameworks.

* :mod:`hybridq.plugins.qiskit`: Qiskit V2 primitives, :class:`~hybridq.plugins.qiskit.EstimatorV2`
  and :class:`~hybridq.plugins.qiskit.SamplerV2` (``pip install 'hybridq[qiskit]'``).

Each plug-in imports its framework only when it is imported itself.
"""
