"""read_results: the one parser of results.jsonl (torn lines, duplicates, versions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.results import read_results, record_to_dict, record_to_json
from tests.results.factory import make_record


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines), encoding="utf-8")


def test_reads_typed_records_in_first_seen_order(tmp_path: Path) -> None:
    a, b = (
        make_record("2d-32-small-p1-ddim-200"),
        make_record("2d-32-small-p1-ddim-1000", steps=1000),
    )
    _write(tmp_path / "results.jsonl", [record_to_json(a) + "\n", record_to_json(b) + "\n"])
    res = read_results(tmp_path)
    assert res.records == (a, b)
    assert [r.scenario_id for r in res] == [a.scenario_id, b.scenario_id]
    assert res.ids() == {a.scenario_id, b.scenario_id} and res.ok() == (a, b)
    assert res.get(b.scenario_id) == b and res.get("nope") is None
    assert read_results(tmp_path / "results.jsonl").records == (a, b)


def test_last_duplicate_wins(tmp_path: Path) -> None:
    first = make_record(step_j=0.01)
    other = make_record("2d-64-small-p1-ddim-200", size=(64, 64))
    last = make_record(step_j=0.02)
    _write(
        tmp_path / "results.jsonl",
        [record_to_json(r) + "\n" for r in (first, other, last)],
    )
    res = read_results(tmp_path)
    assert res.duplicates == 1
    assert [r.scenario_id for r in res] == [first.scenario_id, other.scenario_id]
    assert res.records[0] == last


def test_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    line = record_to_json(make_record())
    _write(tmp_path / "results.jsonl", [line + "\n", line[: len(line) // 2]])
    res = read_results(tmp_path)
    assert len(res) == 1
    assert [(s.line_number, s.reason) for s in res.skipped_lines] == [(2, "truncated last line")]


def test_glued_line_keeps_the_complete_record(tmp_path: Path) -> None:
    a = make_record()
    b = make_record("2d-64-small-p1-ddim-200", size=(64, 64))
    torn = record_to_json(a)[:100]
    _write(tmp_path / "results.jsonl", [torn + record_to_json(b) + "\n"])
    res = read_results(tmp_path)
    assert res.records == (b,)


def test_line_without_scenario_id_is_skipped(tmp_path: Path) -> None:
    _write(
        tmp_path / "results.jsonl", ['{"x": 1}\n', "[1, 2]\n", record_to_json(make_record()) + "\n"]
    )
    res = read_results(tmp_path)
    assert len(res) == 1
    assert [s.reason for s in res.skipped_lines] == [
        "record without a scenario_id",
        "not a JSON object",
    ]


def test_version_1_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    v1 = record_to_dict(make_record())
    del v1["schema_version"]
    path = tmp_path / "results.jsonl"
    _write(
        path,
        [
            record_to_json(make_record("2d-64-small-p1-ddim-200", size=(64, 64))) + "\n",
            json.dumps(v1) + "\n",
        ],
    )
    with pytest.raises(LpmError) as info:
        read_results(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{path} line 2 is a version-1 study record")
    assert "\n" not in msg and "new --out folder" in msg


def test_newer_version_is_refused(tmp_path: Path) -> None:
    data = record_to_dict(make_record())
    data["schema_version"] = 7
    _write(tmp_path / "results.jsonl", [json.dumps(data) + "\n"])
    with pytest.raises(LpmError, match="line 1 has schema_version 7, newer than this lpm"):
        read_results(tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LpmError, match=r"no results file at .*run `lpm study --out"):
        read_results(tmp_path)
    assert read_results(tmp_path, missing_ok=True).records == ()


def test_nan_survives_the_round_trip(tmp_path: Path) -> None:
    data = record_to_dict(make_record())
    data["train"]["step_stats"]["power_w_std"] = float("nan")
    _write(tmp_path / "results.jsonl", [json.dumps(data) + "\n"])
    (rec,) = read_results(tmp_path).records
    assert (
        rec.train is not None
        and rec.train.step_stats.power_w_std != rec.train.step_stats.power_w_std
    )
    assert "NaN" in record_to_json(rec)


def test_io_kit_append_repairs_a_torn_tail_and_writes_atomically(tmp_path) -> None:
    from lpm.io import append_jsonl, atomic_write_text, load_yaml

    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{"b": ', encoding="utf-8")
    assert append_jsonl(path, ['{"c": 3}']) == 1
    assert path.read_text(encoding="utf-8") == '{"a": 1}\n{"c": 3}\n'
    atomic_write_text(tmp_path / "s.yaml", "a: [1, 2]\n")
    assert load_yaml(tmp_path / "s.yaml") == {"a": [1, 2]}
    assert not list(tmp_path.glob(".*.tmp"))
    (tmp_path / "bad.yaml").write_text("a: [1\n", encoding="utf-8")
    with pytest.raises(LpmError, match="not valid YAML at line"):
        load_yaml(tmp_path / "bad.yaml", what="spec")
