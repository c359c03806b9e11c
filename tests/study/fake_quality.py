"""A stand-in for the quality stage: writes a real record at once and counts its runs.

Module-level so that spawned workers can import it.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.results.quality_factory import make_quality_record

from lpm.results import QualityRecord, write_quality_record
from lpm.study.spec import StudySpec

FAIL_ENV = "LPM_FAKE_QUALITY_FAIL"


def fake_quality(job, *, spec: StudySpec, out_dir: str) -> QualityRecord:
    """Note the run in DIR/quality-runs; fail where FAIL_ENV is set; else write a record."""
    with open(Path(out_dir) / "quality-runs", "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
    if os.environ.get(FAIL_ENV):
        raise RuntimeError("simulated failure of the quality stage")
    from datetime import UTC, datetime

    from lpm.study.quality import model_dirs

    for run, name in zip(model_dirs(out_dir), ("autoencoder.pt", "ldm.pt"), strict=True):
        run.mkdir(parents=True, exist_ok=True)  # what the tradeoff stage needs to be there
        (run / name).write_bytes(b"fake")
        (run / "summary.json").write_text("{}")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    record = make_quality_record(samples=spec.quality.samples, finished_at=now)
    write_quality_record(out_dir, record)
    return record


def quality_runs(out_dir: Path) -> int:
    path = out_dir / "quality-runs"
    return len(path.read_text().splitlines()) if path.exists() else 0
