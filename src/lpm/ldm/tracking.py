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
