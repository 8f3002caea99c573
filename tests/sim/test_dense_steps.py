"""Dense steps (one-qubit gates under controls, two-qubit matrices) on the native CPU kernels
(``steps.h``) against the torch reference executor: every qubit pair, both control values, the
matrices' forms that the kernels treat apart (real, RX-like, general; see ``zero_pattern``),
shared and per-sample data, 2 to 16 qubits (from 15, runs of steps tile by tile with controls
outside the tile); states and gradients of the start state, the one-qubit matrices and the
steps' matrices, complex128 and complex64. Steps whose matrices are zero in some parts at every
angle (``Dense.zero_parts``: RX, RY, CRX, CRY, RXX, RYY of a compiled circuit) sum only the other
parts of their gradients: those agree with the reference, the rest is zero, and the angles'
gradients agree with the reference and finite differences (a U3 that happens to be real at its
angles, and an RXX-shaped matrix not marked, keep every sum)."""

from __future__ import annotations

import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight
from hybridq.sim import engine, fused, native_run
from hybridq.sim.layers import Dense, Layer, Layered

pytestmark = pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built")

TOLERANCE = {torch.complex128: 1e-10, torch.complex64: 2e-4}
#: The structural zero parts of the rotation forms (``Dense.zero_parts``).
ZERO_PARTS = {"rx": "cross", "ry": "real", "rxx": "cross", "ryy": "cross"}


def _kept(zero_parts: str | None, k: int) -> torch.Tensor:
    """Which reals of a ``2**k x 2**k`` matrix (as ``view_as_real``) are not zero parts."""
    kept = torch.ones(2**k, 2**k, 2, dtype=torch.bool)
    if zero_parts == "real":
        kept[..., 1] = False
    if zero_parts == "cross":
        diagonal = torch.eye(2**k, dtype=torch.bool)
        kept[..., 0], kept[..., 1] = diagonal, diagonal.flip(-1)
    return kept


def _matrices(form: str, rows: int, g: torch.Generator, k: int = 1) -> torch.Tensor:
    """``rows`` unitaries on ``k`` qubits: RX- or RY-like rotations (the kernels' RX-like and
    real forms, one qubit; "ry" on two: real orthogonal ones), RXX- or RYY-like ones (two
    qubits) or general ones."""
    theta = (torch.rand(rows, dtype=torch.float64, generator=g) * 6 - 3) / 2
    c, s = torch.cos(theta).to(torch.complex128), torch.sin(theta).to(torch.complex128)
    if form == "rx":
        return torch.stack([torch.stack([c, -1j * s], -1), torch.stack([-1j * s, c], -1)], -2)
    if form == "ry" and k == 1:
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    if form in ("rxx", "ryy"):  # c on the diagonal, -i s (RYY: +i s at the corners) on the anti-diagonal
        corner = 1j * s if form == "ryy" else -1j * s
        m = torch.diag_embed(torch.stack([c] * 4, -1))
        m[:, [0, 3], [3, 0]] = corner[:, None]
        m[:, [1, 2], [2, 1]] = -1j * s[:, None]
        return m
    z = torch.randn(rows, 2**k, 2**k, dtype=torch.complex128, generator=g)
    return torch.linalg.qr(z)[0] if form == "general" else torch.linalg.qr(z.real)[0].to(torch.complex128)


def _compare(n: int, steps: list[tuple], batch: int, seed: int, zero_parts: bool = False) -> None:
    """One layer of random one-qubit gates then ``steps`` (qubits, form, controls, values,
    per-sample), on both executors: states and gradients agree, in both precisions. With
    ``zero_parts`` the rotation forms' steps name theirs: their matrices' gradients agree outside
    them, and the native executor's are zero there (those sums left out)."""
    g = torch.Generator().manual_seed(seed)
    base = [(qubits, _matrices(form, batch if per_sample else 1, g, len(qubits)), controls, values)
            for qubits, form, controls, values, per_sample in steps]
    parts = [ZERO_PARTS.get(form) if zero_parts else None for _, form, _, _, _ in steps]
    mats0 = _matrices("general", batch * n, g).reshape(batch, 1, n, 2, 2)
    state0 = torch.randn(batch, 2**n, dtype=torch.complex128, generator=g)
    weight = torch.randn(batch, 2**n, dtype=torch.complex128, generator=g)
    for dtype, tol in TOLERANCE.items():
        results = []
        for executor in (engine.NativeExecutor(), engine.ReferenceExecutor()):
            matrices = [m.to(dtype).requires_grad_(True) for _, m, _, _ in base]
            mats = mats0.to(dtype).requires_grad_(True)
            state = state0.to(dtype).requires_grad_(True)
            dense = tuple(Dense(q, m, c, v, z) for (q, _, c, v), m, z in zip(base, matrices, parts))
            program = Layered(n, batch, dtype, torch.device("cpu"), (Layer(tuple(range(n)), dense),), mats)
            out = executor.run(program, state, "autograd")
            assert out is not None, f"{type(executor).__name__} declined the program"
            loss = (out.abs() ** 3).sum() + (out * weight.to(dtype)).real.sum()
            results.append([out.detach(), *torch.autograd.grad(loss, [state, mats, *matrices])])
        native, reference = results
        for got, want in zip(native[:3], reference[:3]):
            assert float((got - want).abs().max()) < tol * max(1.0, float(want.abs().max()))
        for got, want, z, (q, *_) in zip(native[3:], reference[3:], parts, base):
            kept = _kept(z, len(q))
            got, want = torch.view_as_real(got), torch.view_as_real(want)
            assert float((got - want)[..., kept].abs().max()) < tol * max(1.0, float(want.abs().max()))
            assert not got[..., ~kept].any(), "the zero parts' gradient sums were not left out"


@pytest.mark.parametrize("form", ["rx", "ry", "general"])
@pytest.mark.parametrize("per_sample", [False, True])
def test_controlled_gates_on_every_pair_and_control_value_match_the_reference(form, per_sample):
    n = 4
    steps = [((b,), form, (a,), ((a + b) % 2,), per_sample) for a in range(n) for b in range(n) if a != b]
    _compare(n, steps, batch=9, seed=len(form) + per_sample)


@pytest.mark.parametrize("form", ["rx", "ry"])
@pytest.mark.parametrize("per_sample", [False, True])
def test_structural_zero_parts_sum_half_the_gradient_on_every_pair_and_control_value(form, per_sample):
    n = 4
    steps = [((b,), form, (a,), ((a + b) % 2,), per_sample) for a in range(n) for b in range(n) if a != b]
    steps += [((q,), form, (), (), per_sample) for q in range(n)]  # RX, RY without controls
    _compare(n, steps, batch=9, seed=len(form) + per_sample, zero_parts=True)


@pytest.mark.parametrize("form", ["rxx", "ryy", "ry"])
@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("marked", [True, False])
def test_two_target_zero_parts_on_every_pair_with_controls(form, per_sample, marked):
    """RXX-, RYY-like and real two-target steps on every ordered pair (adjacent, distant,
    reversed), bare and under a control of either value: marked, a quarter (RXX, RYY) or half
    (real) of the sums; unmarked (a general matrix that has the pattern at these values), all."""
    n = 4
    steps = [((a, b), form, (), (), per_sample) for a in range(n) for b in range(n) if a != b]
    steps += [((a, b), form, (c,), ((a + b + c) % 2,), per_sample)
              for a in range(n) for b in range(n) for c in range(n) if len({a, b, c}) == 3 and c in (0, n - 1)]
    _compare(n, steps, batch=9, seed=len(form) + 2 * per_sample + marked, zero_parts=marked)


@pytest.mark.parametrize("n", [2, 3, 6, 11, 15, 16])
def test_mixed_dense_steps_match_the_reference_at_every_size(n):
    """Controls above and below their targets, two controls, open controls, two-target matrices,
    a run of steps on the low qubits (tile by tile from 15 qubits, some under a control outside
    the tile) between steps on the high ones."""
    g = torch.Generator().manual_seed(n)
    pick = lambda: [int(q) for q in torch.randperm(n, generator=g)]  # noqa: E731
    steps = [((n - 1,), "rx", (0,), (1,), True), ((0,), "ry", (n - 1,), (0,), False)]
    for k in range(6):
        q = pick()
        form = ("rx", "ry", "general")[k % 3]
        controls = tuple(q[1:3]) if n > 2 and k == 4 else (q[1],)
        steps.append(((q[0],), form, controls, tuple((k + j) % 2 for j in range(len(controls))), k % 2 == 0))
    for t in range(max(n - 4, 1), n):  # the low qubits' run: its controls the highest qubits
        steps.append(((t,), "rx", ((t - max(n - 4, 1)) % max(n - 4, 1),), (1,), t % 2 == 0))
    if n > 2:
        q = pick()
        steps.append(((q[0], q[1]), "general", (q[2],), (1,), True))
        steps.append(((n - 2, n - 1), "general", (), (), False))
        steps.append(((n - 1, 0), "rxx", (), (), True))
        steps.append(((n - 1, n - 3), "ryy", (n - 2,), (0,), False))
    _compare(n, steps, batch=8, seed=n, zero_parts=n % 2 == 0)


def _rotations_circuit(n: int) -> Circuit:
    """CRX, CRY (angles per sample and shared), RXX then RYY on each pair (adjacent, distant,
    reversed: dense steps, see ``compiled._diagonalised``), a controlled RXX and RYY, a doubly
    controlled RX, and a controlled U3 whose angles ``phi`` and ``lam`` start at 0 (real then: it
    must keep every gradient sum)."""
    c = Circuit(n)
    for i in range(n):
        c.ry(Weight(f"y{i}") * Input(i), i).rz(Weight(f"z{i}"), i)
    for i in range(n):
        a, b = i, (i + 1) % n
        c.crx(Weight(f"x{i}") * Input(i) if i % 2 else Weight(f"x{i}"), a, b)
        c.cry(Weight(f"r{i}") if i % 2 else Weight(f"r{i}") * Input(b), b, a)
    for i in range(n):
        a, b = i, (i + 1 + i % 2) % n
        c.rxx(Weight(f"xx{i}") * Input(i) if i % 2 else Weight(f"xx{i}"), a, b).ryy(Weight(f"yy{i}"), a, b)
    c.add("RXX", [2, 0], Weight("cxx") * Input(1), controls=[3])
    c.add("RYY", [3, 1], Weight("cyy"), controls=[0])
    c.add("RX", [0], Weight("cc"), controls=[1, 2])
    c.add("U3", [n - 1], Weight("theta"), Weight("phi"), Weight("lam"), controls=[0])
    return c


def test_compiled_rotations_mark_their_zero_parts_and_their_angle_gradients_hold(monkeypatch):
    """The native tables mark CRX, RXX, RYY as MIX_CROSS, CRY as MIX_REAL and the U3 as neither; the
    weights' and inputs' gradients equal the reference's (``HYBRIDQ_FUSED=0``) in both precisions
    and finite differences, the U3's ``phi`` and ``lam`` included (nonzero although it is real)."""
    n, batch = 4, 9
    circuit = _rotations_circuit(n)
    g = torch.Generator().manual_seed(5)
    x = torch.rand(batch, n, dtype=torch.float64, generator=g) * 2 - 1
    w = torch.rand(len(circuit.weight_names), dtype=torch.float64, generator=g) * 4 - 2
    names = circuit.weight_names
    w[names.index("phi")] = w[names.index("lam")] = 0.0
    marks = []
    tables = native_run._tables
    monkeypatch.setattr(native_run, "_tables", lambda *a: marks.append(t := tables(*a)) or t)

    def run(weights, inputs, dtype):
        psi = hq.simulate(circuit, inputs, weights, dtype=dtype)
        return hq.sim.expval_z(psi).square().sum() + (psi[:, 0] * psi[:, -1].conj()).real.sum()

    def grads(dtype):
        wd, xd = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
        return torch.autograd.grad(run(wd, xd, dtype), (wd, xd))

    for dtype, tol in TOLERANCE.items():
        fast = grads(dtype)
        monkeypatch.setenv("HYBRIDQ_FUSED", "0")
        slow = grads(dtype)
        monkeypatch.delenv("HYBRIDQ_FUSED")
        for a, b in zip(fast, slow):
            assert float((a - b).abs().max()) < tol * max(1.0, float(b.abs().max()))
    dense = marks[-1].table[marks[-1].table[:, 0] == 1]
    assert sorted(dense[:, 8].tolist()) == sorted([2] * (3 * n + 3) + [1] * n + [0])
    wg = grads(torch.complex128)[0]
    assert abs(float(wg[names.index("phi")])) > 1e-3 and abs(float(wg[names.index("lam")])) > 1e-3
    eps = 1e-6
    for name in ("x0", "x1", "r0", "r1", "xx0", "xx1", "yy2", "cxx", "cyy", "cc", "theta", "phi", "lam"):
        step = torch.zeros_like(w)
        step[names.index(name)] = eps
        numeric = (run(w + step, x, torch.complex128) - run(w - step, x, torch.complex128)) / (2 * eps)
        assert abs(float(numeric) - float(wg[names.index(name)])) < 1e-6
