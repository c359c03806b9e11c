"""The planner's two optimisers: the best start of a whole job, the best chunks of one that
may pause at checkpoints.

Whole job, exact: its emissions as a function of the start s are a sum of integrals of a
step function over windows that slide with s, so they are piecewise linear in s and their
minimum lies where s, or s plus a profile part's offset, meets a change of the series (or
at an end of the window). Every such candidate is evaluated exactly; ties go to the
earliest start.

Interruptible job: the window is cut into slots of one chunk each; the job needs
n = ⌈duration / chunk⌉ of them, each taking an equal share of the energy. Without a resume
cost the n cleanest slots are optimal (greedy). With one, a dynamic programme over
(slot, chunks done, running or not) charges each restart its resume energy (plus the
resume time at the job's power) at that slot's intensity, and is exact for that model.
"""

from __future__ import annotations

from dataclasses import dataclass

from lpm.errors import LpmError
from lpm.plan.job import Job
from lpm.plan.series import IntensitySeries


@dataclass(frozen=True)
class Placement:
    """Where a job runs: its slots (start, end) in epoch s and IT-energy-weighted g/kWh."""

    slots: tuple[tuple[float, float], ...]
    intensity_g_per_kwh: float  # energy-weighted mean intensity the job pays
    energy_kwh: float  # IT energy including resume costs

    @property
    def start(self) -> float:
        return self.slots[0][0]

    @property
    def end(self) -> float:
        return self.slots[-1][1]


def check_window(job: Job, earliest: float, deadline: float) -> None:
    """LpmError unless the window [earliest, deadline] can hold the job."""
    if deadline <= earliest:
        raise LpmError("the deadline is not after the earliest start; give a later deadline.")
    if deadline - earliest < job.duration_s - 1e-6:
        hours = (deadline - earliest) / 3600
        raise LpmError(
            f"the window ({hours:.2f} h) is shorter than the job ({job.duration_s / 3600:.2f} h); "
            "give a later deadline or a shorter job."
        )


def emissions_weight(job: Job, series: IntensitySeries, start: float) -> float:
    """Energy-weighted mean intensity (g/kWh) the whole job pays when it starts at `start`."""
    parts = job.parts()
    step = job.duration_s / len(parts)
    return sum(share * series.mean(start + off, start + off + step) for off, share in parts)


def run_at(job: Job, series: IntensitySeries, start: float) -> Placement:
    """The whole job started at `start` (the baseline "start now" is this at the window's start)."""
    return Placement(
        ((start, start + job.duration_s),), emissions_weight(job, series, start), job.energy_kwh
    )


def best_start(job: Job, series: IntensitySeries, earliest: float, deadline: float) -> Placement:
    """The exact lowest-emission start of a whole job inside [earliest, deadline]."""
    check_window(job, earliest, deadline)
    latest = deadline - job.duration_s
    if not series.covers(earliest, deadline):
        series.integral(earliest, deadline)  # raises the one-line message
    parts = job.parts()
    step = job.duration_s / len(parts)
    offsets = sorted({off for off, _ in parts} | {off + step for off, _ in parts})
    candidates = {earliest, latest}
    for off in offsets:
        for b in series.breakpoints(earliest + off, latest + off):
            candidates.add(b - off)
    best_s, best_w = earliest, float("inf")
    for s in sorted(c for c in candidates if earliest - 1e-9 <= c <= latest + 1e-9):
        s = min(max(s, earliest), latest)
        w = emissions_weight(job, series, s)
        if w < best_w - 1e-12:
            best_s, best_w = s, w
    return Placement(((best_s, best_s + job.duration_s),), best_w, job.energy_kwh)


def _merge(slots: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(slots):
        if merged and abs(merged[-1][1] - a) < 1e-6:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return tuple(merged)


def best_chunks(job: Job, series: IntensitySeries, earliest: float, deadline: float) -> Placement:
    """The lowest-emission set of chunk slots for an interruptible job (see module doc)."""
    check_window(job, earliest, deadline)
    n = job.chunks()
    count = int((deadline - earliest) // job.chunk_s + 1e-9)
    if count < n:
        raise LpmError(
            f"the window holds {count} chunk(s) of {job.chunk_s / 60:.0f} min but the job needs "
            f"{n}; give a later deadline or shorter chunks."
        )
    c = series.slot_means(earliest, job.chunk_s, count)
    share = job.energy_kwh / n
    restart_kwh = job.resume_kwh + job.power_kw * job.resume_s / 3600.0
    if restart_kwh == 0:
        chosen = sorted(sorted(range(count), key=lambda i: (c[i], i))[:n])
        energy = job.energy_kwh
        grams = share * sum(c[i] for i in chosen)
    else:
        chosen, grams, restarts = _dp(c, n, share, restart_kwh)
        energy = job.energy_kwh + restarts * restart_kwh
    slots = [(earliest + i * job.chunk_s, earliest + (i + 1) * job.chunk_s) for i in chosen]
    return Placement(_merge(slots), grams / energy, energy)


def _dp(c: list[float], n: int, share: float, restart_kwh: float) -> tuple[list[int], float, int]:
    """Exact choice of n slots with a cost per restart (a run after the first)."""
    inf = float("inf")
    # cost[j][r]: least g with j chunks done, r = 1 if the previous slot ran
    cost = [[inf, inf] for _ in range(n + 1)]
    cost[0][0] = 0.0
    back: list[list[list[tuple[int, int] | None]]] = []
    for ci in c:
        new = [[inf, inf] for _ in range(n + 1)]
        step: list[list[tuple[int, int] | None]] = [[None, None] for _ in range(n + 1)]
        for j in range(n + 1):
            for r in (0, 1):
                base = cost[j][r]
                if base == inf:
                    continue
                if base < new[j][0]:  # idle
                    new[j][0], step[j][0] = base, (j, r)
                if j < n:  # run this slot
                    extra = share * ci + (restart_kwh * ci if (r == 0 and j > 0) else 0.0)
                    if base + extra < new[j + 1][1]:
                        new[j + 1][1], step[j + 1][1] = base + extra, (j, r)
        cost = new
        back.append(step)
    r = 0 if cost[n][0] <= cost[n][1] else 1
    total = cost[n][r]
    chosen, restarts, j = [], 0, n
    for i in range(len(c) - 1, -1, -1):
        prev = back[i][j][r]
        assert prev is not None
        if r == 1:
            chosen.append(i)
            if prev[1] == 0 and prev[0] > 0:
                restarts += 1
        j, r = prev
    return sorted(chosen), total, restarts
