"""The types of a run record's lines, checked as they are read (:func:`check_line`).

A record line whose JSON is valid but whose types are not (``"elapsed_s": "soon"``,
``"summary": 5``, a line that is a list, a NaN, a number too large for a float) is one
:class:`~lpm.errors.LpmError` naming the file, the line and the field, never a TypeError
deep in a reader. Every field a reader uses is checked when present; the fields a reader
cannot do without are required. Unknown fields and unknown line types are left alone
(newer lpm versions may add them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lpm.energy.results import RUN_STATUSES
from lpm.errors import LpmError
from lpm.provenance import Provenance

LIMIT = 1e18
"""Largest magnitude of a number in a record (far above any energy in J or count)."""

Check = Callable[[Any, str], None]
_MISSING = object()


class _Bad(Exception):
    def __init__(self, where: str, value: Any, expected: str) -> None:
        super().__init__(where)
        self.where, self.value, self.expected = where, value, expected


def _at(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def num(v: Any, where: str) -> None:
    """A finite number (not a bool) of magnitude at most :data:`LIMIT`."""
    ok = isinstance(v, int | float) and not isinstance(v, bool)
    if not ok or (isinstance(v, float) and not math.isfinite(v)) or abs(v) > LIMIT:
        raise _Bad(where, v, "a finite number")


def count(v: Any, where: str) -> None:
    """A whole number >= 0."""
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= LIMIT:
        raise _Bad(where, v, "a whole number >= 0")


def text(v: Any, where: str) -> None:
    if not isinstance(v, str):
        raise _Bad(where, v, "text")


def flag(v: Any, where: str) -> None:
    if not isinstance(v, bool):
        raise _Bad(where, v, "true or false")


def provenance(v: Any, where: str) -> None:
    """A provenance name (or the old ``estimated`` flag, or null)."""
    try:
        if v is not None and not isinstance(v, bool | str):
            raise ValueError
        Provenance.parse(v)
    except ValueError:
        raise _Bad(where, v, f"one of {', '.join(p.value for p in Provenance)}") from None


def status(v: Any, where: str) -> None:
    if v not in RUN_STATUSES[:3]:
        raise _Bad(where, v, f"one of {', '.join(RUN_STATUSES[:3])}")


def scalar(v: Any, where: str) -> None:
    """Text, a number, true/false or null (a value written to a CSV cell)."""
    if v is None or isinstance(v, str | bool):
        return
    num(v, where)


def anything(v: Any, where: str) -> None:
    pass


def nullable(check: Check) -> Check:
    def run(v: Any, where: str) -> None:
        if v is not None:
            check(v, where)

    return run


def mapping(check: Check) -> Check:
    """An object whose every value passes ``check``."""

    def run(v: Any, where: str) -> None:
        if not isinstance(v, dict):
            raise _Bad(where, v, "an object")
        for k, x in v.items():
            check(x, _at(where, k))

    return run


def listof(check: Check) -> Check:
    def run(v: Any, where: str) -> None:
        if not isinstance(v, list):
            raise _Bad(where, v, "a list")
        for i, x in enumerate(v):
            check(x, f"{where}[{i}]")

    return run


def obj(required: dict[str, Check] | None = None, **optional: Check) -> Check:
    """An object with the ``required`` fields and, when present, the ``optional`` ones."""
    required = required or {}

    def run(v: Any, where: str) -> None:
        if not isinstance(v, dict):
            raise _Bad(where, v, "an object")
        for k, check in required.items():
            if k not in v:
                raise _Bad(_at(where, k), _MISSING, "")
            check(v[k], _at(where, k))
        for k, check in optional.items():
            if k in v:
                check(v[k], _at(where, k))

    return run


INTENSITY = obj(
    {"g_per_kwh": num},
    region=text, name=text, source=text, year=count, month=nullable(count),
    hour=nullable(count), basis=text,
)  # fmt: skip
CONTEXT = obj(
    os=nullable(text), python_version=nullable(text), cpu_model=nullable(text),
    cpu_count_logical=nullable(count), ram_total_gb=nullable(num), gpu_names=listof(text),
    meters=listof(mapping(anything)),
    slurm=nullable(obj(job_id=scalar, step_id=scalar, node_name=scalar, account=scalar)),
)  # fmt: skip
DEVICE = obj({"key": text}, name=text, kind=text, provenance=provenance, estimated=flag)
TOTALS = {
    "elapsed_s": num,
    "steps_total": count,
    "totals_j": mapping(num),
    "provenance_by_device": mapping(provenance),
    "estimated_keys": listof(text),
}
COMPONENT = obj(
    {"name": text, "kind": text, "energy_j": num, "energy_kwh": num, "mean_power_w": num},
    provenance=provenance, estimated=flag, device_id=text,
)  # fmt: skip
SUMMARY_WINDOW = obj(
    {"count": count, "duration_s": num, "steps": count, "energy_kwh": num, "mean_power_w": num},
    energy_j=num, by_kind_j=mapping(num), energy_by_device_j=mapping(num),
    provenance=provenance, provenance_by_kind=mapping(provenance),
    provenance_by_device=mapping(provenance), estimated=flag,
)  # fmt: skip
STEP_STATS = obj(
    count=count, duration_s_mean=num, duration_s_std=num, power_w_mean=num, power_w_std=num,
    energy_j_mean=num, energy_j_std=num, provenance=provenance, estimated=flag,
    window=nullable(text), warmup_steps=count, power_samples=count,
)  # fmt: skip
EQUIVALENTS = obj(
    co2e_kg=num, car_km=num, smartphone_charges=num, flight_km=num, flight_class=text,
    tree_seedlings_10y=num, annual_budget_share=num, annual_budget_kg=num, budget=text,
)  # fmt: skip
FOOTPRINT = obj(
    it_energy_kwh=num, it_energy_kwh_std=num, pue=num, facility_energy_kwh=num,
    facility_energy_kwh_std=num, region=text, region_name=text,
    carbon_intensity_g_per_kwh=num, intensity_source=text, intensity_year=count,
    intensity_month=nullable(count), intensity_hour=nullable(count), basis=text,
    co2e_kg=num, co2e_kg_std=num, equivalents=EQUIVALENTS,
)  # fmt: skip
SUMMARY = obj(
    run_id=text, started_at=text, duration_s=num, it_energy_kwh=num,
    facility_energy_kwh=num, co2e_kg=num, components=listof(COMPONENT),
    windows=mapping(SUMMARY_WINDOW), steps=count, provenance=provenance,
    provenance_by_kind=mapping(provenance), provenance_parts=text, estimated=flag,
    complete=flag, status=status, faults=listof(text), step_stats=mapping(STEP_STATS),
    footprint=FOOTPRINT, context=CONTEXT, path=nullable(text),
)  # fmt: skip

HEADER = obj(
    {"run_id": text, "devices": listof(DEVICE)},
    schema=count, run_name=nullable(text), started_at=text, interval_s=num, pue=num,
    region=text, intensity=INTENSITY, warmup_steps=count, context=CONTEXT,
)  # fmt: skip
WINDOW = obj(
    {"name": text},
    index=count, started_at=text, t_start_s=num, duration_s=num, steps=count,
    energy_j=mapping(num), provenance=provenance, **TOTALS,
)  # fmt: skip
LINES: dict[str, Check] = {
    "header": HEADER,
    "window": WINDOW,
    "checkpoint": obj(**TOTALS),
    "fault": obj(elapsed_s=num, message=text),
    "summary": obj({"summary": SUMMARY}, status=status),
}
"""What each line type holds (line types not named here are not checked)."""


def _json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "text"
    return "a list" if isinstance(v, list) else "an object"


def _shown(v: Any) -> str:
    if v is _MISSING:
        return "missing"
    if isinstance(v, dict | list):
        return _json_kind(v)
    r = repr(v)
    return f"{r if len(r) <= 40 else r[:37] + '...'} ({_json_kind(v)})"


def check_line(line: Any, path: Path, number: int) -> dict:
    """``line`` (parsed JSON) when its types are a record line's; else one LpmError."""
    fix = "the run record is damaged; fix or remove that line"
    if not isinstance(line, dict):
        raise LpmError(f"{path} line {number} is {_json_kind(line)}, not an object; {fix}")
    kind = line.get("type")
    check = LINES.get(kind) if isinstance(kind, str) else None
    try:
        if kind is not None and not isinstance(kind, str):
            raise _Bad("type", kind, "text")
        if check is not None:
            check(line, "")
    except _Bad as bad:
        expected = f", expected {bad.expected}" if bad.expected else ""
        raise LpmError(
            f"{path} line {number}: field {bad.where!r} is {_shown(bad.value)}{expected}; {fix}"
        ) from None
    return line
