"""The `hybridq` command: each subcommand runs and writes what it promises."""

from __future__ import annotations

import json

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
