"""``get_backend``: a backend from a short name.

========================  =========================================================
``"local"``               :class:`~hybridq.backends.LocalBackend` (the hybridq engine)
``"aer"``                 :class:`~hybridq.backends.AerBackend` (ideal Qiskit Aer)
``"aer:<FakeDevice>"``    Aer with the noise, basis and coupling of a fake IBM device
``"ibm:<name>"``          :class:`~hybridq.backends.IBMBackend` on an IBM Quantum device
``"fake:<FakeDevice>"``   IBMBackend on a local fake device (e.g. ``"fake:FakeManilaV2"``)
``"pennylane[:<dev>]"``   :class:`~hybridq.backends.PennyLaneBackend` (default ``default.qubit``)
``"cirq"``                :class:`~hybridq.backends.CirqBackend` (``cirq.Simulator``)
========================  =========================================================

>>> get_backend("local")
LocalBackend(noise_model=None)
"""

from __future__ import annotations

from .base import Backend


def get_backend(name: str | Backend, **options) -> Backend:
    """The backend named ``name`` (a :class:`Backend` is returned as is).

    Args:
        name: see the module docstring.
        **options: passed to the backend's constructor (``seed``, ``store``, ``policy``, ...).

    Raises:
        ValueError: the name is not one of the forms above.
    """
    if isinstance(name, Backend):
        if options:
            raise ValueError(f"options {sorted(options)} cannot be applied to an existing backend {name!r}")
        return name
    if not isinstance(name, str):
        raise ValueError(f"a backend is a Backend or a name such as 'local', 'aer', 'fake:FakeManilaV2'; got {name!r}")
    kind, _, arg = name.partition(":")
    kind = kind.lower()
    if kind == "local" and not arg:
        from .local import LocalBackend

        return LocalBackend(**options)
    if kind == "aer":
        from .qiskit import AerBackend

        return AerBackend(device=arg or None, **options)
    if kind in ("ibm", "fake") and arg:
        from .qiskit import IBMBackend, fake_device

        return IBMBackend(fake_device(arg) if kind == "fake" else arg, **options)
    if kind == "pennylane":
        from .pennylane import PennyLaneBackend

        return PennyLaneBackend(arg or "default.qubit", **options)
    if kind == "cirq" and not arg:
        from .cirq import CirqBackend

        return CirqBackend(**options)
    raise ValueError(
        f"unknown backend {name!r}; expected 'local', 'aer', 'aer:<FakeDevice>', 'ibm:<name>', "
        "'fake:<FakeDevice>', 'pennylane[:<device>]' or 'cirq'"
    )
