"""The energy–quality sweep's records: one point per recipe, one summary per sweep.

``DIR/tradeoff.jsonl`` holds one :class:`TradeoffPoint` per line (append-only; a resumed
sweep appends, the last line of a ``point_id`` wins, a torn last line is skipped);
``DIR/tradeoff.json`` holds the :class:`TradeoffSummary` (the fronts, the recommended
recipe, the break-even), written atomically. Written by lpm.study.tradeoff, read by the
study and lpm.report. Typed, versioned, unknown fields refused, importable without torch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from lpm.errors import LpmError
from lpm.io import append_jsonl, atomic_write_text
from lpm.provenance import Provenance
from lpm.results.models import _Model, _WithProvenance
from lpm.results.quality import QualityMetricRecord

TRADEOFF_SCHEMA_VERSION = 1
TRADEOFF_DIR = "tradeoff"
TRADEOFF_POINTS_FILE = "tradeoff.jsonl"
TRADEOFF_SUMMARY_FILE = "tradeoff.json"

# The energy fields an ok point must have (a failed one may lack them: None).
_ENERGY_FIELDS = (
    "fixed_per_sample_j_mean",
    "fixed_per_sample_j_std",
    "step_per_sample_j_mean",
    "step_per_sample_j_std",
    "energy_per_sample_j_mean",
    "energy_per_sample_j_std",
    "duration_per_sample_s_mean",
    "duration_per_sample_s_std",
    "synthesis_it_energy_kwh",
    "synthesis_it_energy_kwh_std",
    "synthesis_co2e_kg",
    "synthesis_co2e_kg_std",
)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def metric_score(record: QualityMetricRecord) -> float | None:
    """A metric as a lower-is-better number: ``lower`` its value, ``higher`` minus it,
    ``closer_to_floor`` its distance to the floor (None without a finite value)."""
    if not _finite(record.value):
        return None
    if record.better == "higher":
        return -record.value
    if record.better == "closer_to_floor" and _finite(record.floor):
        return abs(record.value - record.floor)  # type: ignore[operator]
    return record.value


def metric_best_case(record: QualityMetricRecord) -> float | None:
    """The better end of the metric's 95 % CI, as a lower-is-better number (its score when
    the interval is missing). The tolerance rule: a recipe is out on a metric only when
    even this lies beyond the limit, i.e. its samples show it worse."""
    if not (_finite(record.ci_low) and _finite(record.ci_high)):
        return metric_score(record)
    lo, hi = sorted((record.ci_low, record.ci_high))
    if record.better == "higher":
        return -hi
    if record.better == "closer_to_floor" and _finite(record.floor):
        floor = float(record.floor)  # type: ignore[arg-type]
        return 0.0 if lo <= floor <= hi else min(abs(lo - floor), abs(hi - floor))
    return lo


def point_id(run: str, sampler: str, steps: int, batch_size: int) -> str:
    """``"<run>/<sampler>-<steps>-b<batch>"``: the id of one recipe of one run."""
    return f"{run}/{sampler}-{steps}-b{batch_size}"


class TradeoffPoint(_WithProvenance):
    """One recipe (run, sampler, steps, batch): energy per sample and quality.

    Energy per sample = fixed (decoding and set-up, once per sample) + steps × per-step cost, both
    from a short measured run at this sampler and batch; ``synthesis_*`` is the IT energy
    and CO2e (PUE × intensity of ``region``) of ``target_samples`` samples. ``quality`` is
    of ``quality_samples`` samples at (run, sampler, steps), the same for every batch.
    A failed point (``status "failed"``, one-line ``error``) may lack energy and quality.
    """

    schema_version: Literal[1] = TRADEOFF_SCHEMA_VERSION
    point_id: str = Field(min_length=1)
    run: str = Field(min_length=1)
    objective: str
    sampler: str
    steps: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    status: Literal["ok", "failed"]
    error: str | None
    fixed_per_sample_j_mean: float | None
    fixed_per_sample_j_std: float | None
    step_per_sample_j_mean: float | None
    step_per_sample_j_std: float | None
    energy_per_sample_j_mean: float | None
    energy_per_sample_j_std: float | None
    duration_per_sample_s_mean: float | None
    duration_per_sample_s_std: float | None
    energy_samples_measured: int = Field(ge=0)
    target_samples: int = Field(ge=1)
    synthesis_it_energy_kwh: float | None
    synthesis_it_energy_kwh_std: float | None
    synthesis_co2e_kg: float | None
    synthesis_co2e_kg_std: float | None
    pue: float = Field(gt=0)
    region: str
    carbon_intensity_g_per_kwh: float | None
    quality: dict[str, QualityMetricRecord]
    quality_samples: int = Field(ge=0)
    copy_rate: float | None = Field(ge=0, le=1)
    finished_at: str

    @model_validator(mode="after")
    def _consistent(self) -> TradeoffPoint:
        expected = point_id(self.run, self.sampler, self.steps, self.batch_size)
        if self.point_id != expected:
            raise ValueError(f"point_id {self.point_id!r} is not {expected!r}")
        if self.status == "failed":
            if not self.error:
                raise ValueError("a failed point needs its error")
            return self
        if self.error is not None:
            raise ValueError("an ok point has no error")
        missing = [name for name in _ENERGY_FIELDS if getattr(self, name) is None]
        if missing:
            raise ValueError(f"an ok point needs {missing[0]}")
        if not self.quality:
            raise ValueError("an ok point needs its quality metrics")
        if self.quality_samples < 1 or self.energy_samples_measured < 1:
            raise ValueError("an ok point needs quality_samples and energy_samples_measured")
        return self

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def recipe(self) -> str:
        """``"<sampler>-<steps>-b<batch>"``: the point's id without its run."""
        return f"{self.sampler}-{self.steps}-b{self.batch_size}"

    def metric(self, name: str) -> float | None:
        """The value of one quality metric, or None if the point lacks it."""
        record = self.quality.get(name)
        return None if record is None else record.value


class TradeoffRun(_Model):
    """A trained run of the sweep and what its training cost (from its summary.json)."""

    label: str = Field(min_length=1)
    path: str
    objective: str
    train_it_energy_kwh: float | None = Field(ge=0)
    train_co2e_kg: float | None = Field(ge=0)
    train_iterations: int = Field(ge=0)
    train_provenance: Provenance


class BreakEven(_Model):
    """After how many samples the run with the costlier training has paid it back.

    ``samples`` is None when it never does (it samples no cheaper, or trains no
    costlier); ``note`` says which points were compared and why.
    """

    cheaper_training: str
    costlier_training: str
    samples: float | None = Field(ge=0)
    note: str


class TradeoffSummary(_Model):
    """The sweep's conclusions: fronts, points within tolerance, recommended, break-even.

    ``fronts[metric]``: point ids on the Pareto front of synthesis CO2e vs that metric
    (both lower better), in order of increasing CO2e. ``recommended``: the lowest-CO2e
    point within tolerance of ``reference`` on every judged metric; if none is,
    ``closest`` names the point of smallest worst relative excess and ``why`` says so.
    ``saving_*``: recommended (else closest) vs the reference, synthesis CO2e for
    ``target_samples``.
    """

    schema_version: Literal[1] = TRADEOFF_SCHEMA_VERSION
    runs: list[TradeoffRun]
    reference: str
    tolerance: float = Field(ge=0)
    metrics: list[str]
    within: list[str]
    fronts: dict[str, list[str]]
    recommended: str | None
    closest: str | None
    why: str
    saving_fraction: float | None
    saving_co2e_kg: float | None
    break_even: list[BreakEven]
    target_samples: int = Field(ge=1)
    region: str
    pue: float = Field(gt=0)
    finished_at: str


def tradeoff_points_path(directory: str | Path) -> Path:
    """``DIR/tradeoff.jsonl``."""
    return Path(directory) / TRADEOFF_POINTS_FILE


def tradeoff_summary_path(directory: str | Path) -> Path:
    """``DIR/tradeoff.json``."""
    return Path(directory) / TRADEOFF_SUMMARY_FILE


def _dump(model: _Model) -> dict:
    data = model.model_dump(mode="json")
    return {"schema_version": data.pop("schema_version"), **data}


def _message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "record"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "is not a field of the record"
    elif err["type"] == "missing":
        msg = "is missing"
    return f"{loc} {msg}"


def _check_version(data: dict, source: str) -> None:
    version = data.get("schema_version")
    if version != TRADEOFF_SCHEMA_VERSION:
        raise LpmError(
            f"{source} is a trade-off record of schema {version!r}, this lpm reads "
            f"{TRADEOFF_SCHEMA_VERSION}; re-run the sweep into a new folder"
        )


def parse_point(data: object, *, source: str = "point") -> TradeoffPoint:
    """One line of tradeoff.jsonl (a decoded object) as a point; one-line LpmError."""
    if not isinstance(data, dict):
        raise LpmError(f"{source} is not a JSON object")
    _check_version(data, source)
    try:
        return TradeoffPoint.model_validate(data)
    except ValidationError as exc:
        raise LpmError(f"{source}: {_message(exc)}") from None


def append_point(directory: str | Path, point: TradeoffPoint) -> Path:
    """Append one point to ``DIR/tradeoff.jsonl`` (fsynced; a torn last line cut first)."""
    path = tradeoff_points_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    append_jsonl(path, [json.dumps(_dump(point), separators=(",", ":"), allow_nan=True)])
    return path


def write_summary(directory: str | Path, summary: TradeoffSummary) -> Path:
    """Write the summary atomically to ``DIR/tradeoff.json``; returns its path."""
    path = tradeoff_summary_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(_dump(summary), indent=2, allow_nan=True) + "\n")


def read_points(directory: str | Path) -> list[TradeoffPoint]:
    """The points of ``DIR/tradeoff.jsonl`` in first-seen order, the last line of an id
    winning; a torn last line is skipped, a bad complete line is an LpmError."""
    path = tradeoff_points_path(directory)
    if not path.is_file():
        return []
    try:
        raw = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise LpmError(f"cannot read {path}: {exc.strerror}") from None
    lines = raw.split("\n")
    torn = lines[-1].strip()  # no newline after it: a write cut short
    by_id: dict[str, TradeoffPoint] = {}
    for number, line in enumerate(lines[:-1] if torn else lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise LpmError(f"{path} line {number} is not a JSON object") from None
        point = parse_point(data, source=f"{path} line {number}")
        by_id[point.point_id] = point
    return list(by_id.values())


def read_summary(directory: str | Path) -> TradeoffSummary | None:
    """``DIR/tradeoff.json`` as a summary, or None if there is none."""
    path = tradeoff_summary_path(directory)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LpmError(
            f"{path} is not a readable trade-off summary ({type(exc).__name__})"
        ) from None
    if not isinstance(data, dict):
        raise LpmError(f"{path} is not a trade-off summary")
    _check_version(data, str(path))
    try:
        return TradeoffSummary.model_validate(data)
    except ValidationError as exc:
        raise LpmError(f"{path}: {_message(exc)}") from None


def read_tradeoff(directory: str | Path) -> tuple[list[TradeoffPoint], TradeoffSummary | None]:
    """The sweep in ``DIR``: its points and its summary (None: no finished sweep there).

    No tradeoff.jsonl reads as no points.
    """
    return read_points(directory), read_summary(directory)
