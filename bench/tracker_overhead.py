"""Overhead of the Tracker on a CPU training loop, A/B interleaved.

One small torch model is trained on random data. Each round runs the same number of
iterations without a tracker, with the Tracker at 1 s and at 0.1 s intervals (and under
CodeCarbon's offline tracker if it is installed), in a rotating order so that drifts of
the machine's load hit all variants alike. Ratios are medians over rounds of
with / without, for wall time and for the CPU time of this process (which includes the
sampler thread, and is far less disturbed by other jobs on a shared machine). A third
estimate needs no A/B at all: the measured cost of one reading of the meters and of one
step mark, times how often they happen. Prints a JSON object last.

    .venv/bin/python bench/tracker_overhead.py --seconds 20 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import torch
from torch import nn


def make_loop(seed: int = 0) -> Callable[[int, Callable[[], None]], float]:
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 256)
    y = torch.randint(0, 10, (64,))
    loss_fn = nn.CrossEntropyLoss()

    def run(iterations: int, on_step: Callable[[], None]) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iterations):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            on_step()
        return time.perf_counter() - t0, time.process_time() - c0

    return run


@contextlib.contextmanager
def no_tracker() -> Iterator[Callable[[], None]]:
    yield lambda: None


@contextlib.contextmanager
def lpm_tracker(interval_s: float, log_dir: str) -> Iterator[Callable[[], None]]:
    from lpm.energy import Tracker

    with Tracker(interval_s=interval_s, log_dir=log_dir, run_name="bench") as t, t.window("train"):
        yield t.step


@contextlib.contextmanager
def codecarbon_tracker(interval_s: float, out_dir: str) -> Iterator[Callable[[], None]]:
    from codecarbon import OfflineEmissionsTracker  # type: ignore[import-not-found]

    tracker = OfflineEmissionsTracker(
        country_iso_code="DEU", measure_power_secs=interval_s, output_dir=out_dir, log_level="error"
    )
    tracker.start()
    try:
        yield lambda: None
    finally:
        tracker.stop()


def cost_model(log_dir: str, step_s: float) -> dict[str, float]:
    """Overhead from the cost of one reading and one step mark (no A/B noise)."""
    from lpm.energy import Tracker

    with Tracker(interval_s=1e9, log_dir=log_dir, run_name="cost") as t, t.window("train"):
        n = 300
        c0 = time.perf_counter()
        for _ in range(n):
            t.sample()
        sample_s = (time.perf_counter() - c0) / n
        c0 = time.perf_counter()
        for _ in range(20 * n):
            t.step()
        mark_s = (time.perf_counter() - c0) / (20 * n)
    out = {"sample_ms": sample_s * 1e3, "step_mark_us": mark_s * 1e6, "step_s": step_s}
    for interval in (1.0, 0.1):
        out[f"ratio_{interval:g}s"] = 1 + sample_s / interval + mark_s / step_s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of one loop (>= 20)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run = make_loop()

    run(50, lambda: None)  # warm up, then size the loop to the wanted length
    t, _ = run(200, lambda: None)
    iterations = max(int(200 * args.seconds / t), 200)
    step_s = t / 200

    tmp = tempfile.mkdtemp(prefix="lpm-bench-")
    variants: dict[str, Callable[[], contextlib.AbstractContextManager]] = {
        "none": no_tracker,
        "lpm_1s": lambda: lpm_tracker(1.0, tmp),
        "lpm_0.1s": lambda: lpm_tracker(0.1, tmp),
    }
    try:
        import codecarbon  # type: ignore[import-not-found]  # noqa: F401

        variants["codecarbon_1s"] = lambda: codecarbon_tracker(1.0, tmp)
        have_codecarbon = True
    except ImportError:
        have_codecarbon = False

    times: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            with variants[name]() as on_step:
                wall, used = run(iterations, on_step)
            times[name].append(wall)
            cpu[name].append(used)
            print(f"round {r + 1} {name}: {wall:.2f} s wall, {used:.2f} s CPU", flush=True)

    def median_ratio(data: dict[str, list[float]], name: str) -> float:
        return statistics.median(a / b for a, b in zip(data[name], data["none"], strict=True))

    ratios = {name: median_ratio(times, name) for name in names[1:]}
    cpu_ratios = {name: median_ratio(cpu, name) for name in names[1:]}
    model = cost_model(tmp, step_s)
    result = {
        "bench": "tracker_overhead",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "cpu_count": __import__("os").cpu_count(),
        "torch_threads": args.threads,
        "iterations_per_loop": iterations,
        "rounds": args.rounds,
        "seconds_per_loop": {k: v for k, v in times.items()},
        "cpu_seconds_per_loop": {k: v for k, v in cpu.items()},
        "ratio_median_wall": ratios,
        "ratio_median_cpu": cpu_ratios,
        "cost_model": model,
        "codecarbon_installed": have_codecarbon,
        "target_ratio_1s": 1.005,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
