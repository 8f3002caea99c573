"""Dense steps (one-qubit gates under controls, two-qubit matrices) on the native CPU kernels
(``steps.h``) against the torch reference executor: every qubit pair, both control values, the
matrices' forms that the kernels treat apart (real, RX-like, general; see ``zero_pattern``),
shared and per-sample data, 2 to 16 qubits (from 15, runs of steps tile by tile with controls
outside the tile); states and gradients of the start state, the one-qubit matrices and the
steps' matrices, complex128 and complex64."""

from __future__ import annotations

import pytest
import torch

from hybridq.sim import engine, fused
from hybridq.sim.layers import Dense, Layer, Layered

pytestmark = pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built")

TOLERANCE = {torch.complex128: 1e-10, torch.complex64: 2e-4}


def _matrices(form: str, rows: int, g: torch.Generator, k: int = 1) -> torch.Tensor:
    """``rows`` unitaries on ``k`` qubits: RX- or RY-like rotations (the kernels' RX-like and
    real forms, one qubit) or general ones."""
    theta = (torch.rand(rows, dtype=torch.float64, generator=g) * 6 - 3) / 2
    c, s = torch.cos(theta).to(torch.complex128), torch.sin(theta).to(torch.complex128)
    if form == "rx":
        return torch.stack([torch.stack([c, -1j * s], -1), torch.stack([-1j * s, c], -1)], -2)
    if form == "ry":
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    z = torch.randn(rows, 2**k, 2**k, dtype=torch.complex128, generator=g)
    return torch.linalg.qr(z)[0]


def _compare(n: int, steps: list[tuple], batch: int, seed: int) -> None:
    """One layer of random one-qubit gates then ``steps`` (qubits, form, controls, values,
    per-sample), on both executors: states and gradients agree, in both precisions."""
    g = torch.Generator().manual_seed(seed)
    base = [(qubits, _matrices(form, batch if per_sample else 1, g, len(qubits)), controls, values)
            for qubits, form, controls, values, per_sample in steps]
    mats0 = _matrices("general", batch * n, g).reshape(batch, 1, n, 2, 2)
    state0 = torch.randn(batch, 2**n, dtype=torch.complex128, generator=g)
    weight = torch.randn(batch, 2**n, dtype=torch.complex128, generator=g)
    for dtype, tol in TOLERANCE.items():
        results = []
        for executor in (engine.NativeExecutor(), engine.ReferenceExecutor()):
            matrices = [m.to(dtype).requires_grad_(True) for _, m, _, _ in base]
            mats = mats0.to(dtype).requires_grad_(True)
            state = state0.to(dtype).requires_grad_(True)
            dense = tuple(Dense(q, m, c, v) for (q, _, c, v), m in zip(base, matrices))
            program = Layered(n, batch, dtype, torch.device("cpu"), (Layer(tuple(range(n)), dense),), mats)
            out = executor.run(program, state, "autograd")
            assert out is not None, f"{type(executor).__name__} declined the program"
            loss = (out.abs() ** 3).sum() + (out * weight.to(dtype)).real.sum()
            results.append([out.detach(), *torch.autograd.grad(loss, [state, mats, *matrices])])
        for got, want in zip(*results):
            assert float((got - want).abs().max()) < tol * max(1.0, float(want.abs().max()))


@pytest.mark.parametrize("form", ["rx", "ry", "general"])
@pytest.mark.parametrize("per_sample", [False, True])
def test_controlled_gates_on_every_pair_and_control_value_match_the_reference(form, per_sample):
    n = 4
    steps = [((b,), form, (a,), ((a + b) % 2,), per_sample) for a in range(n) for b in range(n) if a != b]
    _compare(n, steps, batch=9, seed=len(form) + per_sample)


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
    _compare(n, steps, batch=8, seed=n)
