"""One rank of the 2-process gloo test (run as a script by test_distributed.py)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from lpm.energy import EstimatedCpuMeter, SimulatedMeter, Tracker


def main() -> None:
    rank, world, init, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    meters = [
        SimulatedMeter("gpu", 100.0 * (rank + 1), 1),  # each rank's own GPU
        SimulatedMeter("cpu", 50.0, 1),  # the host's CPU: every rank sees it
        EstimatedCpuMeter(scope="process"),
    ]
    with Tracker(meters, interval_s=0.05, log_dir=out, run_name="ddp") as t:
        for _ in range(6):
            with t.window("train"):
                for _ in range(5):
                    x = torch.ones(1000)
                    dist.all_reduce(x)
                    time.sleep(0.05)
                    t.step()
    data = {
        "summary": t.summary().to_dict(),
        "stats": t.step_stats("train").to_dict(),
        # after the run, any warm-up: job-wide, not this rank's
        "stats_warm": {w: t.step_stats("train", warmup_steps=w).to_dict() for w in (3, 10)},
        "window": t.window_stats("train", skip=2).to_dict(),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(data))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
