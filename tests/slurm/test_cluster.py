"""The test cluster itself: a trivial batch job runs, and accounting sees it."""

from __future__ import annotations

import time

import pytest
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


def test_slurm_reports_the_fake_counters_energy(slurm_cluster: SlurmCluster, tmp_path) -> None:
    """acct_gather_energy/pm_counters reads the fake counter: ConsumedEnergy = W x s."""
    if slurm_cluster.energy_w is None:
        pytest.skip(slurm_cluster.energy_note or "the cluster has no energy plugin")
    job = slurm_cluster.sbatch("--wrap", "sleep 4", "-o", str(tmp_path / "out.txt"))
    assert slurm_cluster.wait(job) == "COMPLETED"
    deadline = time.monotonic() + 20
    while True:
        res = slurm_cluster.run(
            ["sacct", "-n", "-P", "-j", job, "-o", "JobID,State,ElapsedRaw,ConsumedEnergyRaw"]
        )
        rows = {r.split("|")[0]: r.split("|") for r in res.stdout.split()}
        if rows.get(f"{job}.batch", [""] * 4)[3] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    _, state, elapsed, energy = rows[f"{job}.batch"]
    assert state == "COMPLETED" and int(elapsed) >= 4
    # whole seconds of elapsed time; the plugin's readings are up to 1 s old at each end
    assert float(energy) == pytest.approx(slurm_cluster.energy_w * int(elapsed), abs=250)
