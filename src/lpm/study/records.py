"""Result records: from one job's measured training and sampling to one record per scenario.

The record format is the contract with lpm.report (docs/INTERFACES.md, "lpm.study results
file"). Training is predicted for ``targets.train_iterations`` iterations; sampling for
``targets.samples`` samples × the scenario's steps, from the energy of one denoising step.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

from lpm.errors import LpmError
from lpm.study.grid import Job
from lpm.study.spec import StudySpec


def step_stats_from_dict(data: dict[str, Any]) -> Any:
    """A ``lpm.energy.StepStats`` from its ``to_dict()`` (unknown keys ignored)."""
    from lpm.energy import StepStats

    names = {f.name for f in dataclasses.fields(StepStats)}
    return StepStats(**{k: v for k, v in data.items() if k in names})


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return dataclasses.asdict(value)


def flop_per_j(flops: float | None, energy_j: float | None) -> float | None:
    """FLOP per joule, or None when either is unknown or the energy is zero."""
    if not flops or not energy_j or not math.isfinite(energy_j) or energy_j <= 0:
        return None
    return float(flops) / float(energy_j)


def build_records(
    job: Job,
    spec: StudySpec,
    *,
    train: dict[str, Any],
    sample: dict[str, Any],
    measured: dict[str, Any],
    hardware: dict[str, Any],
    duration_s: float,
) -> list[dict[str, Any]]:
    """One record per scenario of `job` from its training and sampling results.

    `train` and `sample` are ``TrainResult.to_dict()`` and ``SampleResult.to_dict()``
    (their ``step_stats`` per iteration and per denoising step).
    """
    from lpm.energy import predict

    for name, part, what in (
        ("train", train, "measure.train_iterations"),
        ("sample", sample, "measure.samples or measure.sample_steps"),
    ):
        if not part.get("step_stats"):
            raise LpmError(
                f"the {name} run of {job.job_id} measured no step after its warm-up; "
                f"raise {what} above the warm-up"
            )
    carbon_kw: dict[str, Any] = {"pue": spec.pue, "region": spec.region}
    if spec.intensity_source:
        carbon_kw["source"] = spec.intensity_source
    train_stats = step_stats_from_dict(_as_dict(train["step_stats"]))
    sample_stats = step_stats_from_dict(_as_dict(sample["step_stats"]))
    train_pred = predict(train_stats, spec.targets.train_iterations, **carbon_kw).to_dict()
    train_part = {
        "step_stats": _as_dict(train["step_stats"]),
        "flops_per_iteration": train.get("flops_per_iteration"),
        "flop_per_j": flop_per_j(train.get("flops_per_iteration"), train_stats.energy_j_mean),
        "parameters": train.get("parameters"),
        "world_size": train.get("world_size", job.processes),
        "duration_s": train.get("duration_s"),
        "prediction": train_pred,
    }
    estimated = bool(
        train.get("estimated", train_stats.estimated)
        or sample.get("estimated", sample_stats.estimated)
    )
    finished_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    records = []
    for sc in job.scenarios:
        n_steps = spec.targets.samples * sc.steps
        sample_pred = predict(sample_stats, n_steps, **carbon_kw).to_dict()
        sample_part = {
            "step_stats": _as_dict(sample["step_stats"]),
            "flops_per_step": sample.get("flops_per_step"),
            "flop_per_j": flop_per_j(sample.get("flops_per_step"), sample_stats.energy_j_mean),
            "energy_per_sample_j": sample.get("energy_per_sample_j"),
            "duration_s": sample.get("duration_s"),
            "predicted_steps": n_steps,
            "prediction": sample_pred,
        }
        records.append(
            {
                "scenario_id": sc.scenario_id,
                "status": "ok",
                "dims": sc.dims,
                "size": list(sc.size),
                "model": sc.model,
                "processes": sc.processes,
                "sampler": sc.sampler,
                "steps": sc.steps,
                "measured": dict(measured),
                "train": train_part,
                "sample": sample_part,
                "targets": {
                    "train_iterations": spec.targets.train_iterations,
                    "samples": spec.targets.samples,
                    "steps": sc.steps,
                },
                "pue": spec.pue,
                "region": spec.region,
                "intensity_source": spec.intensity_source,
                "hardware": hardware,
                "estimated": estimated,
                "duration_s": duration_s,
                "finished_at": finished_at,
            }
        )
    return records
