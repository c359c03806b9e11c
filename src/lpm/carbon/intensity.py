"""Grid carbon intensity: the packaged tables, region aliases and source precedence.

Annual look-ups (no ``month``) use ``carbon_intensity_annual.csv``. Without ``year`` the
most recent year with data wins; within one year the sources rank as
``SOURCE_PRECEDENCE`` (consumption-based lifecycle data first, the paper's Table 1 last).
``source=`` and ``basis=`` filter before that choice, so ``source="paper2024"`` reproduces
the paper's Table 1 exactly. Month look-ups (``"YYYY-MM"``) use the monthly table, and an
``hour`` (UTC) adds the month × hour-of-day profile; both prefer the lifecycle basis.

This module holds the look-ups (:class:`IntensityDatabase`); the value and its period
arguments are in :mod:`~lpm.carbon.intensity_value`, the reading of the packaged CSV tables
in :mod:`~lpm.carbon.intensity_tables`. Their names stay importable from here.
"""

from __future__ import annotations

import difflib
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from lpm.carbon.intensity_tables import (
    ANNUAL_TABLE,
    HOURLY_TABLE,
    MONTHLY_TABLE,
    drop_mislabelled,
    read_table,
)
from lpm.carbon.intensity_value import BASES, Intensity, check_hour, parse_month
from lpm.carbon.regions import COUNTRIES, EXTRA_ALIASES, fold
from lpm.errors import LpmError

__all__ = [
    "BASES",
    "BASIS_PRECEDENCE",
    "MONTHLY_SOURCE",
    "SOURCE_PRECEDENCE",
    "Intensity",
    "IntensityDatabase",
    "check_hour",
    "parse_month",
]

# Annual sources, best first, for one region and year when the caller names no source.
SOURCE_PRECEDENCE = ("electricitymaps", "ember", "eea", "paper2024")
# Within one source/year (monthly and hourly tables) the basis preferred without basis=.
BASIS_PRECEDENCE = ("lifecycle", "direct")
MONTHLY_SOURCE = "electricitymaps_hourly"


def _source_rank(source: str) -> int:
    try:
        return SOURCE_PRECEDENCE.index(source)
    except ValueError:
        return len(SOURCE_PRECEDENCE)


def _basis_rank(basis: str) -> int:
    return BASIS_PRECEDENCE.index(basis)


def _join(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values)


class IntensityDatabase:
    """Annual, monthly and hourly-profile carbon intensities with region aliases."""

    def __init__(
        self, annual: list[Intensity], monthly: list[Intensity], hourly: list[Intensity]
    ) -> None:
        self._annual: dict[str, list[Intensity]] = defaultdict(list)
        self._monthly: dict[str, list[Intensity]] = defaultdict(list)
        self._hourly: dict[tuple[str, int, int, str, int], Intensity] = {}
        for row in drop_mislabelled(annual):
            self._annual[row.region].append(row)
        for row in monthly:
            self._monthly[row.region].append(row)
        for row in hourly:
            assert row.month is not None and row.hour is not None
            self._hourly[(row.region, row.year, row.month, row.basis, row.hour)] = row
        self._names = self._display_names()
        self._aliases = self._build_aliases()

    # ----------------------------------------------------------------- construction
    @classmethod
    def default(cls) -> IntensityDatabase:
        """The packaged tables (read once per process, then shared)."""
        return _default_database()

    @classmethod
    def from_package_data(cls) -> IntensityDatabase:
        """Read the packaged CSV tables anew."""
        return cls(read_table(ANNUAL_TABLE), read_table(MONTHLY_TABLE), read_table(HOURLY_TABLE))

    def _display_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for region, rows in self._annual.items():
            named = sorted((r for r in rows if r.name), key=lambda r: _source_rank(r.source))
            if named:
                names[region] = named[0].name
            elif region in COUNTRIES:
                names[region] = COUNTRIES[region][1]
        for region in self._monthly:
            names.setdefault(region, COUNTRIES.get(region, ("", region))[1])
        return names

    def _build_aliases(self) -> dict[str, str]:
        known = set(self._annual) | set(self._monthly)
        candidates: dict[str, set[str]] = defaultdict(set)
        for code in known:
            candidates[fold(code)].add(code)
        for code, (alpha3, name) in COUNTRIES.items():
            if code in known:
                candidates[fold(alpha3)].add(code)
                candidates[fold(name)].add(code)
        for region, rows in self._annual.items():
            for row in rows:
                if row.name:
                    candidates[fold(row.name)].add(region)
        for alias, code in EXTRA_ALIASES.items():
            if code in known:
                candidates[fold(alias)].add(code)
        aliases = {}
        for key, codes in candidates.items():
            exact = [c for c in codes if fold(c) == key]
            if exact:
                aliases[key] = exact[0]
            elif len(codes) == 1:
                aliases[key] = next(iter(codes))
        return aliases

    # ----------------------------------------------------------------- regions
    def known_regions(self) -> list[str]:
        """All region codes with any data, sorted."""
        return sorted(set(self._annual) | set(self._monthly))

    def name_of(self, region: str) -> str:
        """Display name of a region code."""
        return self._names.get(region, region)

    def resolve_region(self, text: str) -> str:
        """``"DEU"``, ``"Germany"`` or ``"de"`` -> ``"DE"``; LpmError with suggestions."""
        key = fold(str(text))
        if not key:
            raise LpmError("region is empty; give a code such as EU27, DE or US-CAL-CISO.")
        if key in self._aliases:
            return self._aliases[key]
        close = difflib.get_close_matches(key, list(self._aliases), n=5, cutoff=0.6)
        seen: list[str] = []
        for match in close:
            code = self._aliases[match]
            label = f"{self.name_of(code)} ({code})"
            if label not in seen:
                seen.append(label)
        hint = f" Did you mean {' or '.join(seen[:3])}?" if seen else ""
        raise LpmError(
            f"unknown region {text!r}.{hint} Run `lpm regions --search TEXT` to find a region."
        )

    def aliases_of(self, region: str) -> list[str]:
        """Every spelling that resolves to ``region`` (codes and names, folded)."""
        return sorted(k for k, v in self._aliases.items() if v == region)

    def sources(self) -> list[str]:
        """All source ids in the tables, annual first."""
        annual = {r.source for rows in self._annual.values() for r in rows}
        monthly = {r.source for rows in self._monthly.values() for r in rows}
        return sorted(annual, key=_source_rank) + sorted(monthly - annual)

    # ----------------------------------------------------------------- look-ups
    def lookup(
        self,
        region: str,
        *,
        year: int | None = None,
        month: str | None = None,
        hour: int | None = None,
        source: str | None = None,
        basis: str | None = None,
    ) -> Intensity:
        """The carbon intensity for a region from the packaged tables (module docstring).

        Live values (Electricity Maps) are not looked up here: ``lpm.carbon.live`` sits on
        top of this table and falls back to it, so the table never calls back into it.
        """
        code = self.resolve_region(region)
        if basis is not None and basis not in BASES:
            raise LpmError(f"basis must be direct or lifecycle, not {basis!r}.")
        if source is not None and source not in self.sources():
            raise LpmError(f"unknown source {source!r}; known sources: {_join(self.sources())}.")
        if hour is not None:
            check_hour(hour)
        if month is None:
            if hour is not None:
                raise LpmError(
                    "an hour needs a month (e.g. --month 2022-12 --hour 13): "
                    "the hourly profiles are per month."
                )
            return self._annual_lookup(code, year=year, source=source, basis=basis)
        month_year, mon = parse_month(month)
        if year is not None and year != month_year:
            raise LpmError(f"year {year} and month {month} disagree; give only --month.")
        return self._month_lookup(code, month_year, mon, hour=hour, source=source, basis=basis)

    def _annual_lookup(
        self, code: str, *, year: int | None, source: str | None, basis: str | None
    ) -> Intensity:
        rows = self._annual.get(code, [])
        if not rows:
            raise LpmError(
                f"{code} has only monthly data; give a month, e.g. --month "
                f"{max(r.year for r in self._monthly[code])}-01."
            )
        label = code
        if source is not None:
            rows = [r for r in rows if r.source == source]
            if not rows:
                have = sorted({r.source for r in self._annual[code]}, key=_source_rank)
                raise LpmError(
                    f"source {source} has no annual value for {code}; "
                    f"sources for {code}: {_join(have)}."
                )
            label += f" from {source}"
        if basis is not None:
            filtered = [r for r in rows if r.basis == basis]
            if not filtered:
                have = sorted({r.basis for r in rows})
                raise LpmError(f"no {basis} values for {label}; available basis: {_join(have)}.")
            rows = filtered
            label += f" ({basis})"
        if year is not None:
            at_year = [r for r in rows if r.year == year]
            if not at_year:
                years = sorted({r.year for r in rows})
                raise LpmError(
                    f"no carbon intensity for {label} in {year}; years available: {_join(years)}."
                )
            rows = at_year
        best = min(rows, key=lambda r: (-r.year, _source_rank(r.source), _basis_rank(r.basis)))
        return self._intensity(best)

    def _month_lookup(
        self,
        code: str,
        year: int,
        month: int,
        *,
        hour: int | None,
        source: str | None,
        basis: str | None,
    ) -> Intensity:
        if source is not None and source != MONTHLY_SOURCE:
            raise LpmError(
                f"monthly values come only from source {MONTHLY_SOURCE}, not {source}; "
                "drop --source or the month."
            )
        rows = self._monthly.get(code, [])
        if not rows:
            raise LpmError(
                f"no monthly carbon intensity for {code}; monthly data exist for "
                f"{_join(sorted(self._monthly))}."
            )
        if basis is not None:
            rows = [r for r in rows if r.basis == basis]
        at_year = [r for r in rows if r.year == year]
        if not at_year:
            years = sorted({r.year for r in rows})
            raise LpmError(
                f"no monthly carbon intensity for {code} in {year}; years available: "
                f"{_join(years)}."
            )
        at_month = [r for r in at_year if r.month == month]
        if not at_month:
            have = sorted({r.month for r in at_year})
            raise LpmError(f"no value for {code} in {year}-{month:02d}; months: {_join(have)}.")
        best = min(at_month, key=lambda r: _basis_rank(r.basis))
        if hour is None:
            return self._intensity(best)
        profile = self._hourly.get((code, year, month, best.basis, hour))
        if profile is None:
            raise LpmError(
                f"no hourly profile for {code} in {year}-{month:02d} ({best.basis}); "
                "drop --hour for the monthly mean."
            )
        return self._intensity(profile)

    def _intensity(self, row: Intensity) -> Intensity:
        """A table row (named as in its table) under the region's one name."""
        return replace(row, name=self.name_of(row.region))

    def years(
        self, region: str, *, source: str | None = None, basis: str | None = None
    ) -> list[int]:
        """Years with annual data for a region (after the optional filters)."""
        code = self.resolve_region(region)
        rows = self._annual.get(code, [])
        return sorted(
            {
                r.year
                for r in rows
                if (source is None or r.source == source) and (basis is None or r.basis == basis)
            }
        )

    def months(self, region: str, year: int, *, basis: str | None = None) -> list[Intensity]:
        """The twelve monthly values of a year (Fig. 3b of the paper), January first."""
        code = self.resolve_region(region)
        result = []
        for month in range(1, 13):
            result.append(self.lookup(code, month=f"{year:04d}-{month:02d}", basis=basis))
        bases = {i.basis for i in result}
        if len(bases) > 1:  # pragma: no cover - the table always has both bases per month
            raise LpmError(f"{code} {year} mixes bases; pick one with --basis.")
        return result

    def lookup_many(
        self,
        regions: Iterable[str],
        *,
        year: int | None = None,
        month: str | None = None,
        hour: int | None = None,
        source: str | None = None,
        basis: str | None = None,
    ) -> list[Intensity]:
        """Look up several regions on one basis (bases are never mixed in a comparison).

        Without ``basis`` each region gets its usual value; if the bases differ, every
        region is looked up again with the basis all of them have (lifecycle first).
        """
        kwargs = {"year": year, "month": month, "hour": hour, "source": source}
        codes = [self.resolve_region(r) for r in regions]
        if not codes:
            raise LpmError("no regions to compare; give a list such as SE,DE,PL.")
        found = [self.lookup(c, basis=basis, **kwargs) for c in codes]
        if basis is not None or len({i.basis for i in found}) == 1:
            return found
        for common in BASIS_PRECEDENCE:
            try:
                return [self.lookup(c, basis=common, **kwargs) for c in codes]
            except LpmError:
                continue
        raise LpmError(
            f"{_join(codes)} have no basis in common for this period; "
            "compare fewer regions or pick --source."
        )

    def regions(self, *, source: str | None = None, basis: str | None = None) -> list[Intensity]:
        """The latest annual intensity per region (precedence applied), sorted by code."""
        result = []
        for code in sorted(self._annual):
            try:
                result.append(self._annual_lookup(code, year=None, source=source, basis=basis))
            except LpmError:
                continue
        return result

    def search(self, text: str) -> list[Intensity]:
        """Regions whose code, name or alias contains ``text`` (case-insensitive)."""
        key = fold(text)
        return [
            i
            for i in self.regions()
            if key in fold(i.region)
            or key in fold(i.name)
            or any(key in alias for alias in self.aliases_of(i.region))
        ]


@functools.lru_cache(maxsize=1)
def _default_database() -> IntensityDatabase:
    return IntensityDatabase.from_package_data()
