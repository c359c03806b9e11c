"""CLI commands of lpm.carbon: ``lpm co2`` and ``lpm regions``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, Footprint, IntensityDatabase, footprint
from lpm.carbon.equivalents import BUDGETS, DEFAULT_BUDGET, DEFAULT_FLIGHT_CLASS, FLIGHT_CLASSES
from lpm.carbon.footprint import check_energy_kwh, check_pue
from lpm.carbon.intensity import MONTHLY_SOURCE
from lpm.errors import LpmError


def _print_json(obj: object) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def _print_footprints(
    fps: list[Footprint],
    as_json: bool,
    show: Callable[[Console, list[Footprint]], None],
    console: Console,
) -> None:
    """Several footprints: a JSON list, or the table that `show` prints."""
    if as_json:
        _print_json([fp.to_dict() for fp in fps])
    else:
        show(console, fps)


def _kg(value: float, like: float | None = None) -> str:
    """Format kg with 3 decimals below 10 kg, else 1 (``like`` picks by another value)."""
    ref = value if like is None else like
    return f"{value:,.3f}" if ref < 10 else f"{value:,.1f}"


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when output is piped."""
    console = Console()
    return console if console.is_terminal else Console(width=120)


def _ratio_text(values: list[float]) -> str:
    low, high = min(values), max(values)
    if low <= 0:
        return "n/a (the smallest value is 0)"
    return f"{high / low:,.1f}×"


def _show_one(console: Console, fp: Footprint) -> None:
    i = fp.intensity
    table = Table(title="CO2e by Eq. 1 (E × PUE × CI)", show_header=False)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    std = f" ± {fp.it_energy_kwh_std:,.4g}" if fp.it_energy_kwh_std else ""
    table.add_row("IT energy", f"{fp.it_energy_kwh:,.4g}{std} kWh")
    table.add_row("PUE", f"{fp.pue:g}")
    table.add_row("facility energy", f"{fp.facility_energy_kwh:,.4g} kWh")
    table.add_row("carbon intensity", f"{i.g_per_kwh:g} g/kWh")
    table.add_row("intensity from", f"{i.region} {i.period}, {i.source}, {i.basis}")
    co2_std = f" ± {_kg(fp.co2e_kg_std, like=fp.co2e_kg)}" if fp.co2e_kg_std else ""
    table.add_row("CO2e", f"{_kg(fp.co2e_kg)}{co2_std} kg")
    e = fp.equivalents
    table.add_row("car (108.2 g/km)", f"{e.car_km:,.0f} km")
    table.add_row("smartphone charges", f"{e.smartphone_charges:,.0f}")
    table.add_row(f"flight ({e.flight_class})", f"{e.flight_km:,.0f} km")
    table.add_row("tree seedlings, 10 years", f"{e.tree_seedlings_10y:,.1f}")
    table.add_row(
        f"annual 1.5 °C budget ({e.annual_budget_kg:,.0f} kg)",
        f"{100 * e.annual_budget_share:.1f} %",
    )
    console.print(table)
    console.print(fp.equivalents.sentence())


def _show_regions(console: Console, fps: list[Footprint]) -> None:
    console.print(f"The same {fps[0].it_energy_kwh:,.4g} kWh (PUE {fps[0].pue:g}) by region:")
    table = Table()
    for col in ("region", "g/kWh", "period", "source", "basis", "CO2e kg", "car km", "budget"):
        table.add_column(col, justify="left" if col in ("region", "source", "basis") else "right")
    for fp in fps:
        i = fp.intensity
        table.add_row(
            i.region,
            f"{i.g_per_kwh:g}",
            i.period,
            i.source,
            i.basis,
            _kg(fp.co2e_kg),
            f"{fp.equivalents.car_km:,.0f}",
            f"{100 * fp.equivalents.annual_budget_share:.1f} %",
        )
    console.print(table)
    values = [fp.co2e_kg for fp in fps]
    high = max(fps, key=lambda f: f.co2e_kg)
    low = min(fps, key=lambda f: f.co2e_kg)
    console.print(
        f"Max/min ratio: {_ratio_text(values)} — {high.intensity.name} emits "
        f"{_kg(high.co2e_kg)} kg, {low.intensity.name} {_kg(low.co2e_kg)} kg for the same work."
    )


def _show_months(console: Console, fps: list[Footprint]) -> None:
    first = fps[0].intensity
    console.print(
        f"The same {fps[0].it_energy_kwh:,.4g} kWh (PUE {fps[0].pue:g}) in each month of "
        f"{first.year}, {first.name} ({first.source}, {first.basis}, UTC months):"
    )
    table = Table()
    for col in ("month", "g/kWh", "CO2e kg", "car km"):
        table.add_column(col, justify="left" if col == "month" else "right")
    for fp in fps:
        i = fp.intensity
        table.add_row(
            i.period, f"{i.g_per_kwh:g}", _kg(fp.co2e_kg), f"{fp.equivalents.car_km:,.0f}"
        )
    console.print(table)
    best = min(fps, key=lambda f: f.co2e_kg)
    worst = max(fps, key=lambda f: f.co2e_kg)
    console.print(
        f"Best month {best.intensity.period} ({_kg(best.co2e_kg)} kg), worst month "
        f"{worst.intensity.period} ({_kg(worst.co2e_kg)} kg): max/min ratio "
        f"{_ratio_text([f.co2e_kg for f in fps])}."
    )


def co2(
    kwh: Annotated[float, typer.Option("--kwh", help="IT energy in kWh, before PUE.")],
    kwh_std: Annotated[
        float, typer.Option("--kwh-std", help="Standard deviation of the IT energy in kWh.")
    ] = 0.0,
    pue: Annotated[float, typer.Option("--pue", help="Power usage effectiveness (>= 1).")] = (
        DEFAULT_PUE
    ),
    region: Annotated[
        str, typer.Option("--region", help="Region code or name (DE, DEU, Germany, SE-SE3).")
    ] = DEFAULT_REGION,
    year: Annotated[int | None, typer.Option("--year", help="Year of the annual value.")] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="Month YYYY-MM (monthly table).")
    ] = None,
    hour: Annotated[
        int | None, typer.Option("--hour", help="UTC hour 0-23 (needs --month).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Source id, e.g. paper2024 (Table 1).")
    ] = None,
    basis: Annotated[str | None, typer.Option("--basis", help="direct or lifecycle.")] = None,
    compare_regions: Annotated[
        str | None,
        typer.Option("--compare-regions", help="Comma-separated regions, e.g. SE,DE,PL."),
    ] = None,
    months: Annotated[
        int | None, typer.Option("--months", help="Show each month of this year (Fig. 3b).")
    ] = None,
    flight_class: Annotated[
        str, typer.Option("--flight-class", help="economy, business or first.")
    ] = DEFAULT_FLIGHT_CLASS,
    budget: Annotated[
        str, typer.Option("--budget", help="paper (1075 kg) or lamboll2023 (1116 kg).")
    ] = DEFAULT_BUDGET,
    live: Annotated[
        bool, typer.Option("--live", help="Latest value from Electricity Maps (token needed).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """CO2e of an IT energy by Eq. 1, with everyday equivalents."""
    if flight_class not in FLIGHT_CLASSES:
        raise LpmError(f"--flight-class must be one of {', '.join(FLIGHT_CLASSES)}.")
    if budget not in BUDGETS:
        raise LpmError(f"--budget must be one of {', '.join(BUDGETS)}.")
    if compare_regions is not None and months is not None:
        raise LpmError("use either --compare-regions or --months, not both.")
    if live and (compare_regions is not None or months is not None):
        raise LpmError("--live gives one region's latest value; drop --compare-regions/--months.")
    for name, value in (("--months", months), ("--year", year)):
        if value is not None and not 1990 <= value <= 2100:
            raise LpmError(f"{name} {value} is not a year (1990-2100); give one such as 2022.")
    check_energy_kwh(kwh)
    check_energy_kwh(kwh_std, "energy standard deviation")
    check_pue(pue)
    db = IntensityDatabase.default()
    common = {
        "it_energy_kwh_std": kwh_std,
        "pue": pue,
        "flight_class": flight_class,
        "budget": budget,
    }
    console = _console()
    if compare_regions is not None:
        names = [r for r in (part.strip() for part in compare_regions.split(",")) if r]
        intensities = db.lookup_many(
            names, year=year, month=month, hour=hour, source=source, basis=basis
        )
        fps = [footprint(kwh, intensity=i, **common) for i in intensities]
        _print_footprints(fps, as_json, _show_regions, console)
        return
    if months is not None:
        if month is not None or hour is not None or year is not None:
            raise LpmError("--months takes the year itself; drop --month, --hour and --year.")
        if source is not None and source != MONTHLY_SOURCE:
            raise LpmError(f"monthly values come only from source {MONTHLY_SOURCE}.")
        intensities = db.months(region, months, basis=basis)
        fps = [footprint(kwh, intensity=i, **common) for i in intensities]
        _print_footprints(fps, as_json, _show_months, console)
        return
    fp = footprint(
        kwh,
        region=region,
        year=year,
        month=month,
        hour=hour,
        source=source,
        basis=basis,
        live=live,
        **common,
    )
    if as_json:
        _print_json(fp.to_dict())
    else:
        _show_one(console, fp)


def regions(
    search: Annotated[
        str | None, typer.Option("--search", help="Filter by code, name or alias.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Regions with their latest carbon intensity, year, basis and source."""
    db = IntensityDatabase.default()
    found = db.search(search) if search else db.regions()
    if not found:
        raise LpmError(f"no region matches {search!r}; try a shorter text or a country code.")
    if as_json:
        _print_json([i.to_dict() for i in found])
        return
    table = Table(title=f"{len(found)} regions, latest annual carbon intensity")
    for col in ("region", "name", "g/kWh", "year", "basis", "source"):
        table.add_column(col, justify="right" if col in ("g/kWh", "year") else "left")
    for i in found:
        table.add_row(i.region, i.name, f"{i.g_per_kwh:g}", str(i.year), i.basis, i.source)
    _console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``co2`` and ``regions`` to the app."""
    app.command(name="co2")(co2)
    app.command(name="regions")(regions)
