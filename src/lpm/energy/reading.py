"""The meter interface: a meter reads cumulative energy in J per device."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

KINDS = ("cpu", "gpu", "dram")


@dataclass(frozen=True)
class Reading:
    """Cumulative energy per device since the meter was created.

    ``devices`` names each device ("gpu:0 NVIDIA A100", "cpu:package-0"); ``energy_j`` holds
    one cumulative value per device in the same order; ``estimated`` says per device
    whether any part of that energy is an estimate rather than a hardware counter.
    """

    energy_j: tuple[float, ...]
    devices: tuple[str, ...]
    estimated: tuple[bool, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.energy_j) != len(self.devices):
            raise ValueError("energy_j and devices must have the same length")
        if not self.estimated:
            object.__setattr__(self, "estimated", (False,) * len(self.devices))
        elif len(self.estimated) != len(self.devices):
            raise ValueError("estimated and devices must have the same length")

    @property
    def total_j(self) -> float:
        """Energy summed over devices (never averaged)."""
        return float(sum(self.energy_j))

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "energy_j": list(self.energy_j),
            "devices": list(self.devices),
            "estimated": list(self.estimated),
        }


@runtime_checkable
class Meter(Protocol):
    """Anything that reads cumulative energy of one kind of component.

    Optional extras a meter may offer, used when present:
    ``device_ids`` (globally unique ids, e.g. GPU UUIDs, so that devices seen by several
    processes are counted once), ``notices`` (a list of one-line messages about faults and
    fallbacks, drained by the tracker), ``track_pids(pids)`` (estimate for these process
    trees too) and ``describe()`` (a dict for run records and ``lpm hardware``).
    """

    name: str
    kind: str
    estimated: bool

    def read(self) -> Reading:
        """Cumulative energy in J per device since the meter was created."""
        ...
