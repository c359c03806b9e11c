"""Read a study directory: ``results.jsonl`` (one record per scenario) and ``spec.yaml``.

The results file is parsed by :mod:`lpm.results`, the one parser of study records (schema
version 2): :func:`read_results` here is :func:`lpm.results.read_results`, re-exported with
:class:`~lpm.results.ResultsFile` and :class:`~lpm.results.SkippedLine` so the report reads
typed :class:`~lpm.results.ScenarioRecord` values. Tolerated: a truncated last line, a
partial line glued to the next record; duplicate ``scenario_id`` values: the last wins. A
record of another schema version is a one-line LpmError, never misread.

This module reads ``spec.yaml`` into the report's :class:`ReportSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.io import load_yaml
from lpm.results import (
    RESULTS_FILENAME,
    ResultsFile,
    SkippedLine,
    read_results,
    results_path,
)

__all__ = [
    "RESULTS_FILENAME",
    "SPEC_FILENAME",
    "ReportSpec",
    "ResultsFile",
    "SkippedLine",
    "read_results",
    "read_spec",
    "results_path",
    "spec_from_mapping",
]

SPEC_FILENAME = "spec.yaml"

#: Table 1 of the paper: the regions compared in Fig. 3a, with their 2022 intensities.
DEFAULT_REGIONS: tuple[str, ...] = ("SE", "DE", "PL", "CN", "US", "EU27")
DEFAULT_REGION_SOURCE = "paper2024"
#: Fig. 3b of the paper: the months of Germany in 2022.
DEFAULT_MONTHS_REGION = "DE"
DEFAULT_MONTHS: tuple[str, ...] = tuple(f"2022-{m:02d}" for m in range(1, 13))
#: Monthly intensities are compared on one basis only (never mix direct and lifecycle).
DEFAULT_MONTHS_BASIS = "direct"
DEFAULT_TARGETS: dict[str, int] = {"train_iterations": 150_000, "samples": 10_000}


@dataclass(frozen=True)
class ReportSpec:
    """What the report needs from ``DIR/spec.yaml`` (defaults when the file is absent)."""

    regions: tuple[str, ...] = DEFAULT_REGIONS
    region_source: str | None = DEFAULT_REGION_SOURCE
    months: tuple[str, ...] = DEFAULT_MONTHS
    months_region: str = DEFAULT_MONTHS_REGION
    months_basis: str | None = DEFAULT_MONTHS_BASIS
    targets: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    pue: float | None = None
    base_region: str | None = None
    base: dict[str, Any] = field(default_factory=dict)
    from_file: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


def _months_from(value: Any, year: int | None) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise LpmError(
            f"spec.yaml: months must be a list (1-12 or YYYY-MM), not {value!r}; fix the spec"
        )
    months: list[str] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            if not 1 <= item <= 12:
                raise LpmError(f"spec.yaml: month {item} is not 1-12; fix the months list")
            months.append(f"{year or 2022}-{item:02d}")
        else:
            text = str(item).strip()
            parts = text.split("-")
            if (
                len(parts) != 2
                or not all(p.isdigit() for p in parts)
                or not 1 <= int(parts[1]) <= 12
            ):
                raise LpmError(
                    f"spec.yaml: month {text!r} is not YYYY-MM or 1-12; fix the months list"
                )
            months.append(f"{int(parts[0]):04d}-{int(parts[1]):02d}")
    return tuple(months)


def _parse_regions(value: Any, spec: ReportSpec) -> tuple[tuple[str, ...], str | None]:
    """Regions as a list of codes, a list of {region, source} maps, or a map with a list."""
    source = spec.region_source
    if isinstance(value, dict):
        source = value.get("source", source)
        value = value.get("regions", value.get("names", ()))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise LpmError(f"spec.yaml: regions must be a list of codes, not {value!r}; fix the spec")
    regions: list[str] = []
    for item in value or ():
        if isinstance(item, dict):
            regions.append(str(item.get("region", item.get("name", ""))).strip())
            source = item.get("source", source)
        else:
            regions.append(str(item).strip())
    return tuple(r for r in regions if r), (str(source) if source else None)


def spec_from_mapping(raw: dict[str, Any], *, from_file: bool = True) -> ReportSpec:
    """The report's view of a study spec given as a mapping (the parsed ``spec.yaml``)."""
    base = ReportSpec()
    regions, region_source = base.regions, base.region_source
    if raw.get("regions"):
        regions, region_source = _parse_regions(raw["regions"], base)
        region_source = raw.get("region_source", raw.get("intensity_source", region_source))
    months, months_region, months_basis = base.months, base.months_region, base.months_basis
    months_value = raw.get("months")
    if isinstance(months_value, dict):
        months_region = str(months_value.get("region", months_region))
        months_basis = months_value.get("basis", months_basis)
        year = months_value.get("year")
        months_value = months_value.get("months", list(range(1, 13)))
        months = _months_from(months_value, int(year) if year else None)
    elif months_value:
        months = _months_from(months_value, raw.get("months_year"))
    months_region = str(raw.get("months_region", months_region))
    months_basis = raw.get("months_basis", months_basis)
    targets = dict(base.targets)
    if isinstance(raw.get("targets"), dict):
        for key, value in raw["targets"].items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                targets[str(key)] = int(value)
    pue = raw.get("pue")
    if pue is not None and (not isinstance(pue, int | float) or isinstance(pue, bool) or pue < 1):
        raise LpmError(f"spec.yaml: pue {pue!r} is not a number >= 1; fix the spec")
    return ReportSpec(
        regions=regions,
        region_source=str(region_source) if region_source else None,
        months=months,
        months_region=months_region,
        months_basis=str(months_basis) if months_basis else None,
        targets=targets,
        pue=float(pue) if pue is not None else None,
        base_region=str(raw["region"]) if raw.get("region") else None,
        base={k: v for k, v in (raw.get("base") or {}).items() if v not in (None, {}, [])}
        if isinstance(raw.get("base"), dict)
        else {},
        from_file=from_file,
        raw=dict(raw),
    )


def read_spec(study_dir: str | Path) -> ReportSpec:
    """``DIR/spec.yaml`` as a :class:`ReportSpec`; defaults (Table 1, DE 2022) if absent."""
    path = Path(study_dir) / SPEC_FILENAME
    if not path.is_file():
        return ReportSpec()
    raw = load_yaml(path, fix="fix or delete it") or {}
    if not isinstance(raw, dict):
        raise LpmError(f"{path} must hold a mapping of spec fields; fix or delete it")
    try:
        return spec_from_mapping(raw)
    except (TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type
        raise LpmError(f"{path}: a field has the wrong type ({exc}); fix or delete it") from None
