"""The energy Tracker around lpm's loops, and the numbers the results take from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

J_PER_KWH = 3.6e6


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


def window_energy_j(summary: Any, window: str) -> float:
    """IT energy of a named window (all its repetitions), else of the whole run."""
    info = (getattr(summary, "windows", None) or {}).get(window) or {}
    for key in ("it_energy_j", "energy_j"):
        if key in info:
            return float(info[key])
    if "it_energy_kwh" in info:
        return float(info["it_energy_kwh"]) * J_PER_KWH
    return float(summary.it_energy_kwh) * J_PER_KWH


def window_duration_s(summary: Any, window: str) -> float:
    """Duration of a named window, else of the whole run."""
    info = (getattr(summary, "windows", None) or {}).get(window) or {}
    if "duration_s" in info:
        return float(info["duration_s"])
    return float(summary.duration_s)


def training_measurements(tracker: Any, iterations_done: int) -> tuple[Any, dict[str, Any]]:
    """The tracker's summary and the energy fields every training result shares.

    ``step_stats`` is None when nothing was trained (a run resumed at its last iteration).
    """
    from lpm.errors import LpmError

    summary = tracker.summary()
    try:
        stats = tracker.step_stats(window="train")
    except LpmError:
        stats = None
    energy_j = window_energy_j(summary, "train")
    return summary, {
        "iterations": iterations_done,
        "duration_s": float(summary.duration_s),
        "it_energy_kwh": float(summary.it_energy_kwh),
        "co2e_kg": float(summary.co2e_kg),
        "energy_per_iteration_j": energy_j / iterations_done if iterations_done else 0.0,
        "step_stats": stats,
        "estimated": bool(summary.estimated),
    }
