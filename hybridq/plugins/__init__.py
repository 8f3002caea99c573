"""hybridq's engine inside other frameworks.

* :mod:`hybridq.plugins.pennylane`: the PennyLane device ``hybridq.qubit``
  (``qml.device("hybridq.qubit", wires=4)``), registered through the ``pennylane.plugins``
  entry point; needs the ``pennylane`` extra.
* :mod:`hybridq.plugins.qiskit`: Qiskit V2 primitives, :class:`~hybridq.plugins.qiskit.EstimatorV2`
  and :class:`~hybridq.plugins.qiskit.SamplerV2`; needs the ``qiskit`` extra.

Each plug-in imports its framework only when it is imported itself.
"""
