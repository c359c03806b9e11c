"""lpm.ldm.features: a trained run's autoencoder as features, its training data and held-out
phantoms as references (`lpm evaluate --run`, `evaluate_samples_dir`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lpm.cli.main import main
from lpm.errors import LpmError
from lpm.ldm.features import (
    HELDOUT_SEED_OFFSET,
    autoencoder_features,
    evaluate_samples_dir,
    heldout_data,
    training_data,
)
from tests.cli_run import one_line_error, run_cli
from tests.quality.conftest import phantoms
from tests.quality.test_evaluate_cli import write_samples


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny `lpm train` run on 4 phantoms (seed 3), trained for 2 iterations."""
    root = tmp_path_factory.mktemp("run")
    cfg = root / "tiny.yaml"
    cfg.write_text("n_items: 4\ninterval_s: 0.2\nprogress: false\nseed: 3\n")
    out = root / "ldm"
    main(
        ["train", "--dims", "2", "--size", "32", "--model", "small", "--iterations", "2",
         "--autoencoder-iterations", "2", "--batch-size", "2", "--out", str(out),
         "--config", str(cfg)]
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def samples(run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples") / "s"
    main(
        ["sample", "--run", str(run), "--n", "4", "--steps", "2", "--sampler", "ddim",
         "--out", str(out), "--no-progress", "--no-png"]
    )  # fmt: skip
    return out


def test_run_references(run: Path) -> None:
    train = training_data(run)
    assert (train.source, train.n, train.seed) == ("phantom", 4, 3)
    real = heldout_data(run)
    assert (real.source, real.n, real.seed) == ("phantom", 4, 3 + HELDOUT_SEED_OFFSET)


def test_autoencoder_features(run: Path) -> None:
    feats = autoencoder_features(run)
    out = feats(phantoms(0, 3))
    assert out.ndim == 2 and out.shape[0] == 3 and np.isfinite(out).all()


def test_evaluate_with_run(run: Path, samples: Path, capsys) -> None:
    code, stdout, err = run_cli(
        ["evaluate", "--samples", str(samples), "--run", str(run), "--n-real", "8",
         "--bootstrap", "10", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(stdout)
    assert {"frechet_distance", "mmd", "copy_rate", "ms_ssim"} <= set(data["metrics"])
    assert data["real"]["n"] == 8 and data["train"]["n"] == 4
    assert "autoencoder" in data["features"]
    assert data["energy"]["samples"] == 4
    assert (samples / "quality.html").exists()


def test_evaluate_samples_dir_for_the_lead(run: Path, samples: Path, tmp_path: Path) -> None:
    report = evaluate_samples_dir(samples, run, n_real=6, out=tmp_path, n_boot=10)
    assert report.real.n == 6 and (tmp_path / "quality.json").exists()


def test_run_errors(run: Path, tmp_path: Path, capsys) -> None:
    wrong = write_samples(tmp_path / "wrong", phantoms(1, 4, (48, 48)))
    line = one_line_error(["evaluate", "--samples", str(wrong), "--run", str(run)], capsys)
    assert "the run trained on 32x32" in line
    files_run = tmp_path / "filerun"
    files_run.mkdir()
    (files_run / "config.json").write_text(json.dumps({"data": "/ct", "dims": 2, "size": [32, 32]}))
    with pytest.raises(LpmError, match="pass --real"):
        heldout_data(files_run)
    line = one_line_error(["evaluate", "--samples", str(wrong), "--run", str(tmp_path)], capsys)
    assert "config.json" in line
