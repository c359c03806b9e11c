"""torch.distributed with gloo on CPU: two ranks, totals are the sum over distinct devices."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_ranks_count_each_device_once(tmp_path) -> None:
    init = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(rank), "2", init, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
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
    records = sorted(tmp_path.glob("*.jsonl"))
    assert [p.name.endswith(("-rank0.jsonl", "-rank1.jsonl")) for p in records] == [True, True]
