"""The example scripts and notebooks run end to end and produce what they promise.

Scripts run in-process with tiny arguments; notebooks run with their own (small) settings in a
python3 kernel through nbclient, and their final ``results`` dict is checked.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _ci(monkeypatch):
    monkeypatch.setenv("CI", "1")  # progress bars off


def _run(script: str, args: list[str], out: Path) -> dict:
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"example_{script}", EXAMPLES / f"{script}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.main([*args, "--out", str(out), "--no-progress", "--threads", "1"])
    finally:
        sys.path.remove(str(EXAMPLES))


def _saved(out: Path, name: str, results: dict) -> dict:
    """The JSON the script wrote, which must be what it returned."""
    saved = json.loads((out / name).read_text())
    assert saved == json.loads(json.dumps(results))
    return saved


def _assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 1000


def test_digits_hamiltonian_embedding(tmp_path):
    args = ["--epochs", "2", "--seeds", "2", "--layers", "2", "--train-size", "200"]
    res = _run("digits_hamiltonian_embedding", args, tmp_path)
    saved = _saved(tmp_path, "digits_hamiltonian.json", res)
    assert {saved["layers"], saved["epochs"], saved["block"]} == {2, 2, "su4"}
    assert len(saved["per_seed"]) == 2 and all(0 <= a <= 1 for a in saved["per_seed"])
    assert saved["test_accuracy_mean"] == pytest.approx(sum(saved["per_seed"]) / 2)
    assert saved["seconds_per_epoch"] > 0
    _assert_png(tmp_path / "digits_hamiltonian.png")


def test_reuploading_circle(tmp_path):
    res = _run("reuploading_circle", ["--epochs", "3", "--layers", "2", "--test-size", "400"], tmp_path)
    saved = _saved(tmp_path, "circle.json", res)
    assert saved["qubits"] == 1 and saved["layers"] == 2 and len(saved["per_seed"]) == 1
    assert saved["test_accuracy_mean"] > 0.55  # better than the majority class (about 0.5) after 3 epochs
    _assert_png(tmp_path / "circle_curves.png")
    _assert_png(tmp_path / "circle_decision.png")


def test_qvf_image(tmp_path):
    res = _run("qvf_image", ["--epochs", "30", "--size", "8", "--hidden", "16", "--layers", "2"], tmp_path)
    saved = _saved(tmp_path, "qvf.json", res)
    assert saved["psnr_db"] == pytest.approx(10 * math.log10(1 / saved["mse"]))
    assert saved["psnr_db"] > 10 and saved["size"] == 8
    assert 0 < saved["quantum_parameters"] < saved["parameters"]
    _assert_png(tmp_path / "qvf.png")
    _assert_png(tmp_path / "qvf_image.png")


def test_hybrid_cnn_quant(tmp_path):
    res = _run("hybrid_cnn_quant", ["--epochs", "2", "--qat-epochs", "1", "--qubits", "3", "--layers", "1"], tmp_path)
    saved = _saved(tmp_path, "hybrid.json", res)
    accuracies = [saved[k] for k in ("float_accuracy", "quantized_ptq_accuracy", "quantized_qat_accuracy")]
    assert all(0.15 < a <= 1 for a in accuracies)  # 10 classes: chance is 0.1
    assert saved["integer_accuracy"] == pytest.approx(saved["quantized_qat_accuracy"], abs=0.01)
    _assert_png(tmp_path / "hybrid.png")


def test_pennylane_comparison(tmp_path):
    pytest.importorskip("pennylane")
    res = _run("pennylane_comparison", ["--epochs", "1", "--qubits", "3", "--layers", "1", "--batch", "256"], tmp_path)
    saved = _saved(tmp_path, "pennylane_comparison.json", res)
    peers = ["pennylane"] + (["torchquantum"] if importlib.util.find_spec("torchquantum") else [])
    for peer in peers:
        # same model, same initial weights and batches: the frameworks must agree
        assert saved[peer]["initial_logit_difference"] < 1e-5
        assert saved["hybridq"]["test_accuracy"] == pytest.approx(saved[peer]["test_accuracy"], abs=0.02)
        assert saved[f"{peer}_over_hybridq"] == pytest.approx(
            saved[peer]["seconds_per_epoch"] / saved["hybridq"]["seconds_per_epoch"])
    if "torchquantum" not in peers:
        assert "not installed" in saved["torchquantum"]["skipped"]
    # TorchQuantum's stand-ins for Qiskit are gone once it is imported
    from qiskit.quantum_info import SparsePauliOp

    assert SparsePauliOp("XZ").to_list() == [("XZ", 1)]


def _check_quickstart(r: dict) -> None:
    assert r["circle_accuracy"] > 0.85 and r["kernel_svm_accuracy"] >= 0.6


def _check_hybrid_classifier(r: dict) -> None:
    assert r["float_accuracy"] > 0.6  # 10 classes
    assert set(r["ptq_accuracy"]) == {"2", "3", "4", "6", "8"}
    assert r["ptq_accuracy"]["8"] == pytest.approx(r["float_accuracy"], abs=0.02)
    assert r["qat_accuracy"] > r["float_accuracy"] - 0.05
    assert r["integer_accuracy"] == pytest.approx(r["qat_accuracy"], abs=0.01)


def _check_hamiltonian_embedding_digits(r: dict) -> None:
    assert r["test_accuracy"] > 0.8 and len(r["per_class_accuracy"]) == 8  # 8 classes
    assert min(r["per_class_accuracy"]) > 0.5


def _check_qvf_image_fit(r: dict) -> None:
    assert r["psnr_db"] > 25 and r["psnr_history_db"][-1] > r["psnr_history_db"][0]
    assert 0 < r["quantum_parameters"] < r["parameters"]


def _check_h2o_estimation(r: dict) -> None:
    m = r["methods"]
    assert set(m) == {"shadows", "LBCS", "adaptive", "derandomized", "DD", "derandomized DD", "grouping"}
    assert m["DD"]["variance"] < m["LBCS"]["variance"] < m["shadows"]["variance"]
    assert m["derandomized DD"]["variance"] < m["derandomized"]["variance"] < m["grouping"]["variance"]
    assert m["adaptive"]["left_out_terms"] > 0  # its pool of bases misses terms: not a candidate for the best
    complete = {k: v["shots_to_accuracy"] for k, v in m.items() if v["left_out_terms"] == 0}
    assert set(complete) == set(m) - {"adaptive"} and r["best"] == min(complete, key=complete.get)
    for name in ("derandomized", "derandomized DD", "grouping"):  # measured errors follow the analytic variance
        measured = r["measured"][name]
        for shots, error, stderr in zip(measured["shots"], measured["errors"], measured["stderrs"]):
            analytic = math.sqrt(m[name]["variance"] / shots)
            assert error < 4 * analytic
            if shots >= 10_000:
                assert stderr == pytest.approx(analytic, rel=0.15)
    est = r["estimate"]
    assert est["shots"] >= complete[r["best"]] and est["stderr"] < 1.05 * 1.6e-3  # chemical accuracy
    assert abs(est["value"] - r["exact"]) < 3 * est["stderr"] and est["error"] == est["value"] - r["exact"]


def _check_fake_ibm_device(r: dict) -> None:
    fake = "fake:FakeManilaV2"
    assert r["ghz_fraction"]["local"] == r["ghz_fraction"]["aer"] == 1.0 and 0.7 < r["ghz_fraction"][fake] < 0.99
    exact = np.array(r["exact_z"])
    sigma = np.sqrt((1 - exact**2) / r["shots"]) + 1e-3  # shot noise of each <Z>
    local, aer, noisy = (np.array(r["z_values"][k]) for k in ("local", "aer", fake))
    assert (abs(local - exact) < 4.5 * sigma).all() and (abs(aer - exact) < 4.5 * sigma).all()
    assert (abs(aer - local) < 4.5 * math.sqrt(2) * sigma).all()  # Aer and local agree within shot noise
    assert (abs(noisy - exact) < 0.2).all() and r["shrink"][fake] > 0.03 > abs(r["shrink"]["aer"])  # noise: towards 0
    assert r["accuracy"]["exact"] > 0.85 and all(a > r["accuracy"]["exact"] - 0.1 for a in r["accuracy"].values())
    e, exact_energy = r["energies"], r["exact_energy"]
    assert r["vqe_energy"] == pytest.approx(exact_energy, abs=1e-6)  # the one-parameter ansatz reaches the ground state
    for name in ("local", "aer"):
        assert abs(e[name]["value"] - exact_energy) < 3 * e[name]["stderr"]
    assert abs(e["aer"]["value"] - e["local"]["value"]) < 3 * math.hypot(e["aer"]["stderr"], e["local"]["stderr"])
    assert 3 * e[fake]["stderr"] < e[fake]["value"] - exact_energy < 0.4  # the device's noise raises the energy


def _check_vqe(r: dict) -> None:
    assert r["qubits"] == {"full": 12, "small": 6, "reduced": 4}
    for run in r["exact"].values():
        assert abs(run["error"]) < 1.6e-3 and run["error"] > -1e-9  # variational, within chemical accuracy
    shots = r["shots"]
    assert shots["iterations"] == len(shots["history_shots"]) and shots["total_shots"] == shots["history_shots"][-1]
    assert all(b > a for a, b in zip(shots["history_shots"], shots["history_shots"][1:]))
    assert -1e-9 < shots["exact_error"] < 1.6e-3


CHECKS = {
    "quickstart.ipynb": _check_quickstart,
    "hybrid_classifier.ipynb": _check_hybrid_classifier,
    "hamiltonian_embedding_digits.ipynb": _check_hamiltonian_embedding_digits,
    "qvf_image_fit.ipynb": _check_qvf_image_fit,
    "h2o_estimation.ipynb": _check_h2o_estimation,
    "fake_ibm_device.ipynb": _check_fake_ibm_device,
    "vqe.ipynb": _check_vqe,
}


def test_every_notebook_has_a_check():
    assert sorted(CHECKS) == sorted(p.name for p in EXAMPLES.glob("*.ipynb"))


@pytest.mark.parametrize("notebook", sorted(CHECKS))
def test_notebook_executes(notebook, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # plots become outputs
    nb = nbformat.read(EXAMPLES / notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import json\nprint(json.dumps(results))"))
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook shows no plot"
    printed = "".join(o.text for o in nb.cells[-1].outputs if o.output_type == "stream" and o.name == "stdout")
    CHECKS[notebook](json.loads(printed))


def _notebooks_in_repo() -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in ("site", "build", "node_modules")]
        found += [Path(folder) / f for f in files if f.endswith(".ipynb")]
    return sorted(found)


@pytest.mark.parametrize("path", _notebooks_in_repo(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_outputs_are_stripped(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
