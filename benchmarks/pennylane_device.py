"""A ``qml.qnn.TorchLayer`` training step on ``hybridq.qubit`` against PennyLane's own devices.

The model is a PennyLane user's first hybrid model: ``Linear -> TorchLayer -> Linear``, the
quantum layer ``AngleEmbedding`` + ``StronglyEntanglingLayers`` measuring ``<Z_i>`` on every
wire, trained on a batch with cross-entropy. One step = forward + backward + SGD update.
Every device gets the same seeded model and data; each runs in its own process, one untimed
warm-up step first, and a step past ``--cap`` seconds stops that device.

* ``hybridq.qubit``: default ``diff_method`` ("best": backprop through the engine in torch);
  the broadcast batch reaches the engine as one ``(B, 2**n)`` batch.
* ``default.qubit``: ``diff_method="backprop"`` (it broadcasts too).
* ``lightning.qubit``: ``diff_method="adjoint"`` with ``device_vjp=True`` (PennyLane runs one
  circuit per sample: lightning does not broadcast).

All three simulate in complex128. ``max |out - hybridq|`` compares the first forward pass.

    python benchmarks/pennylane_device.py                      # 10 qubits, batch 256, 4 layers
    python benchmarks/pennylane_device.py --qubits 8 --batch 32 --cap 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEVICES = {
    "hybridq.qubit": {},
    "default.qubit": {"diff_method": "backprop"},
    "lightning.qubit": {"diff_method": "adjoint", "device_vjp": True},
}


def _device(name: str, wires: int):
    import pennylane as qml

    if name == "hybridq.qubit":  # also when hybridq is importable but not installed (no entry point)
        from hybridq.plugins.pennylane import HybridqDevice

        return HybridqDevice(wires=wires)
    return qml.device(name, wires=wires)


def worker(name: str, n: int, batch: int, layers: int, repeats: int, cap: float) -> dict:
    """Time the training step on one device; returns times and the first forward's outputs."""
    import pennylane as qml
    import torch

    @qml.qnode(_device(name, n), interface="torch", **DEVICES[name])
    def qnode(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n))
        qml.StronglyEntanglingLayers(weights, wires=range(n))
        return [qml.expval(qml.Z(i)) for i in range(n)]

    torch.manual_seed(1234)
    quantum = qml.qnn.TorchLayer(qnode, {"weights": (layers, n, 3)})
    model = torch.nn.Sequential(torch.nn.Linear(n, n), quantum, torch.nn.Linear(n, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.rand(batch, n), torch.randint(0, 2, (batch,))
    with torch.no_grad():
        first = quantum(model[0](x)).double().tolist()

    def step() -> float:
        start = time.perf_counter()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        return time.perf_counter() - start

    times = [step()]  # warm-up
    if times[0] < cap:
        times = [step() for _ in range(repeats)] if times[0] * repeats < cap else [step()]
    return {"times": times, "out": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qubits", type=int, default=10)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5, help="timed steps after the warm-up (fewer if past --cap)")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds one device may take")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per device (default: all)")
    parser.add_argument("--devices", default=",".join(DEVICES))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.qubits, args.batch, args.layers, args.repeats, args.cap)))
        return
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    results: dict[str, dict | str] = {}
    for name in args.devices.split(","):
        command = [sys.executable, __file__, "--worker", name, "--qubits", str(args.qubits), "--batch", str(args.batch),
                   "--layers", str(args.layers), "--repeats", str(args.repeats), "--cap", str(args.cap)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3 * args.cap + 120)
            results[name] = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else \
                f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
        except subprocess.TimeoutExpired:
            results[name] = f"> cap ({args.cap:.0f} s)"
    print(f"TorchLayer training step, {args.qubits} qubits, batch {args.batch}, {args.layers} layers "
          f"(AngleEmbedding + StronglyEntanglingLayers), threads: {args.threads or 'all'}\n")
    print("| device | median step (s) | steps timed | x hybridq.qubit | max abs out - hybridq |")
    print("|---|---|---|---|---|")
    ours = results.get("hybridq.qubit")
    base = statistics.median(ours["times"]) if isinstance(ours, dict) else None
    for name, res in results.items():
        if not isinstance(res, dict):
            print(f"| {name} | {res} | | | |")
            continue
        median = statistics.median(res["times"])
        ratio = f"{median / base:.1f}x" if base else ""
        diff = max(abs(a - b) for ra, rb in zip(res["out"], ours["out"]) for a, b in zip(ra, rb)) if base else ""
        print(f"| {name} | {median:.4f} | {len(res['times'])} | {ratio} | {diff if diff == '' else f'{diff:.1e}'} |")


if __name__ == "__main__":
    main()
