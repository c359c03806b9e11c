"""Synthetic study results in the real schema (built through lpm.results) with known energies.

The energy of each scenario follows a formula, so tests know exactly which value each
figure must plot:

- training kWh = 1e-9 × voxels^0.8 × model factor × processes^0.1 × 150 000 iterations;
- one denoising step = 2e-10 kWh × voxels × model factor², and a sample costs a fixed part
  worth ``FIXED_STEPS`` steps (noise, decoding, writing) plus its steps, so synthesis kWh
  = 10 000 samples × (FIXED_STEPS + steps) × step kWh.

Every record is validated by :class:`lpm.results.ScenarioRecord` and serialised with
:func:`lpm.results.record_to_dict`, so the tests never write a field the study does not.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

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
    record_to_dict,
)

MODEL_FACTOR = {"small": 1.0, "medium": 1.2, "large": 1.35}
SIZES = {2: [(32, 32), (48, 48), (64, 64)], 3: [(16, 16, 16), (24, 24, 24), (32, 32, 32)]}
TARGETS = {"train_iterations": 150_000, "samples": 10_000}
#: The fixed per-sample cost, in units of one denoising step's energy.
FIXED_STEPS = 50
TRAIN_REL_STD = 0.1
SYNTH_REL_STD = 0.05
MEASURED = {"train_iterations": 20, "warmup_iterations": 2, "samples": 4, "warmup_samples": 1}
J_PER_KWH = 3.6e6
PUE = 1.55
REGION = "EU27"
SOURCE = "paper2024"


def iteration_kwh(size: tuple[int, ...], model: str, processes: int) -> float:
    return 1e-9 * math.prod(size) ** 0.8 * MODEL_FACTOR[model] * processes**0.1


def step_kwh(size: tuple[int, ...], model: str) -> float:
    return 2e-10 * math.prod(size) * MODEL_FACTOR[model] ** 2


def sample_j(size: tuple[int, ...], model: str, steps: int) -> float:
    """Measured energy of one sample at ``steps`` steps (fixed part included), in J."""
    return (FIXED_STEPS + steps) * step_kwh(size, model) * J_PER_KWH


def train_kwh(size: tuple[int, ...], model: str, processes: int) -> float:
    return iteration_kwh(size, model, processes) * TARGETS["train_iterations"]


def synth_kwh(size: tuple[int, ...], model: str, steps: int) -> float:
    return TARGETS["samples"] * sample_j(size, model, steps) / J_PER_KWH


def _stats(energy_j: float, count: int, rel_std: float, provenance: Provenance, window: str):
    return StepStatsRecord(
        count=count,
        duration_s_mean=0.01,
        duration_s_std=0.001,
        power_w_mean=energy_j / 0.01,
        power_w_std=energy_j / 0.01 * rel_std,
        energy_j_mean=energy_j,
        energy_j_std=energy_j * rel_std,
        provenance=provenance,
        window=window,
        warmup_steps=2,
        power_samples=count,
    )


def _prediction(
    n: int, kwh: float, rel_std: float, provenance: Provenance, fixed_j: float = 0.0
) -> PredictionRecord:
    fp = footprint(kwh, it_energy_kwh_std=kwh * rel_std, pue=PUE, region=REGION, source=SOURCE)
    return PredictionRecord(
        n=n,
        energy_j_mean=kwh * J_PER_KWH,
        energy_j_std=kwh * rel_std * J_PER_KWH,
        energy_kwh_mean=kwh,
        energy_kwh_std=kwh * rel_std,
        duration_s_mean=n * 0.01,
        duration_s_std=0.0,
        ci95_kwh=(kwh * (1 - 2 * rel_std), kwh * (1 + 2 * rel_std)),
        fixed_energy_j_mean=fixed_j,
        provenance=provenance,
        footprint=fp.to_dict(),
    )


def scenario_id(dims: int, size: tuple[int, ...], model: str, processes: int, steps: int) -> str:
    return f"{dims}d-{'x'.join(map(str, size))}-{model}-p{processes}-ddim-{steps}"


def record(
    dims: int,
    size: tuple[int, ...],
    model: str = "small",
    processes: int = 1,
    steps: int = 1000,
    *,
    hardware: dict[str, Any] | None = None,
    sid: str | None = None,
    provenance: Provenance = Provenance.ESTIMATED,
    sample_provenance: Provenance | None = None,
    sample_steps: int | None = None,
    fixed_steps: float = FIXED_STEPS,
) -> dict[str, Any]:
    """One ok record (a results.jsonl object) validated by lpm.results.

    ``sample_steps`` marks the ``measure.sample_steps`` override: synthesis measured at
    that step count and scaled to ``steps``. ``fixed_steps`` sets the fixed per-sample
    cost in units of one step's energy.
    """
    sid = sid or scenario_id(dims, size, model, processes, steps)
    train_prov = provenance
    sample_prov = sample_provenance or provenance
    n_train = TARGETS["train_iterations"]
    samples = TARGETS["samples"]
    measured_steps = sample_steps or steps
    it_kwh = iteration_kwh(size, model, processes)
    st_kwh = step_kwh(size, model)
    fixed_j = fixed_steps * st_kwh * J_PER_KWH
    per_sample_j = (fixed_steps + measured_steps) * st_kwh * J_PER_KWH
    train = TrainingPart(
        step_stats=_stats(
            it_kwh * J_PER_KWH, MEASURED["train_iterations"], TRAIN_REL_STD, train_prov, "train"
        ),
        flops_per_iteration=1.0e9 * math.prod(size) / 1000,
        flop_per_j=1.0e9 * math.prod(size) / 1000 / (it_kwh * J_PER_KWH),
        parameters=1000,
        world_size=processes,
        duration_s=1.0,
        prediction=_prediction(n_train, it_kwh * n_train, TRAIN_REL_STD, train_prov),
        provenance=train_prov,
    )
    sample = SynthesisPart(
        steps=measured_steps,
        steps_override=sample_steps is not None,
        samples=MEASURED["samples"],
        step_stats=_stats(
            st_kwh * J_PER_KWH,
            MEASURED["samples"] * measured_steps,
            SYNTH_REL_STD,
            sample_prov,
            "sample_step",
        ),
        fixed_per_sample_j_mean=fixed_j,
        fixed_per_sample_j_std=fixed_j * SYNTH_REL_STD,
        fixed_per_sample_s_mean=0.02,
        fixed_per_sample_s_std=0.002,
        energy_per_sample_j_mean=per_sample_j,
        energy_per_sample_j_std=per_sample_j * SYNTH_REL_STD,
        flops_per_step=None,
        flop_per_j=None,
        duration_s=1.0,
        prediction=_prediction(
            samples,
            samples * (fixed_j / J_PER_KWH + steps * st_kwh),
            SYNTH_REL_STD,
            sample_prov,
            fixed_j=samples * fixed_j,
        ),
        provenance=sample_prov,
    )
    rec = ScenarioRecord(
        schema_version=SCHEMA_VERSION,
        scenario_id=sid,
        status="ok",
        dims=dims,
        size=tuple(size),
        model=model,
        processes=processes,
        sampler="ddim",
        steps=steps,
        provenance=Provenance.combine([train_prov, sample_prov]),
        measured=MeasuredCounts(**MEASURED, sample_steps=sample_steps),
        targets=TargetCounts(**TARGETS, steps=steps),
        pue=PUE,
        region=REGION,
        intensity_source=SOURCE,
        hardware=hardware or {"cpu": "Test CPU 2 cores", "gpus": [], "torch": "2.13.0"},
        duration_s=2.0,
        finished_at="2026-11-25T19:00:00Z",
        error=None,
        train=train,
        sample=sample,
    )
    return record_to_dict(rec)


def failed_record(sid: str, error: str, *, dims: int = 3) -> dict[str, Any]:
    """A failed scenario as the study writes it (settings, no parts, its error)."""
    size = (16,) * dims
    rec = ScenarioRecord(
        schema_version=SCHEMA_VERSION,
        scenario_id=sid,
        status="failed",
        dims=dims,
        size=size,
        model="small",
        processes=1,
        sampler="ddim",
        steps=1000,
        provenance=Provenance.ESTIMATED,
        measured=MeasuredCounts(**MEASURED, sample_steps=None),
        targets=TargetCounts(**TARGETS, steps=1000),
        pue=PUE,
        region=REGION,
        intensity_source=SOURCE,
        hardware={},
        duration_s=0.5,
        finished_at="2026-11-25T19:00:00Z",
        error=error,
        train=None,
        sample=None,
    )
    return record_to_dict(rec)


def one_factor_records(
    *, sizes: dict[int, list[tuple[int, ...]]] | None = None
) -> list[dict[str, Any]]:
    """A one-factor-at-a-time grid over every dimension of the paper (base: first value)."""
    sizes = sizes or SIZES
    out: dict[str, dict[str, Any]] = {}
    for dims, dim_sizes in sizes.items():
        base = dim_sizes[0]
        recs = [record(dims, size) for size in dim_sizes]
        recs += [record(dims, base, model=model) for model in ("medium", "large")]
        recs += [record(dims, base, processes=4), record(dims, base, steps=200)]
        for rec in recs:
            out[rec["scenario_id"]] = rec
    return list(out.values())


def write_results(study_dir: Path, records: list[dict[str, Any]]) -> Path:
    study_dir.mkdir(parents=True, exist_ok=True)
    path = study_dir / "results.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec) + "\n")
    return path


def write_spec(study_dir: Path, **overrides: Any) -> Path:
    """A spec.yaml in the shape lpm.study writes (StudySpec.to_yaml)."""
    spec: dict[str, Any] = {
        "name": "synthetic",
        "design": "one_factor",
        "dims": [2, 3],
        "image_sizes": {"2d": [32, 48, 64], "3d": [16, 24, 32]},
        "model_sizes": ["small", "medium", "large"],
        "processes": [1, 4],
        "sampler": "ddim",
        "steps": [1000, 200],
        "base": {"image_size": {}, "model": None, "processes": None, "steps": None},
        "regions": ["SE", "DE", "PL", "CN", "US", "EU27"],
        "intensity_source": SOURCE,
        "region": REGION,
        "months": {"region": "DE", "year": 2022},
        "targets": {"train_iterations": 150000, "samples": 10000, "steps": 1000},
        "pue": PUE,
        "data": "phantom",
    }
    spec.update(overrides)
    path = study_dir / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def write_study(study_dir: Path, *, spec: bool = True) -> Path:
    """A complete synthetic study directory; returns it."""
    write_results(study_dir, one_factor_records())
    if spec:
        write_spec(study_dir)
    return study_dir


def write_backtest(path: Path, *, error_pct: float = 4.0, inside: bool = True) -> Path:
    """A prediction_backtest.json in the contract's format (schema 1)."""

    def run(unit: str, target: int, actual_kwh: float) -> dict[str, Any]:
        points = []
        for fraction in (0.01, 0.02, 0.05, 0.1):
            predicted = actual_kwh * (1 + error_pct / 100 * 0.01 / fraction)
            err = 100 * (predicted - actual_kwh) / actual_kwh
            points.append(
                {
                    "fraction": fraction,
                    "measured": round(target * fraction),
                    "predicted_kwh": predicted,
                    "predicted_kwh_std": 0.02 * predicted,
                    "ci95_kwh": [0.96 * predicted, 1.04 * predicted],
                    "error_pct": err,
                    "inside_ci95": inside,
                    "inside_std": True,
                    "warmup": 1,  # the writer adds fields the report does not need
                }
            )
        return {
            "setup": "2D small 32², batch 2",
            "unit": unit,
            "target": target,
            "actual_kwh": actual_kwh,
            "provenance": "estimated",
            "from": points,
        }

    data = {
        "schema": 1,
        "machine": "test machine (2 CPU cores)",
        "date": "2026-12-01",
        "command": "python bench/prediction_backtest.py",
        "runs": {
            "training": run("iterations", 3000, 0.002),
            "synthesis": run("samples", 60, 0.0005),
        },
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
