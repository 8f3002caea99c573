"""CSHOREBench-style benchmark of the measurement methods in :mod:`hybridq.estimators`.

For molecular Hamiltonians (the LBCS / decision-diagram literature set: H2 4 and 8 qubits,
LiH, BeH2, H2O, NH3; Jordan-Wigner, parity and Bravyi-Kitaev) and three states (Hartree-Fock,
exact ground state up to 14 qubits, a random fixed-depth hardware-efficient ansatz state), it
reports for every method:

* the analytic number of shots to chemical accuracy, ``Var_1 / (1.6 mHa)**2`` (exact
  single-shot variance, no sampling);
* the classical cost: time to propose the measurements (``fit``) and to post-process shots;
* the empirical RMSE against the exact energy versus shots (repeated trials; states on at
  most ``--empirical-qubits`` qubits), printed and plotted with the analytic ``sqrt(Var_1/N)``.

Usage::

    python benchmarks/estimators/run.py [--quick] [--out error_vs_shots.png]
    python benchmarks/estimators/run.py --tables a.json b.json   # the tables of earlier runs, merged

Tables are printed as markdown; the raw numbers go to ``<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hybridq import sim
from hybridq.estimators import (
    CHEMICAL_ACCURACY,
    AdaptivePauliShadows,
    ClassicalShadows,
    CliffordGrouping,
    DecisionDiagram,
    Derandomized,
    DerandomizedDecisionDiagram,
    Grouping,
    LocallyBiasedShadows,
    OverlappedGrouping,
    PauliTerms,
    ScheduleEstimator,
    ShadowGrouping,
    measure_bases,
)
from hybridq.operators import PauliSum
from hybridq.operators.molecules import molecule_info

MOLECULES = ["H2_STO-3G", "H2_6-31G", "LiH_STO-3G", "BeH2_STO-3G", "H2O_STO-3G", "NH3_STO-3G"]
ENCODINGS = {"jw": "jordan-wigner", "parity": "parity", "bk": "bravyi-kitaev"}
METHODS = {
    "CS": lambda t: ClassicalShadows(t),
    "CS-MoM": lambda t: ClassicalShadows(t, batches=10),
    "LBCS": lambda t: LocallyBiasedShadows(t),
    "APS": lambda t: AdaptivePauliShadows(t, pool=2000),
    "Derand": lambda t: Derandomized(t, n_bases=1000),
    "DD": lambda t: DecisionDiagram(t),
    "DD-ratio": lambda t: DecisionDiagram(t, estimator="ratio"),
    "DerandDD": lambda t: DerandomizedDecisionDiagram(t, n_bases=1000),
    "QWC-LDF": lambda t: Grouping(t, strategy="largest-degree-first"),
    "QWC-SI": lambda t: Grouping(t, strategy="sorted-insertion"),
    "QWC-SI-var": lambda t: Grouping(t, strategy="sorted-insertion", allocation="variance"),
    "ShadowGrouping": lambda t: ShadowGrouping(t, n_bases=1000),
    "OGM": lambda t: OverlappedGrouping(t),
    "OGM-ratio": lambda t: OverlappedGrouping(t, estimator="ratio"),
    "OGM-cut": lambda t: OverlappedGrouping(t, estimator="ratio", copies=1000),
    "Clifford": lambda t: CliffordGrouping(t),
}
ANALYTIC = [m for m in METHODS if m != "CS-MoM"]  # MoM's variance is CS's (asymptotically x pi/2)
NOTES = """Notes: importance-weighted estimators (CS, LBCS, DD) are exact; hit-count ones (-ratio,
Derand, DerandDD, QWC) are exact for the schedule / asymptotic in the shots; APS is exact for a
pool of 2000 sampled bases (terms the pool misses are left out, so it is optimistic);
ShadowGrouping is exact for its 1000-basis schedule repeated. OGM-cut is OGM as its authors ran it
(their cut of the settings for 1000 copies; hit counts; the terms it leaves unmeasured are a bias
that Var1 leaves out). Clifford (CliffordGrouping) measures
commuting groups through Clifford circuits, fitted on the lowest-diagonal basis state (the
Hartree-Fock determinant), never on the state measured."""


@dataclass
class Problem:
    molecule: str
    encoding: str
    terms: PauliTerms
    states: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.molecule.split('_')[0]}-{self.terms.n_qubits}q-{self.encoding}"


def hartree_fock(molecule: str, encoding: str, n: int) -> np.ndarray:
    psi = np.zeros(2**n)
    psi[int(molecule_info(molecule, encoding=ENCODINGS[encoding]).hf_bitstring, 2)] = 1.0
    return psi


def ground_state(hamiltonian: PauliSum) -> np.ndarray:
    return hamiltonian.ground_state()[1]


def random_ansatz_state(n: int, depth: int, seed: int) -> np.ndarray:
    """Hardware-efficient ansatz: ``depth`` layers of RY, RZ on every qubit and a CNOT ladder,
    random angles; simulated with hybridq.sim."""
    rng = np.random.default_rng(seed)
    state = sim.zero_state(n, dtype=torch.complex128)
    for _ in range(depth):
        for q in range(n):
            state = sim.apply_gate(state, "RY", [q], float(rng.uniform(0, 2 * np.pi)))
            state = sim.apply_gate(state, "RZ", [q], float(rng.uniform(0, 2 * np.pi)))
        for q in range(n - 1):
            state = sim.apply_gate(state, "CNOT", [q, q + 1])
    return state[0].numpy()


def load(molecule: str, encoding: str, *, max_ground: int, depth: int, seed: int, states: list[str]) -> Problem:
    H = PauliSum.from_molecule(molecule, encoding=ENCODINGS[encoding])
    problem = Problem(molecule, encoding, PauliTerms.from_operator(H))
    n = H.n_qubits
    if "HF" in states:
        problem.states["HF"] = hartree_fock(molecule, encoding, n)
    if "ground" in states and n <= max_ground:
        problem.states["ground"] = ground_state(H)
    if "HEA" in states:
        problem.states["HEA"] = random_ansatz_state(n, depth, seed)
    return problem


def timed(fn):
    """``fn()`` and the CPU seconds it took (this process; steadier than wall time on a shared machine)."""
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def post_seconds(est, psi: np.ndarray, shots: int, seed: int) -> float:
    """CPU seconds to post-process ``shots`` measured shots (measurement not timed)."""
    if isinstance(est, CliffordGrouping):
        rows = est.measure(psi, shots, seed=seed)
        return timed(lambda: est.estimate(*rows))[1]
    bases = est.bases(shots, seed)
    outcomes = measure_bases(psi, bases, torch.Generator().manual_seed(seed))
    return timed(lambda: est.estimate(bases, outcomes))[1]


def empirical(est, psi: np.ndarray, exact: float, shots: int, trials: int, seed: int) -> dict:
    """RMSE over ``trials`` estimates of ``shots`` shots, and the classical time per shot."""
    if isinstance(est, CliffordGrouping):  # settings are groups (Clifford circuits), not Pauli bases
        rng = np.random.default_rng(seed)
        data = [est.measure(psi, shots, seed=rng) for _ in range(trials)]
        results, t_post = timed(lambda: [est.estimate(*d) for d in data])
        errors = np.array([r.value - exact for r in results])
        return {"rmse": float(np.sqrt(np.mean(errors**2))), "rmse_se": rmse_se(errors), "bias": float(errors.mean()),
                "propose_us_per_shot": 0.0, "post_us_per_shot": 1e6 * t_post / (shots * trials)}
    if isinstance(est, ScheduleEstimator):
        bases, t_bases = timed(lambda: np.tile(est.bases(shots, seed), (trials, 1)))
    else:
        bases, t_bases = timed(lambda: est.bases(shots * trials, seed))
    outcomes = measure_bases(psi, bases, torch.Generator().manual_seed(seed))
    errors, t_post = [], 0.0
    for k in range(trials):
        part = slice(k * shots, (k + 1) * shots)
        res, dt = timed(lambda: est.estimate(bases[part], outcomes[part]))
        errors.append(res.value - exact)
        t_post += dt
    errors = np.array(errors)
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))), "rmse_se": rmse_se(errors), "bias": float(errors.mean()),
        "propose_us_per_shot": 1e6 * t_bases / (shots * trials), "post_us_per_shot": 1e6 * t_post / (shots * trials),
    }


def rmse_se(errors: np.ndarray) -> float:
    """Standard error of the RMSE over the trials (delta method on the mean squared error)."""
    squares = errors**2
    return float(squares.std(ddof=1) / (2 * np.sqrt(squares.mean()) * np.sqrt(len(squares))))


def run_problem(problem: Problem, args) -> dict:
    out: dict = {"label": problem.label, "n_qubits": problem.terms.n_qubits, "terms": len(problem.terms) + 1,
                 "fit_s": {}, "shots": {}, "empirical": {}, "post_s_per_1e6": {}}
    estimators = {}
    for name in args.methods:
        est, dt = timed(lambda: METHODS[name](problem.terms).fit())
        estimators[name], out["fit_s"][name] = est, dt
        print(f"  fit {name:9s} {dt:7.2f} s", flush=True)
    for state, psi in problem.states.items():
        exact = next(iter(estimators.values())).exact(psi)
        out["shots"][state] = {"energy": exact}
        for name in estimators:
            if name in ANALYTIC:
                out["shots"][state][name] = estimators[name].variance(psi) / CHEMICAL_ACCURACY**2
        if problem.terms.n_qubits <= args.empirical_qubits and state == args.empirical_state:
            grid = {}
            for shots in args.shots:
                grid[shots] = {name: empirical(est, psi, exact, shots, args.trials, args.seed)
                               for name, est in estimators.items() if name in args.empirical_methods}
                print(f"  {state} {shots} shots done", flush=True)
            out["empirical"][state] = grid
            if args.post_shots:
                out["post_s_per_1e6"] = {name: post_seconds(estimators[name], psi, args.post_shots, args.seed)
                                         * 1e6 / args.post_shots for name in args.empirical_methods}
    return out


def fmt(x: float) -> str:
    return f"{x:.2e}" if x >= 1e4 or x < 1e-2 else f"{x:.3g}"


def print_tables(results: list[dict]) -> None:
    methods = list(results[0]["fit_s"])
    analytic = [m for m in methods if m in ANALYTIC]
    print("\n## Shots to chemical accuracy (1.6 mHa), analytic\n")
    print("| Hamiltonian | terms | state | " + " | ".join(analytic) + " |")
    print("|---" * (len(analytic) + 3) + "|")
    for r in results:
        for state, row in r["shots"].items():
            best = min(row[m] for m in analytic)
            cells = [f"**{fmt(row[m])}**" if row[m] == best else fmt(row[m]) for m in analytic]
            print(f"| {r['label']} | {r['terms']} | {state} | " + " | ".join(cells) + " |")
    print("\n" + NOTES)
    print("\n## Classical cost: time to propose (fit), seconds\n")
    print("| Hamiltonian | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    for r in results:
        print(f"| {r['label']} | " + " | ".join(f"{r['fit_s'][m]:.3f}" for m in methods) + " |")
    rows = [(r, s, shots, grid) for r in results for s, per in r["empirical"].items() for shots, grid in per.items()]
    if not rows:
        return
    methods = [m for m in methods if m in rows[0][3]]
    print("\n## Empirical RMSE (mHa) vs shots; post-processing time (us/shot) at the largest shot count\n")
    print("| Hamiltonian | state | shots | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 3) + "|")
    for r, state, shots, grid in rows:
        cells = " | ".join(f"{1e3 * grid[m]['rmse']:.3g}" for m in methods)
        print(f"| {r['label']} | {state} | {shots} | {cells} |")
    for r, state, shots, grid in rows:
        if shots == max(r["empirical"][state]):
            print(f"| {r['label']} | {state} | post us/shot | "
                  + " | ".join(f"{grid[m]['post_us_per_shot']:.3g}" for m in methods) + " |")
    print_method_table(results)


def print_method_table(results: list[dict]) -> None:
    """One row per Hamiltonian and method (ShadowGrouping's Table I plus Var1 and costs)."""
    print("\n## Per method: Var1 (Ha^2), shots to 1.6 mHa, RMSE (mHa, +- its standard error) over the trials, "
          "fit (CPU s), post-processing (CPU s per 1e6 shots)\n")
    print("| Hamiltonian | state | method | Var1 | shots to 1.6 mHa | RMSE at N shots | N RMSE^2 | fit s | post s/1e6 |")
    print("|---" * 9 + "|")
    for r in results:
        for state, per in r["empirical"].items():
            shots = min(per)
            for m in r["fit_s"]:
                cell = per[shots].get(m)
                shots_needed = r["shots"][state].get(m)
                var1 = f"{shots_needed * CHEMICAL_ACCURACY**2:.3g}" if shots_needed is not None else "-"
                needed = fmt(shots_needed) if shots_needed is not None else "-"
                rmse = f"{1e3 * cell['rmse']:.3g} +- {1e3 * cell['rmse_se']:.2g} (N={shots})" if cell else "-"
                spread = f"{shots * cell['rmse']**2:.3g}" if cell else "-"
                post = r["post_s_per_1e6"].get(m)
                print(f"| {r['label']} | {state} | {m} | {var1} | {needed} | {rmse} | {spread} | {r['fit_s'][m]:.2f} | "
                      f"{'-' if post is None else f'{post:.3g}'} |")


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(r, s, per) for r in results for s, per in r["empirical"].items()]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), squeeze=False)
    methods = list(results[0]["fit_s"])
    colors = dict(zip(methods, plt.cm.tab20.colors))
    for ax, (r, state, per) in zip(axes[0], panels):
        shots = np.array(sorted(per))
        for name in (m for m in methods if m in per[shots[0]]):
            ax.loglog(shots, [1e3 * per[s][name]["rmse"] for s in shots], "o-", color=colors[name], label=name)
            if name in ANALYTIC:
                var = r["shots"][state][name] * CHEMICAL_ACCURACY**2
                ax.loglog(shots, 1e3 * np.sqrt(var / shots), ":", color=colors[name])
        ax.axhline(1.6, color="k", lw=0.8, ls="--")
        ax.set(title=f"{r['label']} ({state})", xlabel="shots", ylabel="RMSE (mHa)")
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.suptitle("markers: sampled RMSE, dotted: analytic sqrt(Var1/N)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="JW only; H2, LiH, H2O; fewer shots and trials")
    parser.add_argument("--out", type=Path, default=Path("estimators_error_vs_shots.png"), help="plot path")
    parser.add_argument("--molecules", nargs="*", default=None, help=f"subset of {MOLECULES}")
    parser.add_argument("--encodings", nargs="*", default=None, choices=list(ENCODINGS))
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--shots", type=int, nargs="*", default=None)
    parser.add_argument("--empirical-qubits", type=int, default=12, help="largest system for sampled RMSE")
    parser.add_argument("--empirical-state", default="ground", choices=["HF", "ground", "HEA"])
    parser.add_argument("--max-ground-qubits", type=int, default=14)
    parser.add_argument("--states", nargs="*", default=["HF", "ground", "HEA"], choices=["HF", "ground", "HEA"])
    parser.add_argument("--post-shots", type=int, default=0,
                        help="time the post-processing of this many shots per empirical method (0: skip)")
    parser.add_argument("--depth", type=int, default=3, help="layers of the random ansatz")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--empirical-methods", nargs="*", default=list(METHODS), choices=list(METHODS),
                        help="methods whose RMSE is sampled (default all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tables", nargs="*", type=Path, default=None,
                        help="only print the tables of these earlier runs' .json files (merged, in order)")
    args = parser.parse_args()
    if args.tables:
        print_tables([r for path in args.tables for r in json.loads(path.read_text())])
        return
    torch.set_num_threads(args.threads)
    molecules = args.molecules or (["H2_STO-3G", "LiH_STO-3G", "H2O_STO-3G"] if args.quick else MOLECULES)
    encodings = args.encodings or (["jw"] if args.quick else list(ENCODINGS))
    args.trials = args.trials or (10 if args.quick else 30)
    args.shots = args.shots or ([100, 1000, 10000] if args.quick else [100, 1000, 10000, 100000])
    results = []
    for molecule in molecules:
        for encoding in encodings:
            problem = load(molecule, encoding, max_ground=args.max_ground_qubits, depth=args.depth, seed=args.seed,
                           states=args.states)
            print(f"{problem.label}: {len(problem.terms) + 1} terms, states {list(problem.states)}", flush=True)
            results.append(run_problem(problem, args))
    print_tables(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot(results, args.out)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=float))
    print(f"\nplot: {args.out}  data: {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
