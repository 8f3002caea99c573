"""The three benchmark workloads: their sizes and the seeded data every library gets.

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
SIZES = {"W1": W1_SIZES, "W2": W2_SIZES, "W3": W3_SIZES}
TITLES = {
    "W1": "W1 hybrid training step (forward + backward of sum(<Z_i>**2))",
    "W2": "W2 large state (forward only, D layers of RY + CNOT ring)",
    "W3": "W3 exact Hamiltonian expectation <psi|H|psi>",
}
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
