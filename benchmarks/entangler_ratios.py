"""Time of one W4 training step per entangler family, over the CNOT ring's, on a busy machine or a GPU.

The W4 harness (``run.py --only W4``) times wall clock against peers; on a shared machine the
ratio of one family to hybridq's own CNOT ring is steadier in process CPU time. This runs the
W4 families (``workloads.w4_gates``, through ``QuantumLayer`` as in ``peers/hybridq_peer.py``)
and the two-qubit rings W4 lacks (RXX, RYY, random 4x4 unitaries on pairs (i, i + 3)), one
after the other in one process (``--rounds``: that many times, interleaved), and prints each
step's median CPU time (``--clock wall``: wall time) and its ratio to the CNOT ring of the same
size, the median over the rounds of the ratio within a round:

    python benchmarks/entangler_ratios.py --size 10,4,256 --threads 1 --repeats 20
    python benchmarks/entangler_ratios.py --size 10,4,256 --threads 2 --clock wall --rounds 5 --repeats 20

``--dtype float64`` runs the steps in double precision (complex128 states; default float32:
complex64, as W4). ``--device cuda`` runs them on the GPU, timed by the wall clock after
``torch.cuda.synchronize`` (each family's first step, which compiles its kernels, untimed):

    python benchmarks/entangler_ratios.py --device cuda --size 12,6,1024 --repeats 30 --families crx_ring,cz_chain
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hybridq.cli import count_argument

sys.path.insert(0, str(Path(__file__).parent))

from peers.hybridq_peer import w4_circuit  # noqa: E402
from workloads import W4_FAMILIES, w4_data  # noqa: E402

RINGS = ("rxx_ring", "ryy_ring", "unitary_ring")
#: Every family this script times: W4's trainable ones (not the kernel) and the rings above.
FAMILIES = W4_FAMILIES[:-1] + RINGS


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


def training_step(circuit, x: torch.Tensor):
    """One training step (forward, backward of sum <Z_i>**2) through QuantumLayer, warmed up; its
    weights of ``x``'s dtype."""
    import hybridq as hq

    layer = hq.nn.QuantumLayer(circuit).to(device=x.device, dtype=x.dtype)

    def step():
        layer.zero_grad(set_to_none=True)
        (layer(x) ** 2).sum().backward()
        if x.is_cuda:
            torch.cuda.synchronize()

    step()
    step()
    return step


def _size(text: str) -> tuple[int, int, int]:
    """``n,L,B``: three positive whole numbers."""
    parts = text.split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected n,L,B (three positive whole numbers), got {text!r}")
    return tuple(count_argument(v) for v in parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=_size, default="10,4,256", help="n,L,B (default 10,4,256)")
    p.add_argument("--threads", type=count_argument, default=1, help="torch and kernel threads (default 1)")
    p.add_argument("--repeats", type=count_argument, default=10, help="timed steps per family and round (default 10)")
    p.add_argument("--rounds", type=count_argument, default=1, help="rounds over the families, interleaved (default 1)")
    p.add_argument("--clock", choices=("cpu", "wall"), default=None,
                   help="process CPU time (steady on a busy machine) or wall time (what a user waits; default cpu, "
                        "wall on a GPU)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="weights and inputs (states complex64 or complex128; default float32)")
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated families")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the steps run (default cpu)")
    args = p.parse_args()
    if args.device == "cuda" and args.clock == "cpu":
        p.error("--clock cpu times the host only; a GPU step is timed by the wall clock")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA GPU is visible to torch here")
    args.clock = args.clock or ("wall" if args.device == "cuda" else "cpu")
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    n, layers, batch = args.size
    families = args.families.split(",")
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        p.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    if "cnot_ring" not in families:
        families.insert(0, "cnot_ring")
    steps = {}
    for family in families:
        case = {"family": family, "n": n, "L": layers, "B": batch}
        x = torch.tensor(w4_data({**case, "family": "cnot_ring"})["x"], dtype=getattr(torch, args.dtype), device=args.device)
        steps[family] = training_step(ring_circuit(family, n, layers) if family in RINGS else w4_circuit(case), x)
    times: dict[str, list[float]] = {family: [] for family in families}
    for _ in range(args.rounds):  # round by round, so that a drift of the machine's speed hits every family alike
        for family, step in steps.items():
            for _ in range(args.repeats):
                start = clock()
                step()
                times[family].append(clock() - start)
    median = {family: float(np.median(t)) for family, t in times.items()}
    per_round = {family: [float(np.median(t[r * args.repeats:(r + 1) * args.repeats])) for r in range(args.rounds)]
                 for family, t in times.items()}
    ratio = {family: float(np.median(np.array(per_round[family]) / np.array(per_round["cnot_ring"]))) for family in families}
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"{args.threads} thread(s)"
    print(f"| family | {args.clock} ms per step (n={n} L={layers} B={batch}, {where}, {args.dtype}) | ÷ CNOT ring (median of {args.rounds} rounds) |")
    print("|---|---|---|")
    for family in families:
        print(f"| {family} | {median[family] * 1e3:.2f} | {ratio[family]:.2f} |")


if __name__ == "__main__":
    main()
