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
import os
from collections.abc import Iterable
from pathlib import Path

from lpm.errors import LpmError
from lpm.results import ScenarioRecord, parse_record, read_results, record_to_json
from lpm.study.spec import StudySpec, load_spec

log = logging.getLogger(__name__)

RESULTS_NAME = "results.jsonl"
SPEC_NAME = "spec.yaml"
RECORDS_DIR = "records"
FAILURES_NAME = "failures.jsonl"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_record_file(records_dir: Path, record: ScenarioRecord) -> Path:
    """Write one record atomically to ``records_dir/<scenario_id>.json``."""
    records_dir.mkdir(parents=True, exist_ok=True)
    final = records_dir / f"{record.scenario_id}.json"
    tmp = records_dir / f".{record.scenario_id}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(record_to_json(record))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    _fsync_dir(records_dir)
    return final


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
        tmp = self.spec_path.with_suffix(".yaml.tmp")
        tmp.write_text(spec.to_yaml(), encoding="utf-8")
        os.replace(tmp, self.spec_path)

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

    def _repair_tail(self) -> None:
        """Cut a torn last line (a write interrupted by a kill) before appending."""
        if not self.results_path.exists():
            return
        with open(self.results_path, "rb+") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            fh.seek(0)
            data = fh.read()
            keep = data.rfind(b"\n") + 1
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
            log.warning("cut a partly written record from the end of %s", self.results_path)

    def append(self, records: Iterable[ScenarioRecord]) -> list[str]:
        """Append records not yet in results.jsonl; returns the ids written."""
        self._repair_tail()
        have = self.finished_ids()
        written: list[str] = []
        with open(self.results_path, "a", encoding="utf-8") as fh:
            for rec in records:
                sid = rec.scenario_id
                if sid in have:
                    continue
                fh.write(record_to_json(rec) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                have.add(sid)
                written.append(sid)
        return written

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
        with open(self.failures_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
