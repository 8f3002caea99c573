"""hybridq's engine inside other frameworks.

* :mod:`hybridq.plugins.pennylane`: the PennyLane device ``hybridq.qubit``
  (``qml.device("hybridq.qubit", wires=4)``), registered through the ``pennylane.plugins``
  entry point; needs the ``pennylane`` extra.

Each plug-in imports its framework only when it is imported itself.
"""
