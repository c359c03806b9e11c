"""A real measurement killed by Slurm mid-training resumes from its checkpoint.

lpm's own measurement (lpm.ldm trains and samples) runs as a Slurm job; once its first
checkpoint is written the job is preempted (``scontrol requeue``) or cancelled
(``scancel``). Slurm kills it (SIGKILL after KillWait, 2 s here). The requeued job, or the
study run again, goes on from the checkpoint: its record says at which iteration, and its
step statistics hold both processes' measured steps.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from tests.slurm.cluster import ACCOUNT, SlurmCluster

from lpm.study.executors import SlurmExecutor
from lpm.study.grid import jobs
from lpm.study.runner import run_study
from lpm.study.slurm import SlurmOptions, submissions
from lpm.study.spec import spec_from_dict

REPO = Path(__file__).resolve().parents[2]
ITERATIONS = 120  # ~5 s on one CPU thread: a kill 2 s after the first checkpoint lands mid-way
REAL = {
    "name": "resume-on-slurm",
    "design": "one_factor",
    "dims": [2],
    "image_sizes": {"2d": [16]},
    "model_sizes": ["small"],
    "processes": [1],
    "steps": [2],
    "batch_size": 1,
    "threads": 1,
    "measure": {
        "train_iterations": ITERATIONS - 1, "warmup_iterations": 1, "checkpoint_every": 10,
        "samples": 1, "interval_s": 0.05, "autoencoder_iterations": 1,
    },
}  # fmt: skip
STAGES_OFF = {"quality": False, "tradeoff": False}


@pytest.fixture
def real_jobs(slurm_env: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> SlurmCluster:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return slurm_env


def _executor(out: Path) -> SlurmExecutor:
    opts = SlurmOptions(time_min=5, gpus_per_task=0, account=ACCOUNT)
    return SlurmExecutor(out / "slurm", options=opts, poll_s=0.5)


def _at_first_checkpoint(out: Path, index: int, action) -> threading.Thread:
    """In a thread: once the INDEX-th submitted job's training has written a checkpoint,
    ACTION(its Slurm job id)."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            subs = submissions(out / "slurm")
            if len(subs) > index:
                train = out / "work" / subs[index]["job"] / "train"
                if (train / "checkpoints" / "last.pt").exists():
                    action(subs[index]["slurm_job_id"])
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _check_resumed(records: list[dict], job: str, work: Path) -> None:
    """JOB's records say where it resumed and pool both processes' measured steps."""
    mine = [r for r in records if r["scenario_id"].startswith(job + "-")]
    assert len(mine) == 2 and mine[0]["train"] == mine[1]["train"]
    (at,) = mine[0]["train"]["resumed_at"]
    assert 0 < at < ITERATIONS and at % 10 == 0, at
    # both processes' measured steps, each without its warm-up of 1
    assert mine[0]["train"]["step_stats"]["count"] == (at - 1) + (ITERATIONS - at - 1)
    losses = (work / job / "train" / "losses.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in losses] == list(range(1, ITERATIONS + 1))


def test_killed_jobs_resume_from_their_checkpoints(real_jobs: SlurmCluster, tmp_path: Path) -> None:
    """A study of 4 scenarios in 2 real jobs: one preempted (requeued by Slurm), the other
    cancelled (run again with the study); both go on from their checkpoints."""
    out = tmp_path / "study"
    spec = spec_from_dict(
        {**REAL, "design": "full", "steps": [2, 1], "image_sizes": {"2d": [16, 32]}}
    )
    assert len(jobs(spec)) == 2 and sum(len(j.scenario_ids) for j in jobs(spec)) == 4

    def preempt(job_id: str) -> None:  # as a preemption with requeue does
        real_jobs.run(["scontrol", "requeue", job_id])
        deadline = time.monotonic() + 20
        while real_jobs.state(job_id) != "PENDING" and time.monotonic() < deadline:
            time.sleep(0.05)
        real_jobs.run(["scontrol", "update", f"jobid={job_id}", "StartTime=now"])

    watchers = [
        _at_first_checkpoint(out, 0, preempt),
        _at_first_checkpoint(out, 1, lambda j: real_jobs.run(["scancel", j])),
    ]
    first = run_study(spec, out, executor=_executor(out), progress=False, **STAGES_OFF)
    for w in watchers:
        w.join()
    preempted, cancelled = (s["job"] for s in submissions(out / "slurm"))
    assert list(first.failed) == [cancelled] and "CANCELLED" in first.failed[cancelled]
    assert sorted(first.measured_ids) == sorted(
        next(j for j in jobs(spec) if j.job_id == preempted).scenario_ids
    )

    again = run_study(spec, out, executor=_executor(out), progress=False, **STAGES_OFF)
    assert not again.failed, again.failed
    subs = submissions(out / "slurm")
    assert Counter(s["job"] for s in subs) == {preempted: 1, cancelled: 2}  # requeued in place
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    ids = [sc for job in jobs(spec) for sc in job.scenario_ids]
    assert sorted(r["scenario_id"] for r in records) == sorted(ids)  # each once
    for job in (preempted, cancelled):
        _check_resumed(records, job, out / "work")
