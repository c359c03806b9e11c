"""Where measurement jobs run: in this process, in local worker processes, or on Slurm.

Every executor takes a list of jobs and a picklable function
``fn(job) -> list[ScenarioRecord]`` and calls ``on_done(job, records_or_exception)`` in
the parent as each job finishes, in completion order. Workers also leave each record in
``DIR/records/`` (see ``lpm.study.store``), so a parent that dies loses nothing that
finished.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

from lpm.errors import LpmError
from lpm.results import ScenarioRecord
from lpm.study.grid import Job
from lpm.study.slurm import SlurmOptions, check_controller, note_submission

JobFn = Callable[[Job], list[ScenarioRecord]]
DoneFn = Callable[[Job, "list[ScenarioRecord] | BaseException"], None]


class Executor(Protocol):
    """Runs jobs and reports each one as it finishes."""

    def run(self, jobs: Sequence[Job], fn: JobFn, on_done: DoneFn) -> None: ...


class SerialExecutor:
    """One job after the other in this process (``--executor local --workers 1``)."""

    def run(self, jobs: Sequence[Job], fn: JobFn, on_done: DoneFn) -> None:
        for job in jobs:
            try:
                result: list[ScenarioRecord] | BaseException = fn(job)
            except Exception as exc:
                result = exc
            on_done(job, result)


class LocalExecutor:
    """Jobs in ``workers`` spawned processes (``--executor local --workers N``)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise LpmError(f"--workers must be at least 1, got {workers}")
        self.workers = workers

    def run(self, jobs: Sequence[Job], fn: JobFn, on_done: DoneFn) -> None:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx) as pool:
            pending: dict[Future, Job] = {pool.submit(fn, job): job for job in jobs}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = pending.pop(fut)
                    exc = fut.exception()
                    on_done(job, exc if exc is not None else fut.result())


class SlurmExecutor:
    """Each job as a Slurm job through submitit (``--executor slurm``).

    ``cluster`` is passed to ``submitit.AutoExecutor``: None picks Slurm when ``srun``
    exists (else an LpmError), ``"local"`` runs jobs as local processes (for tests).
    `options` (lpm.study.slurm.SlurmOptions) say what each job asks for: one task on one
    node with ``gpus_per_task`` GPUs per training process, the partition, account, time
    and more sbatch options; ``parameters`` are submitit's own, applied last. On Slurm the
    controller must answer ``scontrol ping`` before anything is submitted, and each
    submission is noted in ``FOLDER/jobs.jsonl``.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        cluster: str | None = None,
        parameters: dict[str, Any] | None = None,
        poll_s: float = 5.0,
        options: SlurmOptions | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.cluster = cluster
        self.parameters = dict(parameters or {})
        self.poll_s = poll_s
        self.options = options or SlurmOptions()
        self._checked = False

    def _cluster(self) -> str:
        import submitit

        if self.cluster is not None:
            return self.cluster
        try:
            cluster = submitit.AutoExecutor.which()
        except RuntimeError:
            cluster = "none"
        if cluster != "slurm":
            raise LpmError(
                "Slurm was not found (no srun on PATH); run on a Slurm login node "
                "or use --executor local"
            )
        return cluster

    def _executor(self, job: Job) -> Any:
        import submitit

        ex = submitit.AutoExecutor(folder=self.folder, cluster=self._cluster())
        params: dict[str, Any] = {"timeout_min": self.options.time_min, "name": f"lpm-{job.job_id}"}
        if ex.cluster == "slurm":
            params.update(self.options.submitit_parameters(job.processes))
        params.update(self.parameters)
        ex.update_parameters(**params)
        return ex

    def _submit(self, job: Job, fn: JobFn) -> Any:
        from submitit.core.utils import FailedJobError

        try:  # submitit prints sbatch's refusal to stderr too; the LpmError says it once
            with contextlib.redirect_stderr(io.StringIO()):
                sjob = self._executor(job).submit(fn, job)
        except FailedJobError as exc:
            said = " ".join(str(exc).split())
            raise LpmError(f"sbatch refused the job of {job.job_id}: {said}") from None
        if self._cluster() == "slurm":
            note_submission(self.folder, sjob.job_id, job.job_id, list(job.scenario_ids))
        return sjob

    def check(self) -> None:
        """On Slurm: LpmError unless the controller answers (asked once per executor)."""
        if not self._checked and self._cluster() == "slurm":
            check_controller()
        self._checked = True

    def run(self, jobs: Sequence[Job], fn: JobFn, on_done: DoneFn) -> None:
        if jobs:
            self.check()
        submitted = []
        for job in jobs:
            try:
                submitted.append((self._submit(job, fn), job))
            except LpmError as exc:
                if not submitted:
                    raise
                on_done(job, exc)
        delay = min(0.25, self.poll_s)
        while submitted:
            still = []
            for sjob, job in submitted:
                if not sjob.done():
                    still.append((sjob, job))
                    continue
                try:
                    result: list[ScenarioRecord] | BaseException = sjob.result()
                except Exception as exc:
                    result = exc
                on_done(job, result)
            submitted = still
            if submitted:  # short jobs are seen soon, long ones polled every poll_s
                time.sleep(delay)
                delay = min(self.poll_s, delay * 1.5)


def make_executor(
    kind: str,
    *,
    workers: int = 1,
    folder: str | Path | None = None,
    slurm_cluster: str | None = None,
    slurm_parameters: dict[str, Any] | None = None,
    slurm_options: SlurmOptions | None = None,
) -> Executor:
    """The executor for ``--executor local|slurm``."""
    if workers < 1:
        raise LpmError(f"--workers must be at least 1, got {workers}")
    if kind == "local":
        return SerialExecutor() if workers == 1 else LocalExecutor(workers)
    if kind == "slurm":
        if folder is None:
            raise LpmError("the slurm executor needs a folder for its logs")
        return SlurmExecutor(
            folder, cluster=slurm_cluster, parameters=slurm_parameters, options=slurm_options
        )
    raise LpmError(f"unknown executor {kind!r}; use local or slurm")
