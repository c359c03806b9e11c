"""The energy–quality sweep: sampler × steps × batch for trained runs, resumable.

:func:`run_tradeoff` checks everything first (runs, samplers against each run's objective,
steps against its schedule, the reference, the data), then measures what is missing:
one short energy run per (run, sampler, batch) and one quality run per (run, sampler,
steps) (lpm.study.tradeoff_measure), appends one :class:`~lpm.results.TradeoffPoint` per
(run, sampler, steps, batch) to ``OUT/tradeoff.jsonl`` and writes the summary (fronts,
recommended recipe, break-even; lpm.study.frontier) to ``OUT/tradeoff.json``. Points
already ok are skipped; a point that fails (say CUDA out of memory at a large batch) is
recorded failed with its reason and the sweep goes on. See docs/tradeoff.md.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
from lpm.errors import LpmError
from lpm.io import atomic_write_text
from lpm.quality import DataSpec
from lpm.results import TradeoffSummary, append_point, point_id, write_summary
from lpm.results.tradeoff import read_points
from lpm.study import tradeoff_measure as tm
from lpm.study.frontier import JUDGED_METRICS, summarize

log = logging.getLogger(__name__)

KNOWN_METRICS = (*JUDGED_METRICS, "mmd", "ms_ssim", "copy_rate", "copy_rate_features")
SWEEP_FILE = "sweep.json"
# Settings a resumed sweep must share with the one that measured its sub-runs.
_MEASURING = ("quality_samples", "energy_steps", "energy_batches", "seed", "real", "train",
              "interval_s", "bootstrap")  # fmt: skip


class TradeoffSweep(BaseModel):
    """What to sweep and how to judge it (defaults: docs/INTERFACES.md, issue 11)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    samplers: list[str] | None = Field(None, description="None: all that fit each run")
    steps: list[int] = Field(default_factory=lambda: [1000, 500, 200, 100, 50, 20, 10])
    batches: list[int] = Field(default_factory=lambda: [1, 4, 16])
    quality_samples: int = Field(64, ge=4, description="samples scored per (sampler, steps)")
    energy_steps: int = Field(20, ge=1, description="denoising steps of each energy run")
    energy_batches: int = Field(2, ge=1, description="measured batches after 1 warm-up")
    tolerance: float = Field(0.05, ge=0)
    reference: tuple[str, int, int] = ("ddpm", 1000, 1)
    metrics: list[str] = Field(default_factory=lambda: list(JUDGED_METRICS))
    target_samples: int = Field(10_000, ge=1)
    real: DataSpec | None = None
    train: DataSpec | None = None
    seed: int = 0
    pue: float = Field(DEFAULT_PUE, ge=1.0)
    region: str = DEFAULT_REGION
    interval_s: float = Field(0.1, gt=0, description="power sampling interval of the runs")
    bootstrap: int = Field(200, ge=10, description="bootstrap resamples of the quality CIs")

    @field_validator("samplers", "steps", "batches", "metrics")
    @classmethod
    def _listed(cls, value: list[Any] | None) -> list[Any] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("the list is empty")
        if any(isinstance(v, int) and v < 1 for v in value):
            raise ValueError(f"must be at least 1, got {min(value)}")
        return list(dict.fromkeys(value))

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: tuple[str, int, int]) -> tuple[str, int, int]:
        if value[1] < 1 or value[2] < 1:
            raise ValueError("the reference's steps and batch must be at least 1")
        return value


def sweep_from(**values: Any) -> TradeoffSweep:
    """A TradeoffSweep, its validation errors as one-line LpmErrors naming the field."""
    try:
        return TradeoffSweep(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "sweep"
        raise LpmError(
            f"invalid {where}: {str(err['msg']).removeprefix('Value error, ')}"
        ) from None


@dataclass
class RunPlan:
    """One run of the sweep and what to measure on it."""

    label: str
    path: Path
    objective: str
    timesteps: int
    samplers: list[str]
    # (sampler, steps, batch) of every point of this run
    recipes: list[tuple[str, int, int]] = field(default_factory=list)


def _run_info(path: Path) -> tuple[str, int]:
    """A trained run's objective and training timesteps (LpmError if it is not a run)."""
    from lpm.ldm.networks import load_ldm
    from lpm.ldm.schedulers import schedule_objective

    if not (path / "ldm.pt").is_file():
        raise LpmError(
            f"{path} is not a trained diffusion run (no ldm.pt); pass an `lpm train` --out"
        )
    schedule = load_ldm(path).get("schedule") or {}
    return schedule_objective(schedule), int(schedule.get("num_train_timesteps", 1000))


def _labels(runs: list[Path]) -> list[str]:
    labels: list[str] = []
    for path in runs:
        base = path.resolve().name or "run"
        label, k = base, 2
        while label in labels:
            label, k = f"{base}-{k}", k + 1
        labels.append(label)
    return labels


def plan_sweep(runs: list[Path], sweep: TradeoffSweep) -> tuple[list[RunPlan], str]:
    """Check the sweep against the runs before anything runs; the plans and the reference id.

    Samplers are applied to the runs whose objective they fit; one that fits none, or a
    run left without one, is an LpmError. The reference recipe is added to the first run
    it fits, at every batch of the sweep.
    """
    from lpm.ldm.features import heldout_data, training_data
    from lpm.ldm.schedulers import check_sampler, sampler_name, samplers_for

    if not runs:
        raise LpmError("give at least one trained run (--run RUN)")
    unknown = [m for m in sweep.metrics if m not in KNOWN_METRICS]
    if unknown:
        raise LpmError(f"unknown quality metric {unknown[0]!r}; use {', '.join(KNOWN_METRICS)}")
    given = None if sweep.samplers is None else [sampler_name(s) for s in sweep.samplers]
    plans = []
    for label, path in zip(_labels(runs), runs, strict=True):
        objective, timesteps = _run_info(Path(path))
        fits = list(samplers_for(objective))
        mine = fits if given is None else [s for s in given if s in fits]
        plans.append(RunPlan(label, Path(path), objective, timesteps, mine))
        if sweep.real is None:
            heldout_data(path)  # a run on files has no held-out part: ask for --real
        if sweep.train is None:
            training_data(path)
    for s in given or []:
        if not any(s in p.samplers for p in plans):
            check_sampler(s, plans[0].objective)  # the one-line message naming what fits
    for p in plans:
        if not p.samplers:
            raise LpmError(
                f"none of the samplers {', '.join(given or [])} fits {p.label} (objective "
                f"{p.objective}); add one of {', '.join(samplers_for(p.objective))}"
            )
        over = [n for n in (*sweep.steps, sweep.energy_steps) if n > p.timesteps]
        if over:
            raise LpmError(
                f"steps={max(over)} is out of range for {p.label}: it was trained with "
                f"{p.timesteps} timesteps, so use 1 to {p.timesteps}"
            )
    ref_sampler, ref_steps, ref_batch = sweep.reference
    ref_sampler = sampler_name(ref_sampler)
    home = next((p for p in plans if ref_sampler in samplers_for(p.objective)), None)
    if home is None:
        raise LpmError(
            f"the reference sampler {ref_sampler} fits none of the runs (objectives "
            f"{', '.join(sorted({p.objective for p in plans}))}); give a run it fits or "
            "another reference"
        )
    if ref_steps > home.timesteps:
        raise LpmError(f"the reference's steps={ref_steps} is beyond {home.label}'s "
                       f"{home.timesteps} timesteps")  # fmt: skip
    batches = list(dict.fromkeys([*sweep.batches, ref_batch]))
    for p in plans:
        p.recipes = [(s, n, b) for s in p.samplers for n in sweep.steps for b in sweep.batches]
    home.recipes += [(ref_sampler, ref_steps, b) for b in batches]
    for p in plans:
        p.recipes = list(dict.fromkeys(p.recipes))
    return plans, point_id(home.label, ref_sampler, ref_steps, ref_batch)


def _check_resume(out: Path, sweep: TradeoffSweep, plans: list[RunPlan]) -> dict[str, Any]:
    """The sweep's settings file; an LpmError if OUT was measured with other settings."""
    settings = {
        **{k: v for k, v in sweep.model_dump(mode="json").items() if k in _MEASURING},
        "runs": {p.label: str(p.path.resolve()) for p in plans},
    }
    path = out / SWEEP_FILE
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        for key, value in settings.items():
            if key == "runs":
                clash = [k for k, v in value.items() if old.get("runs", {}).get(k, v) != v]
                if clash:
                    raise LpmError(f"{out} holds a sweep where {clash[0]} is another run; "
                                   "use a new --out")  # fmt: skip
            elif key in old and old[key] != value:
                raise LpmError(
                    f"{out} holds a sweep measured with {key}={old[key]!r}, not {value!r}; "
                    "use the same setting or a new --out"
                )
        settings["runs"] = {**old.get("runs", {}), **settings["runs"]}
    return settings


@dataclass
class _Bar:
    """A rich progress bar over the sweep's sub-runs, weighted by sample-steps, on stderr."""

    enabled: bool
    total: float
    progress: Any = None
    task: Any = None

    def __enter__(self) -> _Bar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                SpinnerColumn(), TextColumn("[bold]tradeoff[/bold] {task.description}"),
                BarColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )  # fmt: skip
            self.progress.__enter__()
            self.task = self.progress.add_task("starting", total=max(self.total, 1.0))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def show(self, text: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=text)

    def advance(self, amount: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=amount)


def run_tradeoff(
    runs: list[Path], out: Path, sweep: TradeoffSweep, *, progress: bool = True, meters: Any = None
) -> TradeoffSummary:
    """Sweep sampler × steps × batch on `runs` into `out`; returns (and writes) the summary.

    Resumes: points already ok in ``out/tradeoff.jsonl`` are skipped and finished energy
    and quality sub-runs reused. Nothing is written before every check has passed.
    """
    runs = [Path(r) for r in runs]
    plans, reference = plan_sweep(runs, sweep)
    out = Path(out)
    settings = _check_resume(out, sweep, plans)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / SWEEP_FILE, json.dumps(settings, indent=2) + "\n")
    done = {p.point_id for p in read_points(out) if p.ok}
    todo = {p.label: [r for r in p.recipes if point_id(p.label, *r) not in done] for p in plans}
    with _Bar(progress, _work(plans, todo, sweep)) as bar:
        for plan in plans:
            if todo[plan.label]:
                _sweep_run(plan, todo[plan.label], out, sweep, bar, meters)
    wanted = {point_id(p.label, *r) for p in plans for r in p.recipes}
    points = [p for p in read_points(out) if p.point_id in wanted]
    summary = summarize(
        points, [tm.training_cost(p.label, p.path, p.objective) for p in plans], reference,
        metrics=sweep.metrics, tolerance=sweep.tolerance, target_samples=sweep.target_samples,
        region=sweep.region, pue=sweep.pue, finished_at=tm.now(),
    )  # fmt: skip
    write_summary(out, summary)
    return summary


def _energy_work(batch: int, sweep: TradeoffSweep) -> float:
    return batch * (1 + sweep.energy_batches) * sweep.energy_steps


def _quality_work(steps: int, sweep: TradeoffSweep) -> float:
    return sweep.quality_samples * (steps + 10)  # + decoding and scoring, about 10 steps


def _work(plans: list[RunPlan], todo: dict[str, list], sweep: TradeoffSweep) -> float:
    total = 0.0
    for plan in plans:
        recipes = todo[plan.label]
        total += sum(_energy_work(b, sweep) for _, b in {(s, b) for s, _, b in recipes})
        total += sum(_quality_work(n, sweep) for _, n in {(s, n) for s, n, _ in recipes})
    return total


def _quality_batch(plan: RunPlan, sampler: str, energy: dict[int, Any], out: Path) -> int:
    """The largest batch of the sampler in the plan whose energy run succeeded (measured
    now or before), so that every steps value is sampled from the same noise."""
    for batch in sorted({b for s, _, b in plan.recipes if s == sampler}, reverse=True):
        done = energy.get(batch)
        if done is None:
            done = tm.read_summary_json(tm.energy_dir(out, plan.label, sampler, batch))
        if isinstance(done, dict):
            return batch
    return 1


def _sweep_run(
    plan: RunPlan, recipes: list[tuple[str, int, int]], out: Path, sweep: TradeoffSweep,
    bar: _Bar, meters: Any,
) -> None:  # fmt: skip
    """Measure the missing points of one run, sampler by sampler."""
    for sampler in dict.fromkeys(s for s, _, _ in recipes):
        mine = [(n, b) for s, n, b in recipes if s == sampler]
        energy: dict[int, dict[str, Any] | str] = {}
        for batch in sorted({b for _, b in mine}):
            bar.show(f"{plan.label} {sampler} energy b{batch}")
            folder = tm.energy_dir(out, plan.label, sampler, batch)
            try:
                energy[batch] = tm.measure_energy(plan.path, folder, sampler, batch, sweep,
                                                  meters=meters)  # fmt: skip
            except Exception as exc:  # recorded with its points; the sweep goes on
                energy[batch] = tm.one_line(exc)
                log.warning("energy run %s failed: %s", folder.name, energy[batch])
            bar.advance(_energy_work(batch, sweep))
        ok_batches = [b for b, e in energy.items() if isinstance(e, dict)]
        quality_batch = _quality_batch(plan, sampler, energy, out)
        for steps in dict.fromkeys(n for n, _ in mine):
            bar.show(f"{plan.label} {sampler} quality {steps} steps")
            folder = tm.quality_dir(out, plan.label, sampler, steps)
            quality: tuple | str = "not run: no energy run of this sampler succeeded"
            try:
                if ok_batches:
                    quality = tm.measure_quality(
                        plan.path, folder, sampler, steps, quality_batch, sweep, meters=meters
                    )
            except Exception as exc:  # likewise
                quality = tm.one_line(exc)
                log.warning("quality run %s failed: %s", folder.name, quality)
            bar.advance(_quality_work(steps, sweep))
            for batch in [b for n, b in mine if n == steps]:
                args = (plan.label, plan.objective, sampler, steps, batch, sweep)
                e = energy[batch]
                if isinstance(e, str) or isinstance(quality, str):
                    why = e if isinstance(e, str) else f"quality run: {quality}"
                    append_point(out, tm.failed_point(*args, why))
                    continue
                try:
                    point = tm.compose_point(*args, energy=e, quality_summary=quality[0],
                                             report=quality[1])  # fmt: skip
                except (LpmError, KeyError, TypeError, ValueError) as exc:
                    point = tm.failed_point(*args, tm.one_line(exc))
                append_point(out, point)
