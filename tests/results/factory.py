"""Build real schema-2 records for tests, explicitly, through the lpm.results models.

Every field is given; numbers follow simple formulas so tests know what to expect:
training = ``target iterations × iteration_j``; synthesis = ``target samples × (fixed_j +
steps × step_j)``. The footprint is lpm.carbon's, as the study stores it.
"""

from __future__ import annotations

from typing import Any

from lpm.carbon import footprint
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

J_PER_KWH = 3.6e6


def step_stats(
    *, energy_j: float, duration_s: float, count: int, window: str, provenance: Provenance
) -> StepStatsRecord:
    return StepStatsRecord(
        count=count,
        duration_s_mean=duration_s,
        duration_s_std=0.1 * duration_s,
        power_w_mean=energy_j / duration_s,
        power_w_std=0.05 * energy_j / duration_s,
        energy_j_mean=energy_j,
        energy_j_std=0.1 * energy_j,
        provenance=provenance,
        window=window,
        warmup_steps=0,
        power_samples=count,
    )


def prediction(
    *,
    n: int,
    energy_j: float,
    duration_s: float,
    fixed_energy_j: float,
    provenance: Provenance,
    pue: float = 1.55,
    region: str = "EU27",
) -> PredictionRecord:
    kwh = energy_j / J_PER_KWH
    fp = footprint(kwh, it_energy_kwh_std=0.1 * kwh, pue=pue, region=region)
    return PredictionRecord(
        n=n,
        energy_j_mean=energy_j,
        energy_j_std=0.1 * energy_j,
        energy_kwh_mean=kwh,
        energy_kwh_std=0.1 * kwh,
        duration_s_mean=duration_s,
        duration_s_std=0.1 * duration_s,
        ci95_kwh=(0.9 * kwh, 1.1 * kwh),
        fixed_energy_j_mean=fixed_energy_j,
        provenance=provenance,
        footprint=fp.to_dict(),
    )


def make_record(
    scenario_id: str = "2d-32-small-p1-ddim-200",
    *,
    dims: int = 2,
    size: tuple[int, ...] = (32, 32),
    model: str = "small",
    processes: int = 1,
    sampler: str = "ddim",
    steps: int = 200,
    iteration_j: float = 2.0,
    step_j: float = 0.01,
    fixed_j: float = 0.5,
    train_provenance: Provenance = Provenance.ESTIMATED,
    sample_provenance: Provenance = Provenance.ESTIMATED,
    targets: tuple[int, int] = (150_000, 10_000),
    measured_samples: int = 2,
    sample_steps: int | None = None,
    pue: float = 1.55,
    region: str = "EU27",
    hardware: dict[str, Any] | None = None,
) -> ScenarioRecord:
    """A complete ok record; `sample_steps` marks the measure.sample_steps override."""
    train_its, samples = targets
    measured_steps = sample_steps or steps
    train = TrainingPart(
        step_stats=step_stats(
            energy_j=iteration_j,
            duration_s=0.1,
            count=20,
            window="train",
            provenance=train_provenance,
        ),
        flops_per_iteration=1e9,
        flop_per_j=1e9 / iteration_j,
        parameters=1000,
        world_size=processes,
        duration_s=3.0,
        prediction=prediction(
            n=train_its,
            energy_j=train_its * iteration_j,
            duration_s=train_its * 0.1,
            fixed_energy_j=0.0,
            provenance=train_provenance,
            pue=pue,
            region=region,
        ),
        provenance=train_provenance,
    )
    per_sample_j = fixed_j + measured_steps * step_j
    sample = SynthesisPart(
        steps=measured_steps,
        steps_override=sample_steps is not None,
        samples=measured_samples,
        step_stats=step_stats(
            energy_j=step_j,
            duration_s=0.001,
            count=measured_samples * measured_steps,
            window="sample",
            provenance=sample_provenance,
        ),
        fixed_per_sample_j_mean=fixed_j,
        fixed_per_sample_j_std=0.1 * fixed_j,
        fixed_per_sample_s_mean=0.05,
        fixed_per_sample_s_std=0.005,
        energy_per_sample_j_mean=per_sample_j,
        energy_per_sample_j_std=0.1 * per_sample_j,
        flops_per_step=None,
        flop_per_j=None,
        duration_s=1.0,
        prediction=prediction(
            n=samples,
            energy_j=samples * (fixed_j + steps * step_j),
            duration_s=samples * (0.05 + steps * 0.001),
            fixed_energy_j=samples * fixed_j,
            provenance=sample_provenance,
            pue=pue,
            region=region,
        ),
        provenance=sample_provenance,
    )
    return ScenarioRecord(
        schema_version=SCHEMA_VERSION,
        scenario_id=scenario_id,
        status="ok",
        dims=dims,
        size=size,
        model=model,
        processes=processes,
        sampler=sampler,
        steps=steps,
        provenance=Provenance.combine([train_provenance, sample_provenance]),
        measured=MeasuredCounts(
            train_iterations=20,
            warmup_iterations=3,
            samples=measured_samples,
            warmup_samples=1,
            sample_steps=sample_steps,
        ),
        targets=TargetCounts(train_iterations=train_its, samples=samples, steps=steps),
        pue=pue,
        region=region,
        intensity_source=None,
        hardware=hardware if hardware is not None else {"cpu": "test cpu", "gpus": []},
        duration_s=4.0,
        finished_at="2026-12-01T09:00:00Z",
        error=None,
        train=train,
        sample=sample,
    )
