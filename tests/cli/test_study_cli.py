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


@pytest.mark.parametrize(("field", "value"), [("train_iterations", -100), ("checkpoint_every", 0)])
def test_negative_budget(tmp_path: Path, capsys, field: str, value: int) -> None:
    spec = _spec(tmp_path, measure={field: value})
    line = _one_line_error(["study", spec, "--out", str(tmp_path / "o")], capsys)
    assert f"measure.{field}" in line and str(value) in line
    assert not (tmp_path / "o").exists()


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


def test_summary_table_reads_typed_records_and_shows_provenance() -> None:
    from rich.console import Console

    from lpm.cli.study_cmds import summary_table
    from lpm.provenance import Provenance
    from tests.results.factory import make_record

    mixed = make_record(
        "3d-16-small-p1-ddim-200",
        dims=3,
        size=(16, 16, 16),
        iteration_j=12.0,
        train_provenance=Provenance.MEASURED,
    )
    scaled = make_record(
        "3d-32-small-p1-ddim-1000",
        dims=3,
        size=(32, 32, 32),
        steps=1000,
        sample_steps=10,
        train_provenance=Provenance.SIMULATED,
        sample_provenance=Provenance.SIMULATED,
    )
    console = Console(width=250, record=True)
    console.print(summary_table([mixed, scaled], "t"))
    text = console.export_text()
    assert "3d-16-small-p1-ddim-200" in text and "3d-32-small-p1-ddim-1000" in text
    # training: 150 000 iterations × 12 J = 0.5 kWh, std 10 %
    assert "0.5 ± 10%" in text and "8.33e+07" in text  # 1e9 FLOP / 12 J
    assert "train measured; sample estimated" in text
    assert "simulated" in text
    assert "10 (scaled)" in text
    # fixed share: 0.5 J of 0.5 + 200 × 0.01 J per sample
    assert " 20% " in text


def test_results_of_an_older_lpm_are_refused_with_exit_2(tmp_path: Path, capsys) -> None:
    import json

    from lpm.study.spec import load_spec

    spec_path = _spec(tmp_path)
    out = tmp_path / "o"
    out.mkdir()
    (out / "spec.yaml").write_text(load_spec(spec_path).to_yaml())
    old = {"scenario_id": "2d-32-small-p1-ddim-1000", "status": "ok", "estimated": True}
    (out / "results.jsonl").write_text(json.dumps(old) + "\n")
    line = _one_line_error(["study", spec_path, "--out", str(out)], capsys)
    assert "results.jsonl line 1 is a version-1 study record" in line
    assert "re-run `lpm study` into a new --out folder" in line
    # also when the directory's spec is that of an older preset
    other = load_spec(spec_path).model_copy(update={"pue": 1.2})
    (out / "spec.yaml").write_text(other.to_yaml())
    line = _one_line_error(["study", spec_path, "--out", str(out)], capsys)
    assert "is a version-1 study record" in line


def test_run_settings_are_checked_by_their_model(capsys) -> None:
    line = _one_line_error(["study", "--preset", "quick", "--out", "x", "--workers", "0"], capsys)
    assert line.startswith("error: --workers:") and "(got 0)" in line
    line = _one_line_error(
        ["study", "--preset", "quick", "--out", "x", "--slurm-timeout-min", "0"], capsys
    )
    assert "--slurm-timeout-min" in line


def test_slurm_flags_reach_the_jobs_parameters() -> None:
    from lpm.study.spec import StudyRun, run_from_flags

    assert StudyRun().slurm_parameters() == {"timeout_min": 24 * 60}
    run = run_from_flags({"slurm_partition": "gpu", "slurm_timeout_min": 30})
    assert run.slurm_parameters() == {"timeout_min": 30, "slurm_partition": "gpu"}


def test_a_run_setting_is_one_field(tmp_path: Path, monkeypatch, capsys) -> None:
    """`--slurm-account` is only a field of StudyRun: the flag and the sbatch line follow."""
    import os

    import typer.main

    from lpm.cli.main import app
    from lpm.study import SlurmExecutor, jobs, preset_spec
    from lpm.study.spec import run_from_flags

    (param,) = [
        p for p in typer.main.get_command(app).commands["study"].params if p.name == "slurm_account"
    ]
    assert param.opts == ["--slurm-account"] and param.help == "Slurm account charged for the jobs."
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{srun.parent}{os.pathsep}{os.environ['PATH']}")
    run = run_from_flags({"executor": "slurm", "slurm_account": "proj42"})
    ex = SlurmExecutor(tmp_path / "slurm", parameters=run.slurm_parameters())
    params = ex._executor(jobs(preset_spec("quick"))[0])._executor.parameters
    assert params["account"] == "proj42"


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"sampler": "bogus"}, "spec sampler: unknown sampler 'bogus'"),
        ({"tradeoff": {}}, "quality is null"),
        ({"quality": {}, "tradeoff": {"samplers": ["bogus"]}}, "tradeoff.samplers"),
        ({"quality": {}, "tradeoff": {"samplers": ["rflow"]}}, "fits none of the objectives"),
        ({"quality": {}, "tradeoff": {"steps": [1000, 1200]}}, "1200 steps is more than"),
        ({"quality": {}, "tradeoff": {"batches": [0]}}, "tradeoff.batches"),
        ({"quality": {}, "tradeoff": {"tolerance": 1.5}}, "tradeoff.tolerance"),
    ],
)
def test_a_spec_that_cannot_run_is_refused_before_anything_starts(
    tmp_path: Path, capsys, fields: dict, words: str, dry_run: bool
) -> None:
    out = tmp_path / "o"
    argv = ["study", _spec(tmp_path, **fields), "--out", str(out)]
    line = _one_line_error(argv + (["--dry-run"] if dry_run else []), capsys)
    assert words in line
    assert not out.exists()


def test_no_tradeoff_is_a_run_setting() -> None:
    from lpm.study.spec import StudyRun, run_from_flags

    assert StudyRun().tradeoff is True
    assert run_from_flags({"tradeoff": False}).tradeoff is False


def test_the_tradeoff_line_names_the_recipe_and_its_saving() -> None:
    from lpm.cli.study_cmds import tradeoff_line
    from tests.results.tradeoff_factory import make_summary

    line = tradeoff_line(make_summary())
    assert line.startswith("tradeoff: recommended run/ddim-50-b1: 95.0% less CO2e than ")
    assert "run/ddpm-1000-b1 (19 kg for 10,000 samples)" in line
    assert "not shown more than 5% worse" in line
    none = make_summary(
        recommended=None, closest="run/ddim-20-b1", why="HU Wasserstein\n12 % above",
        saving_fraction=0.97, saving_co2e_kg=19.4,
    )  # fmt: skip
    line = tradeoff_line(none)
    assert "no recipe within 5% of run/ddpm-1000-b1; closest run/ddim-20-b1: " in line
    assert "HU Wasserstein 12 % above; 97.0% less CO2e" in line and "\n" not in line


def test_dry_run_says_what_the_tradeoff_stage_sweeps(capsys) -> None:
    code, out, _ = run_main(["study", "--preset", "paper", "--dry-run"], capsys)
    assert code == 0
    line = out.splitlines()[-1]
    assert line.startswith("# then the tradeoff stage: its own 3D 256x256x192 medium model")
    assert "objectives ddpm, rflow" in line and "batches 1, 4, 16" in line
    assert yaml.safe_load(out)["tradeoff"]["objectives"] == ["ddpm", "rflow"]


@pytest.mark.parametrize("flag", [[], ["--no-tradeoff"]])
def test_no_tradeoff_reaches_the_runner_and_the_line_is_printed(
    tmp_path: Path, monkeypatch, capsys, flag: list[str]
) -> None:
    from lpm.study import runner
    from lpm.study.runner import StudyOutcome
    from tests.results.tradeoff_factory import make_summary

    seen: dict = {}

    def fake_run_study(spec, out, **kw) -> StudyOutcome:
        seen.update(kw)
        summary = make_summary() if kw["tradeoff"] else None
        return StudyOutcome(out_dir=Path(out), records=[], tradeoff=summary)

    monkeypatch.setattr(runner, "run_study", fake_run_study)
    argv = ["study", "--preset", "quick", "--out", str(tmp_path / "o"), *flag]
    code, out, _ = run_main(argv, capsys)
    assert code == 0 and seen["tradeoff"] is (not flag) and seen["quality"] is True
    assert ("tradeoff: recommended run/ddim-50-b1" in out) is (not flag)


def test_a_local_study_too_large_for_this_machine_is_refused_before_it_starts(
    tmp_path, monkeypatch, capsys
) -> None:
    import lpm.ldm.world

    monkeypatch.setattr(lpm.ldm.world, "available_bytes", lambda device: 100 * 2**20)
    out = tmp_path / "study"
    line = _one_line_error(["study", "--preset", "quick", "--out", str(out), "--dry-run"], capsys)
    assert "of RAM is free here" in line and "--executor slurm" in line
    assert not out.exists()
