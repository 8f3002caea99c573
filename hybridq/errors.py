"""Exceptions raised by hybridq.

Every error says what was expected and what came, so that bad input fails before any work
is done. All derive from :class:`HybridqError`, and also from the matching built-in
(``ValueError``, ``TypeError``, ``MemoryError``, ``ImportError``) so that generic handlers work.
"""

from __future__ import annotations


class HybridqError(Exception):
    """Base class of every hybridq error."""


class QubitIndexError(HybridqError, IndexError):
    """A qubit index is out of range or repeated."""


class ShapeError(HybridqError, ValueError):
    """A tensor has the wrong shape (batch size, state length, angle shape...)."""


class UnknownGateError(HybridqError, KeyError):
    """A gate name is not in the gate set."""

    def __str__(self) -> str:  # KeyError would otherwise print the message quoted
        return str(self.args[0]) if self.args else ""


class NotUnitaryError(HybridqError, ValueError):
    """A matrix given as a gate is not unitary."""


class NotHermitianError(HybridqError, ValueError):
    """An operator that must be Hermitian (an observable) is not."""


class PauliError(HybridqError, ValueError):
    """A Pauli label or coefficient is malformed (unknown letter, wrong length, not finite)."""


class FormatError(HybridqError, ValueError):
    """A text or file is not in the expected format (OpenQASM, Pauli sum files)."""


class OperandError(HybridqError, TypeError):
    """An argument or operand has a type the operation does not take."""


class NonFiniteError(HybridqError, ValueError):
    """Inputs, weights, angles or states hold NaN or infinite values (see :mod:`hybridq.checks`)."""


class DTypeError(HybridqError, TypeError):
    """Tensors have incompatible dtypes or devices."""


class DeviceError(HybridqError, RuntimeError):
    """A requested device (e.g. CUDA) is not available."""


class StateTooLargeError(HybridqError, MemoryError):
    """A state (batch) would need more memory than is available."""


class ParameterError(HybridqError, ValueError):
    """A circuit's inputs or weights are missing, unknown or of the wrong shape."""


class MoleculeError(HybridqError, ValueError):
    """A molecule, basis or encoding is unknown or cannot be built."""


class BackendError(HybridqError, RuntimeError):
    """A backend could not run a job (missing credentials, circuit too wide, job failed, time-out)."""


class TransientBackendError(BackendError):
    """A failure worth retrying (a dropped connection, a busy service)."""


class CredentialsError(BackendError):
    """No credentials were found for a service that needs them (the message never shows a token)."""


#: The distribution's name on the package index (the import package is ``hybridq``).
DISTRIBUTION = "hybridq-torch"


def install_hint(extra: str) -> str:
    """The command that installs an optional extra.

    >>> install_hint("qiskit")
    "pip install 'hybridq-torch[qiskit]'"
    """
    return f"pip install '{DISTRIBUTION}[{extra}]'"


class MissingDependencyError(HybridqError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str):
    """Import an optional dependency or raise :class:`MissingDependencyError` naming its extra.

    >>> np = require("numpy", "core")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module!r} is needed for this feature but is not installed; "
            f"install it with: {install_hint(extra)}"
        ) from exc
