"""One real study at a tiny size: lpm.ldm trains and samples, lpm.report builds the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lpm.cli.main import main

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
        "sample_steps": 2,
        "interval_s": 0.05,
        "autoencoder_iterations": 1,
    },
    "batch_size": 1,
}


@pytest.mark.slow
def test_tiny_study_end_to_end_and_rerun(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "study"
    main(["study", str(spec), "--out", str(out)])
    stdout = capsys.readouterr().out
    assert stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    ids = sorted(r["scenario_id"] for r in records)
    assert ids == ["2d-16-small-p1-ddim-10", "2d-16-small-p1-ddim-20"]
    by_id = {r["scenario_id"]: r for r in records}
    for rec in records:
        assert rec["status"] == "ok"
        assert rec["train"]["prediction"]["n"] == 150_000
        assert rec["train"]["step_stats"]["count"] == 2
        assert rec["train"]["flops_per_iteration"] > 0
        assert rec["train"]["prediction"]["energy_kwh_mean"] > 0
        assert rec["sample"]["step_stats"]["count"] == 2  # 1 sample x 2 steps
    assert by_id["2d-16-small-p1-ddim-20"]["train"]["world_size"] == 1
    s10 = by_id["2d-16-small-p1-ddim-10"]["sample"]["prediction"]["energy_kwh_mean"]
    s20 = by_id["2d-16-small-p1-ddim-20"]["sample"]["prediction"]["energy_kwh_mean"]
    assert s10 / s20 == pytest.approx(0.5)
    assert (out / "report.html").stat().st_size > 0
    assert list((out / "figures").glob("*.png"))
    assert "2d-16-small-p1-ddim-20" in stdout  # the summary table

    # A second run finds everything done and only rebuilds the report.
    before = (out / "results.jsonl").read_text()
    main(["study", str(spec), "--out", str(out)])
    assert "0 measured now, 2 from before" in " ".join(capsys.readouterr().out.split())
    assert (out / "results.jsonl").read_text() == before
