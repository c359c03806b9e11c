"""The energy Tracker around lpm's loops, and the numbers the results take from it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lpm.provenance import Provenance


class MissingWindowError(RuntimeError):
    """A result asked for a window its loop never closed: a bug in that loop, not bad input."""


def open_tracker(
    *,
    meters: Any,
    interval_s: float,
    log_dir: Path | None,
    run_name: str,
    pue: float,
    region: str,
    warmup_steps: int,
    cuda: bool,
) -> Any:
    """An lpm.energy.Tracker (not yet entered) for one run."""
    from lpm.energy import Tracker

    return Tracker(
        meters=meters,
        interval_s=interval_s,
        log_dir=log_dir,
        run_name=run_name,
        pue=pue,
        region=region,
        cuda_sync=cuda,
        warmup_steps=warmup_steps,
    )


def _window(summary: Any, window: str) -> dict[str, Any]:
    windows = getattr(summary, "windows", None) or {}
    info = windows.get(window)
    if not info:
        raise MissingWindowError(
            f"the run has no closed window {window!r} (windows: {sorted(windows) or 'none'}); "
            f"the code asking for it must open it with `tracker.window({window!r})`"
        )
    return info


def window_energy_j(summary: Any, window: str) -> float:
    """IT energy in J of a named window (all its repetitions).

    Raises MissingWindowError when the run never closed that window: never the whole run's
    energy in its place.
    """
    return float(_window(summary, window)["energy_j"])


def window_steps(summary: Any, window: str) -> int:
    """Steps marked in a named window (all its repetitions); MissingWindowError if absent."""
    return int(_window(summary, window)["steps"])


def provenance_by_kind(summary: Any) -> dict[str, str]:
    """Which kind of device ("gpu", "cpu", "dram") was measured, estimated or simulated."""
    return {kind: Provenance.parse(p).value for kind, p in summary.provenance_by_kind.items()}


def training_measurements(tracker: Any, iterations_done: int) -> tuple[Any, dict[str, Any]]:
    """The tracker's summary and the energy fields every training result shares.

    When nothing was trained (a run resumed at its last iteration) there is no "train"
    window: ``step_stats`` is None and the energy per iteration 0.0. Otherwise a missing
    "train" window raises MissingWindowError.
    """
    from lpm.errors import LpmError

    summary = tracker.summary()
    try:
        stats = tracker.step_stats(window="train")
    except LpmError:
        stats = None
    energy_j = window_energy_j(summary, "train") if iterations_done else 0.0
    provenance = Provenance.parse(summary.provenance)
    return summary, {
        "iterations": iterations_done,
        "duration_s": float(summary.duration_s),
        "it_energy_kwh": float(summary.it_energy_kwh),
        "co2e_kg": float(summary.co2e_kg),
        "energy_per_iteration_j": energy_j / iterations_done if iterations_done else 0.0,
        "step_stats": stats,
        "provenance": provenance,
        "estimated": provenance.is_estimated,
    }


def synthesis_measurements(
    tracker: Any, batch_sizes: list[int], warmup_batches: int
) -> dict[str, Any]:
    """Per-sample costs of a sampling run, measured from its per-batch windows.

    ``batch_sizes`` are the samples of each batch in order; the first ``warmup_batches``
    batches are left out. The fixed cost of a batch is its "noise" and "decode" windows
    (noise draw; decoding and writing its files), the total its "sample_batch" window; each
    is divided by the batch size. The std of the fixed cost adds the two windows' variances
    (the parts are measured apart). Exact per sample when the measured batches are equally
    large (always with batch size 1); with a smaller last batch, per-batch values are
    divided by the mean batch size.
    """
    measured = batch_sizes[warmup_batches:]
    if not measured:
        raise MissingWindowError(
            f"all {len(batch_sizes)} batches are warm-up; no batch is left to measure"
        )
    samples = sum(measured)
    per_batch = samples / len(measured)
    noise = tracker.window_stats("noise", skip=warmup_batches)
    decode = tracker.window_stats("decode", skip=warmup_batches)
    total = tracker.window_stats("sample_batch", skip=warmup_batches)
    return {
        "samples_measured": samples,
        "fixed_per_sample_j_mean": (noise.energy_j_mean + decode.energy_j_mean) / per_batch,
        "fixed_per_sample_j_std": math.hypot(noise.energy_j_std, decode.energy_j_std) / per_batch,
        "fixed_per_sample_s_mean": (noise.duration_s_mean + decode.duration_s_mean) / per_batch,
        "fixed_per_sample_s_std": math.hypot(noise.duration_s_std, decode.duration_s_std)
        / per_batch,
        "energy_per_sample_j_mean": total.energy_j_mean / per_batch,
        "energy_per_sample_j_std": total.energy_j_std / per_batch,
        "window_stats": {w.name: w for w in (noise, decode, total)},
    }
