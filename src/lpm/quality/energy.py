"""Energy and CO2e per useful sample: a sampling run's energy over the samples that are not
copies, energy / (n x (1 - copy rate))."""

from __future__ import annotations

from typing import Any

from lpm.quality.report import UsefulEnergy
from lpm.units import J_PER_KWH


def useful_energy(
    summary: dict[str, Any], copy_rate: float | None, *, source: str = ""
) -> UsefulEnergy | None:
    """From `lpm sample`'s summary.json (samples, it_energy_kwh, co2e_kg); None if it has no
    energy. With no copy rate (no training images) every sample counts as useful."""
    try:
        n = int(summary["samples"])
        energy = float(summary["it_energy_kwh"])
    except (KeyError, TypeError, ValueError):
        return None
    co2e = summary.get("co2e_kg")
    co2e = None if co2e is None else float(co2e)
    useful = n * (1.0 - (copy_rate or 0.0))
    return UsefulEnergy(
        samples=n,
        copy_rate=copy_rate,
        useful_samples=useful,
        it_energy_kwh=energy,
        co2e_kg=co2e,
        it_energy_kwh_per_useful_sample=energy / useful if useful > 0 else None,
        it_energy_j_per_useful_sample=energy * J_PER_KWH / useful if useful > 0 else None,
        co2e_kg_per_useful_sample=co2e / useful if useful > 0 and co2e is not None else None,
        source=source,
    )
