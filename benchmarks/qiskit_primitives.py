"""hybridq's Qiskit ``EstimatorV2`` against Qiskit's ``StatevectorEstimator`` on one broadcast PUB.

The PUB: ``efficient_su2(n, reps)`` (RY/RZ layers and a CX chain), a Pauli sum of ``n`` ZZ
terms and ``n`` X terms, and ``sets`` parameter sets drawn with a fixed seed. Both estimators
get the same PUB in the same process; the table gives medians of ``--repeats`` timed runs after
one warm-up, the ratio, and the largest difference of the values.

    python benchmarks/qiskit_primitives.py                      # 12 qubits, 1024 sets
    python benchmarks/qiskit_primitives.py --qubits 8 --sets 64 --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def _pub(n: int, reps: int, sets: int):
    from qiskit.circuit.library import efficient_su2
    from qiskit.quantum_info import SparsePauliOp

    qc = efficient_su2(n, reps=reps, entanglement="linear")
    terms = [("ZZ", [i, i + 1], 1.0) for i in range(n - 1)] + [("X", [i], 0.5) for i in range(n)]
    observable = SparsePauliOp.from_sparse_list(terms, num_qubits=n)
    values = np.random.default_rng(1234).uniform(-np.pi, np.pi, size=(sets, qc.num_parameters))
    return qc, observable, values


def _time(estimator, pub, repeats: int) -> tuple[float, np.ndarray]:
    evs = estimator.run([pub]).result()[0].data.evs  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        estimator.run([pub]).result()
        times.append(time.perf_counter() - start)
    return statistics.median(times), evs


def main() -> None:
    from qiskit.primitives import StatevectorEstimator

    from hybridq.plugins.qiskit import EstimatorV2

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=12)
    parser.add_argument("--reps", type=int, default=3, help="layers of efficient_su2")
    parser.add_argument("--sets", type=int, default=1024, help="parameter sets in the PUB")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per estimator")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pub = _pub(args.qubits, args.reps, args.sets)
    ours, ours_evs = _time(EstimatorV2(), pub, args.repeats)
    ref, ref_evs = _time(StatevectorEstimator(), pub, args.repeats)
    print(f"PUB: efficient_su2({args.qubits}, reps={args.reps}), {pub[0].num_parameters} parameters, "
          f"{args.sets} parameter sets, {len(pub[1])} Pauli terms; torch threads {torch.get_num_threads()}")
    print("| estimator | median s | x hybridq |")
    print("|---|---|---|")
    print(f"| hybridq EstimatorV2 | {ours:.4f} | 1.00 |")
    print(f"| qiskit StatevectorEstimator | {ref:.4f} | {ref / ours:.1f} |")
    print(f"max |difference| of the values: {np.abs(ours_evs - ref_evs).max():.2e}")


if __name__ == "__main__":
    main()
