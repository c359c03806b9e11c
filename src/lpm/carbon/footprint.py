"""Eq. 1 of the paper: CO2e = P_total × t_avg × N × PUE × CI = E × CI.

The energy a caller passes is the IT energy (before PUE). Standard deviations scale like
the means: CO2e is linear in the energy, so ``co2e_kg_std = it_energy_kwh_std × PUE × CI``.
PUE and intensity are taken as exact. From power, ``E = P × t × N``; the std of ``P × t``
uses the exact formula for a product of two independent quantities and is then scaled by
N like the mean (the uncertainty of the per-step mean, not of N independent steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lpm.carbon.equivalents import DEFAULT_BUDGET, DEFAULT_FLIGHT_CLASS, Equivalents, equivalents
from lpm.carbon.intensity import Intensity, IntensityDatabase
from lpm.carbon.live import live_intensity
from lpm.errors import LpmError
from lpm.units import J_PER_KWH

DEFAULT_PUE = 1.55  # the paper, after Bouza et al. (2023): Uptime Institute 2022 average
DEFAULT_REGION = "EU27"


def kwh_to_j(energy_kwh: float) -> float:
    """kWh -> J."""
    return energy_kwh * J_PER_KWH


def j_to_kwh(energy_j: float) -> float:
    """J -> kWh."""
    return energy_j / J_PER_KWH


def _check_amount(value: float, what: str, unit: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LpmError(f"{what} must be a number in {unit}, not {value!r}.") from None
    if not math.isfinite(number):
        raise LpmError(f"{what} must be a finite number of {unit}, not {value}.")
    if number < 0:
        raise LpmError(f"{what} must not be negative ({number} {unit}).")
    return number


def check_energy_kwh(it_energy_kwh: float, what: str = "energy") -> float:
    """Return the energy as float if it is finite and >= 0 kWh; LpmError otherwise."""
    return _check_amount(it_energy_kwh, what, "kWh")


def check_pue(pue: float) -> float:
    """Return ``pue`` if it is a finite number >= 1; LpmError otherwise."""
    try:
        value = float(pue)
    except (TypeError, ValueError):
        raise LpmError(f"PUE must be a number >= 1, not {pue!r}.") from None
    if not math.isfinite(value) or value < 1:
        raise LpmError(
            f"PUE must be a finite number >= 1 (facility energy / IT energy), not {pue}."
        )
    return value


@dataclass(frozen=True)
class Footprint:
    """The result of Eq. 1 with every input and the intensity's provenance."""

    it_energy_kwh: float
    it_energy_kwh_std: float
    pue: float
    facility_energy_kwh: float
    facility_energy_kwh_std: float
    intensity: Intensity
    co2e_kg: float
    co2e_kg_std: float
    equivalents: Equivalents

    def to_dict(self) -> dict:
        """Flat, JSON-ready dict (the ``lpm co2 --json`` object)."""
        i = self.intensity
        return {
            "it_energy_kwh": self.it_energy_kwh,
            "it_energy_kwh_std": self.it_energy_kwh_std,
            "pue": self.pue,
            "facility_energy_kwh": self.facility_energy_kwh,
            "facility_energy_kwh_std": self.facility_energy_kwh_std,
            "region": i.region,
            "region_name": i.name,
            "carbon_intensity_g_per_kwh": i.g_per_kwh,
            "intensity_source": i.source,
            "intensity_year": i.year,
            "intensity_month": i.month,
            "intensity_hour": i.hour,
            "basis": i.basis,
            "co2e_kg": self.co2e_kg,
            "co2e_kg_std": self.co2e_kg_std,
            "equivalents": self.equivalents.to_dict(),
        }

    def sentence(self) -> str:
        """A plain sentence for people."""
        i = self.intensity
        std = f" ± {self.co2e_kg_std:.3g}" if self.co2e_kg_std > 0 else ""
        return (
            f"{self.it_energy_kwh:,.4g} kWh of IT energy × PUE {self.pue:g} = "
            f"{self.facility_energy_kwh:,.4g} kWh at {i.g_per_kwh:g} g CO2e/kWh "
            f"({i.name}, {i.period}, {i.source}, {i.basis}) emit {self.co2e_kg:,.4g}{std} kg "
            f"CO2e. {self.equivalents.sentence()}"
        )


def _live(
    db: IntensityDatabase,
    region: str,
    *,
    year: int | None,
    month: str | None,
    hour: int | None,
    source: str | None,
    basis: str | None,
) -> Intensity:
    """The latest Electricity Maps intensity (falls back to the tables with a warning)."""
    if year is not None or month is not None or hour is not None or source is not None:
        raise LpmError(
            "live intensity is the latest value; drop --year, --month, --hour and "
            "--source, or drop --live."
        )
    return live_intensity(db.resolve_region(region), basis=basis, database=db)


def footprint(
    it_energy_kwh: float,
    *,
    it_energy_kwh_std: float = 0.0,
    pue: float = DEFAULT_PUE,
    region: str = DEFAULT_REGION,
    year: int | None = None,
    month: str | None = None,
    hour: int | None = None,
    source: str | None = None,
    basis: str | None = None,
    intensity: Intensity | None = None,
    flight_class: str = DEFAULT_FLIGHT_CLASS,
    budget: str = DEFAULT_BUDGET,
    database: IntensityDatabase | None = None,
    live: bool = False,
) -> Footprint:
    """Eq. 1 from IT energy in kWh; ``intensity`` overrides the region look-up.

    ``live=True`` takes the latest Electricity Maps value (falls back to the tables).
    """
    energy = _check_amount(it_energy_kwh, "energy", "kWh")
    energy_std = _check_amount(it_energy_kwh_std, "energy standard deviation", "kWh")
    pue = check_pue(pue)
    if intensity is None:
        db = database or IntensityDatabase.default()
        if live:
            intensity = _live(
                db, region, year=year, month=month, hour=hour, source=source, basis=basis
            )
        else:
            intensity = db.lookup(
                region, year=year, month=month, hour=hour, source=source, basis=basis
            )
    facility = energy * pue
    facility_std = energy_std * pue
    co2e_kg = facility * intensity.g_per_kwh / 1000.0
    co2e_kg_std = facility_std * intensity.g_per_kwh / 1000.0
    return Footprint(
        it_energy_kwh=energy,
        it_energy_kwh_std=energy_std,
        pue=pue,
        facility_energy_kwh=facility,
        facility_energy_kwh_std=facility_std,
        intensity=intensity,
        co2e_kg=co2e_kg,
        co2e_kg_std=co2e_kg_std,
        equivalents=equivalents(co2e_kg, flight_class=flight_class, budget=budget),
    )


def footprint_from_power(
    power_w: float,
    duration_s: float,
    n: float = 1,
    *,
    power_w_std: float = 0.0,
    duration_s_std: float = 0.0,
    **kwargs: object,
) -> Footprint:
    """Eq. 1 from mean power (W) × mean duration per step (s) × N steps.

    Takes the same keywords as :func:`footprint` (``pue``, ``region``, ...).
    """
    power = _check_amount(power_w, "power", "W")
    duration = _check_amount(duration_s, "duration", "s")
    count = _check_amount(n, "N", "steps")
    p_std = _check_amount(power_w_std, "power standard deviation", "W")
    t_std = _check_amount(duration_s_std, "duration standard deviation", "s")
    energy_j = power * duration * count
    step_var = (duration * p_std) ** 2 + (power * t_std) ** 2 + (p_std * t_std) ** 2
    energy_j_std = math.sqrt(step_var) * count
    return footprint(j_to_kwh(energy_j), it_energy_kwh_std=j_to_kwh(energy_j_std), **kwargs)
