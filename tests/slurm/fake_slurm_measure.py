"""The fake measurement of tests/study, slow only on a job's first start by Slurm.

A requeued job (SLURM_RESTART_COUNT >= 1) measures at once, so a test can requeue a job
mid-way and not wait for the delay again. Module-level: the Slurm jobs import it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.study.fake_measure import fake_measure

from lpm.results import ScenarioRecord
from lpm.study.grid import Job
from lpm.study.spec import StudySpec

FIRST_DELAY_ENV = "LPM_FAKE_FIRST_START_DELAY_S"


def restarts() -> int:
    """How many times Slurm has started this job before (0 outside Slurm)."""
    try:
        return int(os.environ.get("SLURM_RESTART_COUNT", "0"))
    except ValueError:
        return 0


def measure_slow_first(job: Job, spec: StudySpec, work_dir: Path) -> list[ScenarioRecord]:
    """fake_measure, after FIRST_DELAY_ENV seconds on the job's first start only."""
    records = fake_measure(job, spec, work_dir)
    if restarts() == 0:
        time.sleep(float(os.environ.get(FIRST_DELAY_ENV, "0")))
    return records
