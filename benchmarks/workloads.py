"""The benchmark workloads: their sizes and the seeded data every library gets.

Every library builds its inputs from these numpy arrays (float64 / complex128), so the
results of different libraries can be compared element by element. Arrays are in hybridq
order (qubit 0 = most significant bit of a basis index).

>>> case = W1_SIZES["quick"][0]
>>> sorted(w1_data(case))
['b', 't', 'w', 'x']
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SEED = 1234
#: Folder of the molecular Hamiltonians: $HYBRIDQ_HAMILTONIANS, else shared/ beside the repository.
HAMILTONIAN_DIR = Path(
    os.environ.get(
        "HYBRIDQ_HAMILTONIANS",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmark-hamiltonians",
    )
)
MOLECULES = {"H2O": "H2O_STO3g_14qubits", "NH3": "NH3_STO3g_16qubits"}

#: W1 hybrid training step: n qubits, L layers, batch B.
W1_SIZES = {
    "quick": [{"n": 8, "L": 2, "B": 32}, {"n": 10, "L": 4, "B": 256}],
    "full": [{"n": 10, "L": 4, "B": 256}, {"n": 12, "L": 6, "B": 1024}, {"n": 16, "L": 6, "B": 256}],
}
#: W2 large state: n qubits, D layers of (RY on every qubit, CNOT ring); forward only.
W2_SIZES = {
    "quick": [{"n": 16, "D": 5}, {"n": 18, "D": 5}],
    "full": [{"n": 20, "D": 5}, {"n": 22, "D": 5}, {"n": 24, "D": 5}],
    "gpu": [{"n": 24, "D": 5}, {"n": 26, "D": 5}, {"n": 28, "D": 5}],  # full sizes with --device cuda
}
#: W3 exact <psi|H|psi> for a molecular Hamiltonian on B random states.
W3_SIZES = {
    "quick": [{"molecule": "H2O", "B": 1}, {"molecule": "H2O", "B": 8}],
    "full": [
        {"molecule": "H2O", "B": 1},
        {"molecule": "H2O", "B": 64},
        {"molecule": "NH3", "B": 1},
        {"molecule": "NH3", "B": 64},
    ],
}
#: W4 ansatz families: n qubits, L layers, batch B (the kernel family: B samples, a B x B Gram matrix).
W4_FAMILIES = ("cnot_ring", "cz_chain", "crx_ring", "rzz_ring", "strongly_entangling", "data_reuploading",
               "hardware_efficient", "zz_kernel")
W4_SIZES = {
    "quick": [{"family": f, "n": 8, "L": 2, "B": 32} for f in W4_FAMILIES]
    + [{"family": f, "n": 10, "L": 4, "B": 256} for f in W4_FAMILIES],
    "full": [{"family": "zz_kernel", "n": 8, "L": 2, "B": 256}]  # the kernel of hybridq's issue 16: 8 qubits, 256 x 256
    + [{"family": f, **size} for size in W1_SIZES["full"] for f in W4_FAMILIES]
    + [{"family": f, "n": 10, "L": 4, "B": 1} for f in W4_FAMILIES[:-1]],  # one sample: VQE-like training
}
SIZES = {"W1": W1_SIZES, "W2": W2_SIZES, "W3": W3_SIZES, "W4": W4_SIZES}
TITLES = {
    "W1": "W1 hybrid training step (forward + backward of sum(<Z_i>**2))",
    "W2": "W2 large state (forward only, D layers of RY + CNOT ring)",
    "W3": "W3 exact Hamiltonian expectation <psi|H|psi>",
    "W4": "W4 ansatz families (training step of sum(<Z_i>**2); zz_kernel: Gram matrix)",
}
#: Repetitions of the ZZ feature map in the W4 kernel family (Qiskit's default; L is not read).
ZZ_REPS = 2
#: Number of amplitudes of the final W2 state that are compared across libraries.
W2_SAMPLES = 2048


def case_label(workload: str, case: dict) -> str:
    """Short human-readable name of a case, e.g. ``"n=10 L=4 B=256"``."""
    return " ".join(f"{k}={v}" for k, v in case.items())


def w1_data(case: dict) -> dict[str, np.ndarray]:
    """Inputs ``x`` (B, n) and weights ``w``, ``b`` (L, n), ``t`` (L, n, 2) for W1."""
    n, layers, batch = case["n"], case["L"], case["B"]
    rng = np.random.default_rng(SEED)
    return {
        "x": rng.uniform(-1.0, 1.0, size=(batch, n)),
        "w": rng.normal(0.0, 1.0, size=(layers, n)),
        "b": rng.uniform(-np.pi, np.pi, size=(layers, n)),
        "t": rng.uniform(-np.pi, np.pi, size=(layers, n, 2)),
    }


def w2_data(case: dict) -> dict[str, np.ndarray]:
    """RY angles (D, n) and the sorted basis indices (hybridq order) whose amplitudes are compared."""
    n, depth = case["n"], case["D"]
    rng = np.random.default_rng(SEED)
    angles = rng.uniform(-np.pi, np.pi, size=(depth, n))
    samples = np.unique(rng.integers(0, 2**n, size=min(W2_SAMPLES, 2**n)))
    return {"angles": angles, "samples": samples}


def w2_gate_count(case: dict) -> int:
    """Gates in the W2 circuit: per layer n RY and n CNOT."""
    return 2 * case["n"] * case["D"]


def w3_path(case: dict) -> Path:
    """The Jordan-Wigner Hamiltonian file of the case's molecule."""
    return HAMILTONIAN_DIR / MOLECULES[case["molecule"]] / "jw.txt"


def read_pauli_terms(path: Path) -> list[tuple[str, complex]]:
    """Parse a line-pair Hamiltonian file: a label (qubit 0 first), then a coefficient ``(a+bj)``."""
    lines = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    if len(lines) % 2:
        raise ValueError(f"{path}: expected pairs of lines (label, coefficient), got {len(lines)} lines")
    return [(lines[i], complex(lines[i + 1])) for i in range(0, len(lines), 2)]


def w3_data(case: dict) -> dict[str, np.ndarray]:
    """B random normalised states (B, 2**n), complex128, in hybridq order."""
    n = len(read_pauli_terms(w3_path(case))[0][0])
    rng = np.random.default_rng(SEED)
    psi = rng.normal(size=(case["B"], 2**n)) + 1j * rng.normal(size=(case["B"], 2**n))
    return {"states": psi / np.linalg.norm(psi, axis=1, keepdims=True)}


#: Gates of one ansatz layer after the data encoding: each family's rotations (number of
#: trainable angles per qubit) and its entangler.
W4_ROTATIONS = {
    "cnot_ring": ("RZ", "RY"), "cz_chain": ("RZ", "RY"), "crx_ring": ("RZ", "RY"), "rzz_ring": ("RZ", "RY"),
    "strongly_entangling": ("RZ", "RY", "RZ"), "data_reuploading": ("RY", "RZ"), "hardware_efficient": ("RX", "RZ"),
}
#: The encoding rotation RE(w * x + b) of each family.
W4_ENCODING = {"data_reuploading": "RX"}


def w4_data(case: dict) -> dict[str, np.ndarray]:
    """Inputs ``x`` (B, n); weights ``w``, ``b`` (L, n), ``t`` (L, n, k) and, for the entanglers
    with angles, ``c`` (L, n). The kernel family: ``x`` alone, in [0, pi)."""
    n, layers, batch, family = case["n"], case["L"], case["B"], case["family"]
    rng = np.random.default_rng(SEED)
    if family == "zz_kernel":
        return {"x": rng.uniform(0.0, np.pi, size=(batch, n))}
    data = {
        "x": rng.uniform(-1.0, 1.0, size=(batch, n)),
        "w": rng.normal(0.0, 1.0, size=(layers, n)),
        "b": rng.uniform(-np.pi, np.pi, size=(layers, n)),
        "t": rng.uniform(-np.pi, np.pi, size=(layers, n, len(W4_ROTATIONS[family]))),
    }
    if family in ("crx_ring", "rzz_ring"):
        data["c"] = rng.uniform(-np.pi, np.pi, size=(layers, n))
    return data


def w4_gates(case: dict) -> list[tuple[str, tuple[int, ...], tuple | None]]:
    """The circuit of a W4 case as ``(gate, wires, angle)``, every library's one source.

    ``angle`` is None (no angle), ``("enc", l, i)`` = ``w[l, i] * x[:, i] + b[l, i]``,
    ``("t", l, i, k)``, ``("c", l, i)``, or for the kernel family ``("x", i)`` = ``2 x_i`` and
    ``("xx", i, j)`` = ``2 (pi - x_i)(pi - x_j)``. Gates: RX, RY, RZ, CNOT, CZ, CRX, RZZ
    (``exp(-i a Z Z / 2)``), H, P (phase shift); wires: control first.

    >>> [g for g, _, _ in w4_gates({"family": "cz_chain", "n": 2, "L": 1, "B": 1})]
    ['RY', 'RY', 'RZ', 'RY', 'RZ', 'RY', 'CZ']
    """
    n, layers, family = case["n"], case["L"], case["family"]
    gates: list[tuple[str, tuple[int, ...], tuple | None]] = []
    if family == "zz_kernel":  # Qiskit's zz_feature_map: full entanglement
        for _ in range(ZZ_REPS):
            for i in range(n):
                gates += [("H", (i,), None), ("P", (i,), ("x", i))]
            for i in range(n):
                for j in range(i + 1, n):
                    gates += [("CNOT", (i, j), None), ("P", (j,), ("xx", i, j)), ("CNOT", (i, j), None)]
        return gates
    for l in range(layers):
        gates += [(W4_ENCODING.get(family, "RY"), (i,), ("enc", l, i)) for i in range(n)]
        for i in range(n):
            gates += [(g, (i,), ("t", l, i, k)) for k, g in enumerate(W4_ROTATIONS[family])]
        if family == "cnot_ring":
            gates += [("CNOT", (i, (i + 1) % n), None) for i in range(n)]
        elif family == "cz_chain":
            gates += [("CZ", (i, i + 1), None) for i in range(n - 1)]
        elif family == "crx_ring":
            gates += [("CRX", (i, (i + 1) % n), ("c", l, i)) for i in range(n)]
        elif family == "rzz_ring":
            gates += [("RZZ", (i, (i + 1) % n), ("c", l, i)) for i in range(n)]
        elif family == "strongly_entangling":
            r = l % (n - 1) + 1
            gates += [("CNOT", (i, (i + r) % n), None) for i in range(n)]
        elif family == "data_reuploading":
            gates += [("CZ", (i, (i + 1) % n), None) for i in range(n)]
        elif family == "hardware_efficient":
            gates += [("CNOT", (i, i + 1), None) for start in (0, 1) for i in range(start, n - 1, 2)]
    return gates


def w4_angle(spec: tuple, x, params: dict, pi: float = np.pi):
    """The value of an angle spec of :func:`w4_gates`: ``x`` ``(B, n)`` and ``params`` (w, b, t, c)
    as arrays of any array library (the arithmetic is the same in numpy, torch and JAX)."""
    kind = spec[0]
    if kind == "enc":
        _, l, i = spec
        return params["w"][l, i] * x[:, i] + params["b"][l, i]
    if kind == "t":
        return params["t"][spec[1], spec[2], spec[3]]
    if kind == "c":
        return params["c"][spec[1], spec[2]]
    if kind == "x":
        return 2 * x[:, spec[1]]
    return 2 * (pi - x[:, spec[1]]) * (pi - x[:, spec[2]])
