"""One module per library; each turns a workload case into a ``step`` callable.

A peer module defines ``prepare(workload, case, device) -> Bench``: ``bench.step()`` runs one
(timed) repetition; ``bench.collect(raw)`` turns what the last step returned into a dict of
arrays compared across libraries (outside the timed region). ``preload(workload)`` imports
the libraries a workload needs, so that their footprint is not counted as work memory.

>>> sorted(PEERS)[:2]
['hybridq', 'lightning']
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable


def _same(raw: Any) -> Any:
    return raw


@dataclass(frozen=True)
class Bench:
    """A prepared run: ``step`` is timed, ``collect`` maps its result to comparable arrays.

    ``device`` and ``dtype`` say where and in which precision the library really ran.
    """

    step: Callable[[], Any]
    device: str
    dtype: str
    collect: Callable[[Any], dict] = field(default=_same)


@dataclass(frozen=True)
class Peer:
    """A library under test: the module that adapts it, what it needs, what it runs."""

    module: str
    needs: tuple[str, ...]
    install: str
    workloads: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()
    skip_families: tuple[str, ...] = ()  # W4 families it does not run


PEERS: dict[str, Peer] = {
    "hybridq": Peer("hybridq_peer", ("torch",), "pip install -e .", ("W1", "W2", "W3", "W4")),
    "hybridq-autograd": Peer("hybridq_peer", ("torch",), "pip install -e .", ("W1",), (("method", "autograd"),)),
    "hybridq-step": Peer("hybridq_peer", ("torch",), "pip install -e .", ("W4",), (("api", "step"),),
                         ("zz_kernel",)),  # the kernel has one path: kernel_matrix
    "torchquantum": Peer(
        "torchquantum_peer", ("torchquantum",), "pip install --no-deps torchquantum==0.1.8", ("W1", "W4")
    ),
    "pennylane": Peer("pennylane_peer", ("pennylane",), "pip install pennylane", ("W1", "W3", "W4")),
    "lightning": Peer(
        "lightning_peer", ("pennylane", "pennylane_lightning"), "pip install pennylane-lightning",
        ("W1", "W2", "W3", "W4"),
    ),
    "tensorcircuit": Peer(
        "tensorcircuit_peer", ("tensorcircuit", "jax"), "pip install jax tensorcircuit-ng", ("W4",)
    ),
    "qulacs": Peer("qulacs_peer", ("qulacs",), "pip install qulacs", ("W2",)),
    "qiskit-aer": Peer("aer_peer", ("qiskit", "qiskit_aer"), "pip install qiskit-aer", ("W2",)),
    "qiskit": Peer("qiskit_peer", ("qiskit",), "pip install qiskit", ("W3",)),
}


def missing(name: str) -> str | None:
    """Why ``name`` cannot run here (a missing package and how to install it), or None."""
    peer = PEERS[name]
    for module in peer.needs:
        if importlib.util.find_spec(module) is None:
            return f"{module} not installed ({peer.install})"
    return None


def load(name: str):
    """Import the adapter module of peer ``name``."""
    return importlib.import_module(f"peers.{PEERS[name].module}")
