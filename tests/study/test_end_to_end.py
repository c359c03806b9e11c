"""One real study at a tiny size: lpm.ldm trains and samples, lpm.report builds the page."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lpm.cli.main import main
from lpm.provenance import Provenance
from lpm.results import read_quality_record, read_results

TINY = {
    "name": "tiny",
    "dims": [2],
    "image_sizes": {"2d": [16]},
    "model_sizes": ["small"],
    "processes": [1],  # torchrun is covered by test_ddp.py and `make run`
    "sampler": "ddim",
    "steps": [20, 10],
    "regions": ["SE", "PL", "EU27"],
    "intensity_source": "paper2024",
    "months": {"region": "DE", "year": 2022},
    "measure": {
        "train_iterations": 2,
        "warmup_iterations": 1,
        "samples": 1,
        "interval_s": 0.05,
        "autoencoder_iterations": 1,
    },
    "batch_size": 1,
    "quality": {
        "size": 16, "autoencoder_iterations": 2, "train_iterations": 2, "batch_size": 2,
        "samples": 4, "steps": 2, "n_items": 4, "bootstrap": 10, "threads": 1,
    },
}  # fmt: skip


@pytest.mark.slow
def test_tiny_study_end_to_end_and_rerun(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "study"
    main(["study", str(spec), "--out", str(out)])
    stdout = capsys.readouterr().out
    assert stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    records = read_results(out).records
    ids = sorted(r.scenario_id for r in records)
    assert ids == ["2d-16-small-p1-ddim-10", "2d-16-small-p1-ddim-20"]
    by_id = {r.scenario_id: r for r in records}
    for rec in records:
        assert rec.status == "ok" and rec.schema_version == 2
        assert rec.train is not None and rec.sample is not None
        assert rec.train.prediction.n == 150_000
        assert rec.train.step_stats.count == 2
        assert rec.train.flops_per_iteration is None or rec.train.flops_per_iteration > 0
        assert rec.train.prediction.energy_kwh_mean > 0
        # measured at exactly its own step count: 1 sample × steps
        assert rec.sample.steps == rec.steps and not rec.sample.steps_override
        assert rec.sample.step_stats.count == rec.steps
        assert rec.sample.samples == 1
        assert rec.sample.fixed_per_sample_j_mean >= 0
        assert rec.provenance is Provenance.ESTIMATED  # this VM has no energy counters
    assert by_id["2d-16-small-p1-ddim-20"].train.world_size == 1
    s10 = by_id["2d-16-small-p1-ddim-10"].sample
    s20 = by_id["2d-16-small-p1-ddim-20"].sample
    assert s10.step_stats != s20.step_stats  # two runs, not one scaled
    assert s10.prediction.energy_kwh_mean / s20.prediction.energy_kwh_mean != 0.5
    assert (out / "report.html").stat().st_size > 0
    assert list((out / "figures").glob("*.png"))
    assert "2d-16-small-p1-ddim-20" in stdout  # the summary table
    quality = read_quality_record(out)  # the quality stage ran, and the report shows it
    assert quality is not None and quality.samples == 4 and quality.setting.size == (16, 16)
    html = (out / "report.html").read_text()
    section = html[html.index("<h2 id='quality'>") :]
    assert "Copy rate" in section and "per useful sample" in section
    assert section.count("data:image/png;base64,") >= 2  # the montage and a closest pair

    # A second run finds everything done and only rebuilds the report.
    before = (out / "results.jsonl").read_text()
    main(["study", str(spec), "--out", str(out)])
    assert "0 measured now, 2 from before" in " ".join(capsys.readouterr().out.split())
    assert (out / "results.jsonl").read_text() == before
    assert read_quality_record(out) == quality  # not run again
