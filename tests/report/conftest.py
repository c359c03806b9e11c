"""Shared fixtures: one synthetic study built once per session (figures take seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.report.synthetic import failed_record, one_factor_records, write_results, write_spec
from tests.report.tradeoff_synthetic import write_tradeoff

EVIL = "<script>alert('xss')</script>"
#: The one point of the session study's sweep that failed.
FAILED_POINT = "ddpm/ddim-20-b16"


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
    write_quality(study, sample_name=f"{EVIL}.nii.gz")
    write_tradeoff(study, failed=(FAILED_POINT,), error=f"{EVIL} out of memory")
    return study


def write_quality(study: Path, *, sample_name: str = "sample_00003.nii.gz") -> None:
    """A quality record with its montage and one closest pair (small gray PNGs)."""
    import numpy as np
    from matplotlib import image as mpl_image

    from lpm.results import ClosestPairRecord, write_quality_record
    from tests.results.quality_factory import make_quality_record

    qdir = study / "quality"
    qdir.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0.0, 1.0, 32 * 64).reshape(32, 64)
    mpl_image.imsave(qdir / "montage.png", ramp, cmap="gray", format="png")
    mpl_image.imsave(qdir / "pair-0.png", ramp[:, ::-1], cmap="gray", format="png")
    pair = ClosestPairRecord(
        sample=sample_name, train_index=7, similarity=0.97, figure="pair-0.png"
    )
    write_quality_record(study, make_quality_record(montage="montage.png", closest=[pair]))


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
