"""The trade-off records: strict models, append/read with a torn line, last id wins."""

from __future__ import annotations

import json

import pytest

from lpm.errors import LpmError
from lpm.results import (
    TRADEOFF_DIR,
    TRADEOFF_SCHEMA_VERSION,
    BreakEven,
    TradeoffPoint,
    append_point,
    parse_point,
    read_tradeoff,
    tradeoff_points_path,
    tradeoff_summary_path,
    write_summary,
)
from tests.results.tradeoff_factory import make_point, make_summary


def test_constants():
    assert TRADEOFF_DIR == "tradeoff"
    assert TRADEOFF_SCHEMA_VERSION == 1


def test_point_roundtrip_schema_first_and_estimated():
    point = make_point(steps=20, batch_size=4)
    assert point.point_id == "run/ddim-20-b4" and point.recipe == "ddim-20-b4"
    data = json.loads(point.model_dump_json())
    assert data["estimated"] is True
    again = parse_point(data)
    assert again == point
    assert again.metric("hu_wasserstein") == 10.0 and again.metric("nope") is None


def test_unknown_field_refused():
    data = make_point().model_dump(mode="json")
    data["surprise"] = 1
    with pytest.raises(LpmError, match="surprise is not a field"):
        parse_point(data, source="x")


def test_point_id_must_match_its_parts():
    with pytest.raises(ValueError, match="point_id"):
        make_point(point_id="run/ddim-51-b1")


def test_ok_point_needs_energy_and_quality_failed_needs_error():
    with pytest.raises(ValueError, match="synthesis_co2e_kg"):
        make_point(synthesis_co2e_kg=None)
    with pytest.raises(ValueError, match="quality"):
        make_point(quality={})
    failed = make_point(status="failed", error="CUDA out of memory")
    assert not failed.ok and failed.synthesis_co2e_kg is None
    with pytest.raises(ValueError, match="error"):
        TradeoffPoint.model_validate({**failed.model_dump(), "error": None})


def test_other_schema_version_refused():
    data = make_point().model_dump(mode="json")
    data["schema_version"] = 2
    with pytest.raises(LpmError, match="schema 2"):
        parse_point(data)


def test_append_read_torn_line_and_last_duplicate_wins(tmp_path):
    append_point(tmp_path, make_point(steps=50, co2e_kg=1.0))
    append_point(tmp_path, make_point(steps=20, co2e_kg=0.5))
    append_point(tmp_path, make_point(steps=50, co2e_kg=0.8))  # a re-run replaces it
    path = tradeoff_points_path(tmp_path)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"schema_version": 1, "point_id": "run/ddim-10')  # kill -9 mid-write
    points, summary = read_tradeoff(tmp_path)
    assert summary is None
    assert [p.point_id for p in points] == ["run/ddim-50-b1", "run/ddim-20-b1"]
    assert points[0].synthesis_co2e_kg == 0.8
    append_point(tmp_path, make_point(steps=10))  # the torn line is cut before appending
    assert [p.steps for p in read_tradeoff(tmp_path)[0]] == [50, 20, 10]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_a_bad_middle_line_is_an_error(tmp_path):
    append_point(tmp_path, make_point())
    path = tradeoff_points_path(tmp_path)
    path.write_text(path.read_text() + "not json\n" + path.read_text())
    with pytest.raises(LpmError, match="line 2"):
        read_tradeoff(tmp_path)


def test_no_sweep_reads_empty(tmp_path):
    assert read_tradeoff(tmp_path / "none") == ([], None)


def test_summary_written_atomically_and_read(tmp_path):
    summary = make_summary(
        break_even=[BreakEven(cheaper_training="a", costlier_training="b", samples=12.5, note="n")]
    )
    path = write_summary(tmp_path, summary)
    assert path == tradeoff_summary_path(tmp_path)
    assert path.read_text().lstrip().startswith('{\n  "schema_version": 1')
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert read_tradeoff(tmp_path)[1] == summary


def test_damaged_summary_is_one_line(tmp_path):
    tradeoff_summary_path(tmp_path).write_text("{")
    with pytest.raises(LpmError, match="not a readable"):
        read_tradeoff(tmp_path)
    data = make_summary().model_dump(mode="json")
    del data["why"]
    tradeoff_summary_path(tmp_path).write_text(json.dumps(data))
    with pytest.raises(LpmError, match="why is missing"):
        read_tradeoff(tmp_path)


def test_point_is_a_tradeoff_point():
    assert isinstance(make_point(), TradeoffPoint)
