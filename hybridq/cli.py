"""The ``hybridq`` command.

``hybridq demo`` simulates a bundled example circuit and prints its probabilities and
expectation values; ``hybridq info`` prints versions, devices and installed backends.

>>> main(["info"])  # doctest: +ELLIPSIS
hybridq ...
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import time

import torch


def example_circuit(n_qubits: int = 4):
    """The bundled example: a rotation layer, a CNOT chain, and a second rotation layer."""
    from .circuits import Circuit

    c = Circuit(n_qubits)
    for q in range(n_qubits):
        c.ry(0.4 * (q + 1), q)
    for q in range(n_qubits - 1):
        c.cx(q, q + 1)
    for q in range(n_qubits):
        c.rx(0.2, q)
    return c


def demo(args) -> int:
    from . import sim
    from .circuits import simulate

    n = 3 if args.quick else 4
    circuit = example_circuit(n)
    print(f"Example circuit ({n} qubits):\n{circuit.draw()}\n")
    start = time.perf_counter()
    state = simulate(circuit, device=args.device)
    probs = sim.probabilities(state)[0]
    print("Probabilities (qubit 0 = leftmost bit):")
    for i, p in enumerate(probs.tolist()):
        if p > 1e-6:
            print(f"  |{i:0{n}b}>  {p:.4f}")
    z = sim.expval_z(state)[0]
    print("Expectation values <Z_i>: " + ", ".join(f"{v:+.4f}" for v in z.tolist()))
    print(f"(simulated in {1e3 * (time.perf_counter() - start):.1f} ms on {state.device})")
    return 0


def info(args) -> int:
    print(f"hybridq {_version('hybridq')}")
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}")
    cuda = torch.cuda.is_available()
    devices = ["cpu"] + ([torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [])
    print(f"devices: {', '.join(devices)}")
    for pkg in ["qiskit", "qiskit-aer", "qiskit-ibm-runtime", "pennylane", "cirq-core", "openfermion", "pyscf"]:
        print(f"  {pkg:<20} {_version(pkg) or 'not installed'}")
    return 0


def _version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hybridq", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="simulate the bundled example circuit")
    p.add_argument("--quick", action="store_true", help="smallest settings (used in CI)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.set_defaults(func=demo)
    p = sub.add_parser("info", help="versions, devices and installed backends")
    p.set_defaults(func=info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "device", "cpu").startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda was requested but no CUDA GPU is available; use --device cpu", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
