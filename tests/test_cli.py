"""The `hybridq` command: each subcommand runs and writes what it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybridq.cli import main


def test_train_quick_writes_model_plot_and_results(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "1")
    assert main(["train", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "digits_training.json").read_text())
    assert result["test_accuracy"] > 0.2  # 8 classes: chance is 0.125, even after two epochs
    assert result["integer_head_test_accuracy"] == pytest.approx(result["test_accuracy"], abs=0.02)
    assert (tmp_path / "digits_model.pt").stat().st_size > 0
    assert (tmp_path / "digits_training.png").read_bytes()[:4] == b"\x89PNG"


def test_estimate_quick_is_within_chemical_accuracy(tmp_path, capsys):
    assert main(["estimate", "--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "H2_estimate.json").read_text())
    assert abs(result["error"]) < 1.6e-3 and result["stderr"] < 1e-3
    assert result["variances"]["derandomized-dd"] < result["variances"]["shadows"]
    assert "shots" in capsys.readouterr().out
    assert (tmp_path / "H2_error_vs_shots.png").read_bytes()[:4] == b"\x89PNG"


def test_bench_needs_a_checkout_and_cuda_needs_a_gpu(tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.chdir(tmp_path)
    if not torch.cuda.is_available():
        assert main(["train", "--device", "cuda"]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err
    assert main(["info"]) == 0
    assert "CPU kernels: " in capsys.readouterr().out


ROOT = Path(__file__).resolve().parent.parent


def hybridq(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The command as a user runs it (this checkout's package), in a fresh process."""
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "HYBRIDQ_PROGRESS")}
    environ.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "hybridq.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=environ, timeout=600)


@pytest.mark.parametrize("args, message", [
    (["estimate", "--molecule", "XYZ"], "unknown molecule 'XYZ'"),
    (["train", "--device", "mps"], "runs on cpu or cuda, not 'mps'"),
    (["train", "--device", "gpu0"], "is not a torch device"),
    (["estimate", "--shots", "-5"], "expected a positive whole number, got '-5'"),
    (["train", "--bits", "12"], "invalid choice"),
    (["teleport"], "invalid choice"),
])
def test_user_mistakes_end_with_a_message_and_status_2(args, message):
    done = hybridq(*args)
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_errors_from_the_library_are_reported_without_a_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")  # --out names a file, so the folder cannot be made
    done = hybridq("estimate", "--quick", "--trials", "1", "--max-shots", "100", "--out", str(blocker / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")


def test_version_names_the_distribution():
    from hybridq import __version__

    done = hybridq("--version")
    assert done.returncode == 0 and f"hybridq {__version__} (distribution hybridq-torch" in done.stdout


def test_quiet_and_the_environment_switch_progress_bars_off(tmp_path):
    fit = "from hybridq.estimators import Derandomized as D; from hybridq.operators import PauliSum as P; " \
          "D(P.from_molecule('H2'), n_bases=50).fit()"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYBRIDQ_PROGRESS")}
    run = [sys.executable, "-c", fit]
    shown = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)})
    hidden = subprocess.run(run, capture_output=True, text=True, cwd=ROOT,
                            env={**env, "PYTHONPATH": str(ROOT), "HYBRIDQ_PROGRESS": "0"})
    assert "derandomizing" in shown.stderr and "derandomizing" not in hidden.stderr
    quiet = hybridq("--quiet", "estimate", "--quick", "--trials", "1", "--max-shots", "100",
                    "--out", str(tmp_path))
    assert quiet.returncode == 0 and "derandomizing" not in quiet.stderr and "it/s" not in quiet.stderr
