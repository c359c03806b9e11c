"""Shared fixtures: one synthetic study built once per session (figures take seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report.synthetic import failed_record, one_factor_records, write_results, write_spec

EVIL = "<script>alert('xss')</script>"


@pytest.fixture(scope="session")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete synthetic study whose user strings try to inject HTML."""
    study = tmp_path_factory.mktemp("study")
    records = one_factor_records()
    for rec in records:
        rec["hardware"] = {"cpu": f"{EVIL} Test CPU", "gpus": [], "host": "<b>lab & co</b>"}
    records.append(failed_record(f"3d-{EVIL}", "<img src=x onerror=alert(1)> out of memory"))
    write_results(study, records)
    write_spec(study, name=f"demo {EVIL}")
    return study


@pytest.fixture(scope="session")
def built(study_dir: Path):
    """build_report() on the synthetic study (ReportOutput)."""
    from lpm.report import build_report

    return build_report(study_dir)


def append_raw(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def dumps(record: dict) -> str:
    return json.dumps(record)
