"""Reading the packaged intensity tables: CSV files in ``lpm/carbon/data`` to Intensity rows.

The annual, monthly and hourly-profile tables share one layout (``region``, ``name``,
``year``, ``month``, ``hour_utc``, ``g_co2e_per_kwh``, ``basis``, ``source``). Rows whose
name column names another country than their code are dropped here, before any look-up.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from importlib import resources

from lpm.carbon.intensity_value import Intensity
from lpm.carbon.regions import COUNTRIES, fold

__all__ = [
    "ANNUAL_TABLE",
    "HOURLY_TABLE",
    "MONTHLY_TABLE",
    "drop_mislabelled",
    "parse_rows",
    "read_csv",
    "read_table",
]

log = logging.getLogger("lpm.carbon.intensity")  # the table's logger, as before the split

ANNUAL_TABLE = "carbon_intensity_annual.csv"
MONTHLY_TABLE = "carbon_intensity_monthly.csv"
HOURLY_TABLE = "carbon_intensity_hourly_profile.csv"


def read_csv(filename: str) -> list[dict[str, str]]:
    """The records of a packaged CSV table (``lpm/carbon/data/<filename>``)."""
    text = resources.files("lpm.carbon").joinpath("data", filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def parse_rows(records: Iterable[dict[str, str]]) -> list[Intensity]:
    """The table's rows as intensities, each named as in its table."""
    rows = []
    for rec in records:
        rows.append(
            Intensity(
                region=rec["region"],
                name=rec.get("name", "") or "",
                year=int(rec["year"]),
                g_per_kwh=float(rec["g_co2e_per_kwh"]),
                basis=rec["basis"],
                source=rec["source"],
                month=int(rec["month"]) if rec.get("month") else None,
                hour=int(rec["hour_utc"]) if rec.get("hour_utc") else None,
            )
        )
    return rows


def read_table(filename: str) -> list[Intensity]:
    """A packaged table's rows as intensities."""
    return parse_rows(read_csv(filename))


def drop_mislabelled(rows: list[Intensity]) -> list[Intensity]:
    """Drop rows whose name column names a different country than their code."""
    country_of_name = {fold(name): code for code, (_a3, name) in COUNTRIES.items()}
    kept = []
    for row in rows:
        owner = country_of_name.get(fold(row.name)) if row.name else None
        if owner is not None and owner != row.region:
            log.debug("dropping mislabelled row %s (name %r belongs to %s)", row, row.name, owner)
            continue
        kept.append(row)
    return kept
