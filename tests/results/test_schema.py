"""The schema-2 record: typed, strict, versioned, provenance carried and combined."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.results import (
    SCHEMA_VERSION,
    PredictionRecord,
    ScenarioRecord,
    StepStatsRecord,
    parse_record,
    record_to_dict,
    record_to_json,
)
from tests.results.factory import make_record


def test_importable_without_torch() -> None:
    code = (
        "import sys, lpm.results\n"
        "assert 'torch' not in sys.modules, 'lpm.results imported torch'\n"
        "assert 'numpy' not in sys.modules, 'lpm.results imported numpy'\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_json_round_trip_is_exact() -> None:
    rec = make_record(train_provenance=Provenance.MEASURED)
    line = record_to_json(rec)
    assert "\n" not in line
    back = parse_record(json.loads(line))
    assert back == rec
    assert isinstance(back.provenance, Provenance)
    assert (
        back.sample is not None
        and back.sample.prediction.ci95_kwh == rec.sample.prediction.ci95_kwh
    )


def test_serialised_form_has_version_provenance_and_old_estimated_flag() -> None:
    data = record_to_dict(
        make_record(train_provenance=Provenance.MEASURED, sample_provenance=Provenance.SIMULATED)
    )
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert data["provenance"] == "mixed" and data["estimated"] is True
    assert data["train"]["provenance"] == "measured" and data["train"]["estimated"] is False
    assert data["sample"]["provenance"] == "simulated" and data["sample"]["estimated"] is False
    assert data["train"]["step_stats"]["provenance"] == "measured"
    assert data["sample"]["prediction"]["provenance"] == "simulated"
    assert data["size"] == [32, 32]


def test_estimated_flag_that_contradicts_provenance_is_refused() -> None:
    data = record_to_dict(make_record(train_provenance=Provenance.MEASURED))
    data["train"]["estimated"] = True
    with pytest.raises(LpmError, match=r"train.*contradicts provenance 'measured'"):
        parse_record(data)


def test_record_provenance_must_be_the_combination_of_its_parts() -> None:
    data = record_to_dict(make_record(train_provenance=Provenance.MEASURED))
    assert data["provenance"] == "mixed"
    data["provenance"] = "measured"
    data["estimated"] = False
    with pytest.raises(LpmError, match="not the combination of its parts"):
        parse_record(data)


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("sample", "energy_per_sample_j"), 1.0, "sample.energy_per_sample_j is not a field"),
        (("worker_pid",), 123, "worker_pid is not a field"),
        (("sample", "steps"), 1000, "not the scenario's steps 200"),
        (("sample", "prediction", "n"), 3, "is not targets.samples"),
        (("targets", "steps"), 1000, "targets.steps 1000 is not steps 200"),
        (("size",), [32, 32, 32], "is not a 2D image size"),
        (("status",), "done", "status"),
    ],
)
def test_records_that_do_not_match_are_refused_in_one_line(
    path: tuple[str, ...], value: object, match: str
) -> None:
    data = record_to_dict(make_record())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(LpmError, match=match) as info:
        parse_record(data, source="r.jsonl line 1")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("r.jsonl line 1 (2d-32-small-p1-ddim-200)")
    assert "re-run `lpm study` into a new --out folder" in msg


def test_missing_field_is_named() -> None:
    data = record_to_dict(make_record())
    del data["sample"]["fixed_per_sample_j_mean"]
    with pytest.raises(LpmError, match=r"sample\.fixed_per_sample_j_mean is missing"):
        parse_record(data)


def test_steps_override_is_marked_and_checked() -> None:
    rec = make_record(steps=1000, sample_steps=10)
    assert rec.sample is not None and rec.sample.steps == 10 and rec.sample.steps_override
    assert not rec.synthesis_measured_directly
    assert make_record(steps=1000).synthesis_measured_directly
    data = record_to_dict(rec)
    data["measured"]["sample_steps"] = None
    with pytest.raises(LpmError, match="marked as the override"):
        parse_record(data)
    direct = record_to_dict(make_record(steps=1000))
    direct["measured"]["sample_steps"] = 10
    with pytest.raises(LpmError, match=r"sample_steps 10 is set but sample\.steps_override is"):
        parse_record(direct)


def test_version_1_record_is_refused() -> None:
    v1 = record_to_dict(make_record())
    del v1["schema_version"]
    with pytest.raises(LpmError, match=r"version-1 study record.*cannot be upgraded") as info:
        parse_record(v1, source="old/results.jsonl line 2")
    assert str(info.value).startswith("old/results.jsonl line 2 is a version-1")
    assert "re-run `lpm study` into a new --out folder" in str(info.value)


@pytest.mark.parametrize(
    ("version", "match"),
    [
        (3, "schema_version 3, newer than this lpm reads \\(2\\); upgrade lpm"),
        (1, "unknown schema_version 1"),
        ("2", "unknown schema_version '2'"),
        (True, "unknown schema_version True"),
    ],
)
def test_other_versions_are_refused(version: object, match: str) -> None:
    data = record_to_dict(make_record())
    data["schema_version"] = version
    with pytest.raises(LpmError, match=match):
        parse_record(data)


def test_failed_record_needs_an_error_and_no_parts() -> None:
    data = record_to_dict(make_record())
    data.update(status="failed", error=None, train=None, sample=None)
    with pytest.raises(LpmError, match="a failed record needs its error"):
        parse_record(data)
    data["error"] = "RuntimeError: out of memory"
    rec = parse_record(data)
    assert not rec.ok and rec.provenance_parts() == {}


def test_from_result_dicts_read_provenance_or_the_old_flag() -> None:
    stats = {
        "count": 3,
        "duration_s_mean": 0.1,
        "duration_s_std": 0.01,
        "power_w_mean": 10.0,
        "power_w_std": 1.0,
        "energy_j_mean": 1.0,
        "energy_j_std": 0.1,
        "estimated": False,
        "window": "sample",
        "warmup_steps": 2,
        "power_samples": 5,
    }
    assert StepStatsRecord.from_stats(stats).provenance is Provenance.MEASURED
    stats["provenance"] = "simulated"
    assert StepStatsRecord.from_stats(stats).provenance is Provenance.SIMULATED
    pred = record_to_dict(make_record())["train"]["prediction"]
    pred.pop("provenance")
    pred.pop("fixed_energy_j_mean")
    pred.update(estimated=True, measured_steps=20, co2e_kg_mean=1.0)
    rec = PredictionRecord.from_prediction(pred)
    assert rec.provenance is Provenance.ESTIMATED and rec.fixed_energy_j_mean == 0.0
    assert rec.co2e_kg_mean == pytest.approx(pred["footprint"]["co2e_kg"])


def test_records_are_frozen() -> None:
    rec = make_record()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        rec.steps = 5  # type: ignore[misc]
    assert isinstance(rec, ScenarioRecord)


def test_schema_version_is_the_first_key_of_a_line() -> None:
    assert record_to_json(make_record()).startswith('{"schema_version":2,')
