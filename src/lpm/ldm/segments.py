"""A training run measured in segments: one per process that ran a part of it.

A run killed (Ctrl-C, ``scancel``, a preemption) resumes from its last checkpoint in a
new process, with a new Tracker. So that its energy per iteration rests on every step it
measured, each checkpoint holds the segments before it: for each, the iterations it ran
up to that checkpoint and its step statistics over them (its own warm-up left out). The
iterations a killed process ran after its last checkpoint are run again and counted
once, in the segment that ran them again. A resumed run pools the earlier segments'
statistics with its own (:func:`lpm.energy.pool_step_stats`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lpm.energy import StepStats, pool_step_stats
from lpm.energy.distributed import gather, merge_stats

KEY = "segments"
"""Where a checkpoint holds its segments."""

__all__ = ["KEY", "at_checkpoint", "described", "earlier", "pool_measured", "pooled"]


def _local_stats(tracker: Any) -> dict[str, Any] | None:
    """This rank's "train" statistics so far; None when there are none (no step after the
    warm-up yet) or they cannot be had: measuring never stops the training."""
    try:
        return tracker.step_stats(window="train").to_dict()
    except Exception:
        return None


def at_checkpoint(tracker: Any, start: int, end: int, *, distributed: bool) -> dict[str, Any]:
    """This process's segment: iterations START..END and its "train" step statistics.

    Under torch.distributed (DISTRIBUTED) a collective: every rank calls it at the same
    checkpoint, and the statistics are the job's (power summed over the ranks).
    """
    local = _local_stats(tracker)
    stats = local
    if distributed:
        everyone = gather(local) or [local]
        stats = (
            None
            if any(s is None for s in everyone)
            else merge_stats([StepStats.from_dict(s) for s in everyone]).to_dict()
        )
    return {"start": int(start), "end": int(end), "step_stats": stats}


def earlier(state: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The segments a checkpoint holds (none in a new run or an older checkpoint)."""
    if not state:
        return []
    found = state.get(KEY) or []
    return [dict(s) for s in found if isinstance(s, Mapping)]


def pooled(
    earlier_segments: Sequence[Mapping[str, Any]], own: StepStats | None
) -> StepStats | None:
    """The run's step statistics: the earlier segments' pooled with OWN (None: not measured).

    Without earlier segments, OWN as it is. None when no segment measured a step.
    """
    parts = [
        StepStats.from_dict(dict(s["step_stats"])) for s in earlier_segments if s.get("step_stats")
    ]
    if not parts:
        return own
    if own is not None:
        parts.append(own)
    try:
        return pool_step_stats(parts)
    except ValueError:
        return None


def described(
    earlier_segments: Sequence[Mapping[str, Any]], start: int, end: int, own: StepStats | None
) -> list[dict[str, Any]]:
    """Every segment of the run, this process's last: iterations and steps measured."""
    rows = [
        {
            "start": int(s["start"]),
            "end": int(s["end"]),
            "measured_steps": int((s.get("step_stats") or {}).get("count", 0)),
        }
        for s in earlier_segments
    ]
    rows.append({"start": start, "end": end, "measured_steps": own.count if own else 0})
    return rows


def pool_measured(
    measured: dict[str, Any], earlier_segments: Sequence[Mapping[str, Any]], *, start: int, end: int
) -> list[dict[str, Any]]:
    """Put the run's pooled step statistics into MEASURED (a result's energy fields).

    MEASURED is :func:`lpm.ldm.tracking.training_measurements`'s dict of this process;
    its ``step_stats`` becomes that of every segment. Returns :func:`described`'s rows
    (the result's ``extra["segments"]``).
    """
    own = measured.get("step_stats")
    if earlier_segments:
        measured["step_stats"] = pooled(earlier_segments, own)
    return described(earlier_segments, start, end, own)
