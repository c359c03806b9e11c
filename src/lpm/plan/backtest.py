"""Honest planning: decisions made from a forecast, paid at the real intensity.

`backtest` replays a set of jobs on a real series on a slot grid (30 min by default): each
job is placed from a forecast known at its arrival, and pays what the real series says
for the slots it chose. Three forecasts: ``perfect`` (the real series itself: the upper
bound every published saving of this kind reports), ``profile`` (for each future slot,
the mean of the same time of day over the 28 days before the arrival: lpm's packaged
profiles are of this kind) and ``last_week`` (the same slot seven days earlier).

`lwa_ml_jobs` and `next_workday_deadline` rebuild the machine-learning scenario of
Wiesner et al., "Let's Wait Awhile" (Middleware '21), from its description and its
simulator's parameters: 3387 jobs on the workdays of the year, arriving between 9:00 and
16:30 in 30-minute steps, lasting 4 h to 89.5 h in 30-minute steps, due by the next
workday 9:00 when they would end outside 9:00-17:00 (else not shiftable). The draws here
are lpm's own (Python's random), so individual jobs differ from theirs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lpm.errors import LpmError
from lpm.plan.series import IntensitySeries, from_epoch, to_epoch

FORECASTS = ("perfect", "profile", "last_week")
PROFILE_DAYS = 28
SLOT_S = 1800.0


@dataclass(frozen=True)
class BacktestJob:
    """A job to replay: arrival and deadline (epoch s) and duration (s)."""

    arrival: float
    duration_s: float
    deadline: float


@dataclass(frozen=True)
class BacktestResult:
    """Emissions of the replayed jobs at 1 kW, in g (only ratios matter)."""

    region: str
    forecast: str
    interruptible: bool
    jobs: int
    skipped: int
    baseline_g: float
    planned_g: float

    @property
    def saving(self) -> float:
        """Fraction of the baseline's emissions saved."""
        return 1.0 - self.planned_g / self.baseline_g if self.baseline_g > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "region": self.region,
            "forecast": self.forecast,
            "interruptible": self.interruptible,
            "jobs": self.jobs,
            "skipped": self.skipped,
            "baseline_g": self.baseline_g,
            "planned_g": self.planned_g,
            "saving": self.saving,
        }


def next_workday_deadline(arrival: datetime, duration: timedelta) -> datetime:
    """The scenario's deadline: a job ending outside a workday's 9:00-17:00 may finish by
    the next day's 9:00 (Saturday: Monday's); one ending inside it may not move."""
    end = arrival + duration
    nine = end.replace(hour=9, minute=0, second=0, microsecond=0)
    clock = end.hour + end.minute / 60
    if end.weekday() == 5:
        return nine + timedelta(days=2)
    if end.weekday() == 6 or clock > 17:
        return nine + timedelta(days=1)
    if clock < 9:
        return nine
    return end


def lwa_ml_jobs(year: int = 2020, n: int = 3387, seed: int = 0) -> list[BacktestJob]:
    """The "Let's Wait Awhile" machine-learning scenario's jobs (see module doc), in UTC."""
    rng = random.Random(seed)
    day = datetime(year, 1, 1, tzinfo=UTC)
    workdays = []
    while day.year == year:
        if day.weekday() < 5:
            workdays.append(day)
        day += timedelta(days=1)
    jobs = []
    for _ in range(n):
        when = rng.choice(workdays) + timedelta(minutes=rng.randrange(9 * 60, 17 * 60, 30))
        duration = timedelta(minutes=rng.randrange(4 * 60, 90 * 60, 30))
        deadline = next_workday_deadline(when, duration)
        jobs.append(BacktestJob(to_epoch(when), duration.total_seconds(), to_epoch(deadline)))
    jobs.sort(key=lambda j: j.arrival)
    return jobs


class _Grid:
    """The real series' slot means, with prefix sums, and the forecasts made from it."""

    def __init__(self, series: IntensitySeries, slot_s: float) -> None:
        self.t0 = math.ceil(series.start / slot_s) * slot_s
        self.slot_s = slot_s
        count = int((series.end - self.t0) // slot_s)
        self.real = series.slot_means(self.t0, slot_s, count)
        self.per_day = round(86400 / slot_s)
        self.cum = [0.0]
        for v in self.real:
            self.cum.append(self.cum[-1] + v)

    def index(self, t: float) -> int:
        return round((t - self.t0) / self.slot_s)

    def forecast(self, kind: str, k0: int, k1: int) -> list[float] | None:
        """Forecast of slots [k0, k1) made at slot k0; None where its past is missing."""
        if kind == "perfect":
            return self.real[k0:k1]
        week = 7 * self.per_day
        if kind == "last_week":
            return None if k0 - week < 0 else [self.real[k - week] for k in range(k0, k1)]
        out = []
        for k in range(k0, k1):
            first = math.ceil((k - k0 + 1) / self.per_day)  # whole days back into the past
            past = [k - d * self.per_day for d in range(first, first + PROFILE_DAYS)]
            if past[-1] < 0:
                return None
            out.append(sum(self.real[p] for p in past) / PROFILE_DAYS)
        return out


def _choose(values: list[float], n: int, interruptible: bool) -> list[int]:
    """Slots (offsets into `values`) a job of n slots runs in, lowest forecast first."""
    if interruptible:
        return sorted(sorted(range(len(values)), key=lambda i: (values[i], i))[:n])
    window = sum(values[:n])
    best, best_i = window, 0
    for i in range(1, len(values) - n + 1):
        window += values[i + n - 1] - values[i - 1]
        if window < best - 1e-9:
            best, best_i = window, i
    return list(range(best_i, best_i + n))


def backtest(
    series: IntensitySeries,
    jobs: list[BacktestJob],
    *,
    forecast: str = "perfect",
    interruptible: bool = False,
    slot_s: float = SLOT_S,
) -> BacktestResult:
    """Replay `jobs` on `series` with decisions from `forecast` (see module doc)."""
    if forecast not in FORECASTS:
        raise LpmError(f"unknown forecast {forecast!r}; use one of {', '.join(FORECASTS)}.")
    grid = _Grid(series, slot_s)
    baseline = planned = 0.0
    done = skipped = 0
    for job in jobs:
        n = max(1, math.ceil(job.duration_s / slot_s - 1e-9))
        k0, kd = grid.index(job.arrival), grid.index(job.deadline)
        kd = max(kd, k0 + n)
        if k0 < 0 or kd > len(grid.real):
            skipped += 1
            continue
        guess = grid.forecast(forecast, k0, kd)
        if guess is None:
            skipped += 1
            continue
        chosen = _choose(guess, n, interruptible)
        baseline += grid.cum[k0 + n] - grid.cum[k0]
        planned += sum(grid.real[k0 + i] for i in chosen)
        done += 1
    if done == 0:
        first, last = from_epoch(series.start), from_epoch(series.end)
        raise LpmError(
            f"no job of the backtest falls inside the series ({first:%Y-%m-%d} to "
            f"{last:%Y-%m-%d}) with enough past for the {forecast!r} forecast; give a longer "
            "series or another year."
        )
    scale = slot_s / 3600.0  # 1 kW for one slot = slot hours kWh
    return BacktestResult(
        series.region, forecast, interruptible, done, skipped, baseline * scale, planned * scale
    )
