"""Where a number comes from: measured, estimated or simulated — carried as a type.

Every energy value in lpm, from a meter's reading to a cell of the report, carries a
:class:`Provenance`. It is decided by the code that produced the number (the meter),
never guessed from a device's name. A total over parts of different provenance is
``MIXED``; whoever holds such a total also holds its parts (see :func:`describe_parts`).

This module imports nothing of lpm, so every package may use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class Provenance(StrEnum):
    """How an energy value was obtained."""

    MEASURED = "measured"
    """Read from a hardware energy counter or power sensor (NVML, RAPL)."""
    ESTIMATED = "estimated"
    """Computed by a model: CPU time × TDP, memory × W per GB, a gap filled after a fault."""
    SIMULATED = "simulated"
    """Fixed watts the user asked for (``--simulate-*``): a what-if, not this machine."""
    MIXED = "mixed"
    """A total over parts of different provenance; the parts say which is which."""

    @classmethod
    def parse(cls, value: Provenance | str | bool | None) -> Provenance:
        """A Provenance from its value; ``True``/``False`` are the old ``estimated`` flag.

        Records written before provenance existed stored ``estimated: bool`` only:
        ``True`` reads as ESTIMATED, ``False`` as MEASURED. ``None`` reads as ESTIMATED
        (a number whose origin is unknown is never presented as measured).
        """
        if isinstance(value, Provenance):
            return value
        if value is None or value is True:
            return cls.ESTIMATED
        if value is False:
            return cls.MEASURED
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            known = ", ".join(p.value for p in cls)
            raise ValueError(f"unknown provenance {value!r}; expected one of {known}") from None

    @classmethod
    def combine(cls, items: Iterable[Provenance | str]) -> Provenance:
        """The provenance of a total: the common value of the parts, else MIXED.

        An empty set of parts is ESTIMATED: a total with no measured part is not measured.
        """
        kinds = {cls.parse(p) for p in items}
        if not kinds:
            return cls.ESTIMATED
        if len(kinds) == 1:
            return kinds.pop()
        return cls.MIXED

    @property
    def is_measured(self) -> bool:
        """True only for numbers that come wholly from hardware counters."""
        return self is Provenance.MEASURED

    @property
    def is_estimated(self) -> bool:
        """True when some part is a model's estimate (ESTIMATED, or MIXED with one)."""
        return self in (Provenance.ESTIMATED, Provenance.MIXED)


def describe_parts(parts: Mapping[str, Provenance | str]) -> str:
    """One phrase saying which part is which: ``"gpu measured; cpu, dram estimated"``.

    ``parts`` maps a part's name (a device kind, a component) to its provenance. Parts
    of one provenance are grouped, in the order the provenances first appear.
    """
    groups: dict[Provenance, list[str]] = {}
    for name, prov in parts.items():
        groups.setdefault(Provenance.parse(prov), []).append(name)
    if not groups:
        return "nothing measured"
    if len(groups) == 1:
        (prov,) = groups
        return f"all {prov.value}"
    return "; ".join(f"{', '.join(names)} {prov.value}" for prov, names in groups.items())
