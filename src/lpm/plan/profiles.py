"""Intensity series from lpm's packaged tables, as a forecast of a future window.

For each UTC hour of the window: the region's month × hour-of-day profile (Electricity Maps
hourly, where the tables have one) of the same calendar month in the latest year that has
it; where the region has no hourly profile, its monthly value; where it has no monthly
value either, its annual value (then timing cannot change the CO2e, and a note says so).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from lpm.carbon import Intensity, IntensityDatabase
from lpm.errors import LpmError
from lpm.plan.series import HOUR_S, IntensitySeries, constant_series, from_epoch

_FIRST_YEAR = 2015


def _years(target: int) -> list[int]:
    newest = max(target, datetime.now(UTC).year)
    return [target] + [y for y in range(newest, _FIRST_YEAR - 1, -1) if y != target]


class _MonthTable:
    """Lookups of one region, cached per (year, month, hour), on one basis."""

    def __init__(self, db: IntensityDatabase, region: str, basis: str | None) -> None:
        self.db, self.region, self.basis = db, region, basis
        self.level: dict[tuple[int, int], tuple[int, str]] = {}  # (y, m) -> (year used, kind)
        self.cache: dict[tuple[int, int, int | None], Intensity] = {}

    def _try(self, year: int, month: int, hour: int | None) -> Intensity | None:
        key = (year, month, hour)
        if key not in self.cache:
            try:
                self.cache[key] = self.db.lookup(
                    self.region, month=f"{year:04d}-{month:02d}", hour=hour, basis=self.basis
                )
            except LpmError:
                return None
        found = self.cache[key]
        if self.basis is None:
            self.basis = found.basis  # every later value on the same basis
        return found

    def value(self, year: int, month: int, hour: int) -> Intensity | None:
        if (year, month) not in self.level:
            self.level[(year, month)] = (0, "none")
            for kind, h in (("hourly", hour), ("monthly", None)):
                for y in _years(year):
                    if self._try(y, month, h) is not None:
                        self.level[(year, month)] = (y, kind)
                        break
                if self.level[(year, month)][1] != "none":
                    break
        used, kind = self.level[(year, month)]
        if kind == "none":
            return None
        return self._try(used, month, hour if kind == "hourly" else None)


def table_series(
    region: str,
    start: float,
    end: float,
    *,
    db: IntensityDatabase | None = None,
    basis: str | None = None,
) -> IntensitySeries:
    """A series over [start, end] (epoch s) from the packaged tables (see module doc)."""
    db = db or IntensityDatabase.default()
    code = db.resolve_region(region)
    table = _MonthTable(db, code, basis)
    t = math.floor(start / HOUR_S) * HOUR_S
    starts: list[float] = []
    values: list[float] = []
    used: set[tuple[int, str]] = set()
    while t < end:
        when = from_epoch(t)
        found = table.value(when.year, when.month, when.hour)
        if found is None:
            break
        used.add((found.year, found.source))
        starts.append(t)
        values.append(found.g_per_kwh)
        t += HOUR_S
    if not starts:
        annual = db.lookup(code, basis=basis)
        return constant_series(
            annual.g_per_kwh,
            start,
            end,
            region=code,
            basis=annual.basis,
            source=annual.source,
            note=(
                f"{code} has only an annual intensity ({annual.year}, {annual.source}): "
                "timing cannot change the CO2e there, only the region can."
            ),
        )
    kinds = {k for (_, k) in table.level.values()}
    years = sorted({y for y, _ in used})
    sources = sorted({s for _, s in used})
    note = (
        f"{code}: {'month × hour-of-day profile' if 'hourly' in kinds else 'monthly values'} of "
        f"{', '.join(map(str, years))} ({', '.join(sources)}) as the forecast"
    )
    if "monthly" in kinds and "hourly" not in kinds:
        note += "; no within-day data, so only the month can change the CO2e"
    series = IntensitySeries(
        tuple(starts),
        tuple(values),
        max(end, starts[-1] + HOUR_S),
        code,
        table.basis or "lifecycle",
        ", ".join(sources),
        (note,),
    )
    return series
