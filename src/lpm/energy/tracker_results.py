"""The Tracker's results: step and window statistics, the run summary, the merge of ranks.

:class:`TrackerResults` is a part of :class:`lpm.energy.Tracker` (its base class), kept
here so that the Tracker's module holds the lifecycle and the sampler only. It reads the
state the Tracker keeps (accounts, devices, the run log) and adds none of its own except
the ranks merged after a torch.distributed job.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lpm.energy import distributed
from lpm.energy import summary as summaries
from lpm.energy.accounting import ALL_STEPS
from lpm.energy.results import ComponentEnergy, RunSummary, StepStats, WindowStats
from lpm.energy.tracker_checks import check_count
from lpm.errors import LpmError

if TYPE_CHECKING:
    from lpm.carbon import Intensity
    from lpm.energy.accounting import Accounts
    from lpm.energy.lines import RunLog
    from lpm.energy.polling import Poller

__all__ = ["TrackerResults"]


class TrackerResults:
    """Statistics and summaries of a Tracker's run (a base class of the Tracker)."""

    # the Tracker's state this part reads (set in Tracker.__init__)
    warmup_steps: int
    run_id: str
    pue: float
    context: dict
    record_path: Path | None
    _intensity: Intensity
    _started_at: str
    _t0: float
    _t_last: float
    _t_end: float | None
    _lock: threading.RLock
    _poll: Poller
    _acc: Accounts
    _log: RunLog
    _ranks: distributed.MergedRanks | None
    _dist: distributed.DistInfo | None
    _fault: Callable[..., None]

    def step_stats(self, window: str | None = None, warmup_steps: int | None = None) -> StepStats:
        """Per-step duration and power, mean ± std, for one window name (None: all steps).

        ``warmup_steps`` None uses the Tracker's. Under torch.distributed, after the run,
        power is that of the whole job (summed over ranks) for any ``warmup_steps``: each
        rank's statistics are gathered at the end in a form that any warm-up can be taken
        out of afterwards.
        """
        warm = self.warmup_steps if warmup_steps is None else warmup_steps
        check_count("warmup_steps", warm)
        if self._ranks is not None:
            merged = self._ranks.step_stats(window, warm, self._poll.provenance())
            if merged is not None:
                return merged
        with self._lock:
            return self._acc.step_stats(window, warm, self._poll.provenance())

    def window_stats(self, name: str, *, skip: int = 0) -> WindowStats:
        """Mean ± std of duration, energy and steps over the closed occurrences of a window.

        One observation per occurrence (``with t.window(name)`` once per batch gives
        per-batch statistics); the first ``skip`` occurrences (a warm-up) are left out.
        LpmError when the window never closed or nothing is left after ``skip``. Under
        torch.distributed, after the run, energy is that of the whole job (summed over
        ranks) and durations are the mean over ranks.
        """
        check_count("skip", skip)
        if self._ranks is not None:
            merged = self._ranks.window_stats(name, skip)
            if merged is not None:
                return merged
        with self._lock:
            return self._acc.window_stats(name, skip)

    def _build_summary(self, *, status: str) -> RunSummary:
        end = self._t_end if self._t_end is not None else self._t_last
        duration = max(end - self._t0, 0.0)
        devices = self._poll.devices
        fallback = self._poll.provenance()
        return self._make_summary(
            summaries.components(devices, duration),
            duration,
            self._acc.windows_summary({d.key: d.kind for d in devices}, fallback),
            self._acc.steps,
            self._acc.step_stats_dicts(self.warmup_steps, fallback),
            status,
        )

    def _make_summary(
        self,
        components: list[ComponentEnergy],
        duration: float,
        windows: dict,
        steps: int,
        step_stats: dict,
        status: str,
    ) -> RunSummary:
        return summaries.run_summary(
            run_id=self.run_id,
            components=components,
            duration_s=duration,
            windows=windows,
            steps=steps,
            step_stats=step_stats,
            complete=status == "finished",
            status=status,
            pue=self.pue,
            intensity=self._intensity,
            context=self.context,
            started_at=self._started_at,
            path=str(self.record_path) if self.record_path else None,
            faults=self._log.faults(),
        )

    def _gather(self, local: RunSummary) -> RunSummary:
        """Merge every rank's devices (once per device id) and windows (a collective)."""
        assert self._dist is not None
        try:
            everyone = distributed.gather(distributed.rank_payload(self._dist, local, self._acc))
        except Exception as exc:
            self._fault(f"gathering ranks failed ({exc}); this record holds rank-local totals")
            return local
        if not everyone:
            return local
        merged = self._ranks = distributed.merge_ranks(everyone, self._dist.rank)
        step_stats = {}
        for name in dict.fromkeys(n for g in merged.groups for n in g):
            with contextlib.suppress(LpmError):
                step_stats[name] = self.step_stats(None if name == ALL_STEPS else name).to_dict()
        self.context["distributed"]["ranks"] = merged.ranks
        self._log.extend(merged.faults)
        return self._make_summary(
            merged.components,
            merged.duration_s,
            merged.windows,
            local.steps,
            step_stats,
            local.status,
        )
