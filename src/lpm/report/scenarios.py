"""The report's view of one study record: a scenario's settings and its predicted energy.

The record is parsed once, by :mod:`lpm.results` (schema version 2, docs/INTERFACES.md);
this module only turns a typed :class:`lpm.results.ScenarioRecord` into the values the
report shows. Nothing is rebuilt or guessed: a phase without a stored prediction has no
energy, the CO2e stored with a prediction is the one shown, and every energy carries the
:class:`~lpm.provenance.Provenance` the record gives it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lpm.provenance import Provenance
from lpm.results import ScenarioRecord, SynthesisPart, TrainingPart, parse_record
from lpm.sizes import size_label
from lpm.units import J_PER_KWH

PHASES = ("training", "synthesis")
MODEL_ORDER = ("small", "medium", "large")


@dataclass(frozen=True)
class StoredFootprint:
    """The CO2e the study stored with a prediction (``Footprint.to_dict()``), as read."""

    it_energy_kwh: float
    it_energy_kwh_std: float
    pue: float
    facility_energy_kwh: float
    co2e_kg: float
    co2e_kg_std: float
    region: str
    region_name: str
    intensity_g_per_kwh: float
    intensity_source: str
    basis: str
    period: str

    @property
    def intensity_key(self) -> tuple[str, str, str, str]:
        """(region, source, basis, period): footprints with one key are comparable."""
        return (self.region, self.intensity_source, self.basis, self.period)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def stored_footprint(data: Any) -> StoredFootprint | None:
    """A :class:`StoredFootprint` from ``Footprint.to_dict()``; None when absent or partial."""
    if not isinstance(data, dict):
        return None
    numbers = {
        key: _num(data.get(key))
        for key in ("it_energy_kwh", "pue", "co2e_kg", "carbon_intensity_g_per_kwh")
    }
    if any(v is None for v in numbers.values()) or not data.get("region"):
        return None
    year, month = data.get("intensity_year"), data.get("intensity_month")
    period = f"{year}-{int(month):02d}" if month else str(year)
    return StoredFootprint(
        it_energy_kwh=numbers["it_energy_kwh"],
        it_energy_kwh_std=_num(data.get("it_energy_kwh_std")) or 0.0,
        pue=numbers["pue"],
        facility_energy_kwh=_num(data.get("facility_energy_kwh"))
        or numbers["it_energy_kwh"] * numbers["pue"],
        co2e_kg=numbers["co2e_kg"],
        co2e_kg_std=_num(data.get("co2e_kg_std")) or 0.0,
        region=str(data["region"]),
        region_name=str(data.get("region_name") or data["region"]),
        intensity_g_per_kwh=numbers["carbon_intensity_g_per_kwh"],
        intensity_source=str(data.get("intensity_source") or "?"),
        basis=str(data.get("basis") or "?"),
        period=period,
    )


@dataclass(frozen=True)
class PhaseEnergy:
    """Predicted IT energy of one phase of a scenario for its target, as the record holds it.

    ``n`` is the target: training iterations, or samples for synthesis. ``energy_per_step_j``
    is per training iteration or per denoising step. ``fixed_energy_j`` is the part of the
    prediction that does not scale with the steps (synthesis: n × fixed per-sample cost).
    """

    phase: str
    n: int
    it_energy_kwh: float
    it_energy_kwh_std: float
    duration_s: float | None
    flops_per_step: float | None
    energy_per_step_j: float | None
    provenance: Provenance
    energy_per_step_j_std: float | None = None
    flop_per_j: float | None = None
    ci95_kwh: tuple[float, float] | None = None
    fixed_energy_j: float = 0.0
    footprint: StoredFootprint | None = None

    @property
    def estimated(self) -> bool:
        """True when some part of the energy is not from a hardware counter."""
        return self.provenance.is_estimated

    @property
    def fixed_share(self) -> float | None:
        """The fixed part's share (0–1) of the predicted energy; None at 0 J."""
        total_j = self.it_energy_kwh * J_PER_KWH
        return self.fixed_energy_j / total_j if total_j > 0 else None

    @property
    def flops_per_joule(self) -> float | None:
        """FLOP per joule as stored; None when the FLOP count is unknown."""
        return self.flop_per_j


@dataclass(frozen=True)
class SynthesisMeasurement:
    """What one sample cost, measured at ``steps`` denoising steps (after warm-up).

    ``direct`` is True when ``steps`` is the scenario's own step count; False when the
    study measured another step count (``measure.sample_steps``) and scaled it.
    """

    steps: int
    samples: int
    energy_per_sample_j_mean: float
    energy_per_sample_j_std: float
    fixed_per_sample_j_mean: float
    fixed_per_sample_j_std: float
    fixed_per_sample_s_mean: float
    fixed_per_sample_s_std: float
    energy_per_step_j_mean: float | None
    energy_per_step_j_std: float | None
    provenance: Provenance
    direct: bool = True

    @property
    def fixed_share(self) -> float | None:
        """The fixed per-sample cost's share (0–1) of a sample's energy; None at 0 J."""
        if not self.energy_per_sample_j_mean > 0:
            return None
        return self.fixed_per_sample_j_mean / self.energy_per_sample_j_mean


@dataclass(frozen=True)
class Scenario:
    """A study scenario and the energy predicted for its training and synthesis targets."""

    scenario_id: str
    status: str
    dims: int
    size: tuple[int, ...]
    model: str
    processes: int
    sampler: str
    steps: int
    pue: float | None
    region: str | None
    provenance: Provenance
    training: PhaseEnergy | None
    synthesis: PhaseEnergy | None
    sample_measurement: SynthesisMeasurement | None = None
    intensity_source: str | None = None
    measured: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)
    parameters: int | None = None
    finished_at: str | None = None
    error: str | None = None
    schema_version: int | None = None

    @property
    def estimated(self) -> bool:
        """True when some part of the scenario's energy is not from a hardware counter."""
        return self.provenance.is_estimated

    @property
    def size_label(self) -> str:
        return size_label(self.size)

    @property
    def voxels(self) -> int:
        return math.prod(self.size) if self.size else 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def phase(self, phase: str) -> PhaseEnergy | None:
        return self.training if phase == "training" else self.synthesis

    def value(self, name: str) -> Any:
        """A setting by name: dims, size, model, processes, sampler or steps."""
        return getattr(self, name)


def _plain(model: Any) -> dict[str, Any]:
    """A pydantic sub-record as a plain dict (for display)."""
    return dict(model.model_dump(mode="json")) if model is not None else {}


def _phase(part: TrainingPart | SynthesisPart | None, phase: str) -> PhaseEnergy | None:
    """A phase's energy from its typed part (None when the record has no such part)."""
    if part is None:
        return None
    pred, stats = part.prediction, part.step_stats
    flops = part.flops_per_iteration if isinstance(part, TrainingPart) else part.flops_per_step
    return PhaseEnergy(
        phase=phase,
        n=pred.n,
        it_energy_kwh=pred.energy_kwh_mean,
        it_energy_kwh_std=abs(pred.energy_kwh_std),
        duration_s=_num(pred.duration_s_mean),
        flops_per_step=_num(flops),
        energy_per_step_j=_num(stats.energy_j_mean),
        energy_per_step_j_std=_num(stats.energy_j_std),
        provenance=pred.provenance,
        flop_per_j=_num(part.flop_per_j),
        ci95_kwh=(float(pred.ci95_kwh[0]), float(pred.ci95_kwh[1])),
        fixed_energy_j=_num(pred.fixed_energy_j_mean) or 0.0,
        footprint=stored_footprint(pred.footprint),
    )


def _measurement(part: SynthesisPart | None, scenario_steps: int) -> SynthesisMeasurement | None:
    """The per-sample measurement of a synthesis part (None without a sampling result)."""
    if part is None:
        return None
    return SynthesisMeasurement(
        steps=part.steps,
        samples=part.samples,
        energy_per_sample_j_mean=part.energy_per_sample_j_mean,
        energy_per_sample_j_std=part.energy_per_sample_j_std,
        fixed_per_sample_j_mean=part.fixed_per_sample_j_mean,
        fixed_per_sample_j_std=part.fixed_per_sample_j_std,
        fixed_per_sample_s_mean=part.fixed_per_sample_s_mean,
        fixed_per_sample_s_std=part.fixed_per_sample_s_std,
        energy_per_step_j_mean=_num(part.step_stats.energy_j_mean),
        energy_per_step_j_std=_num(part.step_stats.energy_j_std),
        provenance=part.provenance,
        direct=not part.steps_override and part.steps == scenario_steps,
    )


def scenario_from_record(record: ScenarioRecord | dict[str, Any]) -> Scenario:
    """The report's view of one :class:`lpm.results.ScenarioRecord`.

    A plain dict (one decoded line of ``results.jsonl``) goes through
    :func:`lpm.results.parse_record` first, so there is one parser; what it refuses
    (another schema version, a record that does not match) is its one-line LpmError.
    """
    record = parse_record(record)
    train, sample = record.train, record.sample
    return Scenario(
        scenario_id=str(record.scenario_id),
        status=str(record.status),
        dims=int(record.dims),
        size=tuple(int(s) for s in record.size),
        model=str(record.model),
        processes=int(record.processes),
        sampler=str(record.sampler),
        steps=int(record.steps),
        pue=_num(record.pue),
        region=str(record.region) if record.region else None,
        provenance=record.provenance,
        training=_phase(train, "training"),
        synthesis=_phase(sample, "synthesis"),
        sample_measurement=_measurement(sample, int(record.steps)),
        intensity_source=record.intensity_source,
        measured=_plain(record.measured),
        targets=_plain(record.targets),
        hardware=dict(record.hardware or {}),
        parameters=train.parameters if train is not None and train.parameters else None,
        finished_at=str(record.finished_at) if record.finished_at else None,
        error=str(record.error) if record.error else None,
        schema_version=record.schema_version,
    )


def model_rank(model: str) -> tuple[int, str]:
    """Sort key: small < medium < large, unknown names after, alphabetically."""
    return (MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER), model)


def sort_key(name: str, value: Any) -> Any:
    """How the values of one setting are ordered on an axis."""
    if name == "size":
        return (math.prod(value) if value else 0, tuple(value))
    if name == "model":
        return model_rank(value)
    return value


def label(name: str, value: Any) -> str:
    """A setting's value as shown on an axis."""
    if name == "size":
        return size_label(value)
    return str(value)
