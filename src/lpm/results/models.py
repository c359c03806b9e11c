"""The study results record, schema version 2: one typed value per scenario.

Every part carries its :class:`~lpm.provenance.Provenance`; the record's provenance is the
combination of its parts'. Each model also serialises the old ``estimated`` bool
(= ``provenance.is_estimated``) so that older readers keep working; on input that key is
checked against ``provenance`` and dropped. Unknown fields are errors: a record holds
exactly the fields below, so a reader never guesses and a writer never invents.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from lpm.provenance import Provenance

SCHEMA_VERSION = 2


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")


class _WithProvenance(_Model):
    """A model with a ``provenance`` field, serialised with the derived ``estimated`` bool."""

    provenance: Provenance

    @model_validator(mode="before")
    @classmethod
    def _drop_estimated(cls, data: Any) -> Any:
        if isinstance(data, dict) and "estimated" in data:
            data = dict(data)
            estimated = data.pop("estimated")
            prov = data.get("provenance")
            if prov is not None and isinstance(estimated, bool):
                try:
                    parsed = Provenance.parse(prov)
                except ValueError:
                    return data  # the field validator names the bad value
                if parsed.is_estimated != estimated:
                    raise ValueError(
                        f"estimated={estimated} contradicts provenance {parsed.value!r}"
                    )
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def estimated(self) -> bool:
        """The old flag: True when some part is a model's estimate."""
        return self.provenance.is_estimated


def _get(obj: Any) -> dict[str, Any]:
    """A result object (``to_dict()``) or a mapping as a plain dict."""
    if isinstance(obj, dict):
        return dict(obj)
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    raise TypeError(f"expected a mapping or an object with to_dict(), got {type(obj).__name__}")


def _provenance_of(data: dict[str, Any]) -> Provenance:
    """``provenance`` if present, else the old ``estimated`` flag."""
    if data.get("provenance") is not None:
        return Provenance.parse(data["provenance"])
    return Provenance.parse(data.get("estimated"))


class StepStatsRecord(_WithProvenance):
    """Per-step statistics (one training iteration, or one denoising step), mean ± std."""

    count: int = Field(ge=0)
    duration_s_mean: float
    duration_s_std: float
    power_w_mean: float
    power_w_std: float
    energy_j_mean: float
    energy_j_std: float
    window: str | None
    warmup_steps: int = Field(ge=0)
    power_samples: int = Field(ge=0)

    @classmethod
    def from_stats(cls, stats: Any) -> StepStatsRecord:
        """From a ``lpm.energy.StepStats`` or its ``to_dict()`` (other keys ignored)."""
        data = _get(stats)
        data["provenance"] = _provenance_of(data)
        data.pop("estimated", None)
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


class PredictionRecord(_WithProvenance):
    """A predicted phase: IT energy mean ± std for ``n`` units, its 95 % interval and CO2e.

    ``n`` is iterations (training) or samples (synthesis); ``fixed_energy_j_mean`` is the
    part of the energy that does not scale with steps (0 for training). ``footprint`` is
    ``lpm.carbon.Footprint.to_dict()`` as stored when the record was written.
    """

    n: int = Field(ge=1)
    energy_j_mean: float
    energy_j_std: float
    energy_kwh_mean: float
    energy_kwh_std: float
    duration_s_mean: float
    duration_s_std: float
    ci95_kwh: tuple[float, float]
    fixed_energy_j_mean: float
    footprint: dict[str, Any]

    @classmethod
    def from_prediction(cls, prediction: Any) -> PredictionRecord:
        """From a ``lpm.energy.Prediction`` or its ``to_dict()`` (other keys ignored)."""
        data = _get(prediction)
        data["provenance"] = _provenance_of(data)
        data.pop("estimated", None)
        data.setdefault("fixed_energy_j_mean", 0.0)
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})

    @property
    def co2e_kg_mean(self) -> float | None:
        """CO2e of the prediction as stored (None if the footprint has none)."""
        return _number(self.footprint.get("co2e_kg"))

    @property
    def co2e_kg_std(self) -> float | None:
        return _number(self.footprint.get("co2e_kg_std"))

    @property
    def facility_energy_kwh_mean(self) -> float | None:
        return _number(self.footprint.get("facility_energy_kwh"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class TrainingPart(_WithProvenance):
    """The measured training run and its prediction for ``targets.train_iterations``.

    ``resumed_at`` lists the iterations at which the run went on in a new process after
    a kill or preemption (empty: it ran in one); ``step_stats`` then pools every
    process's measured steps and ``duration_s`` is the last process's.
    """

    step_stats: StepStatsRecord
    flops_per_iteration: float | None
    flop_per_j: float | None
    parameters: int = Field(ge=0)
    world_size: int = Field(ge=1)
    duration_s: float
    prediction: PredictionRecord
    resumed_at: list[int] = Field(default_factory=list)


class SynthesisPart(_WithProvenance):
    """A sampling run measured at ``steps`` denoising steps per sample, and its prediction.

    ``samples`` samples were measured (after the warm-up); ``step_stats`` is per denoising
    step; ``fixed_per_sample_*`` is what a sample costs besides its steps (noise, decoding,
    writing), ``energy_per_sample_j_*`` the measured total per sample. ``prediction`` is
    for ``targets.samples`` samples at the scenario's steps. ``steps_override`` is True
    when the run was measured at ``measure.sample_steps`` instead of the scenario's steps
    (then the prediction scales the per-step energy to the scenario's steps).
    """

    steps: int = Field(ge=1)
    steps_override: bool
    samples: int = Field(ge=1)
    step_stats: StepStatsRecord
    fixed_per_sample_j_mean: float
    fixed_per_sample_j_std: float
    fixed_per_sample_s_mean: float
    fixed_per_sample_s_std: float
    energy_per_sample_j_mean: float
    energy_per_sample_j_std: float
    flops_per_step: float | None
    flop_per_j: float | None
    duration_s: float
    prediction: PredictionRecord

    @property
    def fixed_share(self) -> float | None:
        """The fixed per-sample cost's share (0-1) of a measured sample; None if 0 J."""
        if not self.energy_per_sample_j_mean > 0:
            return None
        return self.fixed_per_sample_j_mean / self.energy_per_sample_j_mean


class MeasuredCounts(_Model):
    """How long the scenario was measured (warm-ups excluded from the statistics).

    ``sample_steps`` is ``measure.sample_steps`` where this record's synthesis was
    measured at that override instead of the scenario's steps (``sample.steps_override``);
    None where it was measured at the scenario's own step count.
    """

    train_iterations: int = Field(ge=1)
    warmup_iterations: int = Field(ge=0)
    samples: int = Field(ge=1)
    warmup_samples: int = Field(ge=0)
    sample_steps: int | None = Field(ge=1)


class TargetCounts(_Model):
    """What the measurements were extrapolated to."""

    train_iterations: int = Field(ge=1)
    samples: int = Field(ge=1)
    steps: int = Field(ge=1)


class ScenarioRecord(_WithProvenance):
    """One scenario of a study: its settings, measurements and predictions (schema 2)."""

    schema_version: Literal[2]
    scenario_id: str = Field(min_length=1)
    status: Literal["ok", "failed"]
    dims: Literal[2, 3]
    size: tuple[int, ...]
    model: str
    processes: int = Field(ge=1)
    sampler: str
    steps: int = Field(ge=1)
    measured: MeasuredCounts
    targets: TargetCounts
    pue: float = Field(ge=1.0)
    region: str
    intensity_source: str | None
    hardware: dict[str, Any]
    duration_s: float
    finished_at: str
    error: str | None
    train: TrainingPart | None
    sample: SynthesisPart | None

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioRecord:
        if len(self.size) != self.dims or any(s < 1 for s in self.size):
            raise ValueError(f"size {list(self.size)} is not a {self.dims}D image size")
        if self.targets.steps != self.steps:
            raise ValueError(f"targets.steps {self.targets.steps} is not steps {self.steps}")
        if self.status == "failed":
            if not self.error:
                raise ValueError("a failed record needs its error")
            return self
        if self.train is None or self.sample is None or self.error is not None:
            raise ValueError("an ok record needs train and sample parts and no error")
        expected = Provenance.combine([self.train.provenance, self.sample.provenance])
        if self.provenance != expected:
            raise ValueError(
                f"provenance {self.provenance.value!r} is not the combination of its parts "
                f"({expected.value!r})"
            )
        s = self.sample
        if s.steps_override:
            if self.measured.sample_steps != s.steps:
                raise ValueError(
                    f"sample.steps {s.steps} is marked as the override but "
                    f"measured.sample_steps is {self.measured.sample_steps}"
                )
        elif self.measured.sample_steps is not None:
            raise ValueError(
                f"measured.sample_steps {self.measured.sample_steps} is set but "
                "sample.steps_override is false"
            )
        elif s.steps != self.steps:
            raise ValueError(
                f"sample.steps {s.steps} is not the scenario's steps {self.steps} and is "
                "not marked steps_override"
            )
        if s.prediction.n != self.targets.samples:
            raise ValueError(
                f"sample.prediction.n {s.prediction.n} is not targets.samples "
                f"{self.targets.samples}"
            )
        if self.train.prediction.n != self.targets.train_iterations:
            raise ValueError(
                f"train.prediction.n {self.train.prediction.n} is not "
                f"targets.train_iterations {self.targets.train_iterations}"
            )
        return self

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def synthesis_measured_directly(self) -> bool:
        """True when synthesis was measured at exactly this scenario's step count."""
        return self.sample is not None and self.sample.steps == self.steps

    def provenance_parts(self) -> dict[str, Provenance]:
        """The provenance of each part present: ``{"train": ..., "sample": ...}``."""
        parts: dict[str, Provenance] = {}
        if self.train is not None:
            parts["train"] = self.train.provenance
        if self.sample is not None:
            parts["sample"] = self.sample.provenance
        return parts
