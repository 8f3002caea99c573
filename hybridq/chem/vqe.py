"""The variational quantum eigensolver: minimise ``<psi(w)|H|psi(w)>`` over an ansatz's weights.

Exact mode (no ``estimator``): each energy and its gradient come from one simulation by the
adjoint method, in complex128. An ansatz whose weighted part compiles to pair rotations only
(UCCSD: one per excitation) runs them directly (:class:`PairAnsatz`: the plans built once and
handed to the engine, the Hamiltonian a sparse matrix); other ansätze go through :func:`hybridq.simulate`
with ``method="adjoint"`` and :func:`hybridq.sim.expval`. With an ``estimator`` (any of
:mod:`hybridq.estimators`), every energy is measured: shots enough for a standard error of
``precision`` on the current state, gradients by the parameter-shift rule or SPSA, and every
shot counted. The shift rule's energies determine each weight's whole one-dimensional energy
curve (a trigonometric polynomial), so they give the Hessian's diagonal too: ``optimizer="newton"``
steps by ``-gradient / curvature`` per weight, which from Hartree-Fock reaches chemical accuracy
in a few iterations where Adam's normalised steps wander on the weights whose gradient is only
noise.

>>> from hybridq.chem import Molecule, uccsd
>>> h2 = Molecule.from_name("H2")
>>> vqe = VQE(h2.hamiltonian(), uccsd(h2), progress=False)
>>> result = vqe.run()
>>> abs(result.energy - h2.e_fci) < 1e-6
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from hybridq.circuits import Circuit, simulate
from hybridq.circuits.compiled import CompiledCircuit
from hybridq.circuits.expr import bilinear_terms
from hybridq.circuits.expr import Expr
from hybridq.errors import ParameterError, ShapeError, require
from hybridq.operators.pauli_sum import PauliSum
from hybridq.progress import progress as progress_bar
from hybridq.qubit_order import bits_to_index
from hybridq.sim import expval
from hybridq.sim.engine import execute
from hybridq.sim.layers import Layer, Layered, PairRotation

#: States simulated at once when many energies are measured (shift rule): about 64 states' memory.
_STATE_BATCH = 64

#: Newton steps move each weight by at most this (radians): a guard where a measured curvature is
#: near zero or negative.
MAX_NEWTON_STEP = 0.25

Optimizer = Literal["lbfgs", "adam", "newton"]
Gradient = Literal["shift", "spsa"]


@dataclass
class VQEResult:
    """What a run found.

    Attributes:
        energy: the last energy (measured, in shot mode).
        weights: the weights reached, in ``ansatz.weight_names`` order.
        exact_energy: the exact energy of those weights (computed also in shot mode).
        iterations: optimiser iterations done so far (over resumed runs).
        evaluations: energy evaluations (exact mode) or estimates (shot mode).
        total_shots: shots measured (0 in exact mode).
        history: per iteration: ``{"iteration", "energy", "shots"}``.
        seconds: wall time of the run.
    """

    energy: float
    weights: np.ndarray
    exact_energy: float
    iterations: int
    evaluations: int
    total_shots: int
    history: list[dict] = field(repr=False)
    seconds: float


class VQE:
    """Minimise a Pauli sum's expectation over a :class:`~hybridq.circuits.Circuit`'s weights.

    Args:
        hamiltonian: the Hermitian :class:`~hybridq.operators.PauliSum`.
        ansatz: a circuit with named weights and no inputs (e.g. :func:`hybridq.chem.uccsd`).
        optimizer: ``"lbfgs"`` (SciPy's L-BFGS-B; exact mode), ``"adam"`` or ``"newton"`` (shot
            mode with the shift rule: a diagonal Newton step per iteration, each weight's move
            at most :data:`MAX_NEWTON_STEP`). Defaults to L-BFGS in exact mode, Adam with shots.
        lr: Adam's learning rate. Defaults to 0.02.
        estimator: a :mod:`hybridq.estimators` method (fitted here if needed) for shot mode.
            Defaults to None (exact).
        precision: shot mode: target standard error of each energy (Hartree). Defaults to 1e-3.
        gradient: shot mode: ``"shift"`` (parameter shift, exact in expectation) or ``"spsa"``.
            Defaults to shift.
        seed: shot mode: seed of the measurements and SPSA directions. Defaults to 0.
        initial_weights: start; defaults to zeros (the Hartree-Fock state for UCCSD).
        reference: an energy to show the error against (e.g. FCI) in the progress bar and plot.
        progress: show a progress bar. Defaults to True.
    """

    def __init__(self, hamiltonian: PauliSum, ansatz: Circuit, *, optimizer: Optimizer | None = None,
                 lr: float = 0.02, estimator=None, precision: float = 1e-3, gradient: Gradient = "shift",
                 seed: int = 0, initial_weights=None, reference: float | None = None, progress: bool = True):
        if not isinstance(hamiltonian, PauliSum):
            raise ShapeError(f"hamiltonian must be a PauliSum, got {type(hamiltonian).__name__}")
        hamiltonian.require_hermitian()
        if not isinstance(ansatz, Circuit):
            raise ShapeError(f"ansatz must be a hybridq Circuit, got {type(ansatz).__name__}")
        if ansatz.n_qubits != hamiltonian.n_qubits:
            raise ShapeError(f"the ansatz has {ansatz.n_qubits} qubits but the Hamiltonian {hamiltonian.n_qubits}; "
                             f"build both with the same molecule and encoding")
        if ansatz.n_inputs:
            raise ParameterError(f"the ansatz reads {ansatz.n_inputs} input(s); a VQE ansatz has weights only")
        if not ansatz.weight_names:
            raise ParameterError("the ansatz has no weights to optimise")
        optimizer = optimizer or ("lbfgs" if estimator is None else "adam")
        if optimizer not in ("lbfgs", "adam", "newton"):
            raise ParameterError(f"optimizer must be 'lbfgs', 'adam' or 'newton', got {optimizer!r}")
        if optimizer == "lbfgs" and estimator is not None:
            raise ParameterError("L-BFGS needs exact energies; with an estimator use optimizer='adam'")
        if optimizer == "newton" and (estimator is None or gradient != "shift"):
            raise ParameterError("optimizer='newton' measures energies with an estimator and the shift rule "
                                 "(gradient='shift'); without shots use 'lbfgs'")
        if gradient not in ("shift", "spsa"):
            raise ParameterError(f"gradient must be 'shift' or 'spsa', got {gradient!r}")
        if precision <= 0:
            raise ParameterError(f"precision must be a positive energy (Hartree), got {precision}")
        self.hamiltonian, self.ansatz = hamiltonian, ansatz
        self.optimizer, self.lr, self.gradient, self.precision = optimizer, lr, gradient, precision
        self.estimator = estimator.fit() if estimator is not None else None
        self.reference, self.show_progress = reference, progress
        n = len(ansatz.weight_names)
        w = torch.zeros(n, dtype=torch.float64) if initial_weights is None else \
            torch.as_tensor(initial_weights, dtype=torch.float64).clone()
        if w.shape != (n,):
            raise ParameterError(f"initial_weights must have {n} values (ansatz.weight_names order), got {tuple(w.shape)}")
        self.weights = w
        self.history: list[dict] = []
        self.evaluations = self.total_shots = 0
        self._seed = seed
        self._adam_state: dict | None = None
        prefix, self._body = _fixed_prefix(ansatz)  # e.g. the Hartree-Fock X gates: simulated once
        self._start = _prepared(prefix)
        self._pairs = PairAnsatz.of(self._body, self._start, hamiltonian)

    @cached_property
    def rng(self) -> np.random.Generator:
        """The generator of the measurements and SPSA directions (made on first use: exact runs need none)."""
        return np.random.default_rng(self._seed)

    @cached_property
    def frequencies(self) -> list[int]:
        """Per weight, the largest frequency of the energy as a function of it, which sets the shift
        rule's points: the sum of ``|c|`` over the angles ``c * w`` that read it, rounded up (worked
        out on first use)."""
        return _frequencies(self.ansatz)

    # ----- energies
    def state(self, weights=None) -> torch.Tensor:
        """The ansatz state ``(2**n,)`` at ``weights`` (default: the current ones)."""
        w = self.weights if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        if self._pairs is not None:
            return self._pairs.states(w[None].numpy())[0]
        return simulate(self._body, weights=w, initial_state=self._start, dtype=torch.complex128)[0]

    def exact_energy(self, weights=None) -> float:
        """``<psi(w)|H|psi(w)>`` without shots."""
        with torch.no_grad():
            return float(expval(self.state(weights)[None], self.hamiltonian))

    def energy_and_gradient(self, weights) -> tuple[float, np.ndarray]:
        """Exact energy and its gradient by the adjoint method."""
        if self._pairs is not None:
            self.evaluations += 1
            return self._pairs.energy_and_gradient(weights)
        w = torch.as_tensor(weights, dtype=torch.float64).detach().requires_grad_(True)
        state = simulate(self._body, weights=w, initial_state=self._start, dtype=torch.complex128, method="adjoint")
        energy = expval(state, self.hamiltonian)
        energy.sum().backward()
        self.evaluations += 1
        return float(energy.detach()), w.grad.numpy().copy()

    def measured_energy(self, weights, shots: int) -> float:
        """One estimate of the energy from ``shots`` shots of the estimator (counted)."""
        return self.measured_energies(np.asarray(weights, dtype=float)[None], shots)[0]

    def measured_energies(self, rows: np.ndarray, shots: int) -> list[float]:
        """One estimate per row of weights ``(K, n_weights)``, in order, ``shots`` each (the
        states of a pair-rotation ansatz simulated as one batch)."""
        out = []
        for start in range(0, len(rows), _STATE_BATCH):
            chunk = rows[start:start + _STATE_BATCH]
            states = self._pairs.states(chunk) if self._pairs is not None else [self.state(w) for w in chunk]
            for state in states:
                result = self.estimator.run(state.numpy(), shots, seed=self.rng)
                self.total_shots += result.shots
                self.evaluations += 1
                out.append(float(result.value))
        return out

    def shots_per_energy(self, weights=None) -> int:
        """Shots for a standard error of ``precision`` on the state at ``weights`` (exact variance)."""
        return max(1, math.ceil(self.estimator.shots_to_accuracy(self.state(weights).numpy(), self.precision)))

    def measured_gradient(self, weights: np.ndarray, shots: int) -> np.ndarray:
        """Gradient from measured energies: parameter shift or SPSA."""
        if self.gradient == "spsa":
            delta = self.rng.choice([-1.0, 1.0], size=len(weights))
            step = 0.1
            diff = self.measured_energy(weights + step * delta, shots) - self.measured_energy(weights - step * delta, shots)
            return diff / (2 * step) * delta
        return self.measured_derivatives(weights, shots)[0]

    def measured_derivatives(self, weights: np.ndarray, shots: int, center: float | None = None,
                             ) -> tuple[np.ndarray, np.ndarray | None]:
        """The gradient and, given the measured energy ``center`` at ``weights``, the Hessian's
        diagonal, from the energies at the shift rule's points (Wierichs et al. 2022: weight
        ``j`` moved by ``+-(2 mu - 1) pi / (2 R_j)``, ``mu = 1..R_j``)."""
        rows = []  # per weight: +x_1, -x_1, +x_2, -x_2, ...
        for j, r in enumerate(self.frequencies):
            for x in _shifts(r):
                for sign in (1.0, -1.0):
                    rows.append(np.array(weights, dtype=float))
                    rows[-1][j] += sign * x
        values = iter(self.measured_energies(np.array(rows), shots))
        grad, curvature = np.zeros(len(weights)), np.zeros(len(weights))
        for j, r in enumerate(self.frequencies):
            measured = np.array([next(values) for _ in range(2 * r)])
            grad[j], curvature[j] = _trig_derivatives(r, measured[::2], measured[1::2], center)
        return grad, (curvature if center is not None else None)

    # ----- optimisation
    def run(self, maxiter: int = 200, *, tol: float = 1e-10, gtol: float = 1e-7) -> VQEResult:
        """Optimise for up to ``maxiter`` more iterations (continuing a loaded or earlier run).

        Args:
            maxiter: iterations of the optimiser.
            tol: exact mode: stop when the energy changes by less than this (relative to
                ``max(|E|, 1)`` for L-BFGS, SciPy's ``ftol``) between iterations.
            gtol: L-BFGS: also stop when every gradient component is below this.
        """
        import time

        start = time.perf_counter()
        bar = progress_bar(range(maxiter), desc="VQE", disable=not self.show_progress, total=maxiter)
        if self.optimizer == "lbfgs":
            self._run_lbfgs(maxiter, tol, gtol, bar)
        elif self.optimizer == "newton":
            self._run_newton(maxiter, bar)
        else:
            self._run_adam(maxiter, tol, bar)
        if hasattr(bar, "close"):
            bar.close()
        exact = self.history[-1]["energy"] if self.optimizer == "lbfgs" and self.history else self.exact_energy()
        energy = self.history[-1]["energy"] if self.history else exact
        return VQEResult(energy=energy, weights=self.weights.numpy().copy(), exact_energy=exact,
                         iterations=len(self.history), evaluations=self.evaluations, total_shots=self.total_shots,
                         history=list(self.history), seconds=time.perf_counter() - start)

    def _record(self, energy: float, bar) -> None:
        self.history.append({"iteration": len(self.history) + 1, "energy": energy, "shots": self.total_shots})
        if hasattr(bar, "update"):
            bar.update(1)
            if self.reference is not None:
                bar.set_postfix_str(f"E={energy:.6f} error={1e3 * (energy - self.reference):+.3f} mHa")
            else:
                bar.set_postfix_str(f"E={energy:.6f}")

    def _run_lbfgs(self, maxiter: int, tol: float, gtol: float, bar) -> None:
        optimize = require("scipy.optimize", "chem")
        last = {}

        def fun(w):
            energy, grad = self.energy_and_gradient(w)
            last.update(w=w.copy(), energy=energy)
            return energy, grad

        def callback(w):
            self.weights = torch.as_tensor(w, dtype=torch.float64).clone()
            self._record(last["energy"] if np.array_equal(last.get("w"), w) else self.exact_energy(w), bar)

        res = optimize.minimize(fun, self.weights.numpy().copy(), jac=True, method="L-BFGS-B", callback=callback,
                                options={"maxiter": maxiter, "ftol": tol, "gtol": gtol})
        if not self.history or not np.array_equal(res.x, self.weights.numpy()):  # stopped between iterations
            self.weights = torch.as_tensor(res.x, dtype=torch.float64).clone()
            self._record(float(res.fun), bar)

    def _run_adam(self, maxiter: int, tol: float, bar) -> None:
        w = self.weights.clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=self.lr)
        if self._adam_state is not None:
            opt.load_state_dict(self._adam_state)
        for _ in range(maxiter):
            current = w.detach().numpy().copy()
            if self.estimator is None:
                energy, grad = self.energy_and_gradient(current)
            else:
                shots = self.shots_per_energy(current)
                energy = self.measured_energy(current, shots)
                grad = self.measured_gradient(current, shots)
            w.grad = torch.as_tensor(grad, dtype=torch.float64)
            opt.step()
            self.weights = w.detach().clone()
            self._adam_state = opt.state_dict()
            previous = self.history[-1]["energy"] if self.history else None
            self._record(energy, bar)
            if self.estimator is None and previous is not None and abs(previous - energy) < tol:
                break

    def _run_newton(self, maxiter: int, bar) -> None:
        for _ in range(maxiter):
            current = self.weights.numpy().copy()
            shots = self.shots_per_energy(current)
            energy = self.measured_energy(current, shots)
            grad, curvature = self.measured_derivatives(current, shots, center=energy)
            # downhill by -g/h where the curve is convex, else as far as allowed; never past the limit
            step = np.where(curvature > 0, -grad / np.where(curvature > 0, curvature, 1.0), -np.sign(grad) * MAX_NEWTON_STEP)
            self.weights = torch.as_tensor(current + np.clip(step, -MAX_NEWTON_STEP, MAX_NEWTON_STEP))
            self._record(energy, bar)

    # ----- state and display
    def save(self, path: str | Path) -> Path:
        """Write the weights, history, counters and optimiser state, to continue with :meth:`load`."""
        path = Path(path)
        torch.save({"weights": self.weights, "history": self.history, "evaluations": self.evaluations,
                    "total_shots": self.total_shots, "adam": self._adam_state,
                    "rng": self.rng.bit_generator.state, "weight_names": self.ansatz.weight_names}, path)
        return path

    def load(self, path: str | Path) -> VQE:
        """Continue from a file written by :meth:`save` for the same ansatz; returns ``self``."""
        saved = torch.load(Path(path), weights_only=False)
        if saved["weight_names"] != self.ansatz.weight_names:
            raise ParameterError(f"{path} was saved for another ansatz ({len(saved['weight_names'])} weights, "
                                 f"this one has {len(self.ansatz.weight_names)})")
        self.weights, self.history = saved["weights"], saved["history"]
        self.evaluations, self.total_shots, self._adam_state = saved["evaluations"], saved["total_shots"], saved["adam"]
        self.rng.bit_generator.state = saved["rng"]
        return self

    def plot(self, path: str | Path | None = None, *, title: str = "VQE"):
        """The convergence history as a figure (``hybridq.plotting.plot_convergence``), written to ``path`` if given."""
        from hybridq.plotting import plot_convergence

        energies = [h["energy"] for h in self.history]
        return plot_convergence(energies, path, reference=self.reference, title=title)


class PairAnsatz:
    """An ansatz body made of pair rotations only (e.g. UCCSD's excitations), planned once.

    The compiled body's pair-rotation steps (:meth:`~hybridq.circuits.compiled.CompiledCircuit.pair_plan`:
    the pairs of each step, and all their angles as a sparse map of the weights) and ``H`` as a
    sparse matrix are made once. A call maps the weights to the angles and hands the steps to the
    engine (:func:`hybridq.sim.engine.execute`: the native pair kernels on the CPU, with their
    adjoint backward), and the angles' gradient back to the weights, by sparse products in SciPy:
    no compilation or input check per call, which on small molecules are most of an evaluation's time.

    >>> from hybridq.chem import Molecule, uccsd
    >>> h2 = Molecule.from_name("H2")
    >>> body = uccsd(h2)
    >>> body.ops = body.ops[2:]  # the excitations, after the two X gates of Hartree-Fock
    >>> plan = PairAnsatz.of(body, _basis_state(4, 0b1100), h2.hamiltonian())
    >>> energy, grad = plan.energy_and_gradient(np.zeros(2))
    >>> abs(energy - h2.e_hf) < 1e-12, grad.shape
    (True, (2,))
    """

    def __init__(self, start: torch.Tensor, steps: list[tuple], angle_map, hamiltonian):
        self.start, self.steps, self.angle_map, self.hamiltonian = start, steps, angle_map, hamiltonian
        self._to_weights = angle_map.T.tocsr()  # the angles' gradient -> (d/d constant, the weights')
        self.n_qubits = start.shape[1].bit_length() - 1

    @classmethod
    def of(cls, body: Circuit, start: torch.Tensor | None, hamiltonian: PauliSum) -> PairAnsatz | None:
        """The plan of ``body`` (weights only) from ``start`` ``(1, 2**n)`` (None: ``|0...0>``), or
        None when a compiled step of ``body`` is not a pair rotation."""
        plan = CompiledCircuit.of(body).pair_plan()
        if plan is None:
            return None
        sparse = require("scipy.sparse", "chem")
        pairs, (row, column, coef) = plan
        steps, first = [], 0  # (x_index, y_index, phase, first angle, last angle + 1); steps moving no pair left out
        for x, y, phase in pairs:
            if len(x):
                steps.append((x, y, phase, first, first + len(x)))
            first += len(x)
        matrix = hamiltonian.to_matrix(sparse=True)
        if not np.abs(matrix.data.imag).any():
            matrix = matrix.real.tocsr()
        angle_map = sparse.csr_matrix((coef.numpy(), (row.numpy(), column.numpy())),
                                      shape=(first, 1 + len(body.weight_names)))
        start = _basis_state(body.n_qubits, 0) if start is None else start
        return cls(start, steps, angle_map, matrix)

    def _angles(self, weights: np.ndarray) -> np.ndarray:
        """All the steps' pair angles: ``(pairs,)`` at weights ``(n_weights,)``, ``(B, pairs)`` at ``(B, n_weights)``
        (row by row: SciPy's product of a sparse and a dense matrix is many times slower)."""
        w = np.concatenate([np.ones(weights.shape[:-1] + (1,)), weights], axis=-1)
        return self.angle_map @ w if w.ndim == 1 else np.stack([self.angle_map @ row for row in w])

    def _program(self, angles: torch.Tensor) -> Layered:
        """The pair rotations at ``angles`` ``(B, pairs)`` as the engine's program."""
        steps = tuple(PairRotation(x, y, phase, angles[:, first:last]) for x, y, phase, first, last in self.steps)
        return Layered(self.n_qubits, angles.shape[0], torch.complex128, self.start.device, (Layer((), steps),))

    def states(self, weights) -> torch.Tensor:
        """The states ``(B, 2**n)`` at weights ``(B, n_weights)`` (float64), all at once."""
        angles = torch.from_numpy(self._angles(np.asarray(weights, dtype=np.float64)))
        with torch.no_grad():
            return execute(self._program(angles), self.start).expand(len(angles), -1)

    def energy_and_gradient(self, weights) -> tuple[float, np.ndarray]:
        """``<psi(w)|H|psi(w)>`` and its gradient (the engine's adjoint backward) at weights ``(n_weights,)``."""
        angles = torch.from_numpy(self._angles(np.asarray(weights, dtype=np.float64))).requires_grad_(True)
        psi = execute(self._program(angles[None]), self.start, method="adjoint")[0]
        state = psi.detach().numpy()
        h_psi = self.hamiltonian @ state
        psi.backward(torch.from_numpy(2 * h_psi))  # dE/dpsi
        return float(np.vdot(state, h_psi).real), (self._to_weights @ angles.grad.numpy())[1:]


def _fixed_prefix(circuit: Circuit) -> tuple[Circuit, Circuit]:
    """The operations before the first that reads a weight, and the rest (same qubits)."""
    k = next((i for i, op in enumerate(circuit.ops) if any(isinstance(p, Expr) for p in op.params)), len(circuit.ops))
    prefix, body = Circuit(circuit.n_qubits), Circuit(circuit.n_qubits)
    prefix.ops, body.ops = circuit.ops[:k], circuit.ops[k:]
    return prefix, body


def _shifts(r: int) -> np.ndarray:
    """The shift rule's points ``(2 mu - 1) pi / (2 r)``, ``mu = 1..r``."""
    return (2 * np.arange(1, r + 1) - 1) * math.pi / (2 * r)


def _trig_derivatives(r: int, plus: np.ndarray, minus: np.ndarray, center: float | None) -> tuple[float, float]:
    """First and second derivative at 0 of ``f(x) = a_0 + sum_k a_k cos(k x) + b_k sin(k x)``
    (``k = 1..r``) from ``f(+-x_mu)`` at :func:`_shifts` and ``f(0) = center`` (the second: nan
    without ``center``).

    >>> x = _shifts(2)
    >>> f = lambda t: 1 + np.cos(t) - 0.5 * np.sin(2 * t)  # f'(0) = -1, f''(0) = -1
    >>> tuple(round(d, 12) for d in _trig_derivatives(2, f(x), f(-x), f(0.0)))
    (-1.0, -1.0)
    """
    x, k = _shifts(r), np.arange(1, r + 1)
    b = np.linalg.solve(np.sin(np.outer(x, k)), (plus - minus) / 2)  # odd part: f(x) - f(-x)
    if center is None:
        return float(k @ b), math.nan
    even = np.vstack([np.hstack([np.ones((r, 1)), np.cos(np.outer(x, k))]), np.ones((1, r + 1))])
    a = np.linalg.solve(even, np.append((plus + minus) / 2, center))  # even part and f(0): a_0, a_1..a_r
    return float(k @ b), float(-(k**2) @ a[1:])


def _prepared(prefix: Circuit) -> torch.Tensor | None:
    """The state ``(1, 2**n)`` (complex128) that ``prefix`` prepares from ``|0...0>``, None when
    empty; X gates alone (Hartree-Fock) give their basis state without a simulation."""
    if not len(prefix):
        return None
    if any(op.name != "X" or op.controls for op in prefix.ops):
        return simulate(prefix, dtype=torch.complex128)
    bits = np.zeros((1, prefix.n_qubits), dtype=bool)
    for op in prefix.ops:
        bits[0, op.qubits[0]] ^= True
    return _basis_state(prefix.n_qubits, int(bits_to_index(bits)[0]))


def _basis_state(n_qubits: int, index: int) -> torch.Tensor:
    """The basis state ``|index>`` as a ``(1, 2**n)`` complex128 tensor (made in NumPy: no torch call to set up).

    >>> _basis_state(2, 1).real.tolist()
    [[0.0, 1.0, 0.0, 0.0]]
    """
    state = np.zeros((1, 2**n_qubits), dtype=np.complex128)
    state[0, index] = 1
    return torch.from_numpy(state)


def _frequencies(circuit: Circuit) -> list[int]:
    """Per weight, the largest frequency ``R`` of the energy as a function of it: the sum of
    ``|c|`` over the angles ``c * w`` that read it, rounded up (exact for rotation gates and for
    UCCSD excitations, whose frequencies are the integers up to 2 per excitation)."""
    total = dict.fromkeys(circuit.weight_names, 0.0)
    for op in circuit.ops:
        for p in op.params:
            for c, w, _ in bilinear_terms(p) or []:
                if w is not None:
                    total[w] += abs(c)
    return [max(1, math.ceil(total[w] - 1e-9)) for w in circuit.weight_names]
