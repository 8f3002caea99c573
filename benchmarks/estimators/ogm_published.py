"""OGM with its authors' published settings, beside hybridq's re-run of their procedure.

Wu et al. (Quantum 7, 896) published OGM's settings and probabilities; ShadowGrouping's
repository (gitlab GreschAI/shadowgrouping, ``OGM_probabilities/OGM_<molecule>_<n><mapping>.txt``:
the first ``n`` rows are the settings as columns, codes I=0 X=1 Y=2 Z=3, the last row the
probabilities) ships them, and its Table I measured them: every shot draws a setting, each term
is averaged over the shots that measured it, unmeasured terms are left out. This script does
the same with those files (``--settings DIR``, not shipped with hybridq) and with
``OverlappedGrouping(estimator="ratio", copies=1000)`` (the authors' cut, re-run here), on the
exact ground states: RMSE after ``--shots`` shots over ``--trials`` repetitions.

Usage::

    python benchmarks/estimators/ogm_published.py --settings OGM_probabilities [--seeds 1 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hybridq.estimators import OverlappedGrouping
from hybridq.operators import PauliSum
from run import rmse_se  # benchmarks/estimators/run.py, beside this script

FILES = {"LiH_STO-3G": "OGM_LiH_12jw.txt", "BeH2_STO-3G": "OGM_BeH2_14jw.txt", "H2O_STO-3G": "OGM_H2O_14jw.txt",
         "NH3_STO-3G": "OGM_NH3_16jw.txt"}
PUBLISHED = {"LiH_STO-3G": 37, "BeH2_STO-3G": 79, "H2O_STO-3G": 141, "NH3_STO-3G": 171}


def rmse(est, psi, exact: float, shots: int, trials: int, seed: int) -> tuple[float, float]:
    """RMSE (mHa) over ``trials`` runs and its standard error."""
    rng = np.random.default_rng(seed)
    errors = np.array([est.run(psi, shots, seed=rng).value - exact for _ in range(trials)])
    return 1e3 * np.sqrt(np.mean(errors**2)), 1e3 * rmse_se(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", type=Path, required=True, help="folder with the OGM_*jw.txt files")
    parser.add_argument("--molecules", nargs="*", default=list(FILES))
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1])
    args = parser.parse_args()
    print("| molecule | settings | settings (kept) | unmeasured terms | Var1 (measured terms) | RMSE (mHa) per seed | "
          "published |")
    print("|---" * 7 + "|")
    for molecule in args.molecules:
        H = PauliSum.from_molecule(molecule)
        exact, psi = H.ground_state()
        data = np.loadtxt(args.settings / FILES[molecule])
        ests = {"published": OverlappedGrouping.with_settings(H, data[:-1].T.astype(np.uint8), data[-1] / data[-1].sum()),
                "copies=1000": OverlappedGrouping(H, estimator="ratio", copies=1000).fit()}
        for label, est in ests.items():
            missed = int((est.coverage(est.terms.codes) == 0).sum())
            cells = ", ".join("%.0f +- %.0f" % rmse(est, psi, exact, args.shots, args.trials, s) for s in args.seeds)
            print(f"| {molecule} | {label} | {len(est.settings)} | {missed} of {len(est.terms)} | "
                  f"{est.variance(psi):.3g} | {cells} | {PUBLISHED[molecule]} |", flush=True)


if __name__ == "__main__":
    main()
