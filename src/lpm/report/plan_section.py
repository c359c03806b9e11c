"""The report's "When and where": the study's largest job placed by lpm.plan — its best
month, its best hours in that month, and its best region among the spec's — with the
savings against the study's own assumption (the base region's yearly intensity)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lpm.carbon import IntensityDatabase, equivalents
from lpm.errors import LpmError
from lpm.plan import Job, plan_job, table_series, to_epoch
from lpm.report.html import prov_mark


@dataclass(frozen=True)
class WhenWhere:
    """Where and when the largest job emits least (kg CO2e; the study's PUE)."""

    job: str
    energy_kwh: float
    duration_s: float
    region: str
    baseline_kg: float  # the base region's yearly intensity, as the study assumed
    baseline_source: str
    month: str | None  # "YYYY-MM" with the lowest monthly intensity
    month_kg: float | None
    hour_start_utc: int | None  # best start hour in that month's day profile
    hour_kg: float | None
    best_region: str
    region_kg: float
    regions_compared: int
    notes: tuple[str, ...] = ()
    provenance: str | None = None  # of the job's predicted energy

    def saving(self, kg: float | None) -> tuple[float, float] | None:
        if kg is None or self.baseline_kg <= 0:
            return None
        return self.baseline_kg - kg, 1 - kg / self.baseline_kg


def largest_prediction(records: Any) -> tuple[str, Any] | None:
    """The largest predicted phase of a study's records: its label and PredictionRecord
    (None when no record has a prediction). ``lpm plan --study`` plans the same job."""
    best: tuple[str, Any] | None = None
    for record in records:
        for part, what in ((record.train, "training"), (record.sample, "synthesis")):
            if part is None:
                continue
            p = part.prediction
            if best is None or p.energy_kwh_mean > best[1].energy_kwh_mean:
                best = (f"{record.scenario_id} {what} ({p.n:,})", p)
    return best


def _best_month(db: IntensityDatabase, region: str, basis: str) -> tuple[str, float] | None:
    for year in range(datetime.now(UTC).year, 2014, -1):
        try:
            months = db.months(region, year, basis=basis)
        except LpmError:
            continue
        best = min(months, key=lambda i: i.g_per_kwh)
        return f"{best.year:04d}-{best.month:02d}", best.g_per_kwh
    return None


def when_where(
    records: Any, region: str, regions: list[str], pue: float, db: IntensityDatabase | None = None
) -> WhenWhere | None:
    """Place the largest predicted job of `records` (None when the study has none)."""
    found = largest_prediction(records)
    if found is None:
        return None
    label, prediction = found
    energy, duration = prediction.energy_kwh_mean, prediction.duration_s_mean
    provenance = getattr(prediction, "provenance", None)
    db = db or IntensityDatabase.default()
    base = db.lookup(region)
    factor = energy * pue / 1000.0
    baseline = factor * base.g_per_kwh
    notes: list[str] = []
    month = _best_month(db, region, base.basis)
    hour = hour_kg = None
    if month is None:
        notes.append(
            f"{region} has no monthly or hourly values in the packaged tables, so only the "
            "region can change this job's CO2e here"
        )
    else:
        y, m = (int(v) for v in month[0].split("-"))
        start = to_epoch(datetime(y, m, 1, tzinfo=UTC))
        window = max(24 * 3600.0, duration) + 24 * 3600.0
        series = table_series(region, start, start + window + duration, db=db, basis=base.basis)
        if duration >= 24 * 3600:
            notes.append("the job lasts a day or more, so its start hour barely matters")
        elif len(set(series.values)) > 1:
            plan = plan_job(Job(energy, duration), start, start + window, series=[series], pue=pue)
            hour = datetime.fromtimestamp(plan.best.start, tz=UTC).hour
            hour_kg = plan.best.co2e_kg
        else:
            notes.append(f"{region} has no hour-of-day profile in the tables")
    candidates = list(dict.fromkeys([region, *regions]))
    intensities = db.lookup_many(candidates)
    best = min(intensities, key=lambda i: i.g_per_kwh)
    return WhenWhere(
        job=label,
        energy_kwh=energy,
        duration_s=duration,
        region=region,
        baseline_kg=baseline,
        baseline_source=f"{base.source} {base.year}",
        month=None if month is None else month[0],
        month_kg=None if month is None else factor * month[1],
        hour_start_utc=hour,
        hour_kg=hour_kg,
        best_region=best.region,
        region_kg=factor * best.g_per_kwh,
        regions_compared=len(candidates),
        notes=tuple(notes),
        provenance=None if provenance is None else str(getattr(provenance, "value", provenance)),
    )


def _row(what: str, how: str, kg: float | None, ww: WhenWhere) -> str:
    saving = ww.saving(kg)
    if kg is None or saving is None:
        return ""
    saved, frac = saving
    eq = equivalents(max(saved, 0.0))
    mark = prov_mark(ww.provenance) if ww.provenance else ""
    return (
        f"<tr><td>{html.escape(what)}</td><td>{html.escape(how)}</td><td>{kg:,.3g}{mark}</td>"
        f"<td>{saved:,.3g}{mark} ({frac:.0%})</td><td>{eq.car_km:,.0f} km by car; "
        f"{eq.annual_budget_share:.1%} of a 1.5 °C budget</td></tr>"
    )


def when_where_section(ww: WhenWhere | None) -> str:
    """The HTML section (empty when the study has no predicted job)."""
    if ww is None:
        return ""
    rows = [
        _row("as assumed", f"{ww.region}, yearly intensity ({ww.baseline_source})",
             ww.baseline_kg, ww),
        _row("best month", f"{ww.region} in {ww.month}", ww.month_kg, ww),
        _row(
            "best hours in that month",
            f"starting {ww.hour_start_utc:02d}:00 UTC" if ww.hour_start_utc is not None else "",
            ww.hour_kg,
            ww,
        ),
        _row("best region", f"{ww.best_region} (of {ww.regions_compared} in the spec)",
             ww.region_kg, ww),
    ]  # fmt: skip
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in ww.notes)
    return (
        "<h2 id='when-where'>When and where</h2>"
        f"<p>The study's largest job, {html.escape(ww.job)}: {ww.energy_kwh:,.3g} kWh over "
        f"{ww.duration_s / 3600:,.3g} h (predicted). Placed by <code>lpm.plan</code> on the "
        "packaged tables; months and hours are typical values of past years, which realise "
        "about half their promise in a backtest on real series (bench/RESULTS.md). Plan a "
        "specific run with <code>lpm plan --study DIR</code>.</p>"
        "<table><tr><th>option</th><th>how</th><th>kg CO2e</th><th>saving</th>"
        f"<th>that saving is about</th></tr>{''.join(rows)}</table>"
        + (f"<ul class='small'>{notes}</ul>" if notes else "")
    )


def study_when_where(analysis: Any) -> str:
    """The section for a study's Analysis (its records, base region, spec regions, PUE)."""
    from lpm.carbon import DEFAULT_PUE

    pue = analysis.pue_values[0] if analysis.pue_values else DEFAULT_PUE
    try:
        ww = when_where(
            analysis.results.ok(), analysis.base_region, list(analysis.spec.regions), pue
        )
    except LpmError as exc:  # a region the tables cannot place: say so, keep the report
        return f"<h2 id='when-where'>When and where</h2><p>{html.escape(str(exc))}</p>"
    return when_where_section(ww)
