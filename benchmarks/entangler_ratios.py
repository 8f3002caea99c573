"""CPU time of one W4 training step per entangler family, over the CNOT ring's, on a busy machine.

The W4 harness (``run.py --only W4``) times wall clock against peers; on a shared machine the
ratio of one family to hybridq's own CNOT ring is steadier in process CPU time. This runs the
W4 families (``workloads.w4_gates``, through ``QuantumLayer`` as in ``peers/hybridq_peer.py``)
and the two-qubit rings W4 lacks (RXX, RYY, random 4x4 unitaries on pairs (i, i + 3)), one
after the other in one process, and prints each step's median CPU time and its ratio to the
CNOT ring of the same size:

    python benchmarks/entangler_ratios.py --size 10,4,256 --threads 1 --repeats 20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))

from peers.hybridq_peer import w4_circuit  # noqa: E402
from workloads import W4_FAMILIES, w4_data  # noqa: E402

RINGS = ("rxx_ring", "ryy_ring", "unitary_ring")


def ring_circuit(family: str, n: int, layers: int):
    """The W4 layer structure (encoding RY, then RZ, RY) with a ring of RXX, RYY or 4x4 unitaries."""
    from hybridq.circuits import Circuit, Input, Weight

    rng = np.random.default_rng(1)
    c = Circuit(n)
    for l in range(layers):
        for i in range(n):
            c.ry(Weight(f"w_{l}_{i}") * Input(i) + Weight(f"b_{l}_{i}"), i)
            c.rz(Weight(f"t_{l}_{i}_0"), i).ry(Weight(f"t_{l}_{i}_1"), i)
        for i in range(n):
            if family == "unitary_ring":
                q, r = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
                c.unitary(q * (np.diag(r) / np.abs(np.diag(r))), [i, (i + 3) % n])
            else:
                getattr(c, family[:3])(Weight(f"c_{l}_{i}"), i, (i + 1) % n)
    return c


def step_time(circuit, x: torch.Tensor, repeats: int) -> float:
    """The median CPU time of a training step (forward, backward of sum <Z_i>**2) through QuantumLayer."""
    import hybridq as hq

    layer = hq.nn.QuantumLayer(circuit)

    def step():
        layer.zero_grad(set_to_none=True)
        (layer(x) ** 2).sum().backward()

    step()
    step()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="10,4,256", help="n,L,B (default 10,4,256)")
    p.add_argument("--threads", type=int, default=1, help="torch and kernel threads (default 1)")
    p.add_argument("--repeats", type=int, default=10, help="timed steps per family (default 10)")
    p.add_argument("--families", default=",".join(W4_FAMILIES[:-1] + RINGS), help="comma-separated families")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    n, layers, batch = map(int, args.size.split(","))
    families = args.families.split(",")
    if "cnot_ring" not in families:
        families.insert(0, "cnot_ring")
    results = {}
    for family in families:
        case = {"family": family, "n": n, "L": layers, "B": batch}
        x = torch.tensor(w4_data({**case, "family": "cnot_ring"})["x"], dtype=torch.float32)
        circuit = ring_circuit(family, n, layers) if family in RINGS else w4_circuit(case)
        results[family] = step_time(circuit, x, args.repeats)
    print(f"| family | CPU ms per step (n={n} L={layers} B={batch}, {args.threads} thread(s)) | ÷ CNOT ring |")
    print("|---|---|---|")
    for family, t in results.items():
        print(f"| {family} | {t * 1e3:.2f} | {t / results['cnot_ring']:.2f} |")


if __name__ == "__main__":
    main()
