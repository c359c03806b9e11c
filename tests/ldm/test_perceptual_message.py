"""--perceptual-weights without torchvision: one line that says what to install (issue 13)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.cli_run import one_line_error


@pytest.mark.skipif(
    importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed"
)
def test_perceptual_weights_without_torchvision_is_one_line(tmp_path: Path, capsys) -> None:
    weights = tmp_path / "resnet50.pt"
    weights.write_bytes(b"not read: torchvision is missing first")
    argv = ["train-autoencoder", "--dims", "2", "--size", "32", "--iterations", "1"]
    argv += ["--out", str(tmp_path / "ae"), "--perceptual-weights", str(weights)]
    line = one_line_error(argv, capsys)
    assert "needs torchvision" in line and "pip install torchvision" in line
    assert "Original traceback" not in line
