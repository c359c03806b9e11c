"""torch.distributed with gloo on CPU: two ranks, totals are the sum over distinct devices."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(tmp_path: Path, rank_env: Callable[[int], dict[str, str]] | None = None) -> list:
    """Run two gloo ranks of ddp_worker.py; their JSON outputs in rank order."""
    init = f"tcp://127.0.0.1:{free_port()}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(rank), "2", init, str(tmp_path)],
            env={**clean, "PYTHONPATH": str(ROOT), **(rank_env(rank) if rank_env else {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]


@pytest.mark.slow
def test_two_gloo_ranks_count_each_device_once(tmp_path) -> None:
    r0, r1 = run_ranks(tmp_path)
    s = r0["summary"]

    comps = s["components"]
    ids = [c["device_id"] for c in comps]
    assert len(ids) == len(set(ids)) == 4  # 2 GPUs (one per rank), CPU sim + CPU estimate once
    kinds = sorted(c["kind"] for c in comps)
    assert kinds == ["cpu", "cpu", "gpu", "gpu"]
    assert s["it_energy_kwh"] == pytest.approx(sum(c["energy_kwh"] for c in comps))
    assert r1["summary"]["it_energy_kwh"] == pytest.approx(s["it_energy_kwh"])

    ranks = {r["rank"]: r["duration_s"] for r in s["context"]["distributed"]["ranks"]}
    gpus = sorted((c for c in comps if c["kind"] == "gpu"), key=lambda c: c["energy_j"])
    for rank, c in enumerate(gpus):
        assert c["energy_j"] == pytest.approx(100.0 * (rank + 1) * ranks[rank], rel=0.05)
    sim_cpu = next(c for c in comps if c["kind"] == "cpu" and "simulated" in c["name"])
    assert sim_cpu["energy_j"] == pytest.approx(50.0 * ranks[0], rel=0.05)

    # the host's CPU estimate covers both ranks' processes
    cpu_meter = next(m for m in s["context"]["meters"] if m.get("method", "").startswith("cpu"))
    assert len(cpu_meter["pids"]) == 2

    train = s["windows"]["train"]
    assert train["energy_j"] == pytest.approx(sum(train["energy_by_device_j"].values()))
    assert len(train["energy_by_device_j"]) == 4
    # job-wide step power adds the ranks: at least the 350 W of the simulated devices
    assert r0["stats"]["power_w_mean"] >= 349.0
    assert r0["stats"]["power_w_mean"] == pytest.approx(r1["stats"]["power_w_mean"])
    assert r0["stats"]["provenance"] == "mixed"  # simulated devices and a CPU estimate
    # any warm-up after the run is job-wide too, on every rank, never rank-local
    for w in ("3", "10"):
        st0, st1 = r0["stats_warm"][w], r1["stats_warm"][w]
        assert st0["warmup_steps"] == int(w) and st0["count"] == 30 - int(w)
        assert st0["power_w_mean"] >= 349.0  # rank 0 alone: 150 W + its CPU share
        assert st0["power_w_mean"] == pytest.approx(st1["power_w_mean"])
        assert st0["power_w_mean"] == pytest.approx(r0["stats"]["power_w_mean"], rel=0.2)
    # window statistics: energy of the whole job per occurrence
    w0, w1 = r0["window"], r1["window"]
    assert w0["count"] == 4 and w0["skip"] == 2 and w0["steps_mean"] == 5.0
    assert w0["energy_j_mean"] == pytest.approx(w1["energy_j_mean"])
    assert w0["energy_j_mean"] >= 349.0 * w0["duration_s_mean"] * 0.95
    assert w0["energy_j_mean"] == pytest.approx(train["energy_j"] / train["count"], rel=0.25)
    records = sorted(tmp_path.glob("*.jsonl"))
    assert [p.name.endswith(("-rank0.jsonl", "-rank1.jsonl")) for p in records] == [True, True]


def srun_task_env(rank: int) -> dict[str, str]:
    """What `srun --ntasks=2` (one node) sets for task `rank`."""
    return {
        "SLURM_JOB_ID": "777",
        "SLURM_STEP_ID": "0",
        "SLURM_PROCID": str(rank),
        "SLURM_LOCALID": str(rank),
        "SLURM_NODEID": "0",
        "SLURMD_NODENAME": "n1",
        "SLURM_NTASKS": "2",
        "SLURM_STEP_TASKS_PER_NODE": "2",
        "SLURM_JOB_ACCOUNT": "lab",
    }


@pytest.mark.slow
def test_two_gloo_ranks_as_slurm_tasks_count_the_node_once(tmp_path) -> None:
    r0, r1 = run_ranks(tmp_path, srun_task_env)
    s = r0["summary"]
    cpu = [c for c in s["components"] if c["kind"] == "cpu"]
    assert len(cpu) == 2  # the node's simulated CPU and its estimate, once each (not per task)
    ranks = {r["rank"]: r["duration_s"] for r in s["context"]["distributed"]["ranks"]}
    sim_cpu = next(c for c in cpu if "simulated" in c["name"])
    assert sim_cpu["energy_j"] == pytest.approx(50.0 * ranks[0], rel=0.05)
    assert r1["summary"]["it_energy_kwh"] == pytest.approx(s["it_energy_kwh"])
    records = sorted(tmp_path.glob("*.jsonl"))
    headers = [json.loads(p.read_text().splitlines()[0]) for p in records]
    slurm = [h["context"]["slurm"] for h in headers]
    assert [(x["job_id"], x["proc_id"], x["node_name"]) for x in slurm] == [
        ("777", 0, "n1"),
        ("777", 1, "n1"),
    ]
    assert [x["node_energy"] for x in slurm] == [True, False]  # task 0 holds the node's
