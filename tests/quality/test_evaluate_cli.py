"""`lpm evaluate` end to end on folders of phantom 'samples': quality.json and a
self-contained quality.html; bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lpm.datasets import write_nifti
from lpm.quality import read_report
from tests.cli_run import one_line_error, run_cli
from tests.quality.conftest import phantoms


def write_samples(folder: Path, images: np.ndarray, summary: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        write_nifti(image, folder / f"sample_{i:05d}.nii.gz")
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture(scope="module")
def copies_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """'Samples' that are training phantoms (seed 0) plus tiny noise, with a sampling summary."""
    train = phantoms(0, 16)
    noisy = train + np.random.default_rng(0).normal(0, 5, train.shape)
    summary = {"samples": 16, "it_energy_kwh": 0.002, "co2e_kg": 0.001}
    return write_samples(tmp_path_factory.mktemp("s") / "copies", noisy, summary)


def test_evaluate_writes_json_and_self_contained_html(
    copies_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "q"
    code, stdout, err = run_cli(
        ["evaluate", "--samples", str(copies_dir), "--real", "phantom", "--train", "phantom",
         "--n-real", "16", "--n-train", "16", "--bootstrap", "20", "--out", str(out), "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(stdout)
    assert data["kind"] == "lpm-quality" and data["schema_version"] == 1
    assert data["metrics"]["copy_rate"]["value"] >= 0.9
    assert data["metrics"]["hu_wasserstein"]["n"] == {"generated": 16, "real": 16}
    report = read_report(out)
    assert report.memorisation is not None and report.memorisation.copies >= 14
    energy = report.energy
    assert energy is not None and energy.copy_rate == report.metrics["copy_rate"].value
    if energy.useful_samples > 0:
        expected = 0.002 / (16 * (1 - energy.copy_rate))
        assert energy.it_energy_kwh_per_useful_sample == pytest.approx(expected)
        assert energy.it_energy_j_per_useful_sample == pytest.approx(expected * 3.6e6)
    page = (out / "quality.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count("data:image/png;base64,") >= 2 + len(report.memorisation.closest)
    assert "copy_rate" in page


def test_evaluate_other_phantoms_are_useful_samples(tmp_path: Path, capsys) -> None:
    folder = write_samples(
        tmp_path / "s", phantoms(7, 12), {"samples": 12, "it_energy_kwh": 0.0012, "co2e_kg": 6e-4}
    )
    code, stdout, err = run_cli(
        ["evaluate", "--samples", str(folder), "--real", "phantom", "--train", "phantom",
         "--n-real", "12", "--n-train", "12", "--bootstrap", "20"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "copy_rate" in stdout and "energy / useful sample" in stdout
    report = read_report(folder)
    assert report.metrics["copy_rate"].value <= 0.1
    assert report.energy is not None and report.energy.it_energy_kwh_per_useful_sample is not None
    assert report.energy.it_energy_kwh_per_useful_sample < 0.0012 / 12 * 1.2


def test_bad_input_is_one_line(tmp_path: Path, copies_dir: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    mixed = write_samples(tmp_path / "mixed", phantoms(1, 2))
    write_nifti(np.zeros((16, 16), np.float32), mixed / "sample_00009.nii.gz")
    small = write_samples(tmp_path / "small", phantoms(1, 5, (48, 48)))
    three_d = write_samples(tmp_path / "vol", phantoms(1, 4, (16, 16, 16)))
    few = write_samples(tmp_path / "few", phantoms(3, 3))
    bad_weights = tmp_path / "weights.pth"
    bad_weights.write_text("no")
    base = ["evaluate", "--bootstrap", "10", "--n-real", "8"]
    cases = {
        "holds no": [*base, "--samples", str(empty), "--real", "phantom"],
        "does not exist": [*base, "--samples", str(tmp_path / "none"), "--real", "phantom"],
        "differ in shape": [*base, "--samples", str(mixed), "--real", "phantom"],
        "compare images of one size": [*base, "--samples", str(copies_dir), "--real", str(small)],
        "one dimension": [*base, "--samples", str(three_d), "--real", str(copies_dir)],
        "is not a state dict of ResNet-50": [
            *base, "--samples", str(copies_dir), "--real", "phantom",
            "--features", str(bad_weights),
        ],
        "needs at least 4 generated": [*base, "--samples", str(few), "--real", "phantom"],
        "give --real": [*base, "--samples", str(copies_dir)],
    }  # fmt: skip
    for message, argv in cases.items():
        line = one_line_error(argv, capsys)
        assert message in line, (message, line)
