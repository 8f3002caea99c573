"""The ``hybridq`` command.

``hybridq train`` trains a hybrid classifier with a quantized head on the bundled digits;
``hybridq estimate`` estimates a molecular ground-state energy with measurement-efficient methods;
``hybridq vqe`` finds a molecule's ground-state energy with UCCSD-VQE (exact, or with shots);
``hybridq bench`` runs the benchmark suite of a source checkout;
``hybridq demo`` runs all of it, light: a bundled example circuit (probabilities and expectation
values), then ``train`` and ``estimate``; ``hybridq info`` prints versions, devices, backends and
which kernels are active. A user's mistake (an unknown molecule, an unavailable device, a bad
number) ends with a one-line message and exit status 2, never a traceback; ``--quiet`` (or the
environment variable ``HYBRIDQ_PROGRESS=0``) switches progress bars off.

>>> main(["info"])  # doctest: +ELLIPSIS
hybridq ...
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
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
    """The main job, light: the example circuit, then ``train`` and ``estimate`` with small settings,
    and two lines on what they showed."""
    import json
    from pathlib import Path

    show_circuit(args)
    common = ["--out", args.out] + (["--quick"] if args.quick else [])
    print("\n== Hybrid classifier ==")
    status = main(["train", "--device", args.device, "--layers", "6", "--epochs", "8", *common])
    print("\n== Hamiltonian estimation ==")
    status = status or main(["estimate", "--trials", "6", "--max-shots", "100000", *common])
    if status:
        return status
    out = Path(args.out)
    trained = json.loads((out / "digits_training.json").read_text())
    estimated = json.loads(next(out.glob("*_estimate.json")).read_text())
    shadows, best = estimated["variances"]["shadows"], estimated["variances"][estimated["method"]]
    print(f"\nShown: a 3-qubit hybrid classifier with a {trained['bits']}-bit head learns 8 digit classes to "
          f"{trained['test_accuracy']:.0%} test accuracy (chance 12.5%), its integer-only head agreeing.")
    print(f"Shown: {estimated['molecule']}'s ground-state energy to chemical accuracy ({1e3 * estimated['error']:+.2f} mHa "
          f"from {estimated['shots']:,} shots), errors falling as 1/sqrt(N) at {shadows / best:.0f}x fewer shots "
          "than classical shadows.")
    return 0


def show_circuit(args) -> None:
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


class _LogProbs(torch.nn.Module):
    """Class probabilities -> log-probabilities, the input of a classical head."""

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return p.clamp_min(1e-6).log()


def digits_model(layers: int, bits: int) -> torch.nn.Sequential:
    """Hamiltonian embedding of 8x8 digits on 3 qubits, then a ``bits``-bit quantized head."""
    from .nn import HamiltonianEmbeddingClassifier, QuantLinear

    return torch.nn.Sequential(HamiltonianEmbeddingClassifier(3, layers=layers, n_classes=8), _LogProbs(),
                               QuantLinear(8, 8, weight_bits=bits))


def train(args) -> int:
    import json
    from pathlib import Path

    from .datasets import load_digits
    from .nn import to_integer
    from .plotting import plot_curves
    from .training import accuracy, train_classifier

    torch.manual_seed(args.seed)
    layers, epochs = (3, 2) if args.quick else (args.layers, args.epochs)
    x_tr, y_tr, x_te, y_te = (t.to(args.device) for t in load_digits(classes=8, seed=args.seed))
    model = digits_model(layers, args.bits).to(args.device)
    print(f"Training on digits 0-7 ({len(y_tr)} train / {len(y_te)} test images, 3 qubits, {layers} layers, "
          f"{args.bits}-bit head) for {epochs} epochs on {args.device}")
    history = train_classifier(model, x_tr, y_tr, x_te, y_te, epochs=epochs, lr=args.lr, batch=100)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "digits_model.pt")
    plot_curves({"train loss": history.losses, "test accuracy": history.test_accuracy}, out / "digits_training.png",
                title=f"digits 0-7: Hamiltonian embedding, {layers} layers, {args.bits}-bit head")
    integer_acc = accuracy(torch.nn.Sequential(*model[:-1], to_integer(model[-1].cpu()).to(args.device)), x_te, y_te) \
        if args.device == "cpu" else None
    result = {"test_accuracy": history.test_accuracy[-1], "integer_head_test_accuracy": integer_acc,
              "seconds_per_epoch": history.seconds_per_epoch, "epochs": epochs, "layers": layers, "bits": args.bits}
    (out / "digits_training.json").write_text(json.dumps(result, indent=2))
    print(f"test accuracy {result['test_accuracy']:.3f}"
          + (f" (int8 head: {integer_acc:.3f})" if integer_acc is not None else "")
          + f"; {history.seconds_per_epoch:.2f} s/epoch; model, curves and results in {out}/")
    return 0


def estimate(args) -> int:
    """Estimate a molecule's ground-state energy: compare methods, then one run to chemical accuracy."""
    import json
    import math
    from pathlib import Path

    import numpy as np

    from . import estimators
    from .operators import PauliSum
    from .plotting import plot_error_vs_shots
    from .sim import ground_state

    methods = {key: getattr(estimators, cls) for key, cls in METHODS.items()}
    name = "H2" if args.quick and args.molecule == "H2O" else args.molecule
    hamiltonian = PauliSum.from_molecule(name)
    exact, state = ground_state(hamiltonian)
    print(f"{name}: {hamiltonian.n_qubits} qubits, {len(hamiltonian)} terms; exact ground-state energy {exact:.6f} Ha")
    print(f"\n{'method':<18} {'single-shot variance':>21} {'shots to 1.6 mHa':>18}")
    fitted = {}
    for key, cls in methods.items():
        est = cls(hamiltonian).fit()
        var = est.variance(state)
        fitted[key] = (est, var)
        print(f"{key:<18} {var:>21.4g} {est.shots_to_accuracy(state):>18.3g}")
    top = 10**4 if args.quick else args.max_shots
    grid = [int(n) for n in np.unique(np.logspace(2, math.log10(top), 1 + round(math.log10(top / 100)) * 2).round())]
    trials = 4 if args.quick else args.trials
    measured, analytic = {}, {}
    for key in ("derandomized-dd", "lbcs", "shadows"):
        est, var = fitted[key]
        rms = [math.sqrt(np.mean([(est.run(state, n, seed=args.seed + 1000 * t + i).value - exact) ** 2
                                  for t in range(trials)])) for i, n in enumerate(grid)]
        measured[key] = (grid, rms)
        analytic[key] = (grid, [math.sqrt(var / n) for n in grid])
    est, var = fitted[args.method]
    shots = args.shots or int(math.ceil(4 * var / estimators.CHEMICAL_ACCURACY**2))
    result = est.run(state, shots, seed=args.seed)
    error = result.value - exact
    print(f"\n{args.method}: E = {result.value:.6f} +- {result.stderr:.6f} Ha from {result.shots:,} shots "
          f"(error {1e3 * error:+.3f} mHa; chemical accuracy is 1.6 mHa)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_error_vs_shots(measured, out / f"{name}_error_vs_shots.png",
                        title=f"{name} ground state: error against shots", analytic=analytic,
                        target=estimators.CHEMICAL_ACCURACY, measured_label=f"RMS error of {trials} runs",
                        analytic_label="sqrt(Var1 / N)")
    (out / f"{name}_estimate.json").write_text(json.dumps(
        {"molecule": name, "exact": exact, "method": args.method, "value": result.value, "stderr": result.stderr,
         "shots": result.shots, "error": error, "trials": trials,
         "rms_error": {k: dict(zip(map(str, g), e)) for k, (g, e) in measured.items()},
         "variances": {k: v for k, (_, v) in fitted.items()}}, indent=2))
    print(f"plot and results in {out}/")
    return 0


def vqe(args) -> int:
    """UCCSD-VQE of a molecule (shipped name or .xyz file), exact or with shots; resumable."""
    import json
    from pathlib import Path

    from . import estimators
    from .chem import VQE, Molecule, hardware_efficient, uccsd

    options = dict(charge=args.charge, multiplicity=args.multiplicity, frozen_core=args.frozen_core)
    if args.basis:
        options["basis"] = args.basis
    if args.active:
        options.update(active_electrons=args.active[0], active_orbitals=args.active[1])
    source = Path(args.molecule)
    mol = Molecule.from_file(source, **options) if source.suffix == ".xyz" else Molecule.from_name(args.molecule, **options)
    hamiltonian = mol.hamiltonian(args.encoding)
    ansatz = uccsd(mol, args.encoding) if args.ansatz == "uccsd" else hardware_efficient(mol, args.layers, args.encoding)
    estimator = None if args.estimator is None else getattr(estimators, METHODS[args.estimator])(hamiltonian)
    print(f"{mol.formula} ({mol.basis}, {mol.n_active_electrons} electrons in {mol.n_active_orbitals} orbitals): "
          f"{hamiltonian.n_qubits} qubits, {len(hamiltonian)} terms, {args.ansatz} with {len(ansatz.weight_names)} weights; "
          f"HF {mol.e_hf:.6f} Ha" + (f", FCI {mol.e_fci:.6f} Ha" if mol.e_fci is not None else ""))
    solver = VQE(hamiltonian, ansatz, estimator=estimator, precision=args.precision, seed=args.seed,
                 reference=mol.e_fci,
                 optimizer="newton" if estimator else "lbfgs" if args.ansatz == "uccsd" else "adam")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{mol.formula}_vqe"
    if args.resume and stem.with_suffix(".pt").exists():
        solver.load(stem.with_suffix(".pt"))
        print(f"resumed from {stem.with_suffix('.pt')} after {len(solver.history)} iterations")
    result = solver.run(args.maxiter)
    solver.save(stem.with_suffix(".pt"))
    solver.plot(stem.with_suffix(".png"), title=f"{mol.formula} {args.ansatz}-VQE")
    error = None if mol.e_fci is None else result.exact_energy - mol.e_fci
    print(f"E = {result.energy:.6f} Ha after {result.iterations} iterations ({result.seconds:.1f} s"
          + (f", {result.total_shots:,} shots" if estimator else "") + ")"
          + ("" if error is None else f"; exact E(w) - FCI = {1e3 * error:+.4f} mHa"))
    (stem.with_suffix(".json")).write_text(json.dumps({
        "molecule": mol.formula, "qubits": hamiltonian.n_qubits, "energy": result.energy,
        "exact_energy": result.exact_energy, "e_hf": mol.e_hf, "e_fci": mol.e_fci, "iterations": result.iterations,
        "total_shots": result.total_shots, "seconds": result.seconds}, indent=2))
    print(f"state, plot and results in {out}/")
    return 0


def bench(args) -> int:
    """Run ``benchmarks/run.py`` of a source checkout (here or beside the package) with the given options."""
    import subprocess
    from pathlib import Path

    candidates = [Path.cwd() / "benchmarks" / "run.py", Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"]
    script = next((p for p in candidates if p.is_file()), None)
    if script is None:
        print("error: the benchmark suite ships with the source repository (benchmarks/run.py); "
              "run `hybridq bench` from a clone of it", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, str(script), *args.options])


def info(args) -> int:
    from . import __version__
    from .errors import DISTRIBUTION

    print(f"hybridq {__version__} (distribution {DISTRIBUTION})")
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}")
    cuda = torch.cuda.is_available()
    devices = ["cpu"] + ([torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [])
    print(f"devices: {', '.join(devices)}")
    from .sim import fused, native

    print(f"CPU kernels: {native.status()}")
    if cuda:
        print(f"GPU kernels: {'Triton fused' if fused.available(torch.device('cuda')) else 'PyTorch only (no Triton)'}")
    for pkg in ["qiskit", "qiskit-aer", "qiskit-ibm-runtime", "pennylane", "cirq-core", "openfermion", "pyscf"]:
        print(f"  {pkg:<20} {_version(pkg) or 'not installed'}")
    return 0


def _version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return ""


METHODS = {
    "clifford-grouping": "CliffordGrouping",
    "derandomized-dd": "DerandomizedDecisionDiagram",
    "decision-diagram": "DecisionDiagram",
    "lbcs": "LocallyBiasedShadows",
    "grouping": "Grouping",
    "shadows": "ClassicalShadows",
}


def count_argument(text: str) -> int:
    """A positive whole number, written ``1000``, ``1e6`` or ``1_000``."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        value = float("nan")
    if not (value >= 1 and value.is_integer()):
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(value)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _device(text: str) -> str:
    """A torch device the engine runs on: ``cpu``, or ``cuda`` / ``cuda:N`` when a GPU is there."""
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a torch device; use cpu or cuda") from None
    if device.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"hybridq runs on cpu or cuda, not {device.type!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r} was requested but no CUDA GPU is available; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{text!r}: there are {torch.cuda.device_count()} CUDA GPU(s)")
    return text


def _molecule(text: str) -> str:
    from .operators import available_molecules

    known = available_molecules()
    if text not in known:
        raise argparse.ArgumentTypeError(f"unknown molecule {text!r}; shipped: {', '.join(known)}")
    return text


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .errors import DISTRIBUTION

    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="no progress bars (as HYBRIDQ_PROGRESS=0)")
    parser = argparse.ArgumentParser(prog="hybridq", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version",
                        version=f"hybridq {__version__} (distribution {DISTRIBUTION}; torch {torch.__version__})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars (as HYBRIDQ_PROGRESS=0)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", parents=[quiet], help="the main job, light: an example circuit, `train` and `estimate`")
    p.add_argument("--quick", action="store_true", help="smallest settings")
    p.add_argument("--device", type=_device, default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--out", default="hybridq_output", help="folder for models, plots and results")
    p.set_defaults(func=demo)
    p = sub.add_parser("train", parents=[quiet], help="train a hybrid classifier with a quantized head on the bundled digits")
    p.add_argument("--layers", type=count_argument, default=15, help="Hamiltonian-embedding layers (default 15)")
    p.add_argument("--epochs", type=count_argument, default=40, help="training epochs (default 40)")
    p.add_argument("--bits", type=int, default=4, choices=range(2, 9), metavar="{2..8}",
                   help="weight bits of the classical head (default 4)")
    p.add_argument("--lr", type=_positive, default=0.05, help="Adam learning rate (default 0.05)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", type=_device, default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--out", default="hybridq_output", help="folder for the model, plot and results")
    p.add_argument("--quick", action="store_true", help="smallest settings (used in CI)")
    p.set_defaults(func=train)
    p = sub.add_parser("estimate", parents=[quiet],
                       help="estimate a molecular ground-state energy with measurement-efficient methods")
    p.add_argument("--molecule", type=_molecule, default="H2O",
                   help="shipped molecule name (default H2O; see hybridq.operators.available_molecules)")
    p.add_argument("--method", default="derandomized-dd", choices=list(METHODS),
                   help="method of the final estimate (default derandomized-dd)")
    p.add_argument("--shots", type=count_argument, default=None,
                   help="shots of the final estimate (default: enough for 2 sigma <= 1.6 mHa)")
    p.add_argument("--trials", type=count_argument, default=10, help="repetitions per point of the error-vs-shots plot (default 10)")
    p.add_argument("--max-shots", type=count_argument, default=10**6, help="largest shot count of the plot (default 1e6)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="hybridq_output", help="folder for the plot and results")
    p.add_argument("--quick", action="store_true", help="H2 instead of H2O, fewer shots (used in CI)")
    p.set_defaults(func=estimate)
    p = sub.add_parser("vqe", help="a molecule's ground-state energy by UCCSD-VQE (exact, or with shots)")
    p.add_argument("--molecule", default="H2", help="shipped name (H2, LiH, BeH2, H2O, NH3) or an .xyz file (default H2)")
    p.add_argument("--basis", default=None, help="Gaussian basis (default: the shipped one, STO-3G)")
    p.add_argument("--charge", type=int, default=0)
    p.add_argument("--multiplicity", type=int, default=1, help="2S + 1 (default 1)")
    p.add_argument("--active", type=int, nargs=2, metavar=("ELECTRONS", "ORBITALS"), help="active space")
    p.add_argument("--frozen-core", action="store_true", help="freeze the atoms' inner shells")
    p.add_argument("--encoding", default="jordan-wigner", choices=["jordan-wigner", "parity", "bravyi-kitaev"])
    p.add_argument("--ansatz", default="uccsd", choices=["uccsd", "hardware-efficient"])
    p.add_argument("--layers", type=int, default=2, help="hardware-efficient layers (default 2)")
    p.add_argument("--estimator", default=None,
                   choices=list(METHODS),
                   help="measure every energy with shots by this method, diagonal Newton steps from the "
                        "shift rule (default: exact energies, L-BFGS)")
    p.add_argument("--precision", type=float, default=1e-3, help="with shots: standard error per energy (Ha)")
    p.add_argument("--maxiter", type=int, default=200, help="optimiser iterations (default 200)")
    p.add_argument("--resume", action="store_true", help="continue from the state saved in --out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="hybridq_output", help="folder for the state, plot and results")
    p.set_defaults(func=vqe)
    p = sub.add_parser("bench", help="run the benchmark suite against the peer libraries (from a source checkout)")
    p.add_argument("options", nargs=argparse.REMAINDER, help="options for benchmarks/run.py, e.g. --quick --only W3")
    p.set_defaults(func=bench)
    p = sub.add_parser("info", parents=[quiet], help="versions, devices, installed backends and active kernels")
    p.set_defaults(func=info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``hybridq`` command on ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    A mistake in the input (HybridqError, an unwritable folder) prints ``error: ...`` and
    returns 2; so do bad options (argparse's usage message).
    """
    from .errors import HybridqError
    from .progress import SWITCH

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (argparse printed why)
        return int(exc.code or 0)
    if args.quiet:
        os.environ[SWITCH] = "0"
    try:
        return args.func(args)
    except (HybridqError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
