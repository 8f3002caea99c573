"""The example scripts and notebooks run end to end on tiny settings."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(script: str, args: list[str], out: Path) -> dict:
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"example_{script}", EXAMPLES / f"{script}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.main([*args, "--out", str(out), "--no-progress", "--threads", "1"])
    finally:
        sys.path.remove(str(EXAMPLES))


def test_digits_hamiltonian_embedding(tmp_path):
    res = _run("digits_hamiltonian_embedding", ["--epochs", "1", "--seeds", "2", "--layers", "2", "--train-size", "200"], tmp_path)
    assert 0 <= res["test_accuracy_mean"] <= 1 and len(res["per_seed"]) == 2
    assert json.loads((tmp_path / "digits_hamiltonian.json").read_text())["layers"] == 2
    assert (tmp_path / "digits_hamiltonian.png").exists()


def test_reuploading_circle(tmp_path):
    res = _run("reuploading_circle", ["--epochs", "2", "--layers", "2", "--test-size", "200"], tmp_path)
    assert 0 <= res["test_accuracy_mean"] <= 1
    assert (tmp_path / "circle_curves.png").exists() and (tmp_path / "circle_decision.png").exists()


def test_qvf_image(tmp_path):
    res = _run("qvf_image", ["--epochs", "2", "--size", "8", "--hidden", "16", "--layers", "2"], tmp_path)
    assert res["psnr_db"] > 0 and (tmp_path / "qvf_image.png").exists()


def test_hybrid_cnn_quant(tmp_path):
    res = _run("hybrid_cnn_quant", ["--epochs", "1", "--qat-epochs", "1", "--qubits", "3", "--layers", "1"], tmp_path)
    assert 0 <= res["float_accuracy"] <= 1 and 0 <= res["quantized_qat_accuracy"] <= 1
    assert (tmp_path / "hybrid.png").exists()


def test_pennylane_comparison(tmp_path):
    pytest.importorskip("pennylane")
    res = _run("pennylane_comparison", ["--epochs", "1", "--qubits", "3", "--layers", "1", "--batch", "256"], tmp_path)
    # same model, same initial weights and batches: the two frameworks must agree
    assert abs(res["hybridq"]["test_accuracy"] - res["pennylane"]["test_accuracy"]) < 0.02
    assert res["pennylane_over_hybridq"] > 0


@pytest.mark.parametrize("notebook", sorted(p.name for p in EXAMPLES.glob("*.ipynb")))
def test_notebook_executes(notebook, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("HYBRIDQ_EXAMPLE_EPOCHS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(EXAMPLES / notebook, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
