"""Plan a job: the best time in each candidate region, against the baseline "start now".

Emissions follow Eq. 1: IT energy × PUE × intensity. The ± of an option comes from the
job's energy ± (lpm's prediction); the intensity of a forecast has its own error, which
``lpm.plan.backtest`` measures rather than guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lpm.carbon import DEFAULT_PUE, IntensityDatabase, equivalents
from lpm.errors import LpmError
from lpm.plan.job import Job
from lpm.plan.optimize import Placement, best_chunks, best_start, check_window, run_at
from lpm.plan.profiles import table_series
from lpm.plan.series import IntensitySeries, from_epoch


def _iso(t: float) -> str:
    return from_epoch(t).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PlanOption:
    """One way to run the job: where, when (its slots), what it emits."""

    region: str
    placement: Placement
    co2e_kg: float
    co2e_kg_std: float
    basis: str
    source: str
    kind: str  # "best" | "baseline"
    notes: tuple[str, ...] = ()

    @property
    def start(self) -> float:
        return self.placement.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "kind": self.kind,
            "start_utc": _iso(self.placement.start),
            "end_utc": _iso(self.placement.end),
            "slots_utc": [[_iso(a), _iso(b)] for a, b in self.placement.slots],
            "intensity_g_per_kwh": self.placement.intensity_g_per_kwh,
            "it_energy_kwh": self.placement.energy_kwh,
            "co2e_kg": self.co2e_kg,
            "co2e_kg_std": self.co2e_kg_std,
            "basis": self.basis,
            "source": self.source,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Plan:
    """The options for one job, best first, and the baseline they are measured against."""

    job: Job
    earliest: float
    deadline: float
    pue: float
    baseline: PlanOption
    options: tuple[PlanOption, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def best(self) -> PlanOption:
        return self.options[0]

    @property
    def saving_kg(self) -> float:
        return self.baseline.co2e_kg - self.best.co2e_kg

    @property
    def saving_fraction(self) -> float:
        return self.saving_kg / self.baseline.co2e_kg if self.baseline.co2e_kg > 0 else 0.0

    def saving_of(self, option: PlanOption) -> tuple[float, float]:
        """(kg, fraction) saved by `option` against the baseline."""
        kg = self.baseline.co2e_kg - option.co2e_kg
        return kg, (kg / self.baseline.co2e_kg if self.baseline.co2e_kg > 0 else 0.0)

    def recommendation(self) -> str:
        """One line for people (times in UTC; the CLI shows local time)."""
        best = self.best
        kg, frac = self.saving_of(best)
        where = f" in {best.region}" if best.region != self.baseline.region else ""
        if kg <= 1e-12:
            return (
                f"Start now{where}: no start in the window emits less "
                f"({self.baseline.co2e_kg:.3g} kg CO2e)."
            )
        chunks = len(best.placement.slots)
        how = f"in {chunks} parts from" if chunks > 1 else "at"
        return (
            f"Run{where} {how} {_iso(best.start)}: {best.co2e_kg:.3g} ± {best.co2e_kg_std:.2g} kg "
            f"CO2e, {kg:.3g} kg ({frac:.1%}) less than starting now in {self.baseline.region} "
            f"(about {equivalents(kg).car_km:.3g} km by car)."
        )

    def to_dict(self) -> dict[str, Any]:
        kg, frac = self.saving_kg, self.saving_fraction
        return {
            "job": {
                "label": self.job.label,
                "it_energy_kwh": self.job.energy_kwh,
                "it_energy_kwh_std": self.job.energy_kwh_std,
                "duration_s": self.job.duration_s,
                "interruptible": self.job.interruptible,
                "chunk_s": self.job.chunk_s if self.job.interruptible else None,
            },
            "earliest_utc": _iso(self.earliest),
            "deadline_utc": _iso(self.deadline),
            "pue": self.pue,
            "baseline": self.baseline.to_dict(),
            "options": [
                {**o.to_dict(), "saving_kg": self.saving_of(o)[0], "saving": self.saving_of(o)[1]}
                for o in self.options
            ],
            "saving_kg": kg,
            "saving": frac,
            "recommendation": self.recommendation(),
            "notes": list(self.notes),
        }


def _option(
    job: Job, series: IntensitySeries, placement: Placement, pue: float, kind: str
) -> PlanOption:
    co2e = placement.energy_kwh * pue * placement.intensity_g_per_kwh / 1000.0
    std = co2e * job.energy_kwh_std / job.energy_kwh
    return PlanOption(
        series.region, placement, co2e, std, series.basis, series.source, kind, series.notes
    )


def place(job: Job, series: IntensitySeries, earliest: float, deadline: float) -> Placement:
    """The best placement of `job` in [earliest, deadline] on `series`."""
    if job.interruptible:
        return best_chunks(job, series, earliest, deadline)
    return best_start(job, series, earliest, deadline)


def plan_job(
    job: Job,
    earliest: float,
    deadline: float,
    *,
    regions: list[str] | None = None,
    series: list[IntensitySeries] | None = None,
    baseline_region: str | None = None,
    baseline_start: float | None = None,
    pue: float = DEFAULT_PUE,
    db: IntensityDatabase | None = None,
) -> Plan:
    """Best option per region (from `series`, else the packaged tables), sorted by CO2e.

    The baseline is the whole job started at `baseline_start` (default: `earliest`, "now")
    in `baseline_region` (default: the first region). Regions are compared on one basis.
    """
    check_window(job, earliest, deadline)
    if not series:
        if not regions:
            raise LpmError("give at least one region (--region) or an intensity series.")
        db = db or IntensityDatabase.default()
        basis = db.lookup_many(regions)[0].basis
        series = [table_series(r, earliest, deadline, db=db, basis=basis) for r in regions]
    bases = {s.basis for s in series}
    if len(bases) > 1:
        raise LpmError(
            f"the series mix bases ({', '.join(sorted(bases))}); compare series of one basis."
        )
    options = [_option(job, s, place(job, s, earliest, deadline), pue, "best") for s in series]
    options.sort(key=lambda o: (o.co2e_kg, o.start))
    base_series = series[0]
    if baseline_region is not None:
        base_series = next((s for s in series if s.region == baseline_region), series[0])
    start = earliest if baseline_start is None else baseline_start
    if not earliest <= start <= deadline - job.duration_s + 1e-6:
        raise LpmError("the baseline start must leave the whole job inside the window.")
    baseline = _option(job, base_series, run_at(job, base_series, start), pue, "baseline")
    notes = tuple(dict.fromkeys(n for s in series for n in s.notes))
    return Plan(job, earliest, deadline, pue, baseline, tuple(options), notes)
