"""Rich progress bars with it/s, loss and live power/energy from the Tracker's live()."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Iterations per second (or seconds per iteration when slower than 1 it/s)."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        if not speed:
            return Text("-- it/s", style="progress.data.speed")
        if speed >= 1:
            return Text(f"{speed:.2f} it/s", style="progress.data.speed")
        return Text(f"{1 / speed:.2f} s/it", style="progress.data.speed")


def live_energy(tracker: Any) -> tuple[float, float, bool] | None:
    """(mean power in W, energy in J, stale) of the run so far, from ``tracker.live()``.

    ``live()`` never reads a meter: it returns the state after the last completed reading,
    so a slow or stuck meter cannot stall the loop that shows the bar. ``stale`` is True
    when that reading is old. None when the tracker cannot tell (e.g. not started).
    """
    try:
        snap = tracker.live()
        energy_j = float(snap.it_energy_j)
        duration_s = float(snap.duration_s)
        stale = bool(snap.stale)
    except Exception:  # the bar must never stop the job it shows
        return None
    power_w = energy_j / duration_s if duration_s > 0 else 0.0
    return power_w, energy_j, stale


class LiveProgress:
    """A progress bar for `total` steps; `advance()` after each, energy refreshed ~1/s.

    Disabled (silent) when `enabled` is False, e.g. on ranks other than 0.
    """

    def __init__(
        self,
        description: str,
        total: int,
        *,
        tracker: Any = None,
        enabled: bool = True,
        completed: int = 0,
        refresh_s: float = 1.0,
    ) -> None:
        self.tracker = tracker
        self.enabled = enabled
        self.refresh_s = refresh_s
        self._last = 0.0
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(stderr=True),
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task(description, total=total, completed=completed, info="")

    def __enter__(self) -> LiveProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def advance(self, **values: float) -> None:
        """One step done; `values` (e.g. loss=0.1) are shown next to the bar."""
        if not self.enabled:
            return
        now = time.monotonic()
        update: dict[str, Any] = {"advance": 1}
        if now - self._last >= self.refresh_s:
            self._last = now
            parts = [f"{k} {v:.4f}" for k, v in values.items()]
            energy = live_energy(self.tracker) if self.tracker is not None else None
            if energy is not None:
                power_w, energy_j, stale = energy
                flag = " (stale)" if stale else ""
                parts.append(f"{power_w:.0f} W {energy_j / 3.6e3:.3f} Wh{flag}")
            update["info"] = "  ".join(parts)
        self._progress.update(self._task, **update)
