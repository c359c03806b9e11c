"""Trade-off records for tests, every field given (lpm.results.TradeoffPoint and friends)."""

from __future__ import annotations

from typing import Any

from lpm.provenance import Provenance
from lpm.results import QualityMetricRecord, TradeoffPoint, TradeoffRun, TradeoffSummary, point_id


def metric(
    value: float, *, better: str = "lower", n: int = 8, ci: float = 0.1
) -> QualityMetricRecord:
    """One quality metric with a ±`ci` relative interval (±10 % by default)."""
    return QualityMetricRecord(
        value=value, ci_low=(1 - ci) * value, ci_high=(1 + ci) * value, floor=None,
        n={"generated": n, "real": n}, better=better,
    )  # fmt: skip


def make_point(
    run: str = "run",
    sampler: str = "ddim",
    steps: int = 50,
    batch_size: int = 1,
    *,
    co2e_kg: float = 1.0,
    values: dict[str, float] | None = None,
    status: str = "ok",
    error: str | None = None,
    objective: str = "ddpm",
    ci: float = 0.1,
    **kw: Any,
) -> TradeoffPoint:
    """A point: synthesis CO2e `co2e_kg` for 10 000 samples (PUE 1, 500 g/kWh); quality
    `values` over the defaults, each with a ±`ci` relative interval."""
    judged = {"hu_wasserstein": 10.0, "tissue_fraction_l1": 0.1, "frechet_distance": 5.0}
    judged.update(values or {})
    kwh = co2e_kg / 0.5
    per_sample_j = kwh * 3.6e6 / 10_000
    ok = status == "ok"
    fields: dict[str, Any] = {
        "point_id": point_id(run, sampler, steps, batch_size), "run": run,
        "objective": objective, "sampler": sampler, "steps": steps, "batch_size": batch_size,
        "status": status, "error": error,
        "fixed_per_sample_j_mean": 0.1 * per_sample_j, "fixed_per_sample_j_std": 0.0,
        "step_per_sample_j_mean": 0.9 * per_sample_j / steps, "step_per_sample_j_std": 0.0,
        "energy_per_sample_j_mean": per_sample_j, "energy_per_sample_j_std": 0.0,
        "duration_per_sample_s_mean": 0.01 * steps, "duration_per_sample_s_std": 0.0,
        "energy_samples_measured": 2 * batch_size, "provenance": Provenance.ESTIMATED,
        "target_samples": 10_000, "synthesis_it_energy_kwh": kwh,
        "synthesis_it_energy_kwh_std": 0.0, "synthesis_co2e_kg": co2e_kg,
        "synthesis_co2e_kg_std": 0.0, "pue": 1.0, "region": "DE",
        "carbon_intensity_g_per_kwh": 500.0,
        "quality": {name: metric(v, ci=ci) for name, v in judged.items()} if ok else {},
        "quality_samples": 8 if ok else 0, "copy_rate": 0.0 if ok else None,
        "finished_at": "2026-12-01T12:00:00Z",
    }  # fmt: skip
    if not ok:
        for name in ("fixed_per_sample_j_mean", "energy_per_sample_j_mean", "synthesis_co2e_kg"):
            fields[name] = None
        fields["error"] = error or "CUDA out of memory"
    fields.update(kw)
    return TradeoffPoint(**fields)


def make_run(label: str = "run", *, objective: str = "ddpm", co2e_kg: float = 0.5) -> TradeoffRun:
    return TradeoffRun(
        label=label, path=f"/runs/{label}", objective=objective,
        train_it_energy_kwh=co2e_kg / 0.5, train_co2e_kg=co2e_kg, train_iterations=100,
        train_provenance=Provenance.ESTIMATED,
    )  # fmt: skip


def make_summary(**kw: Any) -> TradeoffSummary:
    fields: dict[str, Any] = {
        "runs": [make_run()], "reference": "run/ddpm-1000-b1", "tolerance": 0.05,
        "metrics": ["hu_wasserstein", "tissue_fraction_l1", "frechet_distance"],
        "within": ["run/ddpm-1000-b1", "run/ddim-50-b1"],
        "fronts": {"hu_wasserstein": ["run/ddim-50-b1"]}, "recommended": "run/ddim-50-b1",
        "closest": None, "why": "lowest CO2e within 5 % of the reference",
        "saving_fraction": 0.95, "saving_co2e_kg": 19.0, "break_even": [],
        "target_samples": 10_000, "region": "DE", "pue": 1.0,
        "finished_at": "2026-12-01T12:00:00Z",
    }  # fmt: skip
    fields.update(kw)
    return TradeoffSummary(**fields)
