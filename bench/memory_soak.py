"""Memory of an hour of sampling at 10 Hz, with a simulated clock so it runs in seconds.

A Tracker with simulated meters (4 GPUs and a CPU) and a run record takes 36 000 readings
0.1 s apart, marks a step every 0.5 s and closes a window every 60 s, exactly as the
sampler thread and a training loop would. Python heap (tracemalloc) and process RSS are
taken after 6, 15, 30, 45 and 60 simulated minutes; they must not grow with the run. Prints a JSON
object last.

    .venv/bin/python bench/memory_soak.py --minutes 60
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import psutil

from lpm.energy import SimulatedMeter, Tracker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--hz", type=float, default=10.0)
    args = ap.parse_args()

    clock = Clock()
    meters = [
        SimulatedMeter("gpu", 300.0, 4, clock=clock),
        SimulatedMeter("cpu", 50.0, 1, clock=clock),
    ]
    log_dir = Path(tempfile.mkdtemp(prefix="lpm-soak-"))
    dt = 1.0 / args.hz
    n = int(args.minutes * 60 * args.hz)
    marks = {int(n * f) for f in (0.1, 0.25, 0.5, 0.75, 1.0)}
    points = []
    proc = psutil.Process()
    wall0 = time.perf_counter()
    tracemalloc.start()
    # interval_s is long: the loop below takes the readings the sampler thread would take
    with Tracker(meters, interval_s=1e9, log_dir=log_dir, clock=clock) as t:
        t.start_window("train")
        for i in range(1, n + 1):
            clock.now += dt
            t.sample()
            if i % int(0.5 * args.hz) == 0:
                t.step()
            if i % int(60 * args.hz) == 0:
                t.end_window("train")
                t.start_window("train")
            if i in marks:
                gc.collect()
                points.append(
                    {
                        "simulated_min": round(i * dt / 60, 1),
                        "heap_kib": round(tracemalloc.get_traced_memory()[0] / 1024, 1),
                        "rss_mib": round(proc.memory_info().rss / 2**20, 2),
                    }
                )
                print(points[-1], flush=True)
        t.end_window("train")
    tracemalloc.stop()
    s = t.summary()
    record = t.record_path
    result = {
        "bench": "memory_soak",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "simulated_minutes": args.minutes,
        "readings": n,
        "steps": s.steps,
        "windows": s.windows["train"]["count"],
        "energy_kwh": s.it_energy_kwh,
        "expected_energy_kwh": 1250.0 * args.minutes * 60 / 3.6e6,
        "wall_s": round(time.perf_counter() - wall0, 2),
        "points": points,
        # the first 1024 steps of each window name are kept (bounded) so that the warm-up can
        # be changed afterwards: they fill in the first ~9 simulated minutes here
        "heap_growth_kib_first_quarter_to_end": round(
            points[-1]["heap_kib"] - points[1]["heap_kib"], 1
        ),
        "rss_growth_mib_first_quarter_to_end": round(
            points[-1]["rss_mib"] - points[1]["rss_mib"], 2
        ),
        "record_lines": len(record.read_text().splitlines()) if record else 0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
