"""The constants behind the report and where they come from (package data of lpm.carbon).

Values are read from lpm.carbon's CSV tables (``pue.csv``, ``equivalents.csv``), so the
report always names the exact row and source id it relied on. The citations below are
short forms of docs/SOURCES.md.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

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
