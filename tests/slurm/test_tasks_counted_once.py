"""`srun --ntasks=2` on the real test cluster: each task's record, the node counted once."""

from __future__ import annotations

import csv
import json
import os
import socket
import stat
import sys
from pathlib import Path

import pytest
from tests.fakes.nvml import uuid_of
from tests.slurm.cluster import ACCOUNT, SlurmCluster

from lpm.energy import export_codecarbon_csv, read_run
from lpm.energy.distributed import job_components

# One task: a Tracker with the node's CPU (a node-wide meter: 50 W), the task's own GPU
# (100 W) and the detected estimates; lpm's own distributed mode is off.
TASK = """
import sys, time
from lpm.energy import SimulatedMeter, Tracker
from lpm.energy.detect import detect_meters

out = sys.argv[1]
meters = [SimulatedMeter("cpu", 50.0, 1), SimulatedMeter("gpu", 100.0, 1)]
meters += detect_meters()
with Tracker(meters, interval_s=0.05, log_dir=out, run_name="task", distributed_mode=False) as t:
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        sum(i * i for i in range(20_000))
        t.step()
"""


# One task with detected meters on a node whose NVML (a fake: the test node has no GPU
# driver) shows the node's two GPUs; Slurm's variables decide which this task measures.
GPU_TASK = """
import sys, time
sys.path.insert(0, sys.argv[2])
from tests.fakes.nvml import FakeGpu, FakeNvml, uuid_of
sys.modules["pynvml"] = FakeNvml([FakeGpu(uuid_of(i)) for i in range(2)], time.monotonic)
from lpm.energy import Tracker

with Tracker(interval_s=0.05, log_dir=sys.argv[1], run_name="gpu", distributed_mode=False):
    time.sleep(0.3)
"""
ROOT = Path(__file__).resolve().parents[2]


def _read(records: list[Path]) -> list[tuple[dict, dict]]:
    """(context's slurm entry, summary) of each record, in task order."""
    runs = []
    for p in records:
        lines = [json.loads(x) for x in p.read_text().splitlines()]
        summary = next(x["summary"] for x in lines if x["type"] == "summary")
        runs.append((lines[0]["context"]["slurm"], summary))
    return sorted(runs, key=lambda r: r[0]["proc_id"])


def _recording_scontrol(tmp_path: Path) -> tuple[Path, Path]:
    """A folder whose scontrol and squeue only note that they were called."""
    bindir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bindir.mkdir()
    for cmd in ("scontrol", "squeue", "sacct"):
        script = bindir / cmd
        script.write_text(f'#!/bin/sh\necho "{cmd} $*" >> "{calls}"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bindir, calls


def test_two_srun_tasks_count_the_node_once(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    task = tmp_path / "task.py"
    task.write_text(TASK)
    out = tmp_path / "runs"
    bindir, calls = _recording_scontrol(tmp_path)
    env = slurm_cluster.env
    # the tasks find the fake scontrol first: lpm must never call it
    task_path = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    res = slurm_cluster.run(
        [
            "srun",
            "--ntasks=2",
            f"--account={ACCOUNT}",
            "--export=ALL,PATH=" + task_path + ",OMP_NUM_THREADS=1",
            sys.executable,
            str(task),
            str(out),
        ],
        check=False,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    records = sorted(out.glob("task-*.jsonl"))
    assert len(records) == 2, res.stderr
    (s0, sum0), (s1, sum1) = _read(records)

    job = s0["job_id"]
    assert job is not None and job.isdigit() and s1["job_id"] == job
    assert [s["proc_id"] for s in (s0, s1)] == [0, 1]
    assert [s["local_id"] for s in (s0, s1)] == [0, 1]
    assert {s["node_name"] for s in (s0, s1)} == {slurm_cluster.node}
    assert s0["ntasks"] == 2 and s0["tasks_on_node"] == 2 and s0["step_id"] == "0"
    assert s0["account"] == ACCOUNT and s0["partition"] == slurm_cluster.partition
    assert [s["node_energy"] for s in (s0, s1)] == [True, False]

    def node_cpu(summary: dict) -> float:
        comps = summary["components"]
        return sum(c["energy_j"] for c in comps if c["kind"] == "cpu" and "simulated" in c["name"])

    assert node_cpu(sum0) == pytest.approx(sum0["duration_s"] * 50.0, rel=0.02)
    assert node_cpu(sum1) == 0.0  # the node's CPU is in task 0's record only
    gpus = [c for s in (sum0, sum1) for c in s["components"] if c["kind"] == "gpu"]
    assert len(gpus) == 2  # each task its own GPU
    estimates = [c["name"] for c in sum1["components"] if c["kind"] == "cpu"]
    assert estimates == ["cpu (estimated, process, busy share)"]
    assert not calls.exists(), calls.read_text()

    csv_path = tmp_path / "emissions.csv"
    for p in records:
        export_codecarbon_csv(p, csv_path)
    rows = list(csv.DictReader(csv_path.open()))
    cells = [
        (r["slurm_job_id"], r["slurm_step_id"], r["slurm_node"], r["slurm_account"]) for r in rows
    ]
    assert cells == [(job, "0", slurm_cluster.node, ACCOUNT)] * 2
    total = job_components([read_run(p) for p in records])
    assert sum(c.energy_j for c in total if "simulated" in c.name and c.kind == "cpu") == (
        pytest.approx(node_cpu(sum0))
    )


@pytest.mark.parametrize(
    ("request_gpus", "task_gpus"),
    [("--gpus-per-task=1", [["0"], ["1"]]), ("--gpus=2", [["0", "1"], ["0", "1"]])],
)
def test_two_srun_tasks_measure_each_gpu_once(
    slurm_cluster: SlurmCluster, tmp_path: Path, request_gpus: str, task_gpus: list
) -> None:
    """Bound to a GPU each, or sharing both: either way each GPU is in one task's record."""
    task = tmp_path / "gpu_task.py"
    task.write_text(GPU_TASK)
    out = tmp_path / "runs"
    srun = ["srun", "--ntasks=2", request_gpus, f"--account={ACCOUNT}", "--export=ALL"]
    res = slurm_cluster.run(
        [*srun, sys.executable, str(task), str(out), str(ROOT)],
        check=False,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    runs = _read(sorted(out.glob("gpu-*.jsonl")))
    assert [s["gpus"] for s, _ in runs] == task_gpus
    gpus = [
        c["device_id"] for _, summary in runs for c in summary["components"] if c["kind"] == "gpu"
    ]
    assert sorted(gpus) == [f"gpu-uuid:{uuid_of(i)}" for i in range(2)]  # each once


def test_two_srun_tasks_as_gloo_ranks_merge_to_the_node_once(
    slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    """`srun --ntasks=2` of tests/energy/ddp_worker.py: rank = SLURM_PROCID."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = ROOT / "tests" / "energy" / "ddp_worker.py"
    cmd = (
        f'exec "{sys.executable}" "{worker}" "$SLURM_PROCID" 2 tcp://127.0.0.1:{port} "{tmp_path}"'
    )
    res = slurm_cluster.run(
        ["srun", "--ntasks=2", f"--account={ACCOUNT}", "--export=ALL", "sh", "-c", cmd],
        check=False,
        timeout=180,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    r0 = json.loads((tmp_path / "rank0.json").read_text())["summary"]
    cpu = [c for c in r0["components"] if c["kind"] == "cpu"]
    assert len(cpu) == 2  # the node's simulated CPU and its estimate, once each
    sim = next(c for c in cpu if "simulated" in c["name"])
    ranks = {r["rank"]: r["duration_s"] for r in r0["context"]["distributed"]["ranks"]}
    assert sim["energy_j"] == pytest.approx(50.0 * ranks[0], rel=0.05)
    headers = [json.loads(p.read_text().splitlines()[0]) for p in sorted(tmp_path.glob("*.jsonl"))]
    slurm = sorted((h["context"]["slurm"] for h in headers), key=lambda x: x["proc_id"])
    assert [(x["proc_id"], x["node_energy"]) for x in slurm] == [(0, True), (1, False)]
    assert slurm[0]["job_id"] == slurm[1]["job_id"] and slurm[0]["node_name"] == slurm_cluster.node
