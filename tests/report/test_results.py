"""The results/spec reader: tolerant of kill -9 leftovers, duplicates, missing spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.report.results import (
    DEFAULT_MONTHS,
    DEFAULT_REGIONS,
    read_results,
    read_spec,
)
from tests.report.synthetic import record, write_spec


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_truncated_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    a, b = record(2, (32, 32)), record(3, (16, 16, 16))
    full_b = json.dumps(b)
    _write(tmp_path / "results.jsonl", json.dumps(a) + "\n" + full_b[: len(full_b) // 2])
    res = read_results(tmp_path)
    assert [r["scenario_id"] for r in res.records] == [a["scenario_id"]]
    assert len(res.skipped_lines) == 1
    assert res.skipped_lines[0].line_number == 2
    assert res.skipped_lines[0].reason == "truncated last line"


def test_record_appended_after_a_torn_line_is_recovered(tmp_path: Path) -> None:
    a, b, c = record(2, (32, 32)), record(2, (48, 48)), record(2, (64, 64))
    torn = json.dumps(b)[:40]  # kill -9 mid-write, no newline; the resume appends c
    _write(tmp_path / "results.jsonl", f"{json.dumps(a)}\n{torn}{json.dumps(c)}\n")
    res = read_results(tmp_path)
    assert [r["scenario_id"] for r in res.records] == [a["scenario_id"], c["scenario_id"]]
    assert res.skipped_lines == ()


def test_duplicate_scenarios_last_wins_in_first_seen_order(tmp_path: Path) -> None:
    a, b = record(2, (32, 32)), record(2, (48, 48))
    a2 = dict(a, status="failed", error="rerun failed")
    lines = [json.dumps(x) for x in (a, b, a2)]
    _write(tmp_path / "results.jsonl", "\n".join(lines) + "\n\n")
    res = read_results(tmp_path)
    assert [r["scenario_id"] for r in res.records] == [a["scenario_id"], b["scenario_id"]]
    assert res.records[0]["status"] == "failed"
    assert res.duplicates == 1
    assert res.ids("ok") == {b["scenario_id"]}


def test_bad_middle_line_and_record_without_id_are_skipped(tmp_path: Path) -> None:
    a = record(2, (32, 32))
    _write(tmp_path / "results.jsonl", f"not json\n{json.dumps({'x': 1})}\n{json.dumps(a)}\n")
    res = read_results(tmp_path / "results.jsonl")
    assert [r["scenario_id"] for r in res.records] == [a["scenario_id"]]
    assert [s.reason for s in res.skipped_lines] == [
        "not a JSON object",
        "record without a scenario_id",
    ]


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
