"""Bias and error-bar calibration of CliffordGrouping at many shots, on exact ground states.

For each molecule (JW benchmark set): ``--repeats`` independent estimates of ``--shots`` shots
each; prints the mean error with its standard error (the bias bound), the fraction of 95%
intervals ``value +- 1.96 stderr`` that contain the exact energy, and ``shots * Var(E)`` next
to the exact ``Var_1``.

Usage::

    python benchmarks/estimators/calibration.py [--molecules LiH_STO-3G ...] [--shots 1000000] [--repeats 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hybridq.estimators import CliffordGrouping
from hybridq.operators import PauliSum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--molecules", nargs="*", default=["LiH_STO-3G", "BeH2_STO-3G", "H2O_STO-3G", "NH3_STO-3G"])
    parser.add_argument("--shots", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("| Hamiltonian | Var1 | shots | repeats | mean error (mHa) | its stderr (mHa) | 95% coverage | "
          "shots Var(E) | fit s |")
    print("|---" * 9 + "|")
    for molecule in args.molecules:
        H = PauliSum.from_molecule(molecule)
        _, psi = H.ground_state()
        start = time.process_time()
        est = CliffordGrouping(H).fit()
        fit_s = time.process_time() - start
        exact, var1 = est.exact(psi), est.variance(psi)
        rng = np.random.default_rng(args.seed)
        results = [est.run(psi, args.shots, seed=rng) for _ in range(args.repeats)]
        errors = np.array([r.value - exact for r in results])
        stderrs = np.array([r.stderr for r in results])
        covered = np.mean(np.abs(errors) < 1.96 * stderrs)
        print(f"| {molecule} | {var1:.3g} | {args.shots:.0e} | {args.repeats} | {1e3 * errors.mean():+.4f} | "
              f"{1e3 * errors.std() / np.sqrt(len(errors)):.4f} | {covered:.3f} | {args.shots * errors.var():.3g} | "
              f"{fit_s:.1f} (CPU) |", flush=True)


if __name__ == "__main__":
    main()
