"""Everyday equivalents of a CO2e mass, each from its constant in ``equivalents.csv``.

- car km: an average new European car, ``car_g_per_km`` (EEA, 108.2 g/km);
- smartphone charges: ``smartphone_charge_g`` (US EPA, 8.22 g per charge);
- flight km: the myclimate per-passenger formula solved for the great-circle distance
  whose emissions equal the footprint (short-haul below 1500 km, long-haul above 2500 km,
  a linear blend between). Default cabin class business: its short-haul value at 1500 km
  (362.2 kg) matches the paper's "362.3 kg ≈ a 1500 km flight". A footprint below the
  formula's value at 0 km gives 0 km;
- tree seedlings grown for 10 years: ``tree_seedling_10y_kg`` (US EPA, 60 kg);
- share of the annual per-capita CO2 budget for a 50 % chance of 1.5 °C: the paper's
  implied 1075 kg (``budget="paper"``, default) or the Lamboll et al. (2023) equal-share
  1116 kg (``budget="lamboll2023"``).
"""

from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import asdict, dataclass
from importlib import resources

from lpm.errors import LpmError

FLIGHT_CLASSES = ("economy", "business", "first")
BUDGETS = {
    "paper": "annual_budget_per_capita_kg_paper",
    "lamboll2023": "annual_budget_per_capita_kg",
}
DEFAULT_FLIGHT_CLASS = "business"
DEFAULT_BUDGET = "paper"


@functools.lru_cache(maxsize=1)
def constants() -> dict[str, float]:
    """The numeric constants of ``equivalents.csv`` by key."""
    text = resources.files("lpm.carbon").joinpath("data", "equivalents.csv").read_text("utf-8")
    return {row["key"]: float(row["value"]) for row in csv.DictReader(io.StringIO(text))}


def _check_class(flight_class: str) -> str:
    if flight_class not in FLIGHT_CLASSES:
        raise LpmError(
            f"flight class must be one of {', '.join(FLIGHT_CLASSES)}, not {flight_class!r}."
        )
    return flight_class


def _haul_kg(haul: str, distance_km: float, flight_class: str) -> float:
    """myclimate kg CO2e per passenger for one haul's parameter set."""
    c = constants()

    def p(name: str) -> float:
        return c[f"flight_{haul}_{name}"]

    x = distance_km + p("DC")
    fuel_kg = p("a") * x * x + p("b") * x + p("c")
    per_seat = fuel_kg / (p("S") * p("PLF")) * (1 - p("CF")) * p(f"CW_{flight_class}")
    return per_seat * (p("EF") * p("M") + p("P")) + p("AF") * x + p("A")


def flight_kg(distance_km: float, flight_class: str = DEFAULT_FLIGHT_CLASS) -> float:
    """kg CO2e per passenger of a one-way flight over ``distance_km`` (myclimate)."""
    _check_class(flight_class)
    if not math.isfinite(distance_km) or distance_km < 0:
        raise LpmError(f"flight distance must be a finite number >= 0 km, not {distance_km}.")
    c = constants()
    lo_km, hi_km = c["flight_interp_min_km"], c["flight_interp_max_km"]
    if distance_km <= lo_km:
        return _haul_kg("short", distance_km, flight_class)
    if distance_km >= hi_km:
        return _haul_kg("long", distance_km, flight_class)
    w = (distance_km - lo_km) / (hi_km - lo_km)
    short = _haul_kg("short", distance_km, flight_class)
    long = _haul_kg("long", distance_km, flight_class)
    return (1 - w) * short + w * long


def flight_km_for(co2e_kg: float, flight_class: str = DEFAULT_FLIGHT_CLASS) -> float:
    """Distance whose per-passenger flight emissions equal ``co2e_kg`` (bisection).

    The formula is increasing in distance; below its value at 0 km the result is 0.
    """
    _check_class(flight_class)
    if co2e_kg <= flight_kg(0.0, flight_class):
        return 0.0
    lo, hi = 0.0, 1000.0
    while flight_kg(hi, flight_class) < co2e_kg:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if flight_kg(mid, flight_class) < co2e_kg:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9 * max(1.0, hi):
            break
    return (lo + hi) / 2


def budget_kg(budget: str = DEFAULT_BUDGET) -> float:
    """Annual per-capita CO2 budget in kg: ``"paper"`` (1075) or ``"lamboll2023"`` (1116)."""
    if budget not in BUDGETS:
        raise LpmError(f"budget must be one of {', '.join(BUDGETS)}, not {budget!r}.")
    return constants()[BUDGETS[budget]]


@dataclass(frozen=True)
class Equivalents:
    """A CO2e mass expressed as everyday activities."""

    co2e_kg: float
    car_km: float
    smartphone_charges: float
    flight_km: float
    flight_class: str
    tree_seedlings_10y: float
    annual_budget_share: float
    annual_budget_kg: float
    budget: str = DEFAULT_BUDGET

    def to_dict(self) -> dict:
        """JSON-ready dict of all fields."""
        return asdict(self)

    def sentence(self) -> str:
        """A plain sentence for people."""
        flight = (
            f"a {self.flight_km:,.0f} km {self.flight_class}-class flight"
            if self.flight_km > 0
            else f"less than any {self.flight_class}-class flight"
        )
        return (
            f"{_kg(self.co2e_kg)} CO2e is about as much as driving {_num(self.car_km)} km in an "
            f"average new European car, {_num(self.smartphone_charges)} smartphone charges, "
            f"{flight}, or what {_num(self.tree_seedlings_10y)} tree seedlings take up in "
            f"10 years; it is {_pct(self.annual_budget_share)} % of one person's annual "
            f"CO2 budget for 1.5 °C ({self.annual_budget_kg:,.0f} kg)."
        )


def _num(value: float) -> str:
    """A readable number: no decimals from 10 up, one from 1, two significant below."""
    if value >= 10:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}" if value > 0 else "0"


def _pct(share: float) -> str:
    percent = 100 * share
    return f"{percent:.1f}" if percent >= 1 else _num(percent)


def _kg(value: float) -> str:
    if value >= 100:
        return f"{value:,.1f} kg"
    if value >= 1:
        return f"{value:.2f} kg"
    if value >= 0.0001:
        return f"{value * 1000:.1f} g"
    return f"{value * 1000:.2g} g" if value > 0 else "0 g"


def equivalents(
    co2e_kg: float, *, flight_class: str = DEFAULT_FLIGHT_CLASS, budget: str = DEFAULT_BUDGET
) -> Equivalents:
    """Express ``co2e_kg`` as car km, phone charges, flight km, trees and budget share."""
    if not math.isfinite(co2e_kg) or co2e_kg < 0:
        raise LpmError(f"CO2e must be a finite number >= 0 kg, not {co2e_kg}.")
    c = constants()
    annual_kg = budget_kg(budget)
    return Equivalents(
        co2e_kg=co2e_kg,
        car_km=co2e_kg * 1000 / c["car_g_per_km"],
        smartphone_charges=co2e_kg * 1000 / c["smartphone_charge_g"],
        flight_km=flight_km_for(co2e_kg, flight_class),
        flight_class=flight_class,
        tree_seedlings_10y=co2e_kg / c["tree_seedling_10y_kg"],
        annual_budget_share=co2e_kg / annual_kg,
        annual_budget_kg=annual_kg,
        budget=budget,
    )
