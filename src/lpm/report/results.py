"""Read a study directory: ``results.jsonl`` (one record per scenario) and ``spec.yaml``.

The results file is append-only and written by ``lpm.study`` (format in docs/INTERFACES.md).
This reader is tolerant of what a crash or a resume can leave behind:

- a truncated last line (a ``kill -9`` in the middle of a write) is skipped;
- a partial line glued to the next record (a resume appended after a truncated line) is
  recovered: the complete record at its end is kept;
- duplicate ``scenario_id`` values: the last record wins (a re-run replaces a result).

Skipped lines are reported in :attr:`ResultsFile.skipped_lines`, never silently lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpm.errors import LpmError

RESULTS_FILENAME = "results.jsonl"
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
class SkippedLine:
    """A line of the results file that held no complete record."""

    line_number: int
    reason: str


@dataclass(frozen=True)
class ResultsFile:
    """The records of one results file, deduplicated by ``scenario_id`` (last wins).

    ``records`` keeps the order in which each scenario first appeared.
    """

    path: Path
    records: tuple[dict[str, Any], ...]
    skipped_lines: tuple[SkippedLine, ...] = ()
    duplicates: int = 0

    def ids(self, status: str | None = None) -> set[str]:
        """Scenario ids present (optionally only those with this ``status``)."""
        return {
            r["scenario_id"] for r in self.records if status is None or r.get("status") == status
        }

    def ok(self) -> tuple[dict[str, Any], ...]:
        """The records whose status is ``"ok"``."""
        return tuple(r for r in self.records if r.get("status", "ok") == "ok")


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


def _decode_line(text: str) -> dict[str, Any] | None:
    """A record from one line, recovering the last complete record of a glued line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    # A truncated record followed by a complete one on the same line: try each "{" from
    # the right until the rest of the line decodes to a whole object.
    decoder = json.JSONDecoder()
    start = text.rfind("{")
    while start > 0:
        try:
            candidate, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            candidate, end = None, -1
        if isinstance(candidate, dict) and "scenario_id" in candidate and not text[end:].strip():
            return candidate
        start = text.rfind("{", 0, start)
    return None


def results_path(study_dir: str | Path) -> Path:
    """``DIR/results.jsonl`` for a study directory (or the file itself if given)."""
    path = Path(study_dir)
    return path if path.suffix == ".jsonl" else path / RESULTS_FILENAME


def read_results(study_dir: str | Path, *, missing_ok: bool = False) -> ResultsFile:
    """Read ``DIR/results.jsonl`` (or a ``.jsonl`` path).

    Raises LpmError if the file is missing (unless ``missing_ok``; then no records).
    """
    path = results_path(study_dir)
    if not path.is_file():
        if missing_ok:
            return ResultsFile(path=path, records=())
        raise LpmError(
            f"no results file at {path}; run `lpm study --out {path.parent}` first "
            "or pass the directory that holds results.jsonl"
        )
    raw = path.read_bytes().decode("utf-8", errors="replace")
    lines = raw.split("\n")
    by_id: dict[str, dict[str, Any]] = {}
    skipped: list[SkippedLine] = []
    duplicates = 0
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        record = _decode_line(text)
        if record is None:
            last = number == len(lines) or (number == len(lines) - 1 and not lines[-1].strip())
            reason = "truncated last line" if last else "not a JSON object"
            skipped.append(SkippedLine(number, reason))
            continue
        scenario_id = record.get("scenario_id")
        if not isinstance(scenario_id, str) or not scenario_id:
            skipped.append(SkippedLine(number, "record without a scenario_id"))
            continue
        if scenario_id in by_id:
            duplicates += 1
        by_id[scenario_id] = record  # dict keeps first-seen order; the value is the last
    return ResultsFile(
        path=path,
        records=tuple(by_id.values()),
        skipped_lines=tuple(skipped),
        duplicates=duplicates,
    )


def _months_from(value: Any, year: int | None) -> tuple[str, ...]:
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
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise LpmError(f"{path} is not valid YAML{where}; fix or delete it") from None
    if not isinstance(raw, dict):
        raise LpmError(f"{path} must hold a mapping of spec fields; fix or delete it")
    return spec_from_mapping(raw)
