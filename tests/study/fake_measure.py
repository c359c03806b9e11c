"""A stand-in for the real measurement: fast, deterministic, and counts its runs.

Module-level so that spawned workers and submitit jobs can import it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from lpm.study.grid import Job
from lpm.study.spec import StudySpec

DELAY_ENV = "LPM_FAKE_MEASURE_DELAY_S"
FAIL_ENV = "LPM_FAKE_MEASURE_FAIL"  # a job id that raises


def fake_measure(job: Job, spec: StudySpec, work_dir: Path) -> list[dict]:
    """Record that the job ran (one line in work_dir/runs), wait, return one record each."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with open(work_dir / "runs", "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
    if os.environ.get(FAIL_ENV) == job.job_id:
        raise RuntimeError(f"simulated failure of {job.job_id}")
    time.sleep(float(os.environ.get(DELAY_ENV, "0")))
    energy_j = 1.0 * job.dims * job.size[0] * (1 + ["small", "medium", "large"].index(job.model))
    return [
        {
            **sc.to_dict(),
            "status": "ok",
            "measured": {"train_iterations": spec.measure.train_iterations},
            "train": {"energy_j_per_iteration": energy_j},
            "sample": {"energy_j_per_step": energy_j / 2, "steps": sc.steps},
            "targets": spec.targets.model_dump(),
            "pue": spec.pue,
            "region": spec.region,
            "worker_pid": os.getpid(),
        }
        for sc in job.scenarios
    ]


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
