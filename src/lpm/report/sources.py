"""The data behind the report and where it comes from (package data).

Constants are read from lpm.carbon's CSV tables (``pue.csv``, ``equivalents.csv``), so the
report always names the exact row and source id it relied on; the citations below are
short forms of docs/SOURCES.md. The prediction backtest is lpm.report's own package data
(``data/prediction_backtest.json``, written by ``bench/prediction_backtest.py``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.provenance import Provenance

SOURCE_TITLES: dict[str, str] = {
    "paper2024": "Seyfarth, Dar, Engelhardt (2024), Latent Pollution Model: The Hidden Carbon "
    "Footprint in 3D Image Synthesis (Table 1, Eq. 1, Fig. 1)",
    "eea": "European Environment Agency, GHG emission intensity of electricity generation, "
    "2022 (CC BY 4.0)",
    "ember": "Ember, yearly electricity data, via CO2.js (CC BY-SA 4.0)",
    "electricitymaps": "Electricity Maps yearly zone averages, via CO2.js (ODbL)",
    "electricitymaps_hourly": "Electricity Maps hourly data 2022-2023, monthly means by lpm "
    "(via POLIMIGreenISE/carbonbudget)",
    "greenalgorithms": "Green Algorithms (Lannelongue, Grealey, Inouye 2021), CC BY 4.0",
    "uptime": "Uptime Institute Global Data Center Survey, industry-average PUE",
    "eea_cars": "EEA, average CO2 emissions of new passenger cars, 2022 (CC BY 4.0)",
    "epa_equiv": "US EPA Greenhouse Gas Equivalencies Calculator (public domain)",
    "myclimate": "myclimate Flight Emission Calculator, calculation principles",
    "lamboll2023": "Lamboll et al. (2023), Nat. Clim. Chang. 13, 1360-1367 (remaining budget)",
    "un_pop": "United Nations: world population reached 8 billion on 15 Nov 2022",
    "codecarbon": "CodeCarbon CPU power table (MIT)",
    "mlco2impact": "ML CO2 Impact calculator GPU table (Lacoste et al. 2019)",
    "nvidia_pb": "NVIDIA H100 PCIe product brief (2022)",
}
#: Equivalents rows shown one by one (the flight model's parameters are summarised).
EQUIVALENT_KEYS = (
    "car_g_per_km",
    "smartphone_charge_g",
    "tree_seedling_10y_kg",
    "annual_budget_per_capita_kg_paper",
    "annual_budget_per_capita_kg",
)


@dataclass(frozen=True)
class Constant:
    """One constant the report used: its value, unit, meaning and source id."""

    key: str
    value: str
    unit: str
    description: str
    source: str


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("lpm.carbon").joinpath("data", filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def source_title(source_id: str) -> str:
    """A short citation for a source id (the id itself if unknown)."""
    return SOURCE_TITLES.get(source_id, source_id)


def pue_constants(values: tuple[float, ...]) -> list[Constant]:
    """The rows of pue.csv whose value equals a PUE the study used (or a note if none)."""
    out = []
    rows = _rows("pue.csv")
    for value in values:
        matches = [r for r in rows if abs(float(r["pue"]) - value) < 1e-9]
        for r in matches:
            out.append(
                Constant(
                    key=f"PUE ({r['provider_or_kind']}, {r['year']})",
                    value=f"{value:g}",
                    unit="facility kWh / IT kWh",
                    description="power usage effectiveness applied in Eq. 1",
                    source=r["source"],
                )
            )
        if not matches:
            out.append(
                Constant(f"PUE {value:g}", f"{value:g}", "", "set in the study spec", "user")
            )
    return out


def equivalents_constants() -> list[Constant]:
    """The equivalents constants (car, phone, trees, budget) and the flight model summary."""
    from lpm.carbon import equivalents

    budget_used_kg = equivalents(1.0).annual_budget_kg
    rows = _rows("equivalents.csv")
    by_key = {r["key"]: r for r in rows}
    out = []
    for k in EQUIVALENT_KEYS:
        if k not in by_key:
            continue
        row = by_key[k]
        description = row["description"]
        if k.startswith("annual_budget"):
            used = abs(float(row["value"]) - budget_used_kg) < 1e-6
            description += " (used for the budget share)" if used else " (alternative, not used)"
        out.append(Constant(k, row["value"], row["unit"], description, row["source"]))
    flight = [r for r in rows if r["key"].startswith("flight_")]
    if flight:
        out.append(
            Constant(
                key="flight_* (myclimate model)",
                value=f"{len(flight)} parameters",
                unit="",
                description="short/long-haul parameters of "
                "E = (a x² + b x + c)/(S PLF)(1 − CF) CW (EF M + P) + AF x + A; "
                "flight km is the distance whose per-passenger CO2e equals the value",
                source=flight[0]["source"],
            )
        )
    return out


#: The prediction backtest (written by ``bench/prediction_backtest.py``), package data.
BACKTEST_FILENAME = "prediction_backtest.json"
BACKTEST_SCHEMA = 1


@dataclass(frozen=True)
class BacktestPoint:
    """One backtested prediction: from the first ``fraction`` of a run to its whole."""

    fraction: float
    measured: int
    predicted_kwh: float
    predicted_kwh_std: float
    ci95_kwh: tuple[float, float]
    error_pct: float
    inside_ci95: bool
    inside_std: bool | None = None


@dataclass(frozen=True)
class BacktestRun:
    """A long run of one phase and its predictions from growing first parts."""

    phase: str
    setup: str
    unit: str
    target: int
    actual_kwh: float
    provenance: Provenance
    points: tuple[BacktestPoint, ...]

    def nearest(self, fraction: float) -> BacktestPoint | None:
        """The point whose fraction is closest (on a log scale) to ``fraction``."""
        if not self.points:
            return None
        if fraction <= 0:
            return min(self.points, key=lambda p: p.fraction)
        return min(self.points, key=lambda p: abs(math.log(p.fraction / fraction)))

    def summary(self) -> str:
        """'from 1–10 % of the run: −3.2 % to +15.6 %, inside the 95 % interval 1 of 4'."""
        if not self.points:
            return "no backtested prediction"
        errors = [p.error_pct for p in self.points]
        inside = sum(p.inside_ci95 for p in self.points)
        text = (
            f"from {self.points[0].fraction:.0%}–{self.points[-1].fraction:.0%} of the run: "
            f"{min(errors):+.1f} % to {max(errors):+.1f} %, measured total inside the 95 % "
            f"interval {inside} of {len(self.points)}"
        )
        known = [p.inside_std for p in self.points if p.inside_std is not None]
        if known:
            text += f", inside ± 1 std {sum(known)} of {len(known)}"
        return text


@dataclass(frozen=True)
class Backtest:
    """How far lpm's predictions were from the measured totals of long runs."""

    machine: str
    date: str
    command: str
    runs: dict[str, BacktestRun]
    path: str = ""

    def run(self, phase: str) -> BacktestRun | None:
        return self.runs.get(phase)


def _backtest_point(raw: dict[str, Any]) -> BacktestPoint:
    lo, hi = raw["ci95_kwh"]
    return BacktestPoint(
        fraction=float(raw["fraction"]),
        measured=int(raw["measured"]),
        predicted_kwh=float(raw["predicted_kwh"]),
        predicted_kwh_std=float(raw.get("predicted_kwh_std") or 0.0),
        ci95_kwh=(float(lo), float(hi)),
        error_pct=float(raw["error_pct"]),
        inside_ci95=bool(raw["inside_ci95"]),
        inside_std=bool(raw["inside_std"]) if "inside_std" in raw else None,
    )


def backtest_from_mapping(raw: Any, *, path: str = "") -> Backtest:
    """A :class:`Backtest` from the file's JSON object; LpmError naming what is wrong."""
    where = path or BACKTEST_FILENAME
    if not isinstance(raw, dict) or raw.get("schema") != BACKTEST_SCHEMA:
        schema = raw.get("schema") if isinstance(raw, dict) else None
        raise LpmError(
            f"{where}: backtest schema {schema!r} is not {BACKTEST_SCHEMA}; "
            "re-run bench/prediction_backtest.py"
        )
    runs: dict[str, BacktestRun] = {}
    try:
        for phase, run in (raw.get("runs") or {}).items():
            runs[str(phase)] = BacktestRun(
                phase=str(phase),
                setup=str(run.get("setup", "")),
                unit=str(run.get("unit", "")),
                target=int(run["target"]),
                actual_kwh=float(run["actual_kwh"]),
                provenance=Provenance.parse(run.get("provenance")),
                points=tuple(
                    sorted((_backtest_point(p) for p in run.get("from", ())), key=_fraction)
                ),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise LpmError(
            f"{where}: a backtest run is incomplete ({type(exc).__name__}: {exc}); "
            "re-run bench/prediction_backtest.py"
        ) from None
    return Backtest(
        machine=str(raw.get("machine", "?")),
        date=str(raw.get("date", "?")),
        command=str(raw.get("command", "")),
        runs=runs,
        path=path,
    )


def _fraction(point: BacktestPoint) -> float:
    return point.fraction


def read_backtest(path: str | Path | None = None) -> Backtest | None:
    """The packaged backtest (or the file at ``path``); None when there is none on record.

    Raises LpmError when the file exists but cannot be read as a backtest.
    """
    if path is None:
        resource = resources.files("lpm.report").joinpath("data", BACKTEST_FILENAME)
        if not resource.is_file():
            return None
        text, where = resource.read_text(encoding="utf-8"), f"lpm/report/data/{BACKTEST_FILENAME}"
    else:
        file = Path(path)
        if not file.is_file():
            return None
        text, where = file.read_text(encoding="utf-8"), str(file)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LpmError(
            f"{where} is not valid JSON (line {exc.lineno}); re-run the backtest"
        ) from None
    return backtest_from_mapping(raw, path=where)
