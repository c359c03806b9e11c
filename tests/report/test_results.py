"""The report's reader: results through lpm.results (the one parser), spec.yaml here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lpm.results
from lpm.errors import LpmError
from lpm.report import results as report_results
from lpm.report.results import (
    DEFAULT_MONTHS,
    DEFAULT_REGIONS,
    read_results,
    read_spec,
)
from lpm.results import ScenarioRecord, record_to_dict, record_to_json
from tests.report.synthetic import write_spec
from tests.results.factory import make_record


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_the_report_reads_results_through_lpm_results() -> None:
    assert report_results.read_results is lpm.results.read_results
    assert report_results.ResultsFile is lpm.results.ResultsFile
    assert report_results.SkippedLine is lpm.results.SkippedLine


def test_records_are_typed_and_kill_9_leftovers_are_tolerated(tmp_path: Path) -> None:
    a = make_record("2d-32-small-p1-ddim-200")
    b = make_record("2d-48-small-p1-ddim-200", size=(48, 48))
    c = make_record("2d-64-small-p1-ddim-200", size=(64, 64))
    torn = record_to_json(b)[:40]  # kill -9 mid-write, no newline; the resume appends c
    _write(tmp_path / "results.jsonl", f"{record_to_json(a)}\n{torn}{record_to_json(c)}\n")
    res = read_results(tmp_path)
    assert res.records == (a, c)
    assert all(isinstance(r, ScenarioRecord) for r in res.records)
    assert res.skipped_lines == ()


def test_duplicate_scenarios_last_wins_in_first_seen_order(tmp_path: Path) -> None:
    a = make_record("2d-32-small-p1-ddim-200")
    b = make_record("2d-48-small-p1-ddim-200", size=(48, 48))
    a2 = record_to_dict(a) | {"status": "failed", "error": "rerun failed"}
    a2.update(train=None, sample=None)
    lines = [record_to_json(a), record_to_json(b), json.dumps(a2)]
    _write(tmp_path / "results.jsonl", "\n".join(lines) + "\n\n")
    res = read_results(tmp_path)
    assert [r.scenario_id for r in res.records] == [a.scenario_id, b.scenario_id]
    assert res.records[0].status == "failed" and res.records[0].error == "rerun failed"
    assert res.duplicates == 1
    assert res.ids("ok") == {b.scenario_id}
    assert res.ok() == (b,)


def test_old_records_are_refused_not_misread(tmp_path: Path) -> None:
    old = {"scenario_id": "2d-32-small-p1-ddim-200", "status": "ok", "estimated": True}
    _write(tmp_path / "results.jsonl", json.dumps(old) + "\n")
    with pytest.raises(LpmError, match="version-1 study record"):
        read_results(tmp_path)


def test_missing_results_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(LpmError, match="no results file"):
        read_results(tmp_path)
    assert read_results(tmp_path, missing_ok=True).records == ()


def test_spec_absent_gives_the_papers_defaults(tmp_path: Path) -> None:
    spec = read_spec(tmp_path)
    assert spec.regions == DEFAULT_REGIONS == ("SE", "DE", "PL", "CN", "US", "EU27")
    assert spec.region_source == "paper2024"
    assert spec.months == DEFAULT_MONTHS
    assert spec.months[0] == "2022-01" and len(spec.months) == 12
    assert spec.months_region == "DE"
    assert not spec.from_file


def test_spec_written_by_the_study_is_read(tmp_path: Path) -> None:
    write_spec(
        tmp_path,
        regions=["FR", "PL"],
        intensity_source=None,
        months={"region": "DE", "year": 2023},
        targets={"train_iterations": 1000, "samples": 5, "steps": 50},
        pue=1.2,
        base={"image_size": {"2d": 32}, "model": "medium", "processes": None, "steps": None},
    )
    spec = read_spec(tmp_path)
    assert spec.from_file
    assert spec.regions == ("FR", "PL")
    assert spec.region_source is None
    assert spec.months == tuple(f"2023-{m:02d}" for m in range(1, 13))
    assert spec.targets == {"train_iterations": 1000, "samples": 5, "steps": 50}
    assert spec.pue == 1.2
    assert spec.base == {"image_size": {"2d": 32}, "model": "medium"}


def test_invalid_spec_yaml_is_a_user_error(tmp_path: Path) -> None:
    _write(tmp_path / "spec.yaml", "regions: [SE\n  bad: : :")
    with pytest.raises(LpmError, match="not valid YAML"):
        read_spec(tmp_path)
    _write(tmp_path / "spec.yaml", "- just a list\n")
    with pytest.raises(LpmError, match="mapping"):
        read_spec(tmp_path)
