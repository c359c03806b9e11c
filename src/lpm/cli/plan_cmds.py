"""``lpm plan``: where and when to run a job, and what waiting saves (lpm.plan)."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, IntensityDatabase
from lpm.carbon.footprint import check_pue
from lpm.errors import LpmError
from lpm.plan import Job, Plan, from_epoch, plan_job, read_series_csv, to_epoch
from lpm.plan.timeparse import parse_duration, parse_time, parse_tz

SHOWN = 12


def _regions(region: list[str] | None, regions: str | None, db: IntensityDatabase) -> list[str]:
    names: list[str] = []
    for item in region or []:
        names += [r.strip() for r in item.split(",") if r.strip()]
    if regions is not None:
        if regions.strip().lower() == "all":
            names += [i.region for i in db.regions()]
        else:
            names += [r.strip() for r in regions.split(",") if r.strip()]
    codes = list(dict.fromkeys(db.resolve_region(n) for n in names))
    return codes or [db.resolve_region(DEFAULT_REGION)]


FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def _check_figure(path: Path) -> None:
    """--figure names an image file (PNG, PDF or SVG) in an existing folder."""
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise LpmError(
            f"--figure {str(path)!r} is not an image file name; end it in .png, .pdf or .svg."
        )
    if path.is_dir():
        raise LpmError(f"--figure {str(path)!r} is a folder; give a file name such as plan.png.")


def _job(
    kwh: float | None,
    kwh_std: float,
    hours: str | None,
    run: Path | None,
    study: Path | None,
    record: Path | None,
    iterations: int | None,
    samples: int | None,
) -> Job:
    from lpm.cli import plan_jobs

    given = [x is not None for x in (kwh, run, study, record)]
    if sum(given) != 1:
        raise LpmError(
            "say what to plan with one of --kwh (with --hours), --run, --study or --record."
        )
    if kwh is not None:
        if hours is None:
            raise LpmError("--kwh needs --hours (how long the job runs), e.g. --hours 8.")
        return Job(kwh, parse_duration(hours, what="--hours"), kwh_std, label=f"{kwh:g} kWh")
    if run is not None:
        return plan_jobs.job_from_run(run, iterations=iterations, samples=samples)
    if study is not None:
        return plan_jobs.job_from_study(study)
    assert record is not None
    return plan_jobs.job_from_record(record)


def _when(t: float, tz) -> str:
    return from_epoch(t).astimezone(tz).strftime("%a %d %b %H:%M")


def _show(console: Console, plan: Plan, tz) -> None:
    job = plan.job
    hours = job.duration_s / 3600
    console.print(
        f"[bold]{job.label}[/bold]: {job.energy_kwh:.4g} ± {job.energy_kwh_std:.2g} kWh over "
        f"{hours:.3g} h; window {_when(plan.earliest, tz)} to {_when(plan.deadline, tz)} "
        f"({tz}); PUE {plan.pue:g}"
    )
    table = Table(title="Options (best first)")
    for name in ("region", "start", "end", "parts", "g/kWh", "kg CO2e", "saving"):
        table.add_column(name, justify="left" if name in ("region", "start", "end") else "right")
    rows = [plan.baseline, *plan.options[:SHOWN]]
    for option in rows:
        kg, frac = plan.saving_of(option)
        table.add_row(
            option.region + (" (now)" if option.kind == "baseline" else ""),
            _when(option.placement.start, tz),
            _when(option.placement.end, tz),
            str(len(option.placement.slots)),
            f"{option.placement.intensity_g_per_kwh:.0f}",
            f"{option.co2e_kg:.3g} ± {option.co2e_kg_std:.2g}",
            "—" if option.kind == "baseline" else f"{kg:.3g} kg ({frac:.1%})",
        )
    console.print(table)
    if len(plan.options) > SHOWN:
        console.print(f"… and {len(plan.options) - SHOWN} more regions (--json lists all).")
    shown = {plan.baseline.region, plan.best.region}
    for note in plan.notes:
        if note.split(" ", 1)[0].rstrip(":") in shown:
            console.print(f"note: {note}")
    console.print(f"[bold]{plan.recommendation()}[/bold]")


def _backtest(path: Path, region: str, console: Console, as_json: bool) -> None:
    from lpm.plan.backtest import FORECASTS, backtest, lwa_ml_jobs

    series = read_series_csv(path, region=region)
    first = from_epoch(series.start)
    year = (first + timedelta(days=20)).year
    past = series.start + 29 * 86400  # the profile forecast needs four weeks of past
    jobs = [j for j in lwa_ml_jobs(year) if j.arrival >= past]
    results = [
        backtest(series, jobs, forecast=f, interruptible=i)
        for i in (False, True)
        for f in FORECASTS
    ]
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    table = Table(title=f"Backtest on {path.name}: Let's Wait Awhile's ML jobs ({len(jobs)})")
    for name in ("jobs", "forecast", "saving"):
        table.add_column(name)
    for r in results:
        table.add_row(
            "interruptible" if r.interruptible else "whole", r.forecast, f"{r.saving:.2%}"
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``lpm plan`` to the app."""

    @app.command("plan")
    def plan_cmd(
        kwh: Annotated[float | None, typer.Option(help="IT energy of the job (kWh).")] = None,
        kwh_std: Annotated[float, typer.Option(help="Its ± (kWh).")] = 0.0,
        hours: Annotated[str | None, typer.Option(help="Its duration: 8, 8h, 90min.")] = None,
        run: Annotated[
            Path | None, typer.Option(help="A train/sample run: its predicted full job.")
        ] = None,
        iterations: Annotated[
            int | None, typer.Option(help="Iterations of a --run training job (150 000).")
        ] = None,
        samples: Annotated[
            int | None, typer.Option(help="Samples of a --run sampling job (10 000).")
        ] = None,
        study: Annotated[Path | None, typer.Option(help="A study: its largest job.")] = None,
        record: Annotated[Path | None, typer.Option(help="An `lpm track` run record.")] = None,
        region: Annotated[
            list[str] | None, typer.Option(help="Region(s), repeat or comma-separate.")
        ] = None,
        regions: Annotated[
            str | None, typer.Option(help="'all' (every region with data) or a list.")
        ] = None,
        earliest: Annotated[
            str | None, typer.Option(help="Earliest start (ISO 8601; default now).")
        ] = None,
        deadline: Annotated[str | None, typer.Option(help="Latest end (ISO 8601).")] = None,
        within: Annotated[
            str | None, typer.Option(help="Or: the window length, e.g. 24h, 2d.")
        ] = None,
        interruptible: Annotated[
            bool, typer.Option(help="The job may pause at checkpoints.")
        ] = False,
        chunk: Annotated[str, typer.Option(help="Checkpoint interval (30min).")] = "30min",
        resume_kwh: Annotated[float, typer.Option(help="Energy to resume once (kWh).")] = 0.0,
        resume_time: Annotated[str | None, typer.Option(help="Time to resume once.")] = None,
        live: Annotated[
            bool, typer.Option(help="Live forecast (GB: ESO; others: Electricity Maps).")
        ] = False,
        intensity_csv: Annotated[
            Path | None, typer.Option(help="Your own series: timestamp,g_co2e_per_kwh.")
        ] = None,
        basis: Annotated[
            str, typer.Option(help="Basis of --intensity-csv: lifecycle or direct.")
        ] = "lifecycle",
        pue: Annotated[float, typer.Option(help="Power usage effectiveness.")] = DEFAULT_PUE,
        tz: Annotated[
            str | None, typer.Option(help="Time zone to show times in (default: local).")
        ] = None,
        figure: Annotated[
            Path | None, typer.Option(help="Write a PNG: intensity heat map, regions.")
        ] = None,
        backtest: Annotated[
            Path | None,
            typer.Option(help="Replay Let's Wait Awhile's ML jobs on this series CSV."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    ) -> None:
        """Where and when to run a job, and what waiting saves (carbon-aware planning)."""
        console = Console(stderr=True)
        if not console.is_terminal:
            console = Console(stderr=True, width=120)
        zone = parse_tz(tz)
        db = IntensityDatabase.default()
        if backtest is not None:
            names = _regions(region, regions, db) if (region or regions) else ["custom"]
            _backtest(backtest, names[0], console, as_json)
            return
        check_pue(pue)
        if figure is not None:
            _check_figure(figure)
        chunk_s = parse_duration(chunk, what="--chunk")  # checked even when unused
        resume_s = parse_duration(resume_time, what="--resume-time") if resume_time else 0.0
        if not (math.isfinite(resume_kwh) and resume_kwh >= 0):
            raise LpmError(f"--resume-kwh must be a finite energy >= 0, got {resume_kwh}.")
        job = _job(kwh, kwh_std, hours, run, study, record, iterations, samples)
        if interruptible:
            job = Job(
                job.energy_kwh,
                job.duration_s,
                job.energy_kwh_std,
                interruptible=True,
                chunk_s=chunk_s,
                resume_s=resume_s,
                resume_kwh=resume_kwh,
                label=job.label,
            )
        start = to_epoch(parse_time(earliest, zone))
        if deadline is not None and within is not None:
            raise LpmError("give --deadline or --within, not both.")
        if deadline is not None:
            end = to_epoch(parse_time(deadline, zone))
        else:
            end = start + parse_duration("24h" if within is None else within, what="--within")
        series = None
        names = _regions(region, regions, db)
        home = names[0] if region else db.resolve_region(DEFAULT_REGION)
        if home not in names:
            names.insert(0, home)
        if intensity_csv is not None and live:
            raise LpmError("give --intensity-csv or --live, not both.")
        if intensity_csv is not None:
            series = [read_series_csv(intensity_csv, region=names[0], basis=basis, tz=zone)]
        elif live:
            from lpm.plan.live import live_series

            series = [live_series(r, start, end, db=db) for r in names]
            end = min(end, *(s.end for s in series))
        result = plan_job(
            job, start, end, regions=names, series=series, pue=pue, db=db, baseline_region=home
        )
        if figure is not None:
            from lpm.report.plan_figure import write_plan_figure

            write_plan_figure(result, figure, db=db, tz=zone)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            _show(console, result, zone)
            if figure is not None:
                console.print(f"figure: {figure}")
