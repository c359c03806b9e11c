"""Run records: append-only JSON Lines, flushed and fsynced per line; and reading them back.

Line types: ``header`` (context, devices, settings), ``window`` (one closed window),
``checkpoint`` (cumulative totals every few seconds), ``fault`` (a meter problem), and a
final ``summary``. A run killed with -9 has no summary line; :func:`read_run` rebuilds its
totals from the last window or checkpoint line and its windows from the window lines.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from lpm.carbon import footprint
from lpm.energy.results import J_PER_KWH, ComponentEnergy, RunSummary
from lpm.errors import LpmError

SCHEMA = 1


class RecordWriter:
    """Appends JSON lines to one file; every line is flushed and fsynced before returning."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
        self._lock = threading.Lock()

    def write(self, obj: dict[str, Any]) -> None:
        """Append one line and make it durable."""
        line = json.dumps(obj, separators=(",", ":"), default=str, allow_nan=False)
        with self._lock:
            if self._fh.closed:
                return
            self._fh.write(line + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        with self._lock:
            if not self._fh.closed:
                self._fh.close()


def resolve_record_path(path: Path | str) -> Path:
    """A run record file; for a directory, its most recent ``*.jsonl``."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.jsonl"), key=lambda f: f.stat().st_mtime)
        if not files:
            raise LpmError(f"no run record (*.jsonl) in {p}; pass a run record file or its folder")
        return files[-1]
    if not p.exists():
        raise LpmError(f"run record {p} does not exist; pass a .jsonl file written by lpm")
    return p


def read_lines(path: Path) -> tuple[list[dict], int]:
    """Parsed lines of a record and how many could not be parsed (a torn last line)."""
    lines: list[dict] = []
    bad = 0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LpmError(f"cannot read run record {path}: {exc.strerror or exc}") from None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(obj, dict):
            lines.append(obj)
        else:
            bad += 1
    return lines, bad


def _summary_from_dict(d: dict, header: dict, path: Path) -> RunSummary:
    components = [ComponentEnergy.from_dict(c) for c in d.get("components", [])]
    it_kwh = float(d.get("it_energy_kwh", sum(c.energy_kwh for c in components)))
    fp = footprint(it_kwh, pue=header.get("pue", 1.55), region=header.get("region", "EU27"))
    return RunSummary(
        run_id=d.get("run_id", header.get("run_id", "")),
        duration_s=float(d.get("duration_s", 0.0)),
        it_energy_kwh=it_kwh,
        facility_energy_kwh=fp.facility_energy_kwh,
        co2e_kg=fp.co2e_kg,
        components=components,
        windows=d.get("windows", {}),
        steps=int(d.get("steps", 0)),
        estimated=bool(d.get("estimated", any(c.estimated for c in components))),
        context=d.get("context", header.get("context", {})),
        footprint=fp,
        complete=True,
        started_at=d.get("started_at", header.get("started_at", "")),
        path=str(path),
        faults=list(d.get("faults", [])),
        step_stats=d.get("step_stats", {}),
    )


def _rebuild(lines: list[dict], header: dict, path: Path, bad: int) -> RunSummary:
    """Summary of an interrupted run from its window and checkpoint lines."""
    devices = {dev["key"]: dev for dev in header.get("devices", [])}
    totals: dict[str, float] = {}
    estimated_keys: set[str] = {k for k, dev in devices.items() if dev.get("estimated")}
    elapsed = 0.0
    steps = 0
    windows: dict[str, dict] = {}
    faults: list[str] = []
    for line in lines:
        kind = line.get("type")
        if kind in ("window", "checkpoint") and "totals_j" in line:
            if float(line.get("elapsed_s", 0.0)) >= elapsed:
                totals = {k: float(v) for k, v in line["totals_j"].items()}
                elapsed = float(line.get("elapsed_s", 0.0))
                steps = int(line.get("steps_total", steps))
            estimated_keys |= set(line.get("estimated_keys", []))
        if kind == "window":
            w = windows.setdefault(
                line["name"],
                {"count": 0, "duration_s": 0.0, "steps": 0, "energy_j": 0.0, "by_kind_j": {}},
            )
            w["count"] += 1
            w["duration_s"] += float(line.get("duration_s", 0.0))
            w["steps"] += int(line.get("steps", 0))
            for key, e in line.get("energy_j", {}).items():
                w["energy_j"] += float(e)
                k = devices.get(key, {}).get("kind", "other")
                w["by_kind_j"][k] = w["by_kind_j"].get(k, 0.0) + float(e)
        if kind == "fault":
            faults.append(str(line.get("message", "")))
    for w in windows.values():
        w["energy_kwh"] = w["energy_j"] / J_PER_KWH
        w["mean_power_w"] = w["energy_j"] / w["duration_s"] if w["duration_s"] > 0 else 0.0
    if bad:
        faults.append(f"{bad} unreadable line(s) skipped (a line torn by the interruption)")
    components = []
    for key, e in totals.items():
        dev = devices.get(key, {"name": key, "kind": "other"})
        components.append(
            ComponentEnergy(
                name=dev.get("name", key),
                kind=dev.get("kind", "other"),
                energy_j=e,
                energy_kwh=e / J_PER_KWH,
                mean_power_w=e / elapsed if elapsed > 0 else 0.0,
                estimated=key in estimated_keys,
                device_id=key,
            )
        )
    it_kwh = sum(c.energy_kwh for c in components)
    fp = footprint(it_kwh, pue=header.get("pue", 1.55), region=header.get("region", "EU27"))
    return RunSummary(
        run_id=header.get("run_id", ""),
        duration_s=elapsed,
        it_energy_kwh=it_kwh,
        facility_energy_kwh=fp.facility_energy_kwh,
        co2e_kg=fp.co2e_kg,
        components=components,
        windows=windows,
        steps=steps,
        estimated=any(c.estimated for c in components),
        context=header.get("context", {}),
        footprint=fp,
        complete=False,
        started_at=header.get("started_at", ""),
        path=str(path),
        faults=faults,
    )


def read_run(path: Path | str) -> RunSummary:
    """A run record (JSON Lines), finished or interrupted, as a :class:`RunSummary`.

    ``path`` is a record file or a folder (its most recent record). An interrupted run
    (no summary line) has ``complete=False`` and keeps every window closed before the end.
    """
    p = resolve_record_path(path)
    lines, bad = read_lines(p)
    headers = [line for line in lines if line.get("type") == "header"]
    if not headers:
        raise LpmError(f"{p} is not an lpm run record (no header line); pass a file lpm wrote")
    header = headers[0]
    summaries = [line for line in lines if line.get("type") == "summary"]
    if summaries:
        return _summary_from_dict(summaries[-1].get("summary", {}), header, p)
    return _rebuild(lines, header, p, bad)


def read_windows(path: Path | str) -> list[dict]:
    """Every window line of a record, in order (for listing windows one by one)."""
    lines, _ = read_lines(resolve_record_path(path))
    return [line for line in lines if line.get("type") == "window"]
