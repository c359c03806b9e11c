"""Synthetic study results (the lpm.study results-file format) with known energies.

The energy of each scenario follows a formula, so tests know exactly which value each
figure must plot: training kWh = 1e-9 × voxels^0.8 × model factor × processes^0.1
× 150 000, synthesis kWh = 2e-10 × voxels × model factor × samples × steps.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

MODEL_FACTOR = {"small": 1.0, "medium": 1.2, "large": 1.35}
SIZES = {2: [(32, 32), (48, 48), (64, 64)], 3: [(16, 16, 16), (24, 24, 24), (32, 32, 32)]}
TARGETS = {"train_iterations": 150_000, "samples": 10_000}
J_PER_KWH = 3.6e6


def train_kwh(size: tuple[int, ...], model: str, processes: int) -> float:
    per_it_kwh = 1e-9 * math.prod(size) ** 0.8 * MODEL_FACTOR[model] * processes**0.1
    return per_it_kwh * TARGETS["train_iterations"]


def synth_kwh(size: tuple[int, ...], model: str, steps: int) -> float:
    per_step_kwh = 2e-10 * math.prod(size) * MODEL_FACTOR[model] ** 2
    return per_step_kwh * TARGETS["samples"] * steps


def _prediction(n: int, kwh: float, rel_std: float) -> dict[str, Any]:
    return {
        "n": n,
        "energy_j_mean": kwh * J_PER_KWH,
        "energy_j_std": kwh * rel_std * J_PER_KWH,
        "energy_kwh_mean": kwh,
        "energy_kwh_std": kwh * rel_std,
        "duration_s_mean": n * 0.01,
        "duration_s_std": 0.0,
        "ci95_kwh": [kwh * (1 - 2 * rel_std), kwh * (1 + 2 * rel_std)],
        "estimated": True,
    }


def record(
    dims: int,
    size: tuple[int, ...],
    model: str = "small",
    processes: int = 1,
    steps: int = 1000,
    *,
    hardware: dict[str, Any] | None = None,
    scenario_id: str | None = None,
) -> dict[str, Any]:
    """One results record in the lpm.study format."""
    sid = scenario_id or (f"{dims}d-{'x'.join(map(str, size))}-{model}-p{processes}-ddim-{steps}")
    t_kwh = train_kwh(size, model, processes)
    s_kwh = synth_kwh(size, model, steps)
    n_train = TARGETS["train_iterations"]
    n_steps = TARGETS["samples"] * steps
    return {
        "scenario_id": sid,
        "status": "ok",
        "dims": dims,
        "size": list(size),
        "model": model,
        "processes": processes,
        "sampler": "ddim",
        "steps": steps,
        "measured": {"train_iterations": 20, "sample_steps": 40, "warmup": 2},
        "train": {
            "step_stats": {
                "count": 20,
                "energy_j_mean": t_kwh / n_train * J_PER_KWH,
                "energy_j_std": t_kwh / n_train * J_PER_KWH * 0.1,
                "estimated": True,
            },
            "flops_per_iteration": 1.0e9 * math.prod(size) / 1000,
            "parameters": 1000,
            "prediction": _prediction(n_train, t_kwh, 0.1),
        },
        "sample": {
            "step_stats": {
                "count": 40,
                "energy_j_mean": s_kwh / n_steps * J_PER_KWH,
                "energy_j_std": s_kwh / n_steps * J_PER_KWH * 0.05,
                "estimated": True,
            },
            "flops_per_step": 1.0e8,
            "prediction": _prediction(n_steps, s_kwh, 0.05),
        },
        "targets": dict(TARGETS),
        "pue": 1.55,
        "region": "EU27",
        "hardware": hardware or {"cpu": "Test CPU 2 cores", "gpus": [], "torch": "2.13.0"},
        "estimated": True,
        "finished_at": "2026-11-25T19:00:00Z",
    }


def one_factor_records(
    *, sizes: dict[int, list[tuple[int, ...]]] | None = None
) -> list[dict[str, Any]]:
    """A one-factor-at-a-time grid over every dimension of the paper (base: first value)."""
    sizes = sizes or SIZES
    out: dict[str, dict[str, Any]] = {}
    for dims, dim_sizes in sizes.items():
        base = dim_sizes[0]
        for size in dim_sizes:
            out.setdefault("", {})
            rec = record(dims, size)
            out[rec["scenario_id"]] = rec
        for model in ("medium", "large"):
            rec = record(dims, base, model=model)
            out[rec["scenario_id"]] = rec
        rec = record(dims, base, processes=4)
        out[rec["scenario_id"]] = rec
        rec = record(dims, base, steps=200)
        out[rec["scenario_id"]] = rec
    out.pop("", None)
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
        "intensity_source": "paper2024",
        "region": "EU27",
        "months": {"region": "DE", "year": 2022},
        "targets": {"train_iterations": 150000, "samples": 10000, "steps": 1000},
        "pue": 1.55,
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
