"""The documentation site: ``mkdocs build --strict`` succeeds and renders the key pages.

Needs the docs tools (mkdocs-material, mkdocstrings-python, griffe-sphinx,
griffe-inherited-docstrings); skipped with the reason when they are missing.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS_TOOLS = ["mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "griffe_sphinx",
              "griffe_inherited_docstrings"]

PAGES = ["index.html", "getting-started/index.html", "conventions/index.html", "from-pennylane/index.html",
         "from-qiskit/index.html", "performance/index.html", "api/index.html"] + [f"api/{p}/index.html" for p in [
             "hybridq", "sim", "circuits", "ansatz", "interop", "backends", "plugins_pennylane", "plugins_qiskit",
             "operators", "estimators", "nn", "quant", "errors", "qubit_order", "cli", "tools"]]

#: page -> objects whose API entry (an element with the object's path as id) it must have
ANCHORS = {
    "api/hybridq": ["hybridq"],
    "api/sim": ["hybridq.sim", "hybridq.sim.ops.apply_gate", "hybridq.sim.measure.expval", "hybridq.sim.gates.ALIASES"],
    "api/circuits": ["hybridq.circuits.circuit.Circuit", "hybridq.circuits.expr.Input", "hybridq.circuits.execute.simulate"],
    "api/ansatz": ["hybridq.circuits.ansatz.reuploading.data_reuploading"],
    "api/interop": ["hybridq.circuits.interop.qasm.to_qasm", "hybridq.circuits.interop.qiskit.to_qiskit"],
    "api/operators": ["hybridq.operators.pauli_sum.PauliSum", "hybridq.operators.pauli_string.PauliString"],
    "api/estimators": ["hybridq.estimators.base.Estimator", "hybridq.estimators.shadows.LocallyBiasedShadows"],
    "api/nn": ["hybridq.nn.layer.QuantumLayer", "hybridq.nn.observables.Z_each"],
    "api/quant": ["hybridq.nn.quant.layers.QuantLinear"],
    "api/errors": ["hybridq.errors.HybridqError", "hybridq.errors.require"],
    "api/plugins_pennylane": ["hybridq.plugins.pennylane.HybridqDevice"],
    "api/qubit_order": ["hybridq.qubit_order.to_qiskit_label"],
    "api/cli": ["hybridq.cli", "hybridq.cli.example_circuit"],
    "api/plugins_qiskit": ["hybridq.plugins.qiskit.EstimatorV2", "hybridq.plugins.qiskit.SamplerV2"],
    "api/tools": ["hybridq.datasets.load_digits", "hybridq.training.train_classifier", "hybridq.progress.progress"],
}


def test_the_api_reference_covers_every_module_the_examples_import():
    used = set()
    for example in (ROOT / "examples").glob("*.*"):
        if example.suffix in (".py", ".ipynb"):
            used |= set(re.findall(r"(?:from|import) (hybridq(?:\.[a-z_]+)*)", example.read_text()))
    documented = set(re.findall(r"^::: (\S+)", "\n".join(p.read_text() for p in (ROOT / "docs" / "api").glob("*.md")), re.M))
    assert used and not used - documented, f"modules the examples use but the API reference leaves out: {used - documented}"


def _missing_tools() -> list[str]:
    return [m for m in DOCS_TOOLS if importlib.util.find_spec(m.split(".")[0]) is None
            or importlib.util.find_spec(m) is None]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    missing = _missing_tools()
    if missing:
        pytest.skip(f"docs tools not installed ({', '.join(missing)}): pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


def test_key_pages_exist(site):
    missing = [p for p in PAGES if not (site / p).is_file()]
    assert not missing, f"pages not built: {missing}"


def test_api_pages_document_the_public_objects(site):
    for page, paths in ANCHORS.items():
        html = (site / page / "index.html").read_text()
        absent = [p for p in paths if f'id="{p}"' not in html]
        assert not absent, f"{page}: no entry for {absent}"


def test_docstring_examples_are_code_and_roles_are_links(site):
    for page in (site / "api").glob("*/index.html"):
        html = page.read_text()
        assert not re.search(r"<p>\s*&gt;&gt;&gt;", html), f"{page}: a doctest rendered as text"
        assert not re.search(r":(class|func|meth|mod|attr|data):`", html), f"{page}: a Sphinx role left as text"
    sim = (site / "api" / "sim" / "index.html").read_text()
    assert '<span class="gp">&gt;&gt;&gt; </span>' in sim  # a highlighted pycon block
    nn = (site / "api" / "nn" / "index.html").read_text()
    assert 'href="../circuits/#hybridq.circuits.expr.Input"' in nn  # :class:`~hybridq.Input` in QuantumLayer


def test_performance_page_includes_the_benchmark_readme(site):
    html = (site / "performance" / "index.html").read_text()
    assert "python benchmarks/run.py" in html
    assert 'id="how-it-measures"' in html and 'id="workloads"' in html


def _run_snippets(page: str) -> dict:
    """Execute the page's ``python`` code blocks in order, in one namespace; return it."""
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S):
        exec(compile(block, page, "exec"), namespace)
    return namespace


def test_page_snippets_run_as_written():
    pytest.importorskip("qiskit")
    torch = pytest.importorskip("torch")
    ns = _run_snippets("getting-started.md")
    hq = ns["hq"]
    assert torch.allclose(hq.sim.probabilities(hq.simulate(ns["bell"])), torch.tensor([[0.5, 0.0, 0.0, 0.5]]))
    assert ns["w"].grad.shape == (2,) and torch.isfinite(ns["w"].grad).all()
    exact = float(hq.sim.expval(ns["hartree_fock"], ns["H"]))
    assert abs(exact - -1.117) < 1e-3  # Hartree-Fock energy of H2 (STO-3G), in Hartree
    assert abs(ns["res"].value - exact) < 5 * ns["res"].stderr and ns["res"].shots == 10_000
    assert ns["qc"].num_qubits == 2
    assert _run_snippets("conventions.md")["to_qiskit_label"]("XIZ") == "ZIX"
    _run_snippets("index.md")


def test_from_qiskit_page_runs_and_both_sides_agree():
    np = pytest.importorskip("numpy")
    pytest.importorskip("qiskit_machine_learning")
    ns = _run_snippets("from-qiskit.md")
    assert ns["circ"].weight_names == [p.name for p in ns["ansatz"].parameters]
    np.testing.assert_allclose(ns["hybridq_out"].detach().numpy(), ns["qiskit_out"].detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(ns["hybridq_qnn_out"].detach().numpy(), ns["qiskit_out"].detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(float(ns["hybridq_energy"]), float(ns["qiskit_energy"]), atol=1e-10)
    assert ns["evs"].shape == (100,) and sum(ns["counts"].values()) == 1000
    assert ns["layer"].weight.grad is not None


def test_docstring_extension():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("hybridq_docstrings", ROOT / "docs" / "_griffe" / "hybridq_docstrings.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    assert doctest.testmod(ext).failed == 0
    text = ":class:`~hybridq.sim.Op` and :meth:`fit()`.\n\n>>> print('a')  # doctest: +ELLIPSIS\na\n<BLANKLINE>\n\nEnd."
    assert ext.to_markdown(text).splitlines() == [
        "[`Op`][hybridq.sim.Op] and [`fit`][fit].", "", "", "```pycon", ">>> print('a')", "a", "", "```", "", "", "End.",
    ]
