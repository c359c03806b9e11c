"""The meter interface: a meter reads cumulative energy in J per device.

:class:`MeterBase` declares every member with its default; every lpm meter derives from
it. :func:`as_meter` adapts, once, an object that only satisfies the older duck-typed
:class:`Meter` protocol, so the rest of lpm calls members directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

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


def _stated_provenance(meter: object) -> Provenance:
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

    The optional members (``devices``, ``device_ids``, ``notices``, ``track_pids(pids)``,
    ``describe()``, ``close()``) have their defaults on :class:`MeterBase`; the Tracker
    adapts an object that lacks them with :func:`as_meter`.
    """

    name: str
    kind: str
    provenance: Provenance
    estimated: bool

    def read(self) -> Reading:
        """Cumulative energy in J per device since the meter was created."""
        ...


class MeterBase:
    """Base of every lpm meter: the :class:`Meter` interface, each member with its default.

    A subclass sets ``name``, ``kind`` and ``provenance`` and implements :meth:`read`;
    ``devices`` (labels), ``device_ids`` (globally unique ids, e.g. GPU UUIDs, so that
    devices seen by several processes are counted once), ``notices`` (one-line messages
    about faults and fallbacks, drained by the tracker), :meth:`track_pids`,
    :meth:`describe` and :meth:`close` default to nothing / the basic description.
    """

    name: str = "meter"
    kind: str = "cpu"
    provenance: Provenance = Provenance.ESTIMATED
    devices: tuple[str, ...] = ()
    device_ids: tuple[str, ...] = ()

    @property
    def estimated(self) -> bool:
        """The old flag: ``provenance.is_estimated``."""
        return self.provenance.is_estimated

    @property
    def notices(self) -> list[str]:
        """Messages for the tracker (which drains them); one list per meter."""
        return self.__dict__.setdefault("notices", [])

    @notices.setter
    def notices(self, value: list[str]) -> None:
        self.__dict__["notices"] = value

    def read(self) -> Reading:
        """Cumulative energy in J per device since the meter was created."""
        raise NotImplementedError

    def track_pids(self, pids: Iterable[int]) -> None:
        """Also account for these process trees (meters that estimate per process)."""

    def describe(self) -> dict:
        """What this meter is, for run records and ``lpm hardware``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "provenance": self.provenance.value,
            "estimated": self.provenance.is_estimated,
        }

    def close(self) -> None:
        """Release what the meter holds (safe to call twice)."""


class MeterAdapter(MeterBase):
    """A third-party object with only ``name``, ``kind``, ``read()`` (and maybe more)."""

    def __init__(self, meter: Any) -> None:
        self.wrapped = meter
        self.name = meter.name
        self.kind = meter.kind
        self.provenance = _stated_provenance(meter)
        self._track = _callable(meter, "track_pids")
        self._describe = _callable(meter, "describe")
        self._close = _callable(meter, "close")

    @property
    def estimated(self) -> bool:
        """The wrapped meter's old flag when it states one, else from its provenance."""
        value = getattr(self.wrapped, "estimated", None)
        return bool(value) if isinstance(value, bool) else self.provenance.is_estimated

    @property  # type: ignore[override]
    def devices(self) -> tuple[str, ...]:
        return tuple(getattr(self.wrapped, "devices", ()) or ())

    @property  # type: ignore[override]
    def device_ids(self) -> tuple[str, ...]:
        return tuple(getattr(self.wrapped, "device_ids", ()) or ())

    @property
    def notices(self) -> list[str]:
        own = getattr(self.wrapped, "notices", None)
        return own if isinstance(own, list) else self.__dict__.setdefault("notices", [])

    def read(self) -> Reading:
        return self.wrapped.read()

    def track_pids(self, pids: Iterable[int]) -> None:
        if self._track is not None:
            self._track(pids)

    def describe(self) -> dict:
        return self._describe() if self._describe is not None else super().describe()

    def close(self) -> None:
        if self._close is not None:
            self._close()


def _callable(obj: object, name: str) -> Any:
    member = getattr(obj, name, None)
    return member if callable(member) else None


def as_meter(meter: Any) -> MeterBase:
    """``meter`` itself when it is a :class:`MeterBase`, else adapted once."""
    return meter if isinstance(meter, MeterBase) else MeterAdapter(meter)
