"""Built-in study specs: ``paper`` (the paper's grid, for GPUs) and ``quick`` (a CPU demo)."""

from __future__ import annotations

from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
from lpm.errors import LpmError
from lpm.report.paper import PAPER_MODEL_SIZE_IMAGE, PAPER_TARGETS, PROCESSES_PAIR
from lpm.report.results import DEFAULT_MONTHS_REGION, DEFAULT_REGIONS
from lpm.study.spec import StudySpec, spec_from_dict

# Table 1 of the paper (2022 yearly averages, source id paper2024) and Fig. 3b (DE, 2022);
# the paper's PUE and region are lpm.carbon's defaults (DEFAULT_PUE, DEFAULT_REGION).
_REGIONS = list(DEFAULT_REGIONS)
_MONTHS = {"region": DEFAULT_MONTHS_REGION, "year": 2022}

# The quality stage of each preset: one model trained long enough to have quality, then
# sampled and scored against held-out phantoms (lpm.quality). One dict per preset.
PAPER_QUALITY: dict[str, Any] = {
    # The paper's base 2D setting (256², medium) and sample count (50), at its 1000 steps.
    "dims": 2,
    "size": 256,
    "model": "medium",
    "autoencoder_iterations": 5000,
    "train_iterations": 20_000,
    "batch_size": 16,
    "lr": 3e-4,
    "samples": 50,
    "steps": 1000,
    "sampler": "ddpm",
}

QUICK_QUALITY: dict[str, Any] = {
    # About 4 minutes on one CPU thread (the whole quick study: within 10 minutes on 2 cores).
    "dims": 2,
    "size": 32,
    "model": "small",
    "autoencoder_iterations": 500,
    "train_iterations": 1200,
    "batch_size": 16,
    "lr": 3e-4,
    "samples": 64,
    "steps": 50,
    "sampler": "ddim",
}

# The tradeoff stage of each preset: the energy-quality sweep of synthesis recipes
# (lpm.study.tradeoff). The sweep adds the reference (DDPM, 1000 steps) at every batch.
PAPER_TRADEOFF: dict[str, Any] = {
    # The paper's 3D 256x256x192 model (medium, its base model), trained by the stage
    # itself for each objective (DDPM noise schedule and rectified flow) on one autoencoder;
    # every sampler that fits, the steps and batches (a batch that does not fit in
    # memory is recorded failed and the sweep goes on).
    "setting": {
        "dims": 3,
        "size": "256x256x192",
        "model": "medium",
        "autoencoder_iterations": 5000,
        "train_iterations": 20_000,
        "batch_size": 2,
        "lr": 1e-4,
    },
    "objectives": ["ddpm", "rflow"],
    "samplers": None,
    "steps": [1000, 500, 200, 100, 50, 20, 10],
    "batches": [1, 4, 16],
    "quality_samples": 50,
    "energy_steps": 20,
    "energy_batches": 2,
    "tolerance": 0.05,
    "reference": {"sampler": "ddpm", "steps": 1000, "batch": 1},
}

QUICK_TRADEOFF: dict[str, Any] = {
    # The quality stage's 2D 32² model: DDPM and DDIM at 200/50/10 steps against DDPM
    # 1000, at batches 1 and 16: the stage took 95 s on the idle VM (2026-12-01, most of
    # it the reference's 32 samples x 1000 steps); the whole quick study 9 min 50 s with
    # 200/50/20/10, so 20 steps was dropped to keep it within 10 minutes.
    # DDPM at 200 steps is the paper's own cut, checked with quality beside it.
    "objectives": ["ddpm"],
    "samplers": ["ddpm", "ddim"],
    "steps": [200, 50, 10],
    "batches": [1, 16],
    "quality_samples": 32,
    "energy_steps": 10,
    "energy_batches": 1,
    "tolerance": 0.05,
    "reference": {"sampler": "ddpm", "steps": 1000, "batch": 1},
    "bootstrap": 50,
}

PAPER: dict[str, Any] = {
    "name": "paper",
    "design": "one_factor",
    "dims": [2, 3],
    # §2.1: 2D 192², 256², 320², 512²; 3D 64³, 128³, 192³, 256×256×192.
    "image_sizes": {"2d": [192, 256, 320, 512], "3d": [64, 128, 192, "256x256x192"]},
    # §3.2: model sizes are compared at 256² (2D) and 192³ (3D).
    "model_sizes": ["small", "medium", "large"],
    "model_size_image": {f"{d}d": size[0] for d, size in PAPER_MODEL_SIZE_IMAGE.items()},
    # §3.4: 1 vs 4 GPUs with the same batch per GPU; 1000 vs 200 inference steps.
    "processes": list(PROCESSES_PAIR),
    "global_batch": "same_per_gpu",
    "sampler": "ddpm",
    "steps": [1000, 200],
    "base": {"image_size": {"2d": 256, "3d": 192}, "model": "medium", "processes": 1},
    "regions": _REGIONS,
    "intensity_source": "paper2024",
    "region": DEFAULT_REGION,
    "months": _MONTHS,
    # §2.4: averaged over 50 epochs / 50 samples; §3.1: predicted for 150k / 10k.
    "measure": {
        "train_iterations": 6000,
        "warmup_iterations": 50,
        "samples": 50,
        "warmup_samples": 1,
        "interval_s": 1.0,
        "autoencoder_iterations": 100,
    },
    "targets": dict(PAPER_TARGETS),
    "pue": DEFAULT_PUE,
    "data": "phantom",
    "batch_size": 1,
    "quality": PAPER_QUALITY,
    "tradeoff": PAPER_TRADEOFF,
}

QUICK: dict[str, Any] = {
    "name": "quick",
    "design": "one_factor",
    "dims": [2, 3],
    "image_sizes": {"2d": [32, 64], "3d": [16, 32]},
    "model_sizes": ["small", "medium", "large"],
    "processes": [1, 2],
    "global_batch": "same_per_gpu",
    "sampler": "ddim",
    # The base setting samples at 1000 and at 200 steps (two measurements, 2 samples
    # each after a warm-up); the other runs sample at measure.sample_steps and their
    # records are predicted to 1000 steps from the fixed and per-step costs (marked).
    "steps": [1000, 200],
    # The small model is the base on CPU: medium and large run once per dims, at 32²/16³.
    "base": {"image_size": {"2d": 32, "3d": 16}, "model": "small", "processes": 1},
    "regions": _REGIONS,
    "intensity_source": "paper2024",
    "region": DEFAULT_REGION,
    "months": _MONTHS,
    "measure": {
        "train_iterations": 20,
        "warmup_iterations": 3,
        "samples": 2,
        "sample_steps": 10,
        "warmup_samples": 1,
        "interval_s": 0.1,
        "autoencoder_iterations": 1,
    },
    "targets": {"train_iterations": 150_000, "samples": 10_000, "steps": 1000},
    "pue": DEFAULT_PUE,
    "data": "phantom",
    "batch_size": 1,
    # One thread per run: where other programs share the CPU, two OpenMP threads wait on
    # each other at every small op and a step can take 100x longer (measured on 2 cores).
    "threads": 1,
    "quality": QUICK_QUALITY,
    "tradeoff": QUICK_TRADEOFF,
}

PRESETS: dict[str, dict[str, Any]] = {"paper": PAPER, "quick": QUICK}


def preset_spec(name: str) -> StudySpec:
    """The built-in spec called `name` (``paper`` or ``quick``)."""
    try:
        data = PRESETS[name]
    except KeyError:
        raise LpmError(
            f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}"
        ) from None
    return spec_from_dict(data, source=f"preset {name}")
