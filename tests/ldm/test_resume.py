"""A killed training run resumes from its last checkpoint with the same next-step loss."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from lpm.ldm import checkpoint as ckpt
from tests.ldm.helpers import tiny_ldm


def _loss_at(run: Path, iteration: int) -> float:
    for line in (run / "losses.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["iteration"] == iteration:
            return float(entry["loss"])
    raise AssertionError(f"no loss for iteration {iteration} in {run}")


def test_resume_after_kill_continues_with_the_same_loss(tmp_path: Path, ae2d: Path) -> None:
    killed = tmp_path / "killed"
    cmd = [
        sys.executable, "-m", "lpm.cli.main", "train",
        "--dims", "2", "--size", "32", "--model", "small",
        "--autoencoder", str(ae2d), "--iterations", "100000", "--batch-size", "2",
        "--checkpoint-every", "2", "--out", str(killed), "--no-progress",
        "--interval-s", "0.1",
    ]  # fmt: skip
    cfg_items = {"n_items": 4}
    config = tmp_path / "extra.yaml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in cfg_items.items()))
    cmd += ["--config", str(config)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = killed / "checkpoints" / ckpt.LAST
    deadline = time.monotonic() + 90
    try:
        while not last.exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "no checkpoint written in time"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    step = int(ckpt.load(last)["iteration"])
    assert step >= 2 and step % 2 == 0
    assert not list(last.parent.glob("*.tmp")), "a half-written checkpoint was left"

    # Resume: same settings, stop one iteration after the checkpoint.
    torch.set_num_threads(1)
    tiny_ldm(killed, ae2d, iterations=step + 1, checkpoint_every=2)
    # Reference: the same run without a kill.
    reference = tiny_ldm(tmp_path / "ref", ae2d, iterations=step + 1, checkpoint_every=2)
    assert _loss_at(killed, step + 1) == _loss_at(reference, step + 1)
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["resumed_from"] == step
    assert summary["iterations"] == 1
