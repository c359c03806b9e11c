"""The one parser of study results: ``DIR/results.jsonl`` in, typed records out.

The file is append-only and written by lpm.study. The reader is tolerant of what a crash
or a resume can leave behind, and strict about what a line holds:

- a truncated last line (a ``kill -9`` in the middle of a write) is skipped;
- a partial line glued to the next record (a resume appended after a torn line) is
  recovered: the complete record at its end is kept;
- duplicate ``scenario_id`` values: the last record wins (a re-run replaces a result);
- a record of another schema version, or one that does not match schema 2, is an
  LpmError naming the file and line: a record is read as what it is, or not at all.

Skipped lines are reported in :attr:`ResultsFile.skipped_lines`, never silently lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lpm.errors import LpmError
from lpm.results.models import SCHEMA_VERSION, ScenarioRecord

RESULTS_FILENAME = "results.jsonl"

_RERUN = "re-run `lpm study` into a new --out folder"


@dataclass(frozen=True)
class SkippedLine:
    """A line of the results file that held no complete record."""

    line_number: int
    reason: str


@dataclass(frozen=True)
class ResultsFile:
    """The records of one results file, deduplicated by ``scenario_id`` (last wins).

    ``records`` keeps the order in which each scenario first appeared.
    """

    path: Path
    records: tuple[ScenarioRecord, ...]
    skipped_lines: tuple[SkippedLine, ...] = ()
    duplicates: int = 0

    def __iter__(self) -> Iterator[ScenarioRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def ids(self, status: str | None = None) -> set[str]:
        """Scenario ids present (optionally only those with this ``status``)."""
        return {r.scenario_id for r in self.records if status is None or r.status == status}

    def ok(self) -> tuple[ScenarioRecord, ...]:
        """The records whose status is ``"ok"``."""
        return tuple(r for r in self.records if r.ok)

    def get(self, scenario_id: str) -> ScenarioRecord | None:
        """The record of one scenario, or None."""
        for r in self.records:
            if r.scenario_id == scenario_id:
                return r
        return None


def _validation_message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "is not a field of the record"
    elif err["type"] == "missing":
        msg = "is missing"
    return f"{loc} {msg}" if loc else msg


def parse_record(data: Any, *, source: str = "record") -> ScenarioRecord:
    """One results line (a decoded JSON object) as a :class:`ScenarioRecord`.

    Raises a one-line LpmError for a newer or unknown ``schema_version``, for a version-1
    record (no ``schema_version``: its synthesis was scaled from one step count, so it
    cannot be upgraded faithfully), and for a record that does not match schema 2.
    `source` names the record in messages (e.g. ``"results.jsonl line 3"``).
    """
    if isinstance(data, ScenarioRecord):
        return data
    if not isinstance(data, dict):
        raise LpmError(f"{source} is not a JSON object; {_RERUN}")
    version = data.get("schema_version")
    if version is None:
        raise LpmError(
            f"{source} is a version-1 study record (no schema_version), whose synthesis "
            f"energy was scaled from one step count and cannot be upgraded; {_RERUN}"
        )
    if isinstance(version, bool) or not isinstance(version, int):
        raise LpmError(f"{source} has an unknown schema_version {version!r}; {_RERUN}")
    if version > SCHEMA_VERSION:
        raise LpmError(
            f"{source} has schema_version {version}, newer than this lpm reads "
            f"({SCHEMA_VERSION}); upgrade lpm to read it"
        )
    if version != SCHEMA_VERSION:
        raise LpmError(f"{source} has an unknown schema_version {version}; {_RERUN}")
    try:
        return ScenarioRecord.model_validate(data)
    except ValidationError as exc:
        sid = data.get("scenario_id")
        who = f" ({sid})" if isinstance(sid, str) and sid else ""
        raise LpmError(
            f"{source}{who} does not match results schema {SCHEMA_VERSION}: "
            f"{_validation_message(exc)}; {_RERUN}"
        ) from None


def record_to_dict(record: ScenarioRecord) -> dict[str, Any]:
    """The JSON-ready form of a record (what one line of results.jsonl holds).

    ``schema_version`` comes first, so ``head -c 40 results.jsonl`` shows it.
    """
    data = record.model_dump(mode="json")
    return {"schema_version": data.pop("schema_version"), **data}


def record_to_json(record: ScenarioRecord) -> str:
    """One line of results.jsonl (compact JSON, no newline)."""
    return json.dumps(record_to_dict(record), separators=(",", ":"))


def _decode_line(text: str) -> dict[str, Any] | None:
    """A record from one line, recovering the last complete record of a glued line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    # A truncated record followed by a complete one on the same line: try each "{" from
    # the right until the rest of the line decodes to a whole object.
    decoder = json.JSONDecoder()
    start = text.rfind("{")
    while start > 0:
        try:
            candidate, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            candidate, end = None, -1
        if isinstance(candidate, dict) and "scenario_id" in candidate and not text[end:].strip():
            return candidate
        start = text.rfind("{", 0, start)
    return None


def results_path(study_dir: str | Path) -> Path:
    """``DIR/results.jsonl`` for a study directory (or the file itself if given)."""
    path = Path(study_dir)
    return path if path.suffix == ".jsonl" else path / RESULTS_FILENAME


def read_results(study_dir: str | Path, *, missing_ok: bool = False) -> ResultsFile:
    """Read ``DIR/results.jsonl`` (or a ``.jsonl`` path) into typed records.

    Raises LpmError if the file is missing (unless ``missing_ok``; then no records) or if
    a record is of another schema version or does not match the schema.
    """
    path = results_path(study_dir)
    if not path.is_file():
        if missing_ok:
            return ResultsFile(path=path, records=())
        raise LpmError(
            f"no results file at {path}; run `lpm study --out {path.parent}` first "
            "or pass the directory that holds results.jsonl"
        )
    try:
        raw = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise LpmError(f"cannot read {path}: {exc.strerror}") from None
    lines = raw.split("\n")
    by_id: dict[str, ScenarioRecord] = {}
    skipped: list[SkippedLine] = []
    duplicates = 0
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        data = _decode_line(text)
        if data is None:
            last = number == len(lines) or (number == len(lines) - 1 and not lines[-1].strip())
            reason = "truncated last line" if last else "not a JSON object"
            skipped.append(SkippedLine(number, reason))
            continue
        scenario_id = data.get("scenario_id")
        if not isinstance(scenario_id, str) or not scenario_id:
            skipped.append(SkippedLine(number, "record without a scenario_id"))
            continue
        record = parse_record(data, source=f"{path} line {number}")
        if scenario_id in by_id:
            duplicates += 1
        by_id[scenario_id] = record  # dict keeps first-seen order; the value is the last
    return ResultsFile(
        path=path,
        records=tuple(by_id.values()),
        skipped_lines=tuple(skipped),
        duplicates=duplicates,
    )
