"""The results of a study on disk: DIR/results.jsonl, DIR/spec.yaml, DIR/records/.

``results.jsonl`` is append-only, one JSON object per finished scenario, each line written
in one call and fsynced, so a kill -9 loses at most the line being written; a torn last
line is cut off before the next append. Workers (local processes or Slurm jobs) first
write each record to ``records/<scenario_id>.json`` (write to a temporary file, then
rename), and the parent merges those files into ``results.jsonl`` by scenario id, so
nothing is lost when the parent dies and nothing is written twice. Records are
:class:`lpm.results.ScenarioRecord` values, written and read only through lpm.results.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from lpm.errors import LpmError
from lpm.io import append_jsonl, atomic_write_text
from lpm.results import ScenarioRecord, parse_record, read_results, record_to_json
from lpm.study.spec import StudySpec, load_spec

log = logging.getLogger(__name__)

RESULTS_NAME = "results.jsonl"
SPEC_NAME = "spec.yaml"
RECORDS_DIR = "records"
FAILURES_NAME = "failures.jsonl"


def write_record_file(records_dir: Path, record: ScenarioRecord) -> Path:
    """Write one record atomically to ``records_dir/<scenario_id>.json``."""
    records_dir.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(records_dir / f"{record.scenario_id}.json", record_to_json(record))


class ResultsStore:
    """One study directory: its spec, its finished records and its failures."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.results_path = self.out_dir / RESULTS_NAME
        self.spec_path = self.out_dir / SPEC_NAME
        self.records_dir = self.out_dir / RECORDS_DIR
        self.failures_path = self.out_dir / FAILURES_NAME

    # -- spec --------------------------------------------------------------------------

    def init(self, spec: StudySpec) -> None:
        """Create the directory and write spec.yaml; refuse a directory of another study.

        A directory whose results.jsonl holds records of another schema version is refused
        (LpmError) before its spec is compared.
        """
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LpmError(f"cannot create {self.out_dir}: {exc.strerror}") from None
        if self.spec_path.exists():
            self.records()  # results of another schema version: say so first
            old = load_spec(self.spec_path)
            if old != spec:
                raise LpmError(
                    f"{self.out_dir} holds a study with a different spec; resume it with the "
                    "same spec (its spec.yaml) or choose another --out directory"
                )
            return
        atomic_write_text(self.spec_path, spec.to_yaml())

    def spec(self) -> StudySpec:
        return load_spec(self.spec_path)

    # -- reading -----------------------------------------------------------------------

    def records(self) -> list[ScenarioRecord]:
        """The finished records in results.jsonl, read by :func:`lpm.results.read_results`.

        A torn last line is ignored; a duplicate scenario id: the last record wins; a
        record of another schema version is an LpmError (re-run into a new directory).
        """
        return list(read_results(self.results_path, missing_ok=True).records)

    def finished_ids(self) -> set[str]:
        return {r.scenario_id for r in self.records()}

    # -- writing -----------------------------------------------------------------------

    def append(self, records: Iterable[ScenarioRecord]) -> list[str]:
        """Append records not yet in results.jsonl; returns the ids written."""
        have = self.finished_ids()
        new: dict[str, ScenarioRecord] = {}
        for rec in records:
            if rec.scenario_id not in have:
                new.setdefault(rec.scenario_id, rec)
        append_jsonl(self.results_path, (record_to_json(r) for r in new.values()))
        return list(new)

    def merge_record_files(self) -> list[str]:
        """Append the records that workers left in records/ and that are not merged yet.

        An unreadable file (a worker killed mid-write leaves only its temporary file, so
        this is damage) is skipped with a warning; a record of another schema is an error.
        """
        if not self.records_dir.is_dir():
            return []
        pending = []
        for path in sorted(self.records_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                log.warning("skipping unreadable record file %s", path)
                continue
            pending.append(parse_record(data, source=str(path)))
        return self.append(pending)

    def record_failure(self, job_id: str, scenario_ids: list[str], error: str) -> None:
        """Note a failed job in failures.jsonl (it is retried on the next run)."""
        from datetime import UTC, datetime

        line = {
            "job_id": job_id,
            "scenario_ids": scenario_ids,
            "error": error,
            "failed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        append_jsonl(self.failures_path, [json.dumps(line)])
