"""Times and durations as people type them: "2026-12-02T08:00", "now", "24h", "90min"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lpm.errors import LpmError
from lpm.plan.series import parse_timestamp

_UNITS = {
    "s": 1,
    "sec": 1,
    "min": 60,
    "m": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


MAX_DURATION_S = 366 * 86400.0  # a plan looks at most a year ahead


def parse_duration(text: str, *, what: str = "duration") -> float:
    """Seconds of "90min", "1.5h", "2d", "45s" (a bare number is hours), at most a year."""
    match = _DURATION.match(str(text).lower())
    if not match or (match.group(2) and match.group(2) not in _UNITS):
        raise LpmError(f"cannot read {what} {text!r}; write it like 90min, 8h or 2d.")
    seconds = float(match.group(1)) * _UNITS.get(match.group(2) or "h", 3600)
    if not seconds > 0:
        raise LpmError(f"{what} must be longer than zero, got {text!r}.")
    if seconds > MAX_DURATION_S:
        raise LpmError(f"{what} {text!r} is longer than a year; plan at most 366d ahead.")
    return seconds


def parse_tz(name: str | None) -> tzinfo:
    """A time zone by IANA name ("Europe/Berlin"), "UTC", or None for the machine's own."""
    if name is None:
        local = datetime.now().astimezone().tzinfo
        return local or UTC
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LpmError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC."
        ) from None


def parse_time(text: str | None, tz: tzinfo, *, now: datetime | None = None) -> datetime:
    """An aware datetime from ISO 8601 (naive = in `tz`) or "now" / None."""
    if text is None or str(text).strip().lower() == "now":
        return (now or datetime.now(UTC)).astimezone(UTC)
    try:
        return datetime.fromtimestamp(parse_timestamp(str(text), tz), tz=UTC)
    except ValueError:
        raise LpmError(f"cannot read the time {text!r}; write it like 2026-12-02T08:00.") from None
