"""The test cluster itself: a trivial batch job runs, and accounting sees it."""

from __future__ import annotations

import time

from tests.slurm.cluster import ACCOUNT, SlurmCluster


def test_a_batch_job_runs_and_sacct_sees_it(slurm_cluster: SlurmCluster, tmp_path) -> None:
    out = tmp_path / "out.txt"
    job = slurm_cluster.sbatch(
        "--wrap",
        "echo job $SLURM_JOB_ID on $SLURMD_NODENAME",
        "-o",
        str(out),
        f"--account={ACCOUNT}",
        "--ntasks=1",
        "--gpus-per-task=1",
    )
    assert slurm_cluster.wait(job) == "COMPLETED"
    assert out.read_text().strip() == f"job {job} on {slurm_cluster.node}"
    deadline = time.monotonic() + 20
    while True:  # the controller sends the job's end to slurmdbd asynchronously
        res = slurm_cluster.run(
            ["sacct", "-n", "-X", "-P", "-j", job, "-o", "JobID,State,Account,AllocTRES"]
        )
        if "COMPLETED" in res.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    job_id, state, account, tres = res.stdout.strip().split("|")
    assert (job_id, state, account) == (job, "COMPLETED", ACCOUNT)
    assert "gres/gpu=1" in tres


def test_an_oversized_request_is_refused_at_once(slurm_cluster: SlurmCluster) -> None:
    res = slurm_cluster.run(["sbatch", "-n1", "--gpus-per-task=9", "--wrap", "true"], check=False)
    assert res.returncode != 0
    assert "Requested node configuration is not available" in res.stderr
