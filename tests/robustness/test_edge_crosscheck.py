"""Edge cases of the fast paths against a dense reference: batch 1, odd batches, strided,
transposed and expanded inputs, single and double precision, real dtypes.

Each case runs through the fused native kernels (a CPU with the C library), the compiled
torch path without them, and the gate-by-gate torch path, and must match a dense numpy
simulation of the same circuit sample by sample; gradients of a read-out must match between
the paths too. The Triton executors take the same cases in ``test_edge_triton`` (in Triton's
interpreter without a GPU).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight
from hybridq.nn import QuantumLayer
from hybridq.sim import native

N = 3
GATES = {
    "X": lambda: np.array([[0, 1], [1, 0]]),
    "Z": lambda: np.diag([1, -1]),
    "RY": lambda a: np.array([[np.cos(a / 2), -np.sin(a / 2)], [np.sin(a / 2), np.cos(a / 2)]]),
    "RX": lambda a: np.array([[np.cos(a / 2), -1j * np.sin(a / 2)], [-1j * np.sin(a / 2), np.cos(a / 2)]]),
}


def circuit(real: bool, n: int = N, steps: bool = False) -> Circuit:
    """Two layers of input-scaled rotations and a CNOT ring (RY only when ``real``); ``steps``
    adds a CZ and (complex only) a CRX reading an input, so that layers hold diagonal and
    controlled steps besides the ring."""
    c = Circuit(n)
    for layer in range(2):
        for q in range(n):
            c.ry(Weight(f"a{layer}{q}") * Input(q) + Weight(f"b{layer}{q}"), q)
        for q in range(n):
            c.cx(q, (q + 1) % n)
        if steps:
            c.cz(0, n - 1)
            if not real:
                c.crx(Weight(f"d{layer}") * Input(1), 1, 0)
        if not real:
            for q in range(n):
                c.rx(Weight(f"c{layer}{q}"), q)
    return c


def dense(c: Circuit, x: np.ndarray, w: dict[str, float], start: np.ndarray | None = None) -> np.ndarray:
    """The final state of each sample by dense matrices (qubit 0 the most significant bit), from
    ``start`` ``(B or 1, 2**n)`` (None: ``|0...0>``)."""
    n, out = c.n_qubits, []
    weights = {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}
    for b, row in enumerate(x):
        psi = np.zeros((2,) * n, dtype=complex)
        psi[(0,) * n] = 1
        if start is not None:
            psi = start[b if start.shape[0] > 1 else 0].astype(complex).reshape((2,) * n)
        for op in c.ops:
            angles = [float(p.evaluate(torch.tensor(row)[None], weights)) for p in op.params]
            gate = GATES[op.name](*angles)
            on = tuple(1 if q in op.controls else slice(None) for q in range(n))  # a view: controls at 1
            target = op.qubits[0] - sum(q < op.qubits[0] for q in op.controls)
            psi[on] = np.moveaxis(np.tensordot(gate, psi[on], axes=([1], [target])), 0, target)
        out.append(psi.reshape(-1))
    return np.array(out)


def layout(x: torch.Tensor, how: str) -> torch.Tensor:
    if how == "transposed":
        return x.T.contiguous().T
    if how == "strided":
        return torch.repeat_interleave(x, 2, dim=0)[::2]
    if how == "expanded":
        return x[:1].expand(x.shape)
    return x


@pytest.fixture(params=["native", "compiled torch", "gate by gate"])
def path(request, monkeypatch):
    if request.param == "native" and native.library() is None:
        pytest.skip("no native kernels here")
    if request.param == "compiled torch":
        monkeypatch.setattr(native, "library", lambda: None)
    return request.param


@pytest.mark.parametrize("batch", [1, 3, 7])
@pytest.mark.parametrize("how", ["contiguous", "transposed", "strided", "expanded"])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128, torch.float32, torch.float64])
def test_states_match_a_dense_reference(path, batch, how, dtype):
    real = not dtype.is_complex
    c = circuit(real)
    rdt = torch.float32 if dtype in (torch.complex64, torch.float32) else torch.float64
    g = torch.Generator().manual_seed(batch)
    x = layout(torch.rand(batch, N, generator=g, dtype=torch.float64) * 4 - 2, how).to(rdt)
    w = (torch.rand(len(c.weight_names), generator=g, dtype=torch.float64) * 3).to(rdt)
    w = w.repeat_interleave(2)[::2] if how == "strided" else w
    state = hq.simulate(c, x, w, dtype=dtype, fusion=path != "gate by gate")
    expected = dense(c, x.double().numpy(), dict(zip(c.weight_names, w.double().tolist())))
    assert state.shape == (batch, 2**N) and state.dtype == dtype
    tol = 1e-5 if rdt == torch.float32 else 1e-12
    np.testing.assert_allclose(state.detach().to(torch.complex128).numpy(), expected, atol=tol)


@pytest.mark.parametrize("batch", [1, 5, 9])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layer_gradients_agree_between_paths(batch, dtype, monkeypatch):
    """Transposed inputs: the native kernels' backward reads them as they read them forward."""
    c = circuit(real=False)
    x = layout(torch.rand(batch, N, generator=torch.Generator().manual_seed(3), dtype=dtype), "transposed")
    found = []
    for use_native in (True, False):
        if not use_native:
            monkeypatch.setattr(native, "library", lambda: None)
        torch.manual_seed(0)
        layer = QuantumLayer(c, dtype=dtype)
        xi = x.clone().requires_grad_(True)
        layer(xi).square().sum().backward()
        found.append((layer.weight.grad, xi.grad))
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    for a, b in zip(*found):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


def _unitary(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


#: Entanglers of the engine's step kinds on qubits a, b with angle e (per sample where it reads an input).
ENTANGLERS = {
    "cz": lambda c, a, b, e, rng: c.cz(a, b),
    "crx": lambda c, a, b, e, rng: c.crx(e, a, b),
    "rzz": lambda c, a, b, e, rng: c.rzz(e, a, b),
    "rxx": lambda c, a, b, e, rng: c.rxx(e, a, b),
    "ryy": lambda c, a, b, e, rng: c.ryy(e, a, b),
    "unitary": lambda c, a, b, e, rng: c.unitary(_unitary(rng), [a, b]),
    "excitation": lambda c, a, b, e, rng: c.pauli_rotation(Weight(f"x{a}{b}"), "XY", [a, b]).pauli_rotation(
        -1.0 * Weight(f"x{a}{b}"), "YX", [a, b]),
}


def entangled(family: str, n: int = 4) -> Circuit:
    """Two layers of input-scaled RY and RZ, then the family's entangler on random pairs
    (neighbours or not), its angle read from the inputs on every other pair."""
    rng = np.random.default_rng(len(family))
    c = Circuit(n)
    for layer in range(2):
        for q in range(n):
            c.ry(Weight(f"a{layer}{q}") * Input(q) + Weight(f"b{layer}{q}"), q).rz(Weight(f"c{layer}{q}"), q)
        for k in range(n):
            a, b = (int(q) for q in rng.permutation(n)[:2])
            ENTANGLERS[family](c, a, b, Weight(f"e{layer}{k}") * (Input(k) if k % 2 else 1.0), rng)
    return c


def qiskit_states(c: Circuit, x: torch.Tensor, w: torch.Tensor) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    from hybridq.circuits.interop import to_qiskit
    from hybridq.qubit_order import bit_reversal_permutation

    qc, values = to_qiskit(c), dict(zip(c.weight_names, w.tolist()))
    bind = lambda row: {p: row[p.index].item() if p.name.startswith("x[") else values[p.name] for p in qc.parameters}  # noqa: E731
    return np.array([Statevector(qc.assign_parameters(bind(row))).data[bit_reversal_permutation(c.n_qubits)] for row in x])


@pytest.mark.parametrize("family", list(ENTANGLERS))
@pytest.mark.parametrize("batch", [1, 9])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_entanglers_match_qiskit_on_every_path(path, family, batch, dtype, monkeypatch):
    """Every step kind (diagonals, controlled and two-target dense steps, pair rotations) on each
    path, batch 1 and an odd batch the native lanes take, against Qiskit; the gradients of a
    read-out against the gate-by-gate path's."""
    pytest.importorskip("qiskit")
    c = entangled(family)
    g = torch.Generator().manual_seed(batch)
    x = torch.rand(batch, c.n_qubits, generator=g, dtype=torch.float64) * 4 - 2
    w = torch.rand(len(c.weight_names), generator=g, dtype=torch.float64) * 3

    def run(fusion: bool):
        wd, xd = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
        state = hq.simulate(c, xd, wd, dtype=dtype, fusion=fusion)
        return state.detach(), *torch.autograd.grad(hq.sim.expval_z(state).square().sum(), (wd, xd))

    found = run(path != "gate by gate")
    tol = 1e-5 if dtype == torch.complex64 else 1e-10
    np.testing.assert_allclose(found[0].to(torch.complex128).numpy(), qiskit_states(c, x, w), atol=tol)
    monkeypatch.setattr(native, "library", lambda: None)
    for a, b in zip(found[1:], run(False)[1:]):
        torch.testing.assert_close(a.double(), b.double(), atol=10 * tol, rtol=10 * tol)
