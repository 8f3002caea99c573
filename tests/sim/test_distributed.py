"""A state sharded over 1, 2 and 4 gloo processes equals the single-process simulator.

Process groups are started with :func:`hybridq.sim.distributed.launch` (fork, a FileStore in a
temporary folder, loopback only); each group runs many circuits to amortise its start.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

import hybridq as hq
from hybridq.circuits import compile_ops
from hybridq.errors import ShapeError
from hybridq.sim import gate_op
from hybridq.circuits import simulate_sharded
from hybridq.sim.distributed import ShardedState, launch, n_global_qubits

TIMEOUT = 60.0
TOL = {torch.complex64: 1e-6, torch.complex128: 1e-12}
#: Read-outs sum up to 2**10 squared amplitudes, each within TOL: their rounding grows with the state.
READ_TOL = {torch.complex64: 1e-5, torch.complex128: 1e-12}
ONE_QUBIT = ["H", "X", "Y", "S", "T", "SX", "RX", "RY", "RZ", "PhaseShift", "U3"]
CONTROLLED = ["CNOT", "CZ", "CY", "CH", "CRX", "CRY", "CRZ", "CPhase"]


def _unitary(rng: np.random.Generator, k: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_circuit(n: int, seed: int, depth: int = 40) -> hq.Circuit:
    """Gates of every kind; qubits 0 and 1 (global on 2 and 4 processes) are picked often."""
    rng = np.random.default_rng(seed)
    weights = np.array([4.0, 4.0] + [1.0] * (n - 2))

    def pick(k: int) -> list[int]:
        return [int(q) for q in rng.choice(n, size=k, replace=False, p=weights / weights.sum())]

    c = hq.Circuit(n)
    for q in range(n):
        c.h(q)
    for _ in range(depth):
        kind = rng.integers(9)
        angle = lambda: float(rng.uniform(0, 2 * math.pi))  # noqa: E731
        if kind == 0:
            name = ONE_QUBIT[rng.integers(len(ONE_QUBIT))]
            c.add(name, pick(1), *[angle() for _ in range(hq.sim.GATES[name].n_params)])
        elif kind == 1:
            name = CONTROLLED[rng.integers(len(CONTROLLED))]
            c.add(name, pick(2), *[angle() for _ in range(hq.sim.resolve(name)[0].n_params)])
        elif kind == 2:
            c.add(["RXX", "RYY", "RZZ"][rng.integers(3)], pick(2), angle())
        elif kind == 3:
            c.unitary(_unitary(rng, 2), pick(2))
        elif kind == 4:
            wires = pick(3)
            c.unitary(_unitary(rng, 1), wires[:1], controls=wires[1:])
        elif kind == 5:
            c.diagonal(np.exp(1j * rng.uniform(0, 2 * math.pi, 8)), pick(3))
        elif kind == 6:
            c.pauli_rotation(angle(), "".join(rng.choice(list("IXYZ"), 3)), pick(3))
        elif kind == 7:
            name = ["SWAP", "Toffoli", "CSWAP", "CCZ"][rng.integers(4)]
            c.add(name, pick(2 if name == "SWAP" else 3))
        else:
            q, control = pick(2)
            c.ry(hq.Weight("w") * hq.Input(0) + hq.Weight("b"), q).crz(hq.Input(1), control, q)
    return c


def _inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, 2, generator=g, dtype=torch.float64) * 3, torch.tensor([0.7, -0.4], dtype=torch.float64)


CASES = [(n, seed, dtype) for seed, n in enumerate([6, 7, 8, 9, 10]) for dtype in (torch.complex64, torch.complex128)]


def _run_cases(rank: int, world: int) -> list[dict]:
    out = []
    for n, seed, dtype in CASES:
        x, w = _inputs(seed)
        state = simulate_sharded(random_circuit(n, seed), x, w, dtype=dtype)
        out.append({"state": state.gather(), "probs": state.probabilities([1, n - 1, 0]), "z": state.expval_z(),
                    "swaps": state.stats.swaps, "layout": state.layout})
    return out


@pytest.mark.parametrize("world", [1, 2, 4])
def test_sharded_circuits_match_simulate(world):
    results = launch(_run_cases, world, timeout=TIMEOUT)
    for i, (n, seed, dtype) in enumerate(CASES):
        x, w = _inputs(seed)
        ref = hq.simulate(random_circuit(n, seed), x, w, dtype=dtype)
        tol, read_tol = TOL[dtype], READ_TOL[dtype]
        got = results[0][i]["state"]
        assert got.shape == ref.shape and (got - ref).abs().max() < tol, (n, seed, dtype)
        for r in range(world):
            assert results[r][i]["probs"].allclose(hq.sim.probabilities(ref, [1, n - 1, 0]), atol=read_tol, rtol=0)
            assert results[r][i]["z"].allclose(hq.sim.expval_z(ref), atol=read_tol, rtol=0)
            assert results[r][i]["state"] is None or r == 0
        assert (results[0][i]["swaps"] > 0) == (world > 1)  # gates on global qubits were swapped in
    # read-outs follow the layout: nothing is swapped back at the end
    assert world == 1 or any(r["layout"] != tuple(range(len(r["layout"]))) for r in results[0])


def _global_fast_paths(rank: int, world: int) -> dict:
    n = 6
    c = (hq.Circuit(n).h(2).h(3).h(4).h(5).rz(0.3, 0).cz(0, 3).cry(0.4, 1, 4).ccx(0, 1, 5).cp(0.9, 2, 1)
         .diagonal(np.exp(1j * np.arange(8)), [1, 0, 2]).pauli_rotation(0.8, "ZZX", [0, 1, 4])
         .pauli_rotation(0.5, "ZI", [1, 0]).crz(0.2, 0, 1).add("RZZ", [0, 1], 1.1))
    state = simulate_sharded(c)
    return {"state": state.gather(), "swaps": state.stats.swaps, "ref": c}


def test_diagonals_and_global_controls_need_no_exchange():
    results = launch(_global_fast_paths, 4, timeout=TIMEOUT)
    assert [r["swaps"] for r in results] == [0, 0, 0, 0]
    ref = hq.simulate(results[0]["ref"])
    assert (results[0]["state"] - ref).abs().max() < 1e-6


def _exchanges(rank: int, world: int) -> dict:
    n = 6
    common = dict(n_qubits=n, dtype=torch.complex128)
    ops = [gate_op("H", [0], **common), gate_op("RY", [1], [0.4], **common), gate_op("CNOT", [0, 1], **common)]
    out = {}
    for lookahead in (True, False):
        state = ShardedState.zero(n, dtype=torch.complex128)
        state.run(ops, lookahead=lookahead)
        out[lookahead] = (state.stats.swaps, state.stats.bits, state.stats.bytes_sent, state.gather())
    g = torch.Generator().manual_seed(5)
    psi = torch.randn(2, 2**n, dtype=torch.complex128, generator=g)
    psi = psi / psi.norm(dim=1, keepdim=True)
    c = random_circuit(n, 11)
    x, w = _inputs(11)
    state = ShardedState.from_state(psi)
    state.run(compile_ops(c, x[:2], {"w": w[0], "b": w[1]}, batch=2, dtype=torch.complex128, device="cpu"))
    out["from_state"] = (psi, c, x[:2], w, state.gather())
    return out


def test_lookahead_batches_swaps_and_from_state():
    results = launch(_exchanges, 4, timeout=TIMEOUT)
    swaps, bits, sent, state = results[0][True]
    # both global qubits come in with one exchange: 3 of 4 quarters of a 16-amplitude complex128 shard leave
    assert (swaps, bits, sent) == (1, 2, 3 * 4 * 16)
    swaps, bits, sent, unbatched = results[0][False]
    assert (swaps, bits, sent) == (2, 2, 2 * 8 * 16)
    ref = hq.simulate(hq.Circuit(6).h(0).ry(0.4, 1).cx(0, 1), dtype=torch.complex128)
    assert (state - ref).abs().max() < 1e-12 and (unbatched - ref).abs().max() < 1e-12
    psi, c, x, w, got = results[0]["from_state"]
    assert (got - hq.simulate(c, x, w, initial_state=psi)).abs().max() < 1e-12


def _needs_power_of_two(rank: int, world: int) -> None:
    ShardedState.zero(5)


def test_world_size_must_be_a_power_of_two():
    with pytest.raises(Exception, match="power-of-two number of processes, got world size 3"):
        launch(_needs_power_of_two, 3, timeout=TIMEOUT)
    with pytest.raises(ShapeError, match="power-of-two"):
        n_global_qubits(6, 10)
    with pytest.raises(ShapeError, match="no local qubit"):
        n_global_qubits(4, 2)
    assert n_global_qubits(8, 10) == 3


def _slow(rank: int, world: int) -> None:
    dist.barrier()
    if rank == 0:
        import time

        time.sleep(30)


def test_launch_times_out():
    with pytest.raises(TimeoutError, match="did not finish within 2 s"):
        launch(_slow, 2, timeout=2.0)


def test_timing_script_runs():
    from hybridq.sim.distributed import main

    res = main(["--qubits", "8", "--layers", "1", "--procs", "1", "2", "--repeats", "1"])
    one, two = res["rows"]
    assert one["swaps"] == 0 and one["comm_share"] == 0
    assert two["swaps"] > 0 and 0 < two["comm_share"] < 1 and two["gates"] == 8 + 7 + 8


def test_ddp_example_matches_single_process(tmp_path):
    import importlib
    import json
    import sys

    examples = Path(__file__).resolve().parents[2] / "examples"
    sys.path.insert(0, str(examples))  # importable by name, also in spawned processes
    try:
        res = importlib.import_module("ddp_training").main(["--epochs", "2", "--train-size", "128", "--batch", "32", "--layers", "1",
                           "--out", str(tmp_path), "--no-progress"])
    finally:
        sys.path.remove(str(examples))
    assert res["procs"] == 2 and res["ranks_identical"]
    assert res["max_abs_weight_difference"] < 1e-8  # float64: DDP's averaged gradient is the whole batch's
    assert res["ddp"]["losses"] == pytest.approx(res["single"]["losses"], abs=1e-10)
    assert res["ddp"]["losses"][1] < res["ddp"]["losses"][0]
    assert json.loads((tmp_path / "ddp_training.json").read_text()) == json.loads(json.dumps(res))
