"""The meter interface: a meter reads cumulative energy in J per device."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from lpm.provenance import Provenance

KINDS = ("cpu", "gpu", "dram")


@dataclass(frozen=True)
class Reading:
    """Cumulative energy per device since the meter was created.

    ``devices`` names each device ("gpu:0 NVIDIA A100", "cpu:package-0"); ``energy_j`` holds
    one cumulative value per device in the same order; ``provenance`` says per device where
    that energy comes from (ESTIMATED once any part of it is an estimate, e.g. a gap bridged
    after a fault). A meter may give the old ``estimated`` flags instead (True: ESTIMATED,
    False: MEASURED); with neither, every device reads as MEASURED and the Tracker takes the
    meter's own :attr:`Meter.provenance` as the device's provenance.
    """

    energy_j: tuple[float, ...]
    devices: tuple[str, ...]
    estimated: tuple[bool, ...] = field(default=())
    provenance: tuple[Provenance, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.devices)
        if len(self.energy_j) != n:
            raise ValueError("energy_j and devices must have the same length")
        if self.provenance:
            if len(self.provenance) != n:
                raise ValueError("provenance and devices must have the same length")
            prov = tuple(Provenance.parse(p) for p in self.provenance)
        elif self.estimated:
            if len(self.estimated) != n:
                raise ValueError("estimated and devices must have the same length")
            prov = tuple(Provenance.parse(bool(e)) for e in self.estimated)
        else:
            prov = (Provenance.MEASURED,) * n
        object.__setattr__(self, "provenance", prov)
        object.__setattr__(self, "estimated", tuple(p.is_estimated for p in prov))

    @property
    def total_j(self) -> float:
        """Energy summed over devices (never averaged)."""
        return float(sum(self.energy_j))

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "energy_j": list(self.energy_j),
            "devices": list(self.devices),
            "provenance": [p.value for p in self.provenance],
            "estimated": list(self.estimated),
        }


def meter_provenance(meter: object) -> Provenance:
    """A meter's provenance: its ``provenance``, else its old ``estimated`` flag.

    A meter that states neither is ESTIMATED: a number of unknown origin is never
    presented as measured.
    """
    value = getattr(meter, "provenance", None)
    if value is None:
        value = getattr(meter, "estimated", None)
    try:
        return Provenance.parse(value)
    except ValueError:
        return Provenance.ESTIMATED


@runtime_checkable
class Meter(Protocol):
    """Anything that reads cumulative energy of one kind of component.

    ``provenance`` says what the meter's numbers are (NVML and RAPL: MEASURED; CPU time ×
    TDP and memory × W/GB: ESTIMATED; fixed watts: SIMULATED); ``estimated`` is the old
    flag, kept for callers that read it (``provenance.is_estimated``).

    Optional extras a meter may offer, used when present:
    ``device_ids`` (globally unique ids, e.g. GPU UUIDs, so that devices seen by several
    processes are counted once), ``notices`` (a list of one-line messages about faults and
    fallbacks, drained by the tracker), ``track_pids(pids)`` (estimate for these process
    trees too) and ``describe()`` (a dict for run records and ``lpm hardware``).
    """

    name: str
    kind: str
    provenance: Provenance
    estimated: bool

    def read(self) -> Reading:
        """Cumulative energy in J per device since the meter was created."""
        ...
