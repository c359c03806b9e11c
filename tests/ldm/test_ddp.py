"""Training under torchrun with 2 processes (gloo on CPU): DDP, batch semantics, rank 0 files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lpm.ldm import checkpoint as ckpt


def test_two_process_ddp_training(tmp_path: Path, ae2d: Path) -> None:
    out = tmp_path / "ddp"
    config = tmp_path / "cfg.yaml"
    config.write_text("n_items: 4\ninterval_s: 0.2\n")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "lpm.cli.main", "train", "--dims", "2", "--size", "32",
        "--autoencoder", str(ae2d), "--iterations", "3", "--batch-size", "4",
        "--global-batch", "same_global", "--checkpoint-every", "2",
        "--out", str(out), "--no-progress", "--config", str(config),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["batch_size_per_process"] == 2
    assert summary["global_batch_size"] == 4
    assert summary["iterations"] == 3
    assert summary["it_energy_kwh"] > 0
    # Rank 0 alone writes the loss log and checkpoints; each rank keeps its energy record.
    lines = (out / "losses.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == [1, 2, 3]
    last = ckpt.load(out / "checkpoints" / "last.pt")
    assert last["iteration"] == 3
    # Each rank's noise generator is saved, so a resumed DDP run draws what it would have.
    gens = last["generator"]
    assert len(gens) == 2 and not torch.equal(gens[0], gens[1])
    assert len(list(out.glob("train-*-rank0.jsonl"))) == 1
    assert len(list(out.glob("train-*-rank1.jsonl"))) == 1
    assert proc.stdout.count("diffusion model trained") == 1  # one report, from rank 0

    # The checkpoint holds the job's step statistics (power of both ranks), so that a run
    # killed and resumed (by a preemption) pools both processes' steps.
    (segment,) = last["segments"]
    assert (segment["start"], segment["end"]) == (0, 3)
    assert segment["step_stats"]["count"] == summary["step_stats"]["count"] == 3
    assert segment["step_stats"]["power_w_mean"] == pytest.approx(
        summary["step_stats"]["power_w_mean"], rel=0.05
    )
    resume = [x if x != "3" else "5" for x in cmd]  # go on to 5 iterations
    proc = subprocess.run(resume, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = json.loads((out / "summary.json").read_text())
    assert again["resumed_from"] == 3 and again["iterations"] == 2
    assert [row["measured_steps"] for row in again["segments"]] == [3, 2]
    assert again["step_stats"]["count"] == 5
