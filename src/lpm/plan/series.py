"""Carbon-intensity series: piecewise-constant g/kWh over time, and its exact integrals.

A series is a sorted list of start times (UTC, epoch seconds), each value holding until the
next start (the last one until ``end``). Irregular steps are therefore weighted by the time
each value covers, never by counting rows. Integrals over any interval are exact (prefix
sums), which is what the planner's sliding window needs.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from lpm.errors import LpmError

log = logging.getLogger(__name__)

HOUR_S = 3600.0


def to_epoch(when: datetime) -> float:
    """Epoch seconds of an aware datetime (a naive one is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def from_epoch(seconds: float) -> datetime:
    """The UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def _fmt(seconds: float) -> str:
    return from_epoch(seconds).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class IntensitySeries:
    """Grid carbon intensity (g CO2e/kWh) as a step function of time.

    ``starts`` are epoch seconds (UTC), strictly increasing; ``values[i]`` holds from
    ``starts[i]`` to ``starts[i + 1]`` (the last to ``end``). ``basis`` is "direct" or
    "lifecycle" and is never mixed with another basis in one comparison.
    """

    starts: tuple[float, ...]
    values: tuple[float, ...]
    end: float
    region: str
    basis: str
    source: str
    notes: tuple[str, ...] = ()
    _cum: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.starts or len(self.starts) != len(self.values):
            raise LpmError("an intensity series needs at least one (time, value) pair.")
        if any(b <= a for a, b in zip(self.starts, self.starts[1:], strict=False)):
            raise LpmError("an intensity series needs strictly increasing times.")
        if self.end <= self.starts[-1]:
            raise LpmError("an intensity series must end after its last start.")
        for v in self.values:
            if not math.isfinite(v) or v < 0:
                raise LpmError(f"carbon intensity {v} g/kWh is not a non-negative number.")
        cum = [0.0]
        for i in range(len(self.starts) - 1):
            cum.append(cum[-1] + self.values[i] * (self.starts[i + 1] - self.starts[i]))
        object.__setattr__(self, "_cum", tuple(cum))

    @property
    def start(self) -> float:
        """Where the series begins (epoch s)."""
        return self.starts[0]

    def covers(self, a: float, b: float) -> bool:
        """Whether [a, b] lies inside the series."""
        return self.start <= a <= b <= self.end

    def _primitive(self, t: float) -> float:
        """∫ from the series' start to t of the intensity (g/kWh × s)."""
        i = bisect.bisect_right(self.starts, t) - 1
        i = min(max(i, 0), len(self.starts) - 1)
        return self._cum[i] + self.values[i] * (t - self.starts[i])

    def integral(self, a: float, b: float) -> float:
        """∫_a^b intensity dt in g/kWh × s; LpmError outside the series."""
        if not self.covers(a, b):
            raise LpmError(
                f"the intensity series for {self.region} covers {_fmt(self.start)} to "
                f"{_fmt(self.end)} UTC, not {_fmt(a)} to {_fmt(b)}; give a window inside it."
            )
        return self._primitive(b) - self._primitive(a)

    def mean(self, a: float, b: float) -> float:
        """Time-weighted mean intensity over [a, b] (g/kWh)."""
        if b <= a:
            return self.value_at(a)
        return self.integral(a, b) / (b - a)

    def value_at(self, t: float) -> float:
        """The intensity in force at time t."""
        i = bisect.bisect_right(self.starts, t) - 1
        return self.values[min(max(i, 0), len(self.values) - 1)]

    def breakpoints(self, a: float, b: float) -> list[float]:
        """Times in [a, b] where the intensity changes (plus the series' end if inside)."""
        lo = bisect.bisect_left(self.starts, a)
        hi = bisect.bisect_right(self.starts, b)
        points = list(self.starts[lo:hi])
        if a <= self.end <= b:
            points.append(self.end)
        return points

    def slot_means(self, a: float, step_s: float, count: int) -> list[float]:
        """Mean intensity of ``count`` consecutive slots of ``step_s`` from ``a``."""
        return [self.mean(a + k * step_s, a + (k + 1) * step_s) for k in range(count)]

    def window(self, a: float, b: float) -> IntensitySeries:
        """The part of the series inside [a, b] (for small test fixtures and figures)."""
        a, b = max(a, self.start), min(b, self.end)
        if b <= a:
            raise LpmError("that window does not overlap the intensity series.")
        i = max(bisect.bisect_right(self.starts, a) - 1, 0)
        j = bisect.bisect_left(self.starts, b)
        starts = [a, *self.starts[i + 1 : j]]
        values = list(self.values[i:j])
        return IntensitySeries(
            tuple(starts), tuple(values), b, self.region, self.basis, self.source, self.notes
        )


def constant_series(
    value: float, a: float, b: float, *, region: str, basis: str, source: str, note: str = ""
) -> IntensitySeries:
    """One value over [a, b] (an annual table: timing cannot change the CO2e)."""
    return IntensitySeries((a,), (float(value),), b, region, basis, source, (note,) if note else ())


def parse_timestamp(text: str, tz: tzinfo = UTC) -> float:
    """Epoch seconds of an ISO 8601 time ("Z" allowed); a naive one is read in `tz`."""
    text = str(text).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.timestamp()


def _columns(header: Sequence[str]) -> tuple[int, int]:
    names = [h.strip().lower() for h in header]
    time_col = next(
        (i for i, n in enumerate(names) if n in ("timestamp", "time", "datetime", "date")), 0
    )
    value_col = next(
        (i for i, n in enumerate(names) if i != time_col and ("g" in n or "intensity" in n)),
        1 if time_col == 0 else 0,
    )
    return time_col, value_col


def read_series_csv(
    path: str | Path,
    *,
    region: str = "custom",
    basis: str = "lifecycle",
    source: str | None = None,
    tz: tzinfo = UTC,
) -> IntensitySeries:
    """A series from a CSV of (timestamp, g/kWh) rows.

    Timestamps are ISO 8601; naive ones are read in ``tz`` (UTC by default). Unparsable
    rows are skipped (and counted in a note); none parsable, a negative value or two rows
    at one time are one-line LpmErrors; unsorted rows are sorted with a warning. The last
    value holds for the median step.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise LpmError(f"cannot read intensity CSV {path}: {exc}") from None
    if not rows:
        raise LpmError(f"{path} is empty; give a CSV of timestamp,g_co2e_per_kwh rows.")
    time_col, value_col = _columns(rows[0])
    pairs: list[tuple[float, float, int]] = []
    skipped = 0
    for line, row in enumerate(rows, start=1):
        try:
            t = parse_timestamp(row[time_col], tz)
            v = float(row[value_col])
        except (IndexError, ValueError):
            skipped += line > 1  # the first row may be the header
            continue
        if not math.isfinite(v) or v < 0:
            raise LpmError(
                f"{path} line {line}: carbon intensity {row[value_col]!r} is not a "
                "non-negative number of g/kWh; fix or drop that row."
            )
        pairs.append((t, v, line))
    if not pairs:
        raise LpmError(
            f"{path} has no parsable rows; give a CSV of timestamp,g_co2e_per_kwh rows "
            "(ISO 8601 times)."
        )
    if any(b[0] < a[0] for a, b in itertools.pairwise(pairs)):
        log.warning("%s: rows are not in time order; sorted them.", path)
        pairs.sort(key=lambda p: p[0])
    for a, b in itertools.pairwise(pairs):
        if a[0] == b[0]:
            raise LpmError(
                f"{path} lines {a[2]} and {b[2]} have the same time {_fmt(a[0])} UTC; "
                "keep one value per time."
            )
    starts = [p[0] for p in pairs]
    steps = [b - a for a, b in itertools.pairwise(starts)]
    last = statistics.median(steps) if steps else HOUR_S
    notes = (f"{skipped} unparsable row(s) skipped",) if skipped else ()
    return IntensitySeries(
        tuple(starts),
        tuple(p[1] for p in pairs),
        starts[-1] + last,
        region,
        basis,
        source or path.name,
        notes,
    )
