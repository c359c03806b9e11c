"""One grid carbon intensity and the period it describes.

The :class:`Intensity` value (g CO2e per kWh, its source and basis) and the checks of the
month and hour arguments that name a period of the tables.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from lpm.errors import LpmError

__all__ = ["BASES", "Intensity", "check_hour", "parse_month"]

BASES = ("direct", "lifecycle")

_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class Intensity:
    """A grid carbon intensity in g CO2e per kWh and where it comes from."""

    region: str
    name: str
    g_per_kwh: float
    source: str
    year: int
    month: int | None = None
    hour: int | None = None
    basis: str = "lifecycle"

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise LpmError(f"basis must be one of {', '.join(BASES)}, not {self.basis!r}.")
        if not math.isfinite(self.g_per_kwh) or self.g_per_kwh < 0:
            raise LpmError(
                f"carbon intensity must be a finite number >= 0 g/kWh, not {self.g_per_kwh}."
            )

    @property
    def period(self) -> str:
        """The time the value describes: ``2022``, ``2022-12`` or ``2022-12 13:00 UTC``."""
        text = str(self.year)
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.hour is not None:
            text += f" {self.hour:02d}:00 UTC"
        return text

    def describe(self) -> str:
        """One line of provenance, e.g. ``DE 2022 (paper2024, direct)``."""
        return f"{self.region} {self.period} ({self.source}, {self.basis})"

    def to_dict(self) -> dict:
        """JSON-ready dict of all fields."""
        return asdict(self)


def parse_month(month: str) -> tuple[int, int]:
    """``"2022-03"`` -> ``(2022, 3)``; LpmError for anything else."""
    match = _MONTH_RE.match(str(month).strip())
    if not match:
        raise LpmError(f"month must look like YYYY-MM (e.g. 2022-12), not {month!r}.")
    year, mon = int(match.group(1)), int(match.group(2))
    if not 1 <= mon <= 12:
        raise LpmError(f"month {month!r} is out of range; use a month from 01 to 12.")
    return year, mon


def check_hour(hour: int) -> int:
    """Return ``hour`` if it is a UTC hour of day (0-23); LpmError otherwise."""
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise LpmError(f"hour must be a whole UTC hour from 0 to 23, not {hour!r}.")
    return hour
