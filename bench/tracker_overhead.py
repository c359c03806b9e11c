"""Overhead of the Tracker on a CPU training loop, A/B interleaved.

One small torch model is trained on random data. Each round runs the same number of
iterations without a tracker, with the Tracker at 1 s and at 0.1 s intervals (and under
CodeCarbon's offline tracker if it is installed), in a rotating order so that drifts of
the machine's load hit all variants alike. The ratio is the median over rounds of
time(with) / time(without). Prints a JSON object last.

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

    def run(iterations: int, on_step: Callable[[], None]) -> float:
        t0 = time.perf_counter()
        for _ in range(iterations):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            on_step()
        return time.perf_counter() - t0

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of one loop (>= 20)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run = make_loop()

    run(50, lambda: None)  # warm up, then size the loop to the wanted length
    t = run(200, lambda: None)
    iterations = max(int(200 * args.seconds / t), 200)

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
    names = list(variants)
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            with variants[name]() as on_step:
                times[name].append(run(iterations, on_step))
            print(f"round {r + 1} {name}: {times[name][-1]:.2f} s", flush=True)

    ratios: dict[str, float] = {}
    for name in names[1:]:
        per_round = [a / b for a, b in zip(times[name], times["none"], strict=True)]
        ratios[name] = statistics.median(per_round)
    result = {
        "bench": "tracker_overhead",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "cpu_count": __import__("os").cpu_count(),
        "torch_threads": args.threads,
        "iterations_per_loop": iterations,
        "rounds": args.rounds,
        "seconds_per_loop": {k: v for k, v in times.items()},
        "ratio_median": ratios,
        "codecarbon_installed": have_codecarbon,
        "target_ratio_1s": 1.005,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
