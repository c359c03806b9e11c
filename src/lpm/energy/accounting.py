"""Accounting of windows and step groups: what a run's energy and steps add up to.

No meters, no threads, no locks (the Tracker's lock guards an :class:`Accounts`): segments
of energy come in per device, steps come in as marks, and out come step statistics,
window statistics and the summary's window entries. The record reader rebuilds an
interrupted run's windows with the same :class:`WindowAgg`, and the distributed merge
sends :meth:`StepGroup.to_payload` / :meth:`WindowAgg.to_payload` between ranks.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from lpm.energy._stats import RunningStats
from lpm.energy.results import StepStats, WindowStats
from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.units import J_PER_KWH

ALL_STEPS = "*"  # step statistics over every step of the run
EARLY_KEEP = 1024  # per window name: first step durations kept so warm-up can change later
MIN_SEGMENT_S = 1e-3  # shorter segments give no power sample


def merge_provenance(into: dict[str, Provenance], key: str, prov: Provenance) -> None:
    """Per device: ESTIMATED once any of its energy in this span was estimated."""
    old = into.get(key)
    if old is None or old is prov:
        into[key] = prov
    else:
        into[key] = Provenance.ESTIMATED if Provenance.ESTIMATED in (old, prov) else old


def rs_dict(rs: RunningStats) -> dict:
    """A :class:`RunningStats` as plain types (``RunningStats(**d)`` inverts it)."""
    return {
        "count": rs.count,
        "weight": rs.weight,
        "_shift": rs._shift,
        "_sum": rs._sum,
        "_sum_sq": rs._sum_sq,
    }


def window_provenance(
    by_device: dict[str, Provenance], kinds: dict[str, str], fallback: Provenance
) -> dict:
    """The provenance keys of a window in a summary: overall, per kind, per device."""
    per_kind: dict[str, list[Provenance]] = {}
    for k, prov in by_device.items():
        per_kind.setdefault(kinds.get(k, "other"), []).append(prov)
    total = Provenance.combine(by_device.values()) if by_device else fallback
    return {
        "provenance": total.value,
        "provenance_by_kind": {k: Provenance.combine(v).value for k, v in per_kind.items()},
        "provenance_by_device": {k: v.value for k, v in by_device.items()},
        "estimated": total.is_estimated,
    }


@dataclass
class StepGroup:
    """Step and power statistics of one window name (or of all steps)."""

    steps: int = 0
    steps_at_last_sample: int = 0
    durations: RunningStats = field(default_factory=RunningStats)
    early_durations: list[float] = field(default_factory=list)
    power: RunningStats = field(default_factory=RunningStats)
    # power of the segments that started after step s (s < EARLY_KEEP), summed per s
    early_power: dict[int, RunningStats] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)  # per device

    def add_step(self, duration_s: float) -> None:
        self.steps += 1
        self.durations.add(duration_s)
        if len(self.early_durations) < EARLY_KEEP:
            self.early_durations.append(duration_s)

    def add_segment(self, power_w: float, dt: float, provenance: dict[str, Provenance]) -> None:
        start_steps = self.steps_at_last_sample
        self.power.add(power_w, dt)
        if start_steps < EARLY_KEEP:
            early = self.early_power.get(start_steps)
            if early is None:
                early = self.early_power[start_steps] = self.power.like()
            early.add(power_w, dt)
        for k, prov in provenance.items():
            merge_provenance(self.provenance, k, prov)

    def to_payload(self) -> dict:
        """Everything :meth:`stats` needs, as plain types (sent between ranks)."""
        return {
            "steps": self.steps,
            "durations": rs_dict(self.durations),
            "early_durations": list(self.early_durations),
            "power": rs_dict(self.power),
            "early_power": [[k, rs_dict(v)] for k, v in self.early_power.items()],
            "provenance": {k: v.value for k, v in self.provenance.items()},
        }

    @classmethod
    def from_payload(cls, d: dict) -> StepGroup:
        """Inverse of :meth:`to_payload`."""
        return cls(
            steps=int(d["steps"]),
            durations=RunningStats(**d["durations"]),
            early_durations=[float(x) for x in d["early_durations"]],
            power=RunningStats(**d["power"]),
            early_power={int(k): RunningStats(**v) for k, v in d["early_power"]},
            provenance={k: Provenance.parse(v) for k, v in d["provenance"].items()},
        )

    def stats(
        self, warmup: int, window: str | None, fallback: Provenance = Provenance.ESTIMATED
    ) -> StepStats:
        if warmup > EARLY_KEEP and self.steps > EARLY_KEEP:
            raise LpmError(f"warm-up can be changed afterwards only up to {EARLY_KEEP} steps")
        durations = self.durations.copy()
        for d in self.early_durations[:warmup]:
            durations.remove(d)
        power = self.power.copy()
        for start, early in self.early_power.items():
            if start < warmup:
                power.subtract(early)
        if power.count == 0:
            power = self.power  # windows too short to have a segment after the warm-up
        return StepStats.from_parts(
            count=durations.count,
            duration_s_mean=durations.mean,
            duration_s_std=durations.std,
            power_w_mean=power.mean,
            power_w_std=power.std,
            provenance=Provenance.combine(self.provenance.values())
            if self.provenance
            else fallback,
            window=window,
            warmup_steps=warmup,
            power_samples=power.count,
        )


@dataclass
class OpenWindow:
    """One occurrence of a window while it is open."""

    name: str
    index: int
    t_start: float
    started_at: str
    last_mark: float
    steps: int = 0
    energy: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)


@dataclass
class WindowAgg:
    """Every closed occurrence of one window name: totals and per-occurrence statistics."""

    count: int = 0
    duration_s: float = 0.0
    steps: int = 0
    energy: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    # one observation per closed occurrence, for window_stats()
    occ_duration: RunningStats = field(default_factory=RunningStats)
    occ_energy: RunningStats = field(default_factory=RunningStats)
    occ_steps: RunningStats = field(default_factory=RunningStats)
    early: list[tuple[float, float, int, str]] = field(default_factory=list)
    late_provenance: set[Provenance] = field(default_factory=set)

    def add_closed(
        self,
        duration_s: float,
        steps: int,
        energy: dict[str, float],
        provenance: dict[str, Provenance],
    ) -> None:
        """Add one closed occurrence to the totals (energy and provenance per device)."""
        self.count += 1
        self.duration_s += duration_s
        self.steps += steps
        for k, e in energy.items():
            self.energy[k] = self.energy.get(k, 0.0) + e
        for k, prov in provenance.items():
            merge_provenance(self.provenance, k, prov)

    def add_occurrence(
        self, duration_s: float, energy_j: float, steps: int, provenance: Provenance
    ) -> None:
        """Add one closed occurrence to the per-occurrence statistics."""
        self.occ_duration.add(duration_s)
        self.occ_energy.add(energy_j)
        self.occ_steps.add(float(steps))
        if len(self.early) < EARLY_KEEP:
            self.early.append((duration_s, energy_j, steps, provenance.value))
        else:
            self.late_provenance.add(provenance)

    def summary(self, kinds: dict[str, str], fallback: Provenance) -> dict:
        """The window's entry in a run summary (``kinds``: device key -> kind)."""
        by_kind: dict[str, float] = {}
        for k, e in self.energy.items():
            by_kind[kinds.get(k, "other")] = by_kind.get(kinds.get(k, "other"), 0.0) + e
        total = sum(self.energy.values())
        return {
            "count": self.count,
            "duration_s": self.duration_s,
            "steps": self.steps,
            "energy_j": total,
            "energy_kwh": total / J_PER_KWH,
            "mean_power_w": total / self.duration_s if self.duration_s > 0 else 0.0,
            "by_kind_j": by_kind,
            "energy_by_device_j": dict(self.energy),
            **window_provenance(self.provenance, kinds, fallback),
        }

    def to_payload(self) -> dict:
        """Everything :meth:`stats` needs, as plain types (sent between ranks)."""
        return {
            "count": self.count,
            "occ_duration": rs_dict(self.occ_duration),
            "occ_energy": rs_dict(self.occ_energy),
            "occ_steps": rs_dict(self.occ_steps),
            "early": [list(e) for e in self.early],
            "late_provenance": [p.value for p in self.late_provenance],
        }

    @classmethod
    def from_payload(cls, d: dict) -> WindowAgg:
        """Inverse of :meth:`to_payload` (the parts :meth:`stats` reads)."""
        return cls(
            count=int(d["count"]),
            occ_duration=RunningStats(**d["occ_duration"]),
            occ_energy=RunningStats(**d["occ_energy"]),
            occ_steps=RunningStats(**d["occ_steps"]),
            early=[(float(a), float(b), int(c), str(p)) for a, b, c, p in d["early"]],
            late_provenance={Provenance.parse(p) for p in d["late_provenance"]},
        )

    def stats(self, name: str, skip: int) -> WindowStats:
        if skip > EARLY_KEEP and self.count > EARLY_KEEP:
            raise LpmError(f"window_stats can skip at most {EARLY_KEEP} occurrences")
        if skip >= self.count:
            raise LpmError(
                f"window {name!r} closed {self.count} time(s): nothing is left after skipping "
                f"{skip}; measure more occurrences or skip fewer"
            )
        duration, energy, steps = (
            self.occ_duration.copy(),
            self.occ_energy.copy(),
            self.occ_steps.copy(),
        )
        for d, e, n, _ in self.early[:skip]:
            duration.remove(d)
            energy.remove(e)
            steps.remove(float(n))
        provs = {Provenance.parse(p) for *_, p in self.early[skip:]} | self.late_provenance
        return WindowStats(
            name=name,
            count=duration.count,
            duration_s_mean=duration.mean,
            duration_s_std=duration.std,
            energy_j_mean=energy.mean,
            energy_j_std=energy.std,
            steps_mean=steps.mean,
            provenance=Provenance.combine(provs),
            skip=skip,
        )


class Accounts:
    """The windows, step marks and step groups of one run, fed segment by segment.

    Not thread-safe on its own: the Tracker calls it under its state lock.
    """

    def __init__(self) -> None:
        self.all = StepGroup()
        self.groups: dict[str, StepGroup] = {ALL_STEPS: self.all}
        self.windows: dict[str, WindowAgg] = {}
        self.open: list[OpenWindow] = []
        self.active: list[StepGroup] = [self.all]  # groups of the open windows, and of all
        self.steps = 0
        self.last_mark = 0.0

    def _refresh_active(self) -> None:
        names = dict.fromkeys(w.name for w in self.open)
        self.active = [self.groups.setdefault(n, StepGroup()) for n in names] + [self.all]

    def open_window(self, name: str, t: float, started_at: str) -> None:
        """Open one occurrence of ``name`` at ``t`` (the edge reading's time)."""
        agg = self.windows.setdefault(name, WindowAgg())
        index = agg.count + sum(1 for w in self.open if w.name == name)
        self.open.append(OpenWindow(name, index, t, started_at, t))
        self._refresh_active()
        group = self.groups.setdefault(name, StepGroup())
        group.steps_at_last_sample = group.steps

    def is_open(self, name: str) -> bool:
        return any(w.name == name for w in self.open)

    def close_window(
        self, name: str, t: float, fallback: Provenance
    ) -> tuple[OpenWindow, float, Provenance] | None:
        """Close the latest open ``name``: it, its duration and provenance (None: not open)."""
        idx = next(
            (i for i in range(len(self.open) - 1, -1, -1) if self.open[i].name == name), None
        )
        if idx is None:  # closed meanwhile by another thread
            return None
        w = self.open.pop(idx)
        self._refresh_active()
        duration = t - w.t_start
        agg = self.windows.setdefault(name, WindowAgg())
        agg.add_closed(duration, w.steps, w.energy, w.provenance)
        prov = Provenance.combine(w.provenance.values()) if w.provenance else fallback
        agg.add_occurrence(duration, sum(w.energy.values()), w.steps, prov)
        return w, duration, prov

    def step(self, now: float) -> None:
        """One step mark at ``now``: its duration goes to every active group."""
        inner = self.open[-1] if self.open else None
        ref = inner.last_mark if inner is not None else self.last_mark
        d = now - ref if now > ref else 0.0
        for g in self.active:
            g.add_step(d)
        for w in self.open:
            w.steps += 1
        if inner is not None:
            inner.last_mark = now
        self.last_mark = now
        self.steps += 1

    def add_segment(
        self, deltas: dict[str, float], provenance: dict[str, Provenance], dt: float
    ) -> None:
        """One segment's energy per device to the open windows, its power to the groups."""
        for w in self.open:
            for k, d in deltas.items():
                w.energy[k] = w.energy.get(k, 0.0) + d
                merge_provenance(w.provenance, k, provenance[k])
        if dt >= MIN_SEGMENT_S and deltas:
            power = sum(deltas.values()) / dt
            for g in self.active:
                g.add_segment(power, dt, provenance)
        for g in self.active:
            g.steps_at_last_sample = g.steps

    def step_stats(self, window: str | None, warmup: int, fallback: Provenance) -> StepStats:
        """Step statistics of one window name (None: all steps); LpmError without steps."""
        name = ALL_STEPS if window is None else window
        group = self.groups.get(name)
        if group is None or group.steps == 0:
            known = sorted(n for n, g in self.groups.items() if g.steps and n != ALL_STEPS)
            raise LpmError(
                f"no steps were marked in window {window!r}; call t.step() inside "
                f"`with t.window({window!r})` (windows with steps: {known or 'none'})"
            )
        return group.stats(warmup, window, fallback)

    def window_stats(self, name: str, skip: int) -> WindowStats:
        """Statistics over the closed occurrences of ``name``; LpmError if it never closed."""
        agg = self.windows.get(name)
        if agg is None or agg.count == 0:
            closed = sorted(n for n, a in self.windows.items() if a.count)
            raise LpmError(
                f"window {name!r} never closed; wrap the code in `with t.window({name!r}):` "
                f"(closed windows: {', '.join(closed) or 'none'})"
            )
        return agg.stats(name, skip)

    def step_stats_dicts(self, warmup: int, fallback: Provenance) -> dict[str, dict]:
        """Every group's step statistics as the summary stores them."""
        out = {}
        for name, g in self.groups.items():
            if g.steps:
                with contextlib.suppress(LpmError):
                    window = None if name == ALL_STEPS else name
                    out[name] = g.stats(warmup, window, fallback).to_dict()
        return out

    def windows_summary(self, kinds: dict[str, str], fallback: Provenance) -> dict[str, dict]:
        """The summary's ``windows``: one entry per window name that closed."""
        return {n: a.summary(kinds, fallback) for n, a in self.windows.items() if a.count}

    def payload(self) -> dict:
        """What another rank needs to merge step and window statistics."""
        return {
            "groups": {n: g.to_payload() for n, g in self.groups.items() if g.steps},
            "window_aggs": {n: a.to_payload() for n, a in self.windows.items() if a.count},
        }
