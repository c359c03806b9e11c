"""Carbon-aware planning: where and when to run a job, and what waiting saves.

Imports lpm.carbon only (no torch, no numpy). A job (energy ±, duration, profile,
interruptions) is placed on intensity series (packaged profiles, a user's CSV, a live
forecast) by exact optimisers; `backtest` replays decisions against real series.
"""

from lpm.plan.job import Job
from lpm.plan.optimize import Placement, best_chunks, best_start, run_at
from lpm.plan.planner import Plan, PlanOption, place, plan_job
from lpm.plan.profiles import table_series
from lpm.plan.series import (
    IntensitySeries,
    constant_series,
    from_epoch,
    read_series_csv,
    to_epoch,
)

__all__ = [
    "IntensitySeries",
    "Job",
    "Placement",
    "Plan",
    "PlanOption",
    "best_chunks",
    "best_start",
    "constant_series",
    "from_epoch",
    "place",
    "plan_job",
    "read_series_csv",
    "run_at",
    "table_series",
    "to_epoch",
]
