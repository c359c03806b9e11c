"""Live intensity forecasts for planning, falling back to the packaged profiles.

- Great Britain: the National Grid ESO carbon-intensity API (``/intensity/{from}/fw48h``,
  no token; 30-minute steps, 48 hours ahead; ESO's own, operational basis: "direct").
- Other zones: Electricity Maps' ``/v3/carbon-intensity/forecast`` with a token
  (``ELECTRICITYMAPS_API_TOKEN``; lifecycle basis unless asked otherwise).

Forecasts are never cached (they change every half hour). Any failure or bad answer — no
token, no network, an HTTP error, a negative, missing or non-numeric value, too few points —
gives the packaged profile instead, with a note that says why. ``LPM_CARBONINTENSITY_URL``
and ``LPM_ELECTRICITYMAPS_URL`` point the clients elsewhere (the tests' local servers).
"""

from __future__ import annotations

import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request

from lpm.carbon import IntensityDatabase
from lpm.errors import LpmError
from lpm.plan.profiles import table_series
from lpm.plan.series import IntensitySeries, from_epoch, parse_timestamp

ESO_URL = "https://api.carbonintensity.org.uk"
ENV_ESO_URL = "LPM_CARBONINTENSITY_URL"
EM_URL = "https://api.electricitymaps.com"
ENV_EM_URL = "LPM_ELECTRICITYMAPS_URL"
ENV_EM_TOKEN = "ELECTRICITYMAPS_API_TOKEN"
TIMEOUT_S = 10.0


class ForecastError(LpmError):
    """A live forecast could not be used (the caller falls back to the profiles)."""


def _get(url: str, headers: dict[str, str], what: str) -> object:
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise ForecastError(f"{what} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ForecastError(
            f"{what} could not be reached ({getattr(exc, 'reason', exc)})"
        ) from None
    except ValueError:
        raise ForecastError(f"{what} sent an answer that is not JSON") from None


def _series(
    points: list[tuple[float, float]], step_s: float, region: str, basis: str, source: str
) -> IntensitySeries:
    good = sorted(dict(points).items())
    if len(good) < 2:
        raise ForecastError(f"{source} gave fewer than two forecast points")
    for _, v in good:
        if not math.isfinite(v) or v < 0:
            raise ForecastError(f"{source} gave an intensity of {v} g/kWh")
    return IntensitySeries(
        tuple(t for t, _ in good),
        tuple(v for _, v in good),
        good[-1][0] + step_s,
        region,
        basis,
        source,
        (f"{region}: live forecast from {source}",),
    )


def eso_forecast(start: float) -> IntensitySeries:
    """Great Britain's next 48 hours from the National Grid ESO API (no token)."""
    base = os.environ.get(ENV_ESO_URL) or ESO_URL
    stamp = from_epoch(start).strftime("%Y-%m-%dT%H:%MZ")
    data = _get(f"{base.rstrip('/')}/intensity/{stamp}/fw48h", {}, "the ESO carbon-intensity API")
    try:
        rows = data["data"]  # type: ignore[index]
        points = [(parse_timestamp(r["from"]), float(r["intensity"]["forecast"])) for r in rows]
    except (KeyError, TypeError, ValueError):
        raise ForecastError("the ESO carbon-intensity API sent an unexpected answer") from None
    return _series(points, 1800.0, "GB", "direct", "nationalgrideso_forecast")


def electricitymaps_forecast(zone: str, *, basis: str = "lifecycle") -> IntensitySeries:
    """A zone's forecast from Electricity Maps (needs ELECTRICITYMAPS_API_TOKEN)."""
    token = os.environ.get(ENV_EM_TOKEN, "")
    if not token:
        raise ForecastError(f"no Electricity Maps token ({ENV_EM_TOKEN} is not set)")
    base = os.environ.get(ENV_EM_URL) or EM_URL
    query = urllib.parse.urlencode({"zone": zone, "emissionFactorType": basis})
    data = _get(
        f"{base.rstrip('/')}/v3/carbon-intensity/forecast?{query}",
        {"auth-token": token},
        "Electricity Maps",
    )
    try:
        rows = data["forecast"]  # type: ignore[index]
        points = [(parse_timestamp(r["datetime"]), float(r["carbonIntensity"])) for r in rows]
    except (KeyError, TypeError, ValueError):
        raise ForecastError("Electricity Maps sent an unexpected forecast") from None
    step = points[1][0] - points[0][0] if len(points) > 1 else 3600.0
    return _series(points, step, zone, basis, "electricitymaps_forecast")


def live_series(
    region: str, start: float, end: float, *, db: IntensityDatabase | None = None
) -> IntensitySeries:
    """A live forecast for [start, end] where one can be had, else the packaged profile.

    A forecast that ends before `end` is used up to its end (the window is cut there, and a
    note says so); bases are never mixed by splicing tables onto it.
    """
    db = db or IntensityDatabase.default()
    code = db.resolve_region(region)
    try:
        series = eso_forecast(start) if code == "GB" else electricitymaps_forecast(code)
        if series.start > start:
            raise ForecastError(f"the forecast starts only at {from_epoch(series.start):%H:%M} UTC")
    except ForecastError as exc:
        fallback = table_series(code, start, end, db=db)
        note = f"{code}: live forecast unavailable ({exc}); used the packaged profile instead"
        return IntensitySeries(
            fallback.starts, fallback.values, fallback.end, fallback.region, fallback.basis,
            fallback.source, (note, *fallback.notes),
        )  # fmt: skip
    if series.end < end:
        note = (
            f"{code}: the forecast ends {from_epoch(series.end):%Y-%m-%d %H:%M} UTC, before the "
            "deadline; options are limited to it"
        )
        series = IntensitySeries(
            series.starts, series.values, series.end, series.region, series.basis,
            series.source, (*series.notes, note),
        )  # fmt: skip
    return series
