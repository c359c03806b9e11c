"""A synthetic energy–quality sweep in DIR/tradeoff/ (lpm.results.tradeoff records, the
summary computed by lpm.study.frontier.summarize, as the sweep writes it).

Two runs: ``ddpm`` (samplers ddpm 1000/200 steps, ddim 200/50/20) and ``rflow`` (rflow
50/20/10), each at batches 1, 4, 16. Energy per sample = fixed(batch) + steps × step(batch)
J (``fixed_j`` at batch 1 shrinks with the batch like the step), CO2e of 10 000 samples at
PUE 1 and 500 g/kWh; quality per (sampler, steps) from :data:`QUALITY` scaled by the
variant's factors, the same for every batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lpm.results import TRADEOFF_DIR, TradeoffPoint, append_point, write_summary
from lpm.study.frontier import summarize
from tests.results.tradeoff_factory import make_point, make_run, metric

J_PER_KWH = 3.6e6
KG_PER_KWH = 0.5
TARGET = 10_000
#: J per denoising step per sample at each batch (batching amortises the UNet call).
STEP_J = {1: 0.2, 4: 0.07, 16: 0.025}
RECIPES = {
    "ddpm": [("ddpm", 1000), ("ddpm", 200), ("ddim", 200), ("ddim", 50), ("ddim", 20)],
    "rflow": [("rflow", 50), ("rflow", 20), ("rflow", 10)],
}
#: (hu_wasserstein, tissue_fraction_l1, frechet_distance) per (sampler, steps).
QUALITY = {
    ("ddpm", 1000): (20.0, 0.10, 5.0),
    ("ddpm", 200): (20.4, 0.101, 5.1),
    ("ddim", 200): (20.2, 0.100, 5.05),
    ("ddim", 50): (20.6, 0.103, 5.2),
    ("ddim", 20): (26.0, 0.13, 6.5),
    ("rflow", 50): (20.3, 0.101, 5.1),
    ("rflow", 20): (20.8, 0.104, 5.2),
    ("rflow", 10): (24.0, 0.12, 6.0),
}
TRAIN_KG = {"ddpm": 0.02, "rflow": 0.05}
REFERENCE = "ddpm/ddpm-1000-b1"


def per_sample_j(steps: int, batch: int, fixed_j: float) -> float:
    return fixed_j * STEP_J[batch] / STEP_J[1] + steps * STEP_J[batch]


def co2e(steps: int, batch: int, fixed_j: float) -> float:
    return per_sample_j(steps, batch, fixed_j) * TARGET / J_PER_KWH * KG_PER_KWH


def points(
    *,
    fixed_j: float = 0.16,
    worse: dict[tuple[str, int], float] | None = None,
    failed: tuple[str, ...] = (),
    error: str = "out of memory",
) -> list[TradeoffPoint]:
    """Every point; ``worse`` multiplies a recipe's metrics, ``failed`` ids fail (``error``)."""
    out = []
    for run, recipes in RECIPES.items():
        for sampler, steps in recipes:
            factor = (worse or {}).get((sampler, steps), 1.0)
            hu, tissue, fd = (factor * v for v in QUALITY[(sampler, steps)])
            for batch in STEP_J:
                pid = f"{run}/{sampler}-{steps}-b{batch}"
                kg = co2e(steps, batch, fixed_j)
                fixed = fixed_j * STEP_J[batch] / STEP_J[1]
                extra: dict[str, Any] = {
                    "fixed_per_sample_j_mean": fixed,
                    "step_per_sample_j_mean": STEP_J[batch],
                    "synthesis_co2e_kg_std": 0.02 * kg,
                    "quality": {
                        "hu_wasserstein": metric(hu),
                        "tissue_fraction_l1": metric(tissue),
                        "frechet_distance": metric(fd),
                        "ms_ssim": metric(0.3, better="closer_to_floor"),
                        "copy_rate": metric(0.05),
                    },
                }
                if pid in failed:
                    out.append(
                        make_point(
                            run, sampler, steps, batch, status="failed", error=error, objective=run
                        )
                    )
                    continue
                out.append(
                    make_point(run, sampler, steps, batch, co2e_kg=kg, objective=run, **extra)
                )
    return out


def write_tradeoff(
    study: Path,
    *,
    fixed_j: float = 0.16,
    worse: dict[tuple[str, int], float] | None = None,
    failed: tuple[str, ...] = (),
    error: str = "out of memory",
    runs: tuple[str, ...] = ("ddpm", "rflow"),
    summary: bool = True,
    **summary_kw: Any,
) -> list[TradeoffPoint]:
    """Write DIR/tradeoff/tradeoff.jsonl (+ tradeoff.json unless ``summary`` is False)."""
    directory = study / TRADEOFF_DIR
    pts = [
        p for p in points(fixed_j=fixed_j, worse=worse, failed=failed, error=error) if p.run in runs
    ]
    for p in pts:
        append_point(directory, p)
    if summary:
        run_records = [make_run(r, objective=r, co2e_kg=TRAIN_KG[r]) for r in runs]
        s = summarize(pts, run_records, REFERENCE, region="DE", pue=1.0,
                      finished_at="2026-12-01T12:00:00Z")  # fmt: skip
        if summary_kw:
            s = s.model_copy(update=summary_kw)
        write_summary(directory, s)
    return pts
