"""lpm.results.quality: the study's quality record is written and read back as it was; a
study without one reads as None; a damaged or foreign one is one LpmError line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from lpm.errors import LpmError
from lpm.results import quality_record_path, read_quality_record, write_quality_record
from tests.results.quality_factory import make_quality_record


def test_round_trip(tmp_path: Path) -> None:
    record = make_quality_record()
    path = write_quality_record(tmp_path, record)
    assert path == tmp_path / "quality" / "record.json"
    assert read_quality_record(tmp_path) == record
    data = json.loads(path.read_text())
    assert data["kind"] == "lpm-study-quality" and data["estimated"] is True


def test_nan_values_survive(tmp_path: Path) -> None:
    record = make_quality_record()
    metric = record.metrics["ms_ssim"].model_copy(update={"ci_low": math.nan})
    record = record.model_copy(update={"metrics": {**record.metrics, "ms_ssim": metric}})
    write_quality_record(tmp_path, record)
    assert math.isnan(read_quality_record(tmp_path).metrics["ms_ssim"].ci_low)


def test_a_study_without_the_stage_has_none(tmp_path: Path) -> None:
    assert read_quality_record(tmp_path) is None


def test_every_sample_a_copy_has_no_energy_per_useful_sample() -> None:
    record = make_quality_record(copy_rate=1.0)
    assert record.useful_samples == 0 and record.it_energy_kwh_per_useful_sample is None


def test_useful_samples_must_follow_the_copy_rate() -> None:
    with pytest.raises(ValidationError, match="useful_samples"):
        make_quality_record(useful_samples=64.0)  # the copy rate is 0.25: 48


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not a readable quality record"),
        ('{"kind": "lpm-quality"}', "not an lpm study quality record"),
        ('{"kind": "lpm-study-quality", "schema_version": 9}', "schema 9"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, text: str, match: str) -> None:
    path = quality_record_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(LpmError, match=match):
        read_quality_record(tmp_path)


def test_unknown_fields_are_errors(tmp_path: Path) -> None:
    path = write_quality_record(tmp_path, make_quality_record())
    data = json.loads(path.read_text())
    data["fidelity"] = 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(LpmError, match="fidelity"):
        read_quality_record(tmp_path)
