"""`hybridq vqe`: a molecule from a name or an .xyz file to a converged, resumable energy."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pyscf")
pytest.importorskip("openfermion")

from hybridq.cli import main  # noqa: E402


def test_vqe_reaches_fci_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CI", "1")
    args = ["vqe", "--molecule", "LiH", "--active", "2", "3", "--encoding", "parity", "--out", str(tmp_path)]
    assert main(args) == 0
    result = json.loads((tmp_path / "LiH_vqe.json").read_text())
    assert result["qubits"] == 6 and abs(result["exact_energy"] - result["e_fci"]) < 1e-6
    assert (tmp_path / "LiH_vqe.png").read_bytes()[:4] == b"\x89PNG"
    assert main([*args, "--resume", "--maxiter", "2"]) == 0
    assert f"after {result['iterations']} iterations" in capsys.readouterr().out


def test_vqe_reads_an_xyz_file_and_counts_shots(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "1")
    (tmp_path / "h2.xyz").write_text("2\n\nH 0 0 0\nH 0 0 0.735\n")
    args = ["vqe", "--molecule", str(tmp_path / "h2.xyz"), "--estimator", "grouping", "--precision", "0.01",
            "--maxiter", "2", "--out", str(tmp_path)]
    assert main(args) == 0
    result = json.loads((tmp_path / "H2_vqe.json").read_text())
    assert result["qubits"] == 4 and result["iterations"] == 2 and result["total_shots"] > 0
