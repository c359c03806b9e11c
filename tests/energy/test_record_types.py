"""Issue 13: run record lines of the wrong types are one line and exit 2, never a traceback.

Table-driven over every field of every line type (header, window, checkpoint, fault,
summary), nested fields included: each is set to a value of another JSON type (and every
number to NaN, "NaN", 1e400 and 10**30), or removed. What `lpm runs show` and `lpm runs
export` do with a record (the one reader, the JSON and text reports, the CSV row) must
either be an LpmError naming the file, the line and the field, or, for a field no reader
uses, go on. The table runs that path in-process (hundreds of cases in seconds); samples
of each kind run through both commands: one line on stderr and exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli_run import run_cli
from tests.fakes.nvml import FakeClock

from lpm.cli.energy_cmds import _print_summary, _summary_json
from lpm.energy import SimulatedMeter, Tracker, read_run
from lpm.energy.export import codecarbon_row
from lpm.errors import LpmError

# context fields the CSV export writes; the others are facts for people, read by nothing
EXPORTED_CONTEXT = {
    "os", "python_version", "cpu_model", "cpu_count_logical", "ram_total_gb", "gpu_names",
    "meters", "slurm",
}  # fmt: skip
REQUIRED = {"header": {"run_id", "devices"}, "window": {"name"}, "summary": {"summary"}}
HUGE = "__1e400__"


@pytest.fixture(scope="module")
def record(tmp_path_factory) -> list[dict]:
    """The lines of a record with every line type: header, window, checkpoint, fault, summary."""
    folder = tmp_path_factory.mktemp("rec")
    clock = FakeClock()
    meters = [SimulatedMeter("gpu", 100.0, 1, clock=clock), SimulatedMeter("cpu", 10.0, 1,
              clock=clock)]  # fmt: skip
    with Tracker(meters, interval_s=3600, log_dir=folder, checkpoint_s=1.0, clock=clock) as t:
        t.note("a note")
        with t.window("train"):
            clock.advance(2.0)
            t.step()
        clock.advance(2.0)
        t.sample()
    rows = [json.loads(x) for x in t.record_path.read_text().splitlines()]
    assert {r["type"] for r in rows} == {"header", "window", "checkpoint", "fault", "summary"}
    return rows


def _wrong(value: object) -> list[object]:
    """Values of another JSON type than ``value``'s (and bad numbers for a number)."""
    if isinstance(value, bool):
        return ["yes"]
    if isinstance(value, int | float):
        return ["soon", float("nan"), "NaN", HUGE, 10**30]
    if isinstance(value, str):
        return [5]
    if isinstance(value, dict):
        return ["zzz"]
    if isinstance(value, list):
        return ["nope"]
    return [[]]  # null: a list is never a nullable field's type


def _fields(value: object, path: tuple) -> Iterator[tuple[tuple, object]]:
    """(path, value) of every field below ``value``; lists by their first item only."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value[:1]))
    else:
        return
    for key, sub in items:
        here = (*path, key)
        yield here, sub
        if "context" in path and len(path) - path.index("context") >= 1:
            continue  # a context's own fields, not the meter descriptions inside them
        yield from _fields(sub, here)


def _cases(rows: list[dict]) -> Iterator[tuple[str, int, tuple, object]]:
    for n, row in enumerate(rows):
        for path, value in _fields(row, ()):
            for wrong in _wrong(value):
                yield f"line{n + 1}:{'.'.join(map(str, path))}={wrong!r}", n, path, wrong


def _ignored(row: dict, path: tuple) -> bool:
    """A field no reader uses: a context entry the export does not write."""
    if "context" not in path:
        return False
    i = path.index("context")
    return len(path) > i + 1 and path[i + 1] not in EXPORTED_CONTEXT


def _set(row: dict, path: tuple, value: object) -> dict:
    row = json.loads(json.dumps(row))
    target = row
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return row


def _write(path: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    path.write_text(text.replace(f'"{HUGE}"', "1e400"))


def _expect_cli(tmp_path: Path, capsys, name: str, must_fail: bool, *words: str) -> None:
    """Both commands on ``tmp_path/r.jsonl``: one line and exit 2, or exit 0."""
    record = tmp_path / "r.jsonl"
    for argv in (["runs", "show", str(record)],
                 ["runs", "export", str(record), "--csv", str(tmp_path / "e.csv")]):  # fmt: skip
        code, out, err = run_cli(argv, capsys)
        assert "Traceback" not in out + err, name
        if must_fail:
            lines = [x for x in err.splitlines() if x.strip()]
            assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (name, err)
            for w in (str(record), *words):
                assert w in lines[0], (name, lines[0])
        else:
            assert code == 0, (name, err)


def _expect(tmp_path: Path, capsys, name: str, must_fail: bool, *words: str) -> None:
    """What both commands do with the record, in-process: read, report, CSV row."""
    record = tmp_path / "r.jsonl"
    try:
        summary = read_run(record)
        json.dumps(_summary_json(summary), allow_nan=False)
        _print_summary(summary, err=False)
        codecarbon_row(summary)
    except LpmError as exc:
        assert must_fail, (name, str(exc))
        for w in (str(record), *words):
            assert w in str(exc), (name, str(exc))
        assert "\n" not in str(exc)
    else:
        assert not must_fail, name
    capsys.readouterr()


def test_every_field_of_every_line_type_removed(tmp_path, capsys, record) -> None:
    for n, row in enumerate(record):
        for key in row:
            rows = list(record)
            rows[n] = {k: v for k, v in row.items() if k != key}
            _write(tmp_path / "r.jsonl", rows)
            required = key in REQUIRED.get(row["type"], ())
            if key == "type" and row["type"] == "header":
                _expect(tmp_path, capsys, f"{n}-{key}", True, "no header line")
            else:
                words = (f"line {n + 1}", key, "missing") if required else ()
                _expect(tmp_path, capsys, f"{n}-{key}", required, *words)


@pytest.mark.parametrize("line", ["[1, 2]", "5", '"text"', "null", "true"])
def test_a_line_that_is_not_an_object(tmp_path, capsys, record, line) -> None:
    path = tmp_path / "r.jsonl"
    _write(path, record)
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0], line, *text[1:]]) + "\n")
    _expect_cli(tmp_path, capsys, line, True, "line 2", "not an object")


def test_binary_and_non_utf8_records(tmp_path, capsys, record) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(bytes(range(11, 256)) * 4)  # bytes, no newline
    _expect_cli(tmp_path, capsys, "binary", True, "line 1", "not UTF-8")
    _write(path, record)
    good = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([good[0], b'{"type": "fault", "message": "\xff\xfe"}', *good[1:]]))
    _expect_cli(tmp_path, capsys, "a bad byte mid-record", True, "line 2", "not UTF-8")
    # a kill can cut the last line mid-character: skipped like any torn line
    path.write_bytes(b"\n".join(good[:-2]) + b'\n{"type": "window", "name": "\xe2\x82')
    _expect_cli(tmp_path, capsys, "torn last line", False)
    assert read_run(path).status == "interrupted"


def test_the_library_reader_raises_lpm_error(tmp_path, record) -> None:
    path = tmp_path / "r.jsonl"
    _write(path, [record[0], {"type": "checkpoint", "elapsed_s": "soon"}])
    with pytest.raises(LpmError, match=r"line 2: field 'elapsed_s' is 'soon' \(text\)"):
        read_run(path)
    _write(path, [_set(record[0], ("devices",), "zzz")])
    with pytest.raises(
        LpmError, match="line 1: field 'devices' is 'zzz' \\(text\\), expected a list"
    ):
        read_run(path)


# the examples and one of each kind of field, through both commands
SAMPLES = [
    ("checkpoint", ("elapsed_s",), "soon"),
    ("summary", ("summary",), 5),
    ("header", ("devices",), "zzz"),
    ("summary", ("summary", "components"), "nope"),
    ("window", ("energy_j",), {"gpu:0": float("nan")}),
    ("fault", ("message",), 5),
    ("header", ("interval_s",), HUGE),
    ("summary", ("summary", "windows", "train", "count"), "NaN"),
]


@pytest.mark.parametrize(("kind", "path", "wrong"), SAMPLES)
def test_samples_through_both_commands(tmp_path, capsys, record, kind, path, wrong) -> None:
    n = next(i for i, r in enumerate(record) if r["type"] == kind)
    rows = list(record)
    rows[n] = _set(record[n], path, wrong)
    _write(tmp_path / "r.jsonl", rows)
    _expect_cli(tmp_path, capsys, kind, True, f"line {n + 1}", f"field '{'.'.join(path)}")
    missing = list(record)
    missing[0] = {k: v for k, v in record[0].items() if k != "run_id"}
    _write(tmp_path / "r.jsonl", missing)
    _expect_cli(tmp_path, capsys, "no run_id", True, "line 1", "'run_id' is missing")
