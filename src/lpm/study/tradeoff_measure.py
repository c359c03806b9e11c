"""The sweep's measurements: short energy runs, quality runs, and the points made of them.

One energy run per (run, sampler, batch): ``energy_steps`` steps, one warm-up batch and
``energy_batches`` measured ones (lpm.ldm.sample_ldm), giving a sample's fixed cost and a
batch's per-step cost. One quality run per (run, sampler, steps): ``quality_samples``
samples at one batch size, scored with lpm.ldm.features.evaluate_samples_dir. A point
composes them (lpm.energy.predict_synthesis): per sample, fixed + steps × per step / batch.

A finished sub-run leaves its summary.json (and quality.json); a resumed sweep reads those
instead of measuring again. torch and lpm.ldm are imported when a run is measured.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.results import QualityMetricRecord, TradeoffPoint, TradeoffRun, point_id

SUMMARY_FILE = "summary.json"
QUALITY_FILE = "quality.json"


def now() -> str:
    """The wall-clock time as the records write it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = " ".join(str(exc).split()) or "no message"
    if isinstance(exc, LpmError):
        return text
    return f"{type(exc).__name__}: {text[:300]}"


def energy_dir(out: Path, label: str, sampler: str, batch: int) -> Path:
    return out / "energy" / f"{label}-{sampler}-b{batch}"


def quality_dir(out: Path, label: str, sampler: str, steps: int) -> Path:
    return out / "quality" / f"{label}-{sampler}-{steps}"


def read_summary_json(folder: Path) -> dict[str, Any] | None:
    """A finished sub-run's summary.json, or None (absent or unreadable: measure again)."""
    try:
        data = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _sample_config(run: Path, folder: Path, sweep: Any, **kw: Any) -> Any:
    from lpm.ldm import SampleConfig

    return SampleConfig(
        run=run, out=folder, seed=sweep.seed, png=False, progress=False, evaluate=False,
        interval_s=sweep.interval_s, pue=sweep.pue, region=sweep.region,
        replace=True,  # a folder without a readable summary is measured again
        **kw,
    )  # fmt: skip


def _free_accelerator() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def measure_energy(
    run: Path, folder: Path, sampler: str, batch: int, sweep: Any, *, meters: Any = None
) -> dict[str, Any]:
    """The summary of the short energy run at (sampler, batch), run now unless finished."""
    done = read_summary_json(folder)
    if done is not None:
        return done
    from lpm.ldm import sample_ldm

    n = batch * (1 + sweep.energy_batches)
    cfg = _sample_config(
        run, folder, sweep, n=n, steps=sweep.energy_steps, sampler=sampler, batch_size=batch,
        warmup_steps=sweep.energy_steps,
    )  # fmt: skip
    try:
        sample_ldm(cfg, meters=meters)
    finally:
        _free_accelerator()
    for path in folder.glob("sample_*.nii.gz"):  # only the energy is wanted
        path.unlink(missing_ok=True)
    data = read_summary_json(folder)
    if data is None:
        raise LpmError(f"the energy run in {folder} left no readable {SUMMARY_FILE}")
    return data


def measure_quality(
    run: Path, folder: Path, sampler: str, steps: int, batch: int, sweep: Any,
    *, meters: Any = None,
) -> tuple[dict[str, Any], Any]:  # fmt: skip
    """(summary, QualityReport) of the quality run at (sampler, steps), run now unless done."""
    from lpm.quality import read_report

    summary = read_summary_json(folder)
    if summary is None:
        from lpm.ldm import sample_ldm

        cfg = _sample_config(
            run, folder, sweep, n=sweep.quality_samples, steps=steps, sampler=sampler,
            batch_size=min(batch, sweep.quality_samples),
        )  # fmt: skip
        (folder / QUALITY_FILE).unlink(missing_ok=True)
        try:
            sample_ldm(cfg, meters=meters)
        finally:
            _free_accelerator()
        summary = read_summary_json(folder)
        if summary is None:
            raise LpmError(f"the quality run in {folder} left no readable {SUMMARY_FILE}")
    if (folder / QUALITY_FILE).is_file():
        return summary, read_report(folder)
    from lpm.ldm.features import evaluate_samples_dir

    report = evaluate_samples_dir(
        folder, run, real=sweep.real, train=sweep.train, out=folder, n_boot=sweep.bootstrap,
        seed=sweep.seed,
    )  # fmt: skip
    return summary, report


def denoising_steps_per_sample(summary: dict[str, Any]) -> int:
    """Denoising steps one sample took in a sampling run (a sampler may take more steps
    than asked for, e.g. PNDM's warm-up steps): steps done / batches."""
    from lpm.ldm.sampling import batch_sizes

    batches = len(batch_sizes(int(summary["samples"]), int(summary["batch_size"])))
    done = summary.get("denoising_steps_done")
    if not isinstance(done, int | float) or done <= 0 or batches < 1:
        return int(summary["steps"])
    return max(1, round(done / batches))


def quality_records(report: Any) -> dict[str, QualityMetricRecord]:
    """The metrics of a QualityReport as records."""
    return {
        name: QualityMetricRecord(
            value=m.value, ci_low=m.ci[0], ci_high=m.ci[1], floor=m.floor, n=dict(m.n),
            better=m.better, unit=m.unit, description=m.description,
        )
        for name, m in report.metrics.items()
    }  # fmt: skip


def _base(label: str, objective: str, sampler: str, steps: int, batch: int, sweep: Any) -> dict:
    return {
        "point_id": point_id(label, sampler, steps, batch), "run": label, "objective": objective,
        "sampler": sampler, "steps": steps, "batch_size": batch,
        "target_samples": sweep.target_samples, "pue": sweep.pue, "region": sweep.region,
        "finished_at": now(),
    }  # fmt: skip


def failed_point(
    label: str, objective: str, sampler: str, steps: int, batch: int, sweep: Any, error: str
) -> TradeoffPoint:
    """A point that could not be measured, with the one-line reason."""
    empty = dict.fromkeys(
        ("fixed_per_sample_j_mean", "fixed_per_sample_j_std", "step_per_sample_j_mean",
         "step_per_sample_j_std", "energy_per_sample_j_mean", "energy_per_sample_j_std",
         "duration_per_sample_s_mean", "duration_per_sample_s_std", "synthesis_it_energy_kwh",
         "synthesis_it_energy_kwh_std", "synthesis_co2e_kg", "synthesis_co2e_kg_std",
         "carbon_intensity_g_per_kwh", "copy_rate"),
    )  # fmt: skip
    return TradeoffPoint(
        **_base(label, objective, sampler, steps, batch, sweep), **empty, status="failed",
        error=error, energy_samples_measured=0, provenance=Provenance.ESTIMATED, quality={},
        quality_samples=0,
    )  # fmt: skip


def compose_point(
    label: str,
    objective: str,
    sampler: str,
    steps: int,
    batch: int,
    sweep: Any,
    *,
    energy: dict[str, Any],
    quality_summary: dict[str, Any],
    report: Any,
) -> TradeoffPoint:
    """A point from its energy run (at this batch) and its quality run (at these steps)."""
    from lpm.energy import StepStats, predict_synthesis

    per_batch_step = StepStats.from_dict(dict(energy["step_stats"]))
    if per_batch_step.count < 1:
        raise LpmError(f"the energy run of {label} {sampler} b{batch} measured no step")
    per_step = replace(
        per_batch_step,
        energy_j_mean=per_batch_step.energy_j_mean / batch,
        energy_j_std=per_batch_step.energy_j_std / batch,
        duration_s_mean=per_batch_step.duration_s_mean / batch,
        duration_s_std=per_batch_step.duration_s_std / batch,
    )
    provenance = Provenance.parse(energy.get("provenance", energy.get("estimated")))
    measured = int(energy["samples_measured"])
    taken = denoising_steps_per_sample(quality_summary)
    fixed_j, fixed_j_std = (
        float(energy["fixed_per_sample_j_mean"]),
        float(energy["fixed_per_sample_j_std"]),
    )
    fixed_s, fixed_s_std = (
        float(energy["fixed_per_sample_s_mean"]),
        float(energy["fixed_per_sample_s_std"]),
    )
    prediction = predict_synthesis(
        per_step, steps=taken, samples=sweep.target_samples, fixed_j_mean=fixed_j,
        fixed_j_std=fixed_j_std, fixed_s_mean=fixed_s, fixed_s_std=fixed_s_std,
        fixed_count=max(1, measured), fixed_provenance=provenance, pue=sweep.pue,
        region=sweep.region,
    )  # fmt: skip
    fp = prediction.footprint
    copy = report.metrics.get("copy_rate")
    return TradeoffPoint(
        **_base(label, objective, sampler, steps, batch, sweep),
        status="ok", error=None,
        fixed_per_sample_j_mean=fixed_j, fixed_per_sample_j_std=fixed_j_std,
        step_per_sample_j_mean=per_step.energy_j_mean, step_per_sample_j_std=per_step.energy_j_std,
        energy_per_sample_j_mean=fixed_j + taken * per_step.energy_j_mean,
        energy_per_sample_j_std=math.hypot(fixed_j_std, taken * per_step.energy_j_std),
        duration_per_sample_s_mean=fixed_s + taken * per_step.duration_s_mean,
        duration_per_sample_s_std=math.hypot(fixed_s_std, taken * per_step.duration_s_std),
        energy_samples_measured=measured, provenance=prediction.provenance,
        synthesis_it_energy_kwh=prediction.energy_kwh_mean,
        synthesis_it_energy_kwh_std=prediction.energy_kwh_std,
        synthesis_co2e_kg=fp.co2e_kg, synthesis_co2e_kg_std=fp.co2e_kg_std,
        carbon_intensity_g_per_kwh=fp.intensity.g_per_kwh,
        quality=quality_records(report), quality_samples=int(quality_summary["samples"]),
        copy_rate=None if copy is None or not math.isfinite(copy.value) else float(copy.value),
    )  # fmt: skip


def training_cost(label: str, path: Path, objective: str) -> TradeoffRun:
    """What a run's training cost, from its summary.json (unknown parts None; a resumed
    run's last session scaled to all its iterations)."""
    data = read_summary_json(path) or {}

    def number(key: str) -> float | None:
        value = data.get(key)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok and math.isfinite(value) and value >= 0 else None

    iterations = data.get("total_iterations", data.get("iterations", 0))
    energy, co2e = number("it_energy_kwh"), number("co2e_kg")
    start = data.get("resumed_from")
    if isinstance(start, int) and start > 0 and isinstance(iterations, int) and iterations > start:
        # a resumed run records the last session only: scale it to all its iterations
        scale = iterations / (iterations - start)
        energy = None if energy is None else energy * scale
        co2e = None if co2e is None else co2e * scale
    return TradeoffRun(
        label=label, path=str(path), objective=objective,
        train_it_energy_kwh=energy, train_co2e_kg=co2e,
        train_iterations=int(iterations) if isinstance(iterations, int) else 0,
        train_provenance=Provenance.parse(data.get("provenance", data.get("estimated"))),
    )  # fmt: skip
