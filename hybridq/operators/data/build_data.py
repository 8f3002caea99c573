"""Regenerate the shipped molecule files from the project's shared data (run by hand only).

Usage: ``python hybridq/operators/data/build_data.py /work/shared/data``

Every file gets its Hartree-Fock bitstring checked against the source's Hartree-Fock energy
before it is written; see README.md in this folder for what was found.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from hybridq.operators.files import read_pauli_sum
from hybridq.operators.molecules import encode_occupation, encoding_name
from hybridq.operators.pauli_sum import PauliSum

OUT = Path(__file__).parent
ATOMIC_NUMBER = {"H": 1, "Li": 3, "Be": 4, "C": 6, "N": 7, "O": 8, "Cl": 17}
SHARED = ["H2", "LiH", "BeH2", "H2O", "NH3"]
BENCHMARK = {  # name -> (folder, basis, Jordan-Wigner HF bitstring)
    "H2_STO-3G": ("H2_STO3g_4qubits", "sto-3g", "1010"),
    "H2_6-31G": ("H2_6-31G_8qubits", "6-31g", "10001000"),
    "LiH_STO-3G": ("LiH_STO3g_12qubits", "sto-3g", "110000110000"),  # the folder's 100000100000 is wrong
    "BeH2_STO-3G": ("BeH2_STO3g_14qubits", "sto-3g", "11100001110000"),
    "H2O_STO-3G": ("H2O_STO3g_14qubits", "sto-3g", "11111001111100"),
    "NH3_STO-3G": ("NH3_STO3g_16qubits", "sto-3g", "1111100011111000"),
    "C2_STO-3G": ("C2_STO3g_20qubits", "sto-3g", "11111100001111110000"),
    "HCl_STO-3G": ("HCl_STO3g_20qubits", "sto-3g", "11111111101111111110"),  # not listed in the folder
}
BENCHMARK_SOURCE = "charleshadfield/adaptiveshadows Hamiltonians/ (LBCS benchmark set)"


def write(stem: str, meta: dict, paulis: PauliSum) -> None:
    lines = [json.dumps(meta)[:-1] + ', "terms": [']
    for i, (label, c) in enumerate(paulis.to_list()):
        coeff = c.real if c.imag == 0 else [c.real, c.imag]
        lines.append(json.dumps([label, coeff]) + ("," if i + 1 < len(paulis) else ""))
    (OUT / f"{stem}.json").write_text("\n".join(lines) + "\n]}\n")


def check_hf(stem: str, paulis: PauliSum, bits: str, e_hf: float) -> None:
    value = paulis.basis_state_expectation(bits)
    if abs(value - e_hf) > 1e-8:
        raise SystemExit(f"{stem}: HF bitstring {bits} gives {value}, source says {e_hf}")


def fci_energy(geometry, basis: str) -> float:
    from pyscf import fci, gto, scf

    mol = gto.M(atom=geometry, basis=basis, unit="Angstrom", verbose=0)
    return float(fci.FCI(scf.RHF(mol).run()).kernel()[0])


def shared_molecules(root: Path) -> None:
    for name in SHARED:
        data = json.loads((root / f"{name}.json").read_text())
        paulis = read_pauli_sum(root / f"{name}.json")
        n_electrons = sum(ATOMIC_NUMBER[atom] for atom, _ in data["geometry"])
        bits = "1" * n_electrons + "0" * (data["n_qubits"] - n_electrons)
        check_hf(name, paulis, bits, data["e_hf"])
        source = "PySCF RHF + OpenFermion (project shared data)"
        e_fci = data["e_fci"]
        if e_fci is None:
            e_fci = fci_energy(data["geometry"], data["basis"])
            source += "; e_fci added with PySCF FCI"
        meta = {
            "name": name, "n_qubits": data["n_qubits"], "basis": data["basis"], "encoding": "jordan-wigner",
            "spin_order": "interleaved", "n_electrons": n_electrons, "hf_bitstring": bits,
            "e_hf": data["e_hf"], "e_fci": e_fci, "static_energy": 0.0, "geometry": data["geometry"],
            "source": source,
        }
        write(f"{name}_jw", meta, paulis)


def energies(text: str) -> dict:
    found = {}
    for key, pattern in {
        "static": r"static Coulomb repulsion: (\S+)",
        "exact": r"exact ground state (?:energy \(electronic\)|electronic energy is): (\S+)",
        "hf": r"Hartree Fock energy \(electronic\): (\S+)",
    }.items():
        match = re.search(pattern, text)
        found[key] = float(match.group(1)) if match else None
    return found


def benchmark_molecules(root: Path) -> None:
    for name, (folder, basis, jw_bits) in BENCHMARK.items():
        known = energies((root / "benchmark-hamiltonians" / folder / "ExactEnergy.txt").read_text())
        for tag in ("jw", "parity", "bk"):
            paulis = read_pauli_sum(root / "benchmark-hamiltonians" / folder / f"{tag}.txt")
            bits = encode_occupation(jw_bits, tag)
            e_hf = paulis.basis_state_expectation(bits)
            if known["hf"] is not None:
                check_hf(f"{name}/{tag}", paulis, bits, known["hf"])
            meta = {
                "name": name, "n_qubits": paulis.n_qubits, "basis": basis, "encoding": encoding_name(tag),
                "spin_order": "blocked", "n_electrons": jw_bits.count("1"), "hf_bitstring": bits,
                "e_hf": e_hf, "e_fci": known["exact"], "static_energy": known["static"], "geometry": None,
                "source": BENCHMARK_SOURCE + ("" if known["hf"] is not None else "; e_hf from the HF bitstring"),
            }
            write(f"{name}_{tag}", meta, paulis)


if __name__ == "__main__":
    shared = Path(sys.argv[1])
    shared_molecules(shared)
    benchmark_molecules(shared)
