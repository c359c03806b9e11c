"""Where measurement jobs run: in this process, in local worker processes, or on Slurm.

Every executor takes a list of jobs and a picklable function
``fn(job) -> list[ScenarioRecord]`` and calls ``on_done(job, records_or_exception)`` in
the parent as each job finishes, in completion order. Workers also leave each record in
``DIR/records/`` (see ``lpm.study.store``), so a parent that dies loses nothing that
finished.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

from lpm.errors import LpmError
from lpm.results import ScenarioRecord
from lpm.study.grid import Job

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
    ``parameters`` go to ``update_parameters`` (e.g. ``slurm_partition``, ``timeout_min``);
    each job asks for as many GPUs as it has training processes.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        cluster: str | None = None,
        parameters: dict[str, Any] | None = None,
        poll_s: float = 5.0,
    ) -> None:
        self.folder = Path(folder)
        self.cluster = cluster
        self.parameters = dict(parameters or {})
        self.poll_s = poll_s

    def _executor(self, job: Job) -> Any:
        import submitit

        cluster = self.cluster
        if cluster is None:
            try:
                cluster = submitit.AutoExecutor.which()
            except RuntimeError:
                cluster = "none"
            if cluster != "slurm":
                raise LpmError(
                    "Slurm was not found (no srun on PATH); run on a Slurm login node "
                    "or use --executor local"
                )
        ex = submitit.AutoExecutor(folder=self.folder, cluster=cluster)
        params: dict[str, Any] = {"timeout_min": 24 * 60, "name": f"lpm-{job.job_id}"}
        if ex.cluster == "slurm":
            params.update(
                slurm_gpus_per_node=job.processes, tasks_per_node=1, cpus_per_task=8, nodes=1
            )
        params.update(self.parameters)
        ex.update_parameters(**params)
        return ex

    def run(self, jobs: Sequence[Job], fn: JobFn, on_done: DoneFn) -> None:
        submitted = []
        for job in jobs:
            ex = self._executor(job)
            submitted.append((ex.submit(fn, job), job))
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
            if submitted:
                time.sleep(self.poll_s)


def make_executor(
    kind: str,
    *,
    workers: int = 1,
    folder: str | Path | None = None,
    slurm_cluster: str | None = None,
    slurm_parameters: dict[str, Any] | None = None,
) -> Executor:
    """The executor for ``--executor local|slurm``."""
    if workers < 1:
        raise LpmError(f"--workers must be at least 1, got {workers}")
    if kind == "local":
        return SerialExecutor() if workers == 1 else LocalExecutor(workers)
    if kind == "slurm":
        if folder is None:
            raise LpmError("the slurm executor needs a folder for its logs")
        return SlurmExecutor(folder, cluster=slurm_cluster, parameters=slurm_parameters)
    raise LpmError(f"unknown executor {kind!r}; use local or slurm")
