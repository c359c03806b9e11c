"""A stand-in for the real measurement: fast, deterministic, and counts its runs.

Module-level so that spawned workers and submitit jobs can import it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.results.factory import make_record

from lpm.results import ScenarioRecord
from lpm.study.grid import Job
from lpm.study.spec import StudySpec

DELAY_ENV = "LPM_FAKE_MEASURE_DELAY_S"
FAIL_ENV = "LPM_FAKE_MEASURE_FAIL"  # a job id that raises


def fake_measure(job: Job, spec: StudySpec, work_dir: Path) -> list[ScenarioRecord]:
    """Note the run (its pid, one line in work_dir/runs), wait, return real records.

    The records are schema-2 ``ScenarioRecord`` values with energies that grow with the
    dims, the image size and the model size.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    with open(work_dir / "runs", "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
    if os.environ.get(FAIL_ENV) == job.job_id:
        raise RuntimeError(f"simulated failure of {job.job_id}")
    time.sleep(float(os.environ.get(DELAY_ENV, "0")))
    energy_j = 1.0 * job.dims * job.size[0] * (1 + ["small", "medium", "large"].index(job.model))
    return [
        make_record(
            sc.scenario_id,
            dims=sc.dims,
            size=tuple(sc.size),
            model=sc.model,
            processes=sc.processes,
            sampler=sc.sampler,
            steps=sc.steps,
            iteration_j=energy_j,
            step_j=energy_j / 100,
            fixed_j=energy_j / 10,
            targets=(spec.targets.train_iterations, spec.targets.samples),
            measured_samples=spec.measure.samples,
            pue=spec.pue,
            region=spec.region,
        )
        for sc in job.scenarios
    ]


def worker_pids(out_dir: Path) -> set[int]:
    """The process ids that ran fake_measure in a study directory."""
    work = Path(out_dir) / "work"
    return {int(p) for f in work.glob("*/runs") for p in f.read_text().split()}


def runs_per_job(out_dir: Path) -> dict[str, int]:
    """How many times fake_measure ran each job in a study directory."""
    work = Path(out_dir) / "work"
    if not work.is_dir():
        return {}
    return {
        d.name: len((d / "runs").read_text().splitlines())
        for d in work.iterdir()
        if (d / "runs").exists()
    }
