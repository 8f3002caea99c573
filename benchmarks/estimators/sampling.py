"""Local measurement of many random Pauli bases: the tree of collapsed states against one
full-state rotation per basis, in the same run.

For H2O's exact ground state (14 qubits), ``--shots`` classical-shadow and LBCS shots are
measured by :meth:`~hybridq.estimators.base.Estimator.run` (random bases, the tree sampler of
:mod:`hybridq.estimators.measure`, streaming post-processing). The peer is what the simulator
did before: each distinct basis rotated on the full state (256 bases at a time through
``hybridq.sim.apply_matrix``, the rotations of 4 neighbouring qubits fused) and sampled; it is timed on
``--peer-bases`` bases and scaled to the run's number of distinct bases. Times are wall clock;
on a shared machine compare the ratio.

Usage::

    python benchmarks/estimators/sampling.py [--shots 1e6] [--peer-bases 2000] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hybridq import sim
from hybridq.estimators import ClassicalShadows, LocallyBiasedShadows
from hybridq.estimators.measure import distinct_bases
from hybridq.operators import PauliSum

_H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
ROTATIONS = torch.as_tensor(np.stack([np.eye(2), _H, _H @ np.diag([1, -1j]), np.eye(2)]), dtype=torch.complex64)


def rotate_each_basis(psi: torch.Tensor, bases: np.ndarray, generator: torch.Generator, batch: int = 256,
                      block: int = 4) -> None:
    """The peer: one rotated copy of the full state per basis (a batch of bases at a time, the
    rotations of ``block`` neighbouring qubits fused into one matrix per basis), then one sample."""
    from hybridq.sim.kernels import kron_matrices

    n = bases.shape[1]
    for start in range(0, len(bases), batch):
        codes = torch.as_tensor(bases[start:start + batch], dtype=torch.long)
        states = psi.expand(len(codes), -1)
        for q0 in range(0, n, block):
            qubits = list(range(q0, min(q0 + block, n)))
            states = sim.apply_matrix(states, kron_matrices(ROTATIONS[codes[:, qubits]]), qubits, check_unitary=False)
        torch.multinomial(sim.probabilities(states), 1, generator=generator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=float, default=1e6)
    parser.add_argument("--peer-bases", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    H = PauliSum.from_molecule("H2O")
    exact, psi = sim.ground_state(H)
    psi = torch.as_tensor(psi).reshape(1, -1).to(torch.complex128)
    shots = int(args.shots)
    peer_bases = np.random.default_rng(0).integers(1, 4, size=(args.peer_bases, H.n_qubits), dtype=np.uint8)
    start = time.perf_counter()
    rotate_each_basis(psi.to(torch.complex64), peer_bases, torch.Generator().manual_seed(0))  # as it ran: complex64
    per_basis = (time.perf_counter() - start) / args.peer_bases
    print(f"| method | shots | distinct bases | hybridq run (s) | one rotation per basis (s, scaled) | speed-up |")
    print("|---|---|---|---|---|---|")
    for est in (ClassicalShadows(H).fit(), LocallyBiasedShadows(H).fit()):
        distinct = len(distinct_bases(est.bases(shots, np.random.default_rng(1)))[1])
        start = time.perf_counter()
        result = est.run(psi, shots, seed=1)
        took = time.perf_counter() - start
        peer = per_basis * distinct
        print(f"| {est.name} | {shots:.0e} | {distinct:,} | {took:.2f} | {peer:.1f} | {peer / took:.0f}x |"
              f"  <!-- error {1e3 * (result.value - exact):+.1f} mHa, stderr {1e3 * result.stderr:.1f} -->")


if __name__ == "__main__":
    main()
