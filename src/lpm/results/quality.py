"""The study's quality record: one model trained long enough to have quality, sampled and
scored (lpm.quality), with what its samples cost per sample and per useful sample.

Written by lpm.study as ``DIR/quality/record.json`` next to the scenario records, read by
lpm.report. A study without a quality stage (every study before it) has no such file and
reads as None. Like the scenario record: typed, versioned, unknown fields are errors, and
importable without torch or numpy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from lpm.errors import LpmError
from lpm.io import atomic_write_text
from lpm.results.models import _Model, _WithProvenance

QUALITY_SCHEMA_VERSION = 1
QUALITY_DIR = "quality"
QUALITY_RECORD_FILE = "record.json"


class QualitySetting(_Model):
    """What the quality stage trained and sampled."""

    dims: Literal[2, 3]
    size: tuple[int, ...]
    model: str
    autoencoder_iterations: int = Field(ge=1)
    train_iterations: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0)
    samples: int = Field(ge=1)
    steps: int = Field(ge=1)
    sampler: str


class QualityMetricRecord(_Model):
    """One metric of the samples: value, 95 % bootstrap CI, floor (real vs real), sizes."""

    value: float
    ci_low: float
    ci_high: float
    floor: float | None
    n: dict[str, int]
    better: str
    unit: str = ""
    description: str = ""


class ClosestPairRecord(_Model):
    """A sample and its nearest training image; `figure`: their PNG side by side."""

    sample: str
    train_index: int = Field(ge=0)
    similarity: float
    figure: str | None = None


class QualityRecord(_WithProvenance):
    """The quality stage of a study: settings, costs, metrics, copies, figures.

    Energies are the IT energy of the runs; ``co2e_kg_*`` as the sampling run computed it
    (PUE × intensity of the spec's region). Per useful sample = per sample that is not a
    copy: energy / (samples × (1 − copy_rate)); None where every sample is a copy.
    ``montage`` and each pair's ``figure`` are PNG files in ``DIR/quality``.
    """

    kind: Literal["lpm-study-quality"] = "lpm-study-quality"
    schema_version: Literal[1] = QUALITY_SCHEMA_VERSION
    setting: QualitySetting
    recon_l1_last: float
    train_loss_first: float
    train_loss_last: float
    train_duration_s: float = Field(ge=0)
    train_it_energy_kwh: float = Field(ge=0)
    sample_duration_s: float = Field(ge=0)
    sample_it_energy_kwh: float = Field(ge=0)
    sample_co2e_kg: float = Field(ge=0)
    samples: int = Field(ge=1)
    real: str
    n_real: int = Field(ge=1)
    train_data: str
    n_train: int = Field(ge=1)
    features: str | None
    metrics: dict[str, QualityMetricRecord]
    copy_rate: float | None = Field(ge=0, le=1)
    copies: int | None
    copy_threshold: float | None
    copy_similarity: str | None
    useful_samples: float = Field(ge=0)
    it_energy_kwh_per_sample: float = Field(ge=0)
    co2e_kg_per_sample: float = Field(ge=0)
    it_energy_kwh_per_useful_sample: float | None
    co2e_kg_per_useful_sample: float | None
    montage: str | None
    closest: list[ClosestPairRecord]
    report_file: str
    html_file: str
    duration_s: float = Field(ge=0)
    finished_at: str

    @model_validator(mode="after")
    def _consistent(self) -> QualityRecord:
        if len(self.setting.size) != self.setting.dims:
            raise ValueError(f"setting.size {list(self.setting.size)} is not {self.setting.dims}D")
        if self.samples != self.setting.samples:
            raise ValueError(f"samples {self.samples} is not setting.samples")
        expected = self.samples * (1.0 - (self.copy_rate or 0.0))
        if abs(self.useful_samples - expected) > 1e-6 * max(1.0, expected):
            raise ValueError(f"useful_samples {self.useful_samples} is not {expected}")
        return self


def quality_record_path(study_dir: str | Path) -> Path:
    """``DIR/quality/record.json`` of a study directory."""
    return Path(study_dir) / QUALITY_DIR / QUALITY_RECORD_FILE


def write_quality_record(study_dir: str | Path, record: QualityRecord) -> Path:
    """Write the record atomically to ``DIR/quality/record.json``; returns its path."""
    path = quality_record_path(study_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record.model_dump(mode="json"), indent=2, allow_nan=True)
    return atomic_write_text(path, text + "\n")


def read_quality_record(study_dir: str | Path) -> QualityRecord | None:
    """The study's quality record, or None if it has none (a study without the stage).

    A damaged file or one of another schema is an LpmError naming it.
    """
    path = quality_record_path(study_dir)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LpmError(f"{path} is not a readable quality record ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("kind") != "lpm-study-quality":
        raise LpmError(f"{path} is not an lpm study quality record")
    version = data.get("schema_version")
    if version != QUALITY_SCHEMA_VERSION:
        raise LpmError(
            f"{path} is a quality record of schema {version}, this lpm reads "
            f"{QUALITY_SCHEMA_VERSION}; re-run the study's quality stage (delete {path.parent})"
        )
    try:
        return QualityRecord.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        raise LpmError(f"{path}: {loc}: {err['msg']}") from None
