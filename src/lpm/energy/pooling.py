"""Step statistics of one run measured in several parts (a run resumed in a new process).

A training run killed and resumed from its checkpoint is measured by two Trackers: each
has its own warm-up and its own steps. :func:`pool_step_stats` gives the statistics of
all the steps together, as if one Tracker had measured them, so a prediction rests on
every measured step and its spread includes the difference between the parts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lpm.energy.results import StepStats
from lpm.provenance import Provenance

__all__ = ["pool_step_stats"]


def pool_step_stats(parts: Sequence[StepStats]) -> StepStats:
    """The statistics of every step of PARTS as one sample.

    Durations pool exactly (the mean over all steps, the sample std of all steps). Power
    is weighted by each part's stepping time (count × mean duration), its variance the
    mixture's: each part's spread plus the spread of the parts' means. Parts that
    measured no step are left out; ValueError when none measured one.
    """
    measured = [p for p in parts if p.count > 0]
    if not measured:
        raise ValueError("no part measured a step after its warm-up")
    n = sum(p.count for p in measured)
    d_mean = sum(p.count * p.duration_s_mean for p in measured) / n
    ss = sum(
        (p.count - 1) * p.duration_s_std**2 + p.count * (p.duration_s_mean - d_mean) ** 2
        for p in measured
    )
    weights = [p.count * p.duration_s_mean for p in measured]
    total = sum(weights)
    if total > 0:
        p_mean = sum(w * p.power_w_mean for w, p in zip(weights, measured, strict=True)) / total
        p_var = (
            sum(
                w * (p.power_w_std**2 + (p.power_w_mean - p_mean) ** 2)
                for w, p in zip(weights, measured, strict=True)
            )
            / total
        )
    else:  # steps of no duration: weigh the parts by their counts
        p_mean = sum(p.count * p.power_w_mean for p in measured) / n
        p_var = sum(p.count * (p.power_w_std**2 + (p.power_w_mean - p_mean) ** 2) for p in measured)
        p_var /= n
    return StepStats.from_parts(
        count=n,
        duration_s_mean=d_mean,
        duration_s_std=math.sqrt(ss / (n - 1)) if n > 1 else 0.0,
        power_w_mean=p_mean,
        power_w_std=math.sqrt(p_var),
        provenance=Provenance.combine(p.provenance for p in parts),
        window=measured[0].window,
        warmup_steps=sum(p.warmup_steps for p in parts),
        power_samples=sum(p.power_samples for p in measured),
    )
