"""`lpm study`: bad specs and arguments are one line and exit 2; --dry-run lists scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli_run import one_line_error as _one_line_error
from tests.cli_run import run_cli as run_main


def _spec(tmp_path: Path, **fields) -> str:
    data = {"dims": [2], "image_sizes": {"2d": [32]}, **fields}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_unknown_dimension(tmp_path: Path, capsys) -> None:
    line = _one_line_error(
        ["study", _spec(tmp_path, gpus=[1, 4]), "--out", str(tmp_path / "o")], capsys
    )
    assert "unknown field 'gpus'" in line


def test_empty_grid(tmp_path: Path, capsys) -> None:
    line = _one_line_error(
        ["study", _spec(tmp_path, model_sizes=[]), "--out", str(tmp_path / "o")], capsys
    )
    assert "model_sizes" in line and "empty" in line


def test_negative_budget(tmp_path: Path, capsys) -> None:
    spec = _spec(tmp_path, measure={"train_iterations": -100})
    line = _one_line_error(["study", spec, "--out", str(tmp_path / "o")], capsys)
    assert "measure.train_iterations" in line and "-100" in line


def test_unknown_region(tmp_path: Path, capsys) -> None:
    spec = _spec(tmp_path, regions=["DE", "Atlantis"])
    line = _one_line_error(["study", spec, "--out", str(tmp_path / "o")], capsys)
    assert "regions" in line and "Atlantis" in line
    assert not (tmp_path / "o").exists()


def test_missing_data_path(tmp_path: Path, capsys) -> None:
    spec = _spec(tmp_path, data=str(tmp_path / "no-scans"))
    line = _one_line_error(["study", spec, "--out", str(tmp_path / "o")], capsys)
    assert "no-scans does not exist" in line


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["study", "--out", "x"], "--preset"),
        (["study", "s.yaml", "--preset", "quick", "--out", "x"], "not both"),
        (["study", "--preset", "fastest", "--out", "x"], "unknown preset"),
        (["study", "--preset", "quick"], "--out"),
        (["study", "--preset", "quick", "--out", "x", "--executor", "cloud"], "executor"),
        (["study", "--preset", "quick", "--out", "x", "--workers", "0"], "workers"),
        (["study", "nope.yaml", "--out", "x"], "does not exist"),
    ],
)
def test_bad_arguments(argv: list[str], words: str, capsys) -> None:
    assert words in _one_line_error(argv, capsys)


def test_dry_run_prints_spec_and_scenarios(capsys) -> None:
    code, out, _ = run_main(["study", "--preset", "paper", "--dry-run"], capsys)
    assert code == 0
    assert "3d-256x256x192-medium-p1-ddpm-1000" in out
    assert "# 16 scenarios in 14 measured runs" in out
    spec = yaml.safe_load(out)
    assert spec["targets"] == {"train_iterations": 150000, "samples": 10000, "steps": 1000}


def test_size_the_model_cannot_take(tmp_path: Path, capsys) -> None:
    spec = _spec(tmp_path, image_sizes={"2d": [32, 40]})
    line = _one_line_error(["study", spec, "--out", str(tmp_path / "o")], capsys)
    assert "image size 40" in line and "multiple of 16" in line
    assert not (tmp_path / "o").exists()


def test_summary_table_shows_mean_and_relative_std() -> None:
    from rich.console import Console

    from lpm.cli.study_cmds import summary_table

    record = {
        "scenario_id": "3d-16-small-p1-ddim-200",
        "estimated": True,
        "train": {
            "prediction": {
                "energy_kwh_mean": 0.5,
                "energy_kwh_std": 0.05,
                "footprint": {"co2e_kg": 0.2, "co2e_kg_std": 0.02},
            },
            "flop_per_j": 2.5e8,
        },
        "sample": {},
    }
    console = Console(width=200, record=True)
    console.print(summary_table([record], "t"))
    text = console.export_text()
    assert "3d-16-small-p1-ddim-200" in text
    assert "0.5 ± 10%" in text and "0.2 ± 10%" in text and "2.5e+08" in text
    assert "yes" in text
