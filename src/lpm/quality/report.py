"""The quality report (pydantic): metrics with value, CI, sample sizes and real-vs-real
floor, the memorisation check, energy per useful sample; written as quality.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lpm.errors import LpmError
from lpm.io import atomic_write_text
from lpm.quality.stats import Estimate

SCHEMA_VERSION = 1
REPORT_FILE = "quality.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(_Model):
    """One metric: value on the full sets, 95 % bootstrap CI, sample sizes, and the floor
    (the same metric between two disjoint halves of the real images; None if too few)."""

    value: float
    ci: tuple[float, float]
    n: dict[str, int]
    floor: float | None = None
    better: Literal["lower", "higher", "closer_to_floor"]
    unit: str = ""
    description: str = ""

    @classmethod
    def of(cls, est: Estimate, *, floor: float | None = None, **kw: str) -> Metric:
        return cls(value=est.value, ci=(est.ci_low, est.ci_high), n=est.n, floor=floor, **kw)


class ImageSet(_Model):
    """Where a set of images came from, how many and their shape."""

    source: str
    n: int
    shape: list[int]
    note: str = ""


class ClosePair(_Model):
    """A generated image and its nearest training image."""

    sample: str
    train_index: int
    similarity: float


class Memorisation(_Model):
    """The copy check: similarity, the calibrated threshold and its rule, the closest pairs."""

    similarity: str
    threshold: float
    threshold_rule: str
    copies: int
    n_generated: int
    n_heldout: int
    n_train: int
    closest: list[ClosePair]


class UsefulEnergy(_Model):
    """Energy and CO2e of the sampling run per sample that is not a copy."""

    samples: int
    copy_rate: float | None
    useful_samples: float
    it_energy_kwh: float
    co2e_kg: float | None
    it_energy_kwh_per_useful_sample: float | None
    it_energy_j_per_useful_sample: float | None
    co2e_kg_per_useful_sample: float | None
    source: str


class QualityReport(_Model):
    """What a set of generated CT images is worth: fidelity, diversity, memorisation."""

    kind: Literal["lpm-quality"] = "lpm-quality"
    schema_version: int = SCHEMA_VERSION
    created_utc: str
    hu_window: tuple[float, float]
    samples: ImageSet
    real: ImageSet
    train: ImageSet | None = None
    features: str | None = None
    bootstrap: int
    seed: int
    metrics: dict[str, Metric]
    tissue_fractions: dict[str, dict[str, float]] = Field(default_factory=dict)
    memorisation: Memorisation | None = None
    energy: UsefulEnergy | None = None
    notes: list[str] = Field(default_factory=list)


def write_report(report: QualityReport, out_dir: str | Path) -> Path:
    """Write quality.json into out_dir (atomically); returns its path."""
    path = Path(out_dir) / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(report.model_dump(mode="json"), indent=2) + "\n")


def read_report(path: str | Path) -> QualityReport:
    """Read a quality.json (a folder holding one, or the file); one-line LpmError if bad."""
    path = Path(path)
    if path.is_dir():
        path = path / REPORT_FILE
    try:
        return QualityReport.model_validate_json(path.read_text())
    except (OSError, ValueError) as exc:
        raise LpmError(
            f"{path} is not a readable lpm quality report ({type(exc).__name__})."
        ) from None
