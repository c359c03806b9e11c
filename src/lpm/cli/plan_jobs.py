"""The job `lpm plan` places, from lpm's own measurements and predictions.

- a training run (its summary.json): the predicted full run, ``--iterations`` iterations
  (the paper's 150 000 by default) from its per-iteration statistics;
- a sampling run: ``--samples`` samples (10 000) at its steps, fixed costs included;
- a study: its largest predicted job (training or synthesis of one scenario);
- a run record of ``lpm track`` (JSON Lines): the job as measured, to run again.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.plan import Job

PAPER_TRAIN_ITERATIONS = 150_000
PAPER_SAMPLES = 10_000


def _summary(run: Path) -> dict[str, Any]:
    path = run / "summary.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LpmError(
            f"{run} has no summary.json; give a finished `lpm train` or `lpm sample` run."
        ) from None
    except (OSError, ValueError) as exc:
        raise LpmError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or "step_stats" not in data:
        raise LpmError(f"{path} is not an lpm run summary (no step_stats).")
    return data


def _stats(data: dict[str, Any]) -> Any:
    from lpm.energy import StepStats

    try:
        return StepStats.from_dict(data["step_stats"])
    except (TypeError, ValueError) as exc:
        raise LpmError(f"the run's step statistics cannot be read: {exc}") from None


def job_from_run(
    run: str | Path, *, iterations: int | None = None, samples: int | None = None
) -> Job:
    """The predicted full job of a training or sampling run (see module doc)."""
    from lpm.energy import predict, predict_synthesis

    run = Path(run)
    data = _summary(run)
    stats = _stats(data)
    if "samples" in data and "steps" in data:  # a sampling run
        n = samples or PAPER_SAMPLES
        p = predict_synthesis(
            stats,
            steps=int(data["steps"]),
            samples=n,
            fixed_j_mean=float(data.get("fixed_per_sample_j_mean", 0.0)),
            fixed_j_std=float(data.get("fixed_per_sample_j_std", 0.0)),
            fixed_s_mean=float(data.get("fixed_per_sample_s_mean", 0.0)),
            fixed_s_std=float(data.get("fixed_per_sample_s_std", 0.0)),
        )
        label = f"{run.name}: {n:,} samples of {data['steps']} steps"
    else:
        n = iterations or PAPER_TRAIN_ITERATIONS
        p = predict(stats, n)
        label = f"{run.name}: {n:,} training iterations"
    return Job(p.energy_kwh_mean, p.duration_s_mean, p.energy_kwh_std, label=label)


def job_from_study(study: str | Path) -> Job:
    """The largest predicted job of a study (one scenario's training or synthesis)."""
    from lpm.report.plan_section import largest_prediction
    from lpm.results import read_results

    found = largest_prediction(read_results(study).ok())
    if found is None:
        raise LpmError(f"{study} has no finished scenario to plan; run the study first.")
    label, p = found
    return Job(p.energy_kwh_mean, p.duration_s_mean, p.energy_kwh_std, label=label)


PROFILE_PARTS = 24


def power_profile(path: str | Path, duration_s: float, parts: int = PROFILE_PARTS) -> tuple:
    """Relative power of `parts` equal parts of a run, from its record's running totals.

    Window and checkpoint lines carry the run's cumulative energy at their elapsed time;
    between two of them the energy grows linearly. Empty when the record has too few.
    """
    points = [(0.0, 0.0)]
    for raw in Path(path).read_text(errors="replace").splitlines():
        try:
            line = json.loads(raw)
            elapsed = float(line["elapsed_s"])
            total = sum(float(v) for v in line["totals_j"].values())
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        points.append((elapsed, total))
    points.sort()
    if len(points) < 3 or duration_s <= 0:
        return ()

    def energy_at(t: float) -> float:
        for (t0, e0), (t1, e1) in itertools.pairwise(points):
            if t <= t1:
                return e0 if t1 <= t0 else e0 + (e1 - e0) * (t - t0) / (t1 - t0)
        return points[-1][1]

    edges = [duration_s * k / parts for k in range(parts + 1)]
    shares = [max(energy_at(b) - energy_at(a), 0.0) for a, b in itertools.pairwise(edges)]
    return tuple(shares) if sum(shares) > 0 else ()


def job_from_record(path: str | Path) -> Job:
    """A job as an `lpm track` run record measured it, with its power over time."""
    from lpm.energy import read_run

    summary = read_run(path)
    if summary.it_energy_kwh <= 0 or summary.duration_s <= 0:
        raise LpmError(f"{path} measured no energy or no time; it cannot be planned.")
    profile = power_profile(path, summary.duration_s)
    return Job(summary.it_energy_kwh, summary.duration_s, profile=profile, label=Path(path).stem)
