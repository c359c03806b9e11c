"""The study's quality stage: one model trained to have quality, sampled, scored, recorded
in DIR/quality; skipped once recorded, retried after a failure, off with quality: null."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.study.fake_measure import fake_measure
from tests.study.fake_quality import FAIL_ENV, fake_quality, quality_runs

from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.results import read_quality_record
from lpm.study.checks import check_quality
from lpm.study.presets import preset_spec
from lpm.study.runner import run_study
from lpm.study.spec import load_spec, spec_from_dict

GRID = {
    "dims": [2],
    "image_sizes": {"2d": [16]},
    "model_sizes": ["small"],
    "steps": [10],
    "measure": {"train_iterations": 2, "samples": 1, "interval_s": 0.05},
    "threads": 1,  # two threads on a shared CPU wait on each other (see the quick preset)
}
TINY_QUALITY = {
    "size": 16, "autoencoder_iterations": 2, "train_iterations": 2, "batch_size": 2,
    "samples": 4, "steps": 2, "n_items": 4, "bootstrap": 10,
}  # fmt: skip


def test_the_stage_runs_once_after_the_grid_and_is_skipped_on_rerun(tmp_path: Path) -> None:
    spec = spec_from_dict({**GRID, "quality": TINY_QUALITY})
    outcome = run_study(
        spec, tmp_path, measure=fake_measure, quality_fn=fake_quality, progress=False
    )
    assert not outcome.failed and outcome.quality == read_quality_record(tmp_path)
    assert outcome.quality is not None and outcome.quality.samples == 4
    again = run_study(spec, tmp_path, measure=fake_measure, quality_fn=fake_quality, progress=False)
    assert again.quality == outcome.quality and quality_runs(tmp_path) == 1


def test_a_failed_stage_is_noted_and_retried(tmp_path: Path, monkeypatch) -> None:
    spec = spec_from_dict({**GRID, "quality": TINY_QUALITY})
    monkeypatch.setenv(FAIL_ENV, "1")
    outcome = run_study(
        spec, tmp_path, measure=fake_measure, quality_fn=fake_quality, progress=False
    )
    assert "simulated failure" in outcome.failed["quality"] and outcome.quality is None
    assert outcome.records  # the grid's records are kept
    failure = json.loads((tmp_path / "failures.jsonl").read_text().splitlines()[-1])
    assert failure["job_id"] == "quality"
    monkeypatch.delenv(FAIL_ENV)
    again = run_study(spec, tmp_path, measure=fake_measure, quality_fn=fake_quality, progress=False)
    assert not again.failed and again.quality is not None and quality_runs(tmp_path) == 2


def test_no_stage_without_quality_or_when_turned_off(tmp_path: Path) -> None:
    plain = run_study(
        spec_from_dict(GRID), tmp_path / "a", measure=fake_measure, quality_fn=fake_quality,
        progress=False,
    )  # fmt: skip
    off = run_study(
        spec_from_dict({**GRID, "quality": TINY_QUALITY}), tmp_path / "b", measure=fake_measure,
        quality_fn=fake_quality, progress=False, quality=False,
    )  # fmt: skip
    assert plain.quality is None and off.quality is None
    assert quality_runs(tmp_path / "a") == quality_runs(tmp_path / "b") == 0


def test_a_spec_yaml_without_quality_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(spec_from_dict(GRID).to_yaml().replace("quality: null\n", ""))
    assert "quality" not in path.read_text()
    assert load_spec(path).quality is None


@pytest.mark.parametrize("name", ["quick", "paper"])
def test_presets_have_a_2d_quality_stage(name: str) -> None:
    spec = preset_spec(name)
    stage = spec.quality
    assert stage is not None and stage.dims == 2
    if name == "paper":  # its base 2D setting and its sample count
        assert stage.size_tuple() == spec.base_size(2) and stage.model == spec.base_model()
        assert stage.samples == spec.measure.samples
    else:
        assert stage.samples >= 32 and stage.train_iterations >= 10 * stage.batch_size


@pytest.mark.parametrize(
    ("quality", "match"),
    [
        ({"samples": 2}, "quality.samples"),
        ({"size": "32x32x32"}, "quality.size"),
        ({"n_items": 2}, "quality.n_items"),
        ({"steps": 0}, "quality.steps"),
    ],
)
def test_bad_stage_settings_name_the_field(quality: dict, match: str) -> None:
    with pytest.raises(LpmError, match=match):
        spec_from_dict({**GRID, "quality": quality})


def test_checks_refuse_files_and_sizes_the_model_cannot_take(tmp_path: Path) -> None:
    with pytest.raises(LpmError, match="held-out phantoms"):
        check_quality(spec_from_dict({**GRID, "data": str(tmp_path), "quality": {}}))
    with pytest.raises(LpmError, match=r"multiple of 16; use e\.g\. 32$"):
        check_quality(spec_from_dict({**GRID, "quality": {"size": 24}}), multiple=lambda d, m: 16)


@pytest.mark.slow
def test_the_real_stage_records_metrics_figures_and_energy(tmp_path: Path) -> None:
    spec = spec_from_dict({**GRID, "quality": TINY_QUALITY})
    outcome = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    assert not outcome.failed, outcome.failed
    rec = outcome.quality
    assert rec is not None and rec.provenance is Provenance.ESTIMATED
    assert {"hu_wasserstein", "tissue_fraction_l1", "ms_ssim", "copy_rate"} <= set(rec.metrics)
    assert rec.metrics["hu_wasserstein"].n == {"generated": 4, "real": 4}
    assert rec.n_real == 4 and rec.n_train == 4 and rec.samples == 4
    assert rec.copy_rate is not None and rec.useful_samples == pytest.approx(
        4 * (1 - rec.copy_rate)
    )
    assert rec.it_energy_kwh_per_sample == pytest.approx(rec.sample_it_energy_kwh / 4)
    if rec.useful_samples:
        assert rec.co2e_kg_per_useful_sample == pytest.approx(
            rec.sample_co2e_kg / rec.useful_samples
        )
    qdir = tmp_path / "quality"
    assert (qdir / rec.montage).read_bytes()[:4] == b"\x89PNG"
    figures = [p.figure for p in rec.closest if p.figure]
    assert figures and all((qdir / f).is_file() for f in figures)
    assert (tmp_path / rec.report_file).is_file() and (tmp_path / rec.html_file).is_file()
    assert len(list((qdir / "samples").glob("*.nii.gz"))) == 4
    summary = json.loads((qdir / "samples" / "summary.json").read_text())
    assert summary["quality"]["copy_rate"] == rec.copy_rate  # as `lpm sample --evaluate`
    assert not list(qdir.rglob("*.pt"))  # checkpoints dropped


def test_the_progress_bar_counts_scenarios_and_the_stage(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    spec = spec_from_dict({**GRID, "quality": TINY_QUALITY})
    run_study(
        spec, tmp_path, measure=fake_measure, quality_fn=fake_quality,
        console=Console(file=buffer, width=160, force_terminal=False),
    )  # fmt: skip
    text = buffer.getvalue()
    assert "1/1 scenarios" in text and "1/1 stage" in text and "quality done" in text
