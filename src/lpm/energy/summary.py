"""Run summaries from a run's parts: components per device, footprint, faults."""

from __future__ import annotations

from collections.abc import Sequence

from lpm.carbon import Intensity, footprint
from lpm.energy.polling import Device
from lpm.energy.results import ComponentEnergy, RunSummary
from lpm.units import J_PER_KWH


def components(devices: Sequence[Device], duration_s: float) -> list[ComponentEnergy]:
    """One component per device: its energy and mean power over ``duration_s``."""
    return [
        ComponentEnergy(
            name=d.name,
            kind=d.kind,
            energy_j=d.total_j,
            energy_kwh=d.total_j / J_PER_KWH,
            mean_power_w=d.total_j / duration_s if duration_s > 0 else 0.0,
            provenance=d.provenance,
            device_id=d.key,
        )
        for d in devices
    ]


def run_summary(
    *,
    run_id: str,
    components: list[ComponentEnergy],
    duration_s: float,
    windows: dict,
    steps: int,
    step_stats: dict,
    complete: bool,
    pue: float,
    intensity: Intensity,
    context: dict,
    started_at: str,
    path: str | None,
    faults: list[str],
    status: str = "",
) -> RunSummary:
    """The summary; CO2e with the ``intensity`` chosen at the start (never changes mid-run).

    ``status`` (finished, interrupted, failed, running) decides ``complete`` when given.
    """
    it_kwh = sum(c.energy_kwh for c in components)
    fp = footprint(it_kwh, pue=pue, intensity=intensity)
    return RunSummary(
        run_id=run_id,
        duration_s=duration_s,
        it_energy_kwh=it_kwh,
        facility_energy_kwh=fp.facility_energy_kwh,
        co2e_kg=fp.co2e_kg,
        components=components,
        windows=windows,
        steps=steps,
        context=context,
        footprint=fp,
        complete=complete,
        started_at=started_at,
        path=path,
        faults=faults,
        step_stats=step_stats,
        status=status,
    )
