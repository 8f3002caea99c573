"""Peak memory of one long estimate: the exact ground state, a fit and ``--shots`` shots.

Memory must not grow with the shot count (estimates stream in chunks) and the ground state is
found matrix-free (:meth:`hybridq.operators.PauliSum.ground_state`). Prints each stage's wall
time and the process's peak resident memory; run it under ``/usr/bin/time -v`` for the same
figure from outside.

Usage::

    OPENBLAS_NUM_THREADS=1 /usr/bin/time -v python benchmarks/estimators/memory.py --molecule NH3 --shots 1e8
"""

from __future__ import annotations

import argparse
import resource
import time

from hybridq import estimators
from hybridq.operators import PauliSum

METHODS = {"clifford": "CliffordGrouping", "lbcs": "LocallyBiasedShadows", "shadow-grouping": "ShadowGrouping"}


def peak_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--molecule", default="NH3")
    parser.add_argument("--shots", type=float, default=1e8)
    parser.add_argument("--method", default="clifford", choices=list(METHODS))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    H = PauliSum.from_molecule(args.molecule)
    start = time.perf_counter()
    exact, psi = H.ground_state()
    print(f"{args.molecule}: {H.n_qubits} qubits, {len(H)} terms; ground state {exact:.6f} Ha in "
          f"{time.perf_counter() - start:.1f} s; peak {peak_mb():.0f} MB", flush=True)
    start = time.perf_counter()
    est = getattr(estimators, METHODS[args.method])(H).fit()
    print(f"{est.name} fit {time.perf_counter() - start:.1f} s; peak {peak_mb():.0f} MB", flush=True)
    start = time.perf_counter()
    result = est.run(psi, int(args.shots), seed=args.seed)
    print(f"{int(args.shots):.0e} shots in {time.perf_counter() - start:.1f} s: E = {result.value:.6f} +- "
          f"{result.stderr:.2e} Ha (error {1e3 * (result.value - exact):+.4f} mHa); peak {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
