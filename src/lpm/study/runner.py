"""Run a study: measure each job, append its records, skip what is already finished."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from lpm.errors import LpmError
from lpm.results import (
    QualityRecord,
    ScenarioRecord,
    TradeoffSummary,
    parse_record,
    read_quality_record,
)
from lpm.study.executors import Executor, SerialExecutor, SlurmExecutor
from lpm.study.grid import Job, jobs
from lpm.study.spec import StudySpec
from lpm.study.store import ResultsStore, write_record_file

log = logging.getLogger(__name__)

MeasureFn = Callable[[Job, StudySpec, Path], list[ScenarioRecord]]
"""Measures one job in a work directory and returns one record per scenario it covers."""
QualityFn = Callable[..., QualityRecord]
"""Runs the quality stage: ``fn(job, *, spec, out_dir)``, leaving DIR/quality/record.json."""
TradeoffFn = Callable[..., TradeoffSummary]
"""The tradeoff stage's sweep: ``fn(runs, out, sweep, *, progress, meters)`` (default
lpm.study.tradeoff.run_tradeoff), leaving DIR/tradeoff/tradeoff.json."""


@dataclass(frozen=True)
class StudyOutcome:
    """What a run of the study left in its directory."""

    out_dir: Path
    records: list[ScenarioRecord]
    measured_ids: list[str] = field(default_factory=list)
    skipped_ids: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # job id -> error
    quality: QualityRecord | None = None
    tradeoff: TradeoffSummary | None = None


def run_job(
    job: Job,
    *,
    spec: StudySpec,
    out_dir: str,
    measure: MeasureFn,
    threads: int | None = None,
) -> list[ScenarioRecord]:
    """Measure one job (in whatever process runs it) and leave its records in records/.

    A job whose records are all in records/ already (a Slurm job requeued after it had
    finished measuring) returns them without measuring again.
    """
    store = ResultsStore(out_dir)
    done = _job_records(store.records_dir, job)
    if done is not None:
        log.info("job %s had finished before it was started again; not measured twice", job.job_id)
        return done
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)
    work_dir = store.out_dir / "work" / job.job_id
    records = measure(job, spec, work_dir)
    expected = set(job.scenario_ids)
    got = [r.scenario_id for r in records]
    if set(got) != expected or len(got) != len(expected):
        raise RuntimeError(f"measure returned records {got} for job {job.job_id}, not {expected}")
    for rec in records:
        write_record_file(store.records_dir, rec)
    return records


def _job_records(records_dir: Path, job: Job) -> list[ScenarioRecord] | None:
    """The job's records from records/ when every one of them is there and readable."""
    out = []
    for sid in job.scenario_ids:
        try:
            data = json.loads((records_dir / f"{sid}.json").read_text(encoding="utf-8"))
            out.append(parse_record(data, source=sid))
        except (OSError, ValueError, LpmError):
            return None
    return out


def _default_measure() -> MeasureFn:
    from lpm.study.measure import measure_job

    return measure_job


def run_study(
    spec: StudySpec,
    out_dir: str | Path,
    *,
    executor: Executor | None = None,
    measure: MeasureFn | None = None,
    workers: int = 1,
    progress: bool = True,
    console: Console | None = None,
    quality: bool = True,
    quality_fn: QualityFn | None = None,
    tradeoff: bool = True,
    tradeoff_fn: TradeoffFn | None = None,
) -> StudyOutcome:
    """Run every scenario of `spec` not yet finished in `out_dir` and return the outcome.

    Writes ``out_dir/spec.yaml`` and appends one record per scenario to
    ``out_dir/results.jsonl``. A re-run skips finished scenarios. `measure` defaults to
    the real measurement with lpm.ldm (``lpm.study.measure.measure_job``); `workers` is
    the number of parallel jobs, used to share the CPU threads between them.

    Then the spec's quality stage (``spec.quality``; off with ``quality=False``) runs as
    one more job, unless ``DIR/quality/record.json`` is there from before; `quality_fn`
    defaults to ``lpm.study.quality.run_quality_job``. Last, the tradeoff stage
    (``spec.tradeoff``; off with ``tradeoff=False``) runs as one more job unless its sweep
    finished before (DIR/tradeoff/tradeoff.json); `tradeoff_fn` replaces the sweep.
    On Slurm, Slurm's accounting of every job is written to DIR/slurm_acct.jsonl last.
    """
    store = ResultsStore(out_dir)
    store.init(spec)
    merged = store.merge_record_files()
    if merged:
        log.info("merged %d records that workers had finished", len(merged))
    finished = store.finished_ids()
    all_jobs = jobs(spec)
    todo = [j for j in all_jobs if not set(j.scenario_ids) <= finished]
    skipped = [sid for j in all_jobs for sid in j.scenario_ids if sid in finished]
    total = sum(len(j.scenario_ids) for j in all_jobs)

    threads = None
    if measure is None:
        measure = _default_measure()
        if workers > 1 and not spec.threads:
            threads = max(1, (os.cpu_count() or 1) // workers)
    fn = functools.partial(
        run_job, spec=spec, out_dir=str(store.out_dir), measure=measure, threads=threads
    )
    executor = executor or SerialExecutor()
    if todo and isinstance(executor, SlurmExecutor):
        executor.check()  # a controller that does not answer: one line, before the bar
    measured: list[str] = []
    failed: dict[str, str] = {}

    bar = Progress(
        SpinnerColumn(),
        TextColumn("[bold]study[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
        transient=False,
    )

    with bar:
        task = bar.add_task(
            f"{len(todo)} runs to go" if todo else "all done",
            total=total,
            completed=len(skipped),
            unit="scenarios",
        )

        def on_done(job: Job, result: list[ScenarioRecord] | BaseException) -> None:
            if isinstance(result, BaseException):
                error = f"{type(result).__name__}: {result}"
                failed[job.job_id] = error
                store.record_failure(job.job_id, job.scenario_ids, error)
                log.error("scenario run %s failed: %s", job.job_id, error)
            else:
                measured.extend(store.append(result))
            bar.update(task, advance=len(job.scenario_ids), description=job.job_id)

        if todo:
            try:
                executor.run(todo, fn, on_done)
            except LpmError:  # e.g. sbatch refused the options: the one line, no bar
                bar.update(task, visible=False)
                raise
        bar.update(task, description="done")
        if quality and spec.quality is not None:
            _run_quality(spec, store, executor, quality_fn, failed, bar)
        if tradeoff and spec.tradeoff is not None and "quality" not in failed:
            _run_tradeoff(spec, store, executor, tradeoff_fn, failed, bar)

    if isinstance(executor, SlurmExecutor):
        from lpm.study.slurm_acct import collect

        collect(store.out_dir, executor.folder)  # DIR/slurm_acct.jsonl, for the report
    return StudyOutcome(
        out_dir=store.out_dir,
        records=store.records(),
        measured_ids=measured,
        skipped_ids=skipped,
        failed=failed,
        quality=read_quality_record(store.out_dir),
        tradeoff=_tradeoff_summary(spec, store.out_dir),
    )


def _tradeoff_summary(spec: StudySpec, out_dir: Path) -> TradeoffSummary | None:
    if spec.tradeoff is None:
        return None
    from lpm.study.tradeoff_stage import finished

    return finished(spec, out_dir)


def _run_quality(
    spec: StudySpec,
    store: ResultsStore,
    executor: Executor,
    quality_fn: QualityFn | None,
    failed: dict[str, str],
    bar: Progress,
) -> None:
    """The quality stage as one job of the executor, unless its record is there already."""
    from lpm.study.quality import QualityJob, run_quality_job

    if read_quality_record(store.out_dir) is not None:
        return
    job = QualityJob()
    task = bar.add_task("quality: train, sample, evaluate", total=1, unit="stage")
    fn = functools.partial(quality_fn or run_quality_job, spec=spec, out_dir=str(store.out_dir))

    executor.run([job], fn, _stage_done(store, failed, bar, task))  # type: ignore[list-item, arg-type]


def _run_tradeoff(
    spec: StudySpec,
    store: ResultsStore,
    executor: Executor,
    tradeoff_fn: TradeoffFn | None,
    failed: dict[str, str],
    bar: Progress,
) -> None:
    """The tradeoff stage as one job of the executor, unless its sweep finished before."""
    from lpm.study.tradeoff_stage import TradeoffJob, finished, run_tradeoff_job

    if finished(spec, store.out_dir) is not None:
        return
    job = TradeoffJob()
    task = bar.add_task("tradeoff: sweep samplers, steps, batches", total=1, unit="stage")
    fn = functools.partial(
        run_tradeoff_job, spec=spec, out_dir=str(store.out_dir), sweep_fn=tradeoff_fn
    )
    executor.run([job], fn, _stage_done(store, failed, bar, task))  # type: ignore[list-item, arg-type]


def _stage_done(store: ResultsStore, failed: dict[str, str], bar: Progress, task: Any) -> Any:
    """on_done of a stage's job: a failure noted in failures.jsonl, the bar advanced."""

    def on_done(job: Any, result: object) -> None:
        if isinstance(result, BaseException):
            error = f"{type(result).__name__}: {result}"
            failed[job.job_id] = error
            store.record_failure(job.job_id, list(job.scenario_ids), error)
            log.error("the %s stage failed: %s", job.job_id, error)
        bar.update(task, advance=1, description=f"{job.job_id} done")

    return on_done
