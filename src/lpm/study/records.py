"""Result records: from one job's measured training and sampling to one record per scenario.

The record is :class:`lpm.results.ScenarioRecord` (schema 2, docs/study.md). Training is
predicted for ``targets.train_iterations`` iterations from the energy of one iteration.
Synthesis is measured at each scenario's own step count (one sampling run per step count
of the job) and predicted for ``targets.samples`` samples as samples × (fixed per-sample
cost + steps × energy per denoising step), both measured in that run. Only where the spec
sets ``measure.sample_steps`` and a job has a single step count is synthesis measured at
``sample_steps`` instead; the record marks that (``sample.steps_override``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.results import (
    SCHEMA_VERSION,
    MeasuredCounts,
    PredictionRecord,
    ScenarioRecord,
    StepStatsRecord,
    SynthesisPart,
    TargetCounts,
    TrainingPart,
)
from lpm.study.grid import Job
from lpm.study.spec import StudySpec


def synthesis_steps(job: Job, spec: StudySpec) -> dict[int, int]:
    """For each step count of `job`, the denoising steps per sample it is measured at.

    Each step count is measured at itself, except for a job with a single step count in a
    spec that sets ``measure.sample_steps`` (the explicit override): then at that.
    A job that compares step counts always measures each directly.
    """
    override = spec.measure.sample_steps
    if override is not None and len(job.steps) == 1:
        return {job.steps[0]: override}
    return {s: s for s in job.steps}


def flop_per_j(flops: float | None, energy_j: float | None) -> float | None:
    """FLOP per joule, or None when either is unknown or the energy is not positive."""
    if flops is None or energy_j is None or not math.isfinite(energy_j) or energy_j <= 0:
        return None
    if not flops > 0:
        return None
    return float(flops) / float(energy_j)


def _float_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    return float(value)


def _provenance(result: Mapping[str, Any]) -> Provenance:
    """A result's provenance: its ``provenance``, else that of its step statistics."""
    if result.get("provenance") is not None:
        return Provenance.parse(result["provenance"])
    stats = result.get("step_stats") or {}
    if stats.get("provenance") is not None:
        return Provenance.parse(stats["provenance"])
    return Provenance.parse(result.get("estimated", stats.get("estimated")))


def _carbon_kw(spec: StudySpec) -> dict[str, Any]:
    kw: dict[str, Any] = {"pue": spec.pue, "region": spec.region}
    if spec.intensity_source:
        kw["source"] = spec.intensity_source
    return kw


def _check_measured(job: Job, name: str, result: Mapping[str, Any], what: str) -> None:
    stats = result.get("step_stats") or {}
    if not stats or not stats.get("count"):
        raise LpmError(
            f"the {name} run of {job.job_id} measured no step after its warm-up; "
            f"raise {what} above the warm-up"
        )


def resumed_at(train: Mapping[str, Any]) -> list[int]:
    """The iterations at which a training run went on in a new process (lpm.ldm.segments)."""
    extra = train.get("extra") or {}
    rows = extra.get("segments") or train.get("segments") or []
    return [int(row["start"]) for row in rows[1:] if isinstance(row, Mapping)]


def training_part(job: Job, spec: StudySpec, train: Mapping[str, Any]) -> TrainingPart:
    """The training part of a record from ``TrainResult.to_dict()``."""
    from lpm.energy import StepStats, predict

    _check_measured(job, "training", train, "measure.train_iterations")
    stats = StepStats.from_dict(dict(train["step_stats"]))
    prediction = predict(stats, spec.targets.train_iterations, **_carbon_kw(spec))
    flops = _float_or_none(train.get("flops_per_iteration"))
    return TrainingPart(
        step_stats=StepStatsRecord.from_stats(train["step_stats"]),
        flops_per_iteration=flops,
        flop_per_j=flop_per_j(flops, stats.energy_j_mean),
        parameters=int(train["parameters"]),
        world_size=int(train.get("world_size") or job.processes),
        duration_s=float(train["duration_s"]),
        prediction=PredictionRecord.from_prediction(prediction),
        provenance=_provenance(train),
        resumed_at=resumed_at(train),
    )


def synthesis_part(
    job: Job, spec: StudySpec, sample: Mapping[str, Any], *, steps: int
) -> SynthesisPart:
    """The synthesis part of the record of `job`'s scenario with `steps` denoising steps.

    `sample` is ``SampleResult.to_dict()`` of the run measured for that scenario; the
    prediction is for ``targets.samples`` samples of `steps` steps each.
    """
    from lpm.energy import StepStats, predict_synthesis

    _check_measured(job, f"{sample.get('steps')}-step sampling", sample, "measure.samples")
    provenance = _provenance(sample)
    stats = StepStats.from_dict(dict(sample["step_stats"]))
    measured_samples = int(sample["samples_measured"])
    prediction = predict_synthesis(
        stats,
        steps=steps,
        samples=spec.targets.samples,
        fixed_j_mean=float(sample["fixed_per_sample_j_mean"]),
        fixed_j_std=float(sample["fixed_per_sample_j_std"]),
        fixed_s_mean=float(sample["fixed_per_sample_s_mean"]),
        fixed_s_std=float(sample["fixed_per_sample_s_std"]),
        fixed_count=measured_samples,
        fixed_provenance=provenance,
        **_carbon_kw(spec),
    )
    flops = _float_or_none(sample.get("flops_per_step"))
    measured_steps = int(sample["steps"])
    return SynthesisPart(
        steps=measured_steps,
        steps_override=measured_steps != steps,
        samples=measured_samples,
        step_stats=StepStatsRecord.from_stats(sample["step_stats"]),
        fixed_per_sample_j_mean=float(sample["fixed_per_sample_j_mean"]),
        fixed_per_sample_j_std=float(sample["fixed_per_sample_j_std"]),
        fixed_per_sample_s_mean=float(sample["fixed_per_sample_s_mean"]),
        fixed_per_sample_s_std=float(sample["fixed_per_sample_s_std"]),
        energy_per_sample_j_mean=float(sample["energy_per_sample_j_mean"]),
        energy_per_sample_j_std=float(sample["energy_per_sample_j_std"]),
        flops_per_step=flops,
        flop_per_j=flop_per_j(flops, stats.energy_j_mean),
        duration_s=float(sample["duration_s"]),
        prediction=PredictionRecord.from_prediction(prediction),
        provenance=provenance,
    )


def build_records(
    job: Job,
    spec: StudySpec,
    *,
    train: Mapping[str, Any],
    samples: Mapping[int, Mapping[str, Any]],
    hardware: dict[str, Any],
    duration_s: float,
) -> list[ScenarioRecord]:
    """One record per scenario of `job` from its training run and its sampling runs.

    `train` is ``TrainResult.to_dict()``; `samples` maps each measured step count (see
    :func:`synthesis_steps`) to the ``SampleResult.to_dict()`` of the run at that count.
    """
    plan = synthesis_steps(job, spec)
    missing = sorted({plan[s] for s in job.steps} - set(samples))
    if missing:
        raise LpmError(
            f"no sampling run at {missing} steps for {job.job_id}; measure every step count"
        )
    m = spec.measure
    train_part = training_part(job, spec, train)
    finished_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = []
    for sc in job.scenarios:
        sample_part = synthesis_part(job, spec, samples[plan[sc.steps]], steps=sc.steps)
        measured = MeasuredCounts(
            train_iterations=m.train_iterations,
            warmup_iterations=m.warmup_iterations,
            samples=m.samples,
            warmup_samples=m.warmup_samples,
            sample_steps=sample_part.steps if sample_part.steps_override else None,
        )
        records.append(
            ScenarioRecord(
                schema_version=SCHEMA_VERSION,
                scenario_id=sc.scenario_id,
                status="ok",
                dims=sc.dims,
                size=tuple(sc.size),
                model=sc.model,
                processes=sc.processes,
                sampler=sc.sampler,
                steps=sc.steps,
                provenance=Provenance.combine([train_part.provenance, sample_part.provenance]),
                measured=measured,
                targets=TargetCounts(
                    train_iterations=spec.targets.train_iterations,
                    samples=spec.targets.samples,
                    steps=sc.steps,
                ),
                pue=spec.pue,
                region=spec.region,
                intensity_source=spec.intensity_source,
                hardware=dict(hardware),
                duration_s=float(duration_s),
                finished_at=finished_at,
                error=None,
                train=train_part,
                sample=sample_part,
            )
        )
    return records
