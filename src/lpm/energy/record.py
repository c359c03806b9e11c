"""Run records read back: finished, interrupted or killed runs (the writer is in lines.py).

Line types: ``header`` (context, devices, settings), ``window`` (one closed window),
``checkpoint`` (cumulative totals every few seconds), ``fault`` (a meter problem), and a
final ``summary``. A run killed with -9 has no summary line; :func:`read_run` rebuilds its
totals from the last window or checkpoint line and its windows from the window lines.
"""

from __future__ import annotations

import json
from pathlib import Path

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, Equivalents, Footprint, Intensity, footprint
from lpm.carbon.equivalents import equivalents
from lpm.energy.accounting import WindowAgg, merge_provenance
from lpm.energy.record_schema import check_line
from lpm.energy.results import ComponentEnergy, RunSummary, provenance_of
from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.units import J_PER_KWH

SCHEMA = 2  # 2: provenance per device, window and line; the header stores the intensity
NO_SUMMARY = (
    "no summary line (the process was killed or its disk was full): totals up to its last "
    "record line"
)


def is_run_record(path: Path) -> bool:
    """Whether `path` starts with a run record's header line (not losses.jsonl, results.jsonl)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = json.loads(fh.readline(1_000_000) or "null")
    except (OSError, ValueError):
        return False
    return isinstance(first, dict) and first.get("type") == "header"


def resolve_record_path(path: Path | str) -> Path:
    """A run record file; for a directory, its most recent ``*.jsonl`` that is a run record
    (found by its header line, so the run's other JSON Lines files are never picked)."""
    p = Path(path)
    try:
        if p.is_dir():
            files = sorted(
                (f for f in p.glob("*.jsonl") if is_run_record(f)),
                key=lambda f: f.stat().st_mtime,
            )
            if not files:
                raise LpmError(
                    f"no run record (*.jsonl) in {p}; pass a run record file or its folder"
                )
            return files[-1]
        if not p.exists():
            raise LpmError(f"run record {p} does not exist; pass a .jsonl file written by lpm")
        if not p.is_file():
            raise LpmError(f"run record {p} is not a file; pass a .jsonl file written by lpm")
    except OSError as exc:  # a name too long, a folder that cannot be listed
        raise LpmError(f"cannot read run record {p}: {exc.strerror or exc}") from None
    return p


def read_lines(path: Path) -> tuple[list[dict], int]:
    """The lines of a record, each checked (:func:`~lpm.energy.record_schema.check_line`),
    and how many could not be parsed (a line torn by a kill: skipped and counted).

    A line of the wrong types, or that is not UTF-8 (a binary file), is one LpmError
    naming the file and line; only a torn last line may be cut mid-character.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LpmError(f"cannot read run record {path}: {exc.strerror or exc}") from None
    lines: list[dict] = []
    bad = 0
    raws = data.split(b"\n")
    for number, raw in enumerate(raws, 1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if number == len(raws) and number > 1:  # the torn last line
                bad += 1
                continue
            raise LpmError(
                f"{path} line {number} is not UTF-8 text; pass a run record lpm wrote "
                "(a .jsonl file of JSON lines)"
            ) from None
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            bad += 1
            continue
        lines.append(check_line(obj, path, number))
    return lines, bad


def _intensity_from(d: dict) -> Intensity | None:
    """The intensity a record stored (a header's ``intensity`` or a footprint's keys)."""
    try:
        if "g_per_kwh" in d:
            fields = Intensity.__dataclass_fields__
            return Intensity(**{k: v for k, v in d.items() if k in fields})
        if "carbon_intensity_g_per_kwh" in d:
            return Intensity(
                region=str(d["region"]),
                name=str(d.get("region_name", d["region"])),
                g_per_kwh=float(d["carbon_intensity_g_per_kwh"]),
                source=str(d.get("intensity_source", "")),
                year=int(d.get("intensity_year", 0)),
                month=d.get("intensity_month"),
                hour=d.get("intensity_hour"),
                basis=str(d.get("basis", "lifecycle")),
            )
    except (KeyError, TypeError, ValueError, LpmError):
        return None
    return None


def _stored_footprint(d: dict) -> Footprint | None:
    """The footprint exactly as a summary line stored it; None when it is not all there."""
    intensity = _intensity_from(d)
    if intensity is None:
        return None
    try:
        co2e_kg = float(d["co2e_kg"])
        eq = d.get("equivalents")
        fields = Equivalents.__dataclass_fields__
        if isinstance(eq, dict) and all(k in eq for k in fields if k != "budget"):
            eqv = Equivalents(**{k: v for k, v in eq.items() if k in fields})
        else:
            eqv = equivalents(co2e_kg)
        return Footprint(
            it_energy_kwh=float(d["it_energy_kwh"]),
            it_energy_kwh_std=float(d.get("it_energy_kwh_std", 0.0)),
            pue=float(d["pue"]),
            facility_energy_kwh=float(d["facility_energy_kwh"]),
            facility_energy_kwh_std=float(d.get("facility_energy_kwh_std", 0.0)),
            intensity=intensity,
            co2e_kg=co2e_kg,
            co2e_kg_std=float(d.get("co2e_kg_std", 0.0)),
            equivalents=eqv,
        )
    except (KeyError, TypeError, ValueError, LpmError):
        return None


def _footprint(it_kwh: float, stored: dict | None, header: dict) -> tuple[Footprint, str | None]:
    """The run's footprint as it stored it, else from its stored settings (and a note).

    Order: the summary's stored footprint; the header's intensity with its PUE (records
    since provenance); the header's PUE and region with today's tables (older records,
    noted); lpm's defaults only for a record that names no PUE or region (noted).
    """
    if stored:
        fp = _stored_footprint(stored)
        if fp is not None:
            return fp, None
    pue = header.get("pue")
    region = header.get("region")
    intensity = _intensity_from(header.get("intensity") or {})
    try:
        if intensity is not None and pue is not None:
            return footprint(it_kwh, pue=float(pue), intensity=intensity), None
        if pue is not None and region is not None:
            fp = footprint(it_kwh, pue=float(pue), region=str(region))
            return fp, (
                f"CO2e computed now from the record's PUE {fp.pue:g} and region {region} "
                f"with today's intensity tables ({fp.intensity.describe()}): the record "
                "stores no carbon intensity"
            )
    except LpmError as exc:
        note = f"the record's PUE {pue!r} / region {region!r} cannot be used ({exc})"
    else:
        note = "the record names no PUE or region"
    fp = footprint(it_kwh, pue=DEFAULT_PUE, region=DEFAULT_REGION)
    return fp, (
        f"{note}; CO2e computed now with lpm's defaults, PUE {DEFAULT_PUE:g} and "
        f"{fp.intensity.describe()}, not with the run's own settings"
    )


def _normalise_window(w: dict) -> dict:
    """A summary window with its ``provenance`` (older records: from ``estimated``)."""
    prov = provenance_of(w)
    return {**w, "provenance": prov.value, "estimated": prov.is_estimated}


def _summary_from_dict(d: dict, header: dict, path: Path, status: str | None) -> RunSummary:
    components = [ComponentEnergy.from_dict(c) for c in d.get("components", [])]
    it_kwh = float(d.get("it_energy_kwh", sum(c.energy_kwh for c in components)))
    fp, note = _footprint(it_kwh, d.get("footprint"), header)
    faults = list(d.get("faults", []))
    if note:
        faults.append(note)
    return RunSummary(
        run_id=d.get("run_id", header.get("run_id", "")),
        duration_s=float(d.get("duration_s", 0.0)),
        it_energy_kwh=it_kwh,
        facility_energy_kwh=fp.facility_energy_kwh,
        co2e_kg=fp.co2e_kg,
        components=components,
        windows={n: _normalise_window(w) for n, w in d.get("windows", {}).items()},
        steps=int(d.get("steps", 0)),
        context=d.get("context", header.get("context", {})),
        footprint=fp,
        complete=True,
        started_at=d.get("started_at", header.get("started_at", "")),
        path=str(path),
        faults=faults,
        step_stats=d.get("step_stats", {}),
        status=d.get("status") or status or "finished",  # older records: finished
    )


def _device_provenance(header: dict) -> dict[str, Provenance]:
    return {dev["key"]: provenance_of(dev) for dev in header.get("devices", []) if "key" in dev}


def _line_provenance(line: dict, known: dict[str, Provenance]) -> dict[str, Provenance]:
    """Per device as of a window or checkpoint line (older lines: ``estimated_keys``)."""
    out = dict(known)
    by_device = line.get("provenance_by_device")
    if isinstance(by_device, dict):
        for k, v in by_device.items():
            out[k] = Provenance.parse(v)
    else:
        for k in line.get("estimated_keys", []):
            out[k] = Provenance.ESTIMATED
    return out


def _window_line_provenance(line: dict, devices: dict[str, Provenance]) -> dict[str, Provenance]:
    """Per device of one window line: as written, else its devices' as of that line."""
    by_device = line.get("provenance_by_device")
    if isinstance(by_device, dict) and by_device:
        return {k: Provenance.parse(v) for k, v in by_device.items()}
    as_of = _line_provenance(line, devices)
    return {k: as_of.get(k, Provenance.ESTIMATED) for k in line.get("energy_j", {})}


def _rebuild(lines: list[dict], header: dict, path: Path, bad: int) -> RunSummary:
    """Summary of an interrupted run from its window and checkpoint lines."""
    devices = {dev["key"]: dev for dev in header.get("devices", []) if "key" in dev}
    provenance = _device_provenance(header)
    totals: dict[str, float] = {}
    elapsed = 0.0
    steps = 0
    windows: dict[str, WindowAgg] = {}
    faults: list[str] = []
    for line in lines:
        kind = line.get("type")
        if kind in ("window", "checkpoint") and "totals_j" in line:
            if float(line.get("elapsed_s", 0.0)) >= elapsed:
                totals = {k: float(v) for k, v in line["totals_j"].items()}
                elapsed = float(line.get("elapsed_s", 0.0))
                steps = int(line.get("steps_total", steps))
            for k, prov in _line_provenance(line, {}).items():
                merge_provenance(provenance, k, prov)
        if kind == "window":
            energy = {k: float(e) for k, e in line.get("energy_j", {}).items()}
            windows.setdefault(line["name"], WindowAgg()).add_closed(
                float(line.get("duration_s", 0.0)),
                int(line.get("steps", 0)),
                energy,
                _window_line_provenance(line, provenance),
            )
        if kind == "fault":
            faults.append(str(line.get("message", "")))
    kinds = {key: dev.get("kind", "other") for key, dev in devices.items()}
    faults.append(NO_SUMMARY)
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
                provenance=provenance.get(key, Provenance.ESTIMATED),
                device_id=key,
            )
        )
    it_kwh = sum(c.energy_kwh for c in components)
    fp, note = _footprint(it_kwh, None, header)
    if note:
        faults.append(note)
    return RunSummary(
        run_id=header.get("run_id", ""),
        duration_s=elapsed,
        it_energy_kwh=it_kwh,
        facility_energy_kwh=fp.facility_energy_kwh,
        co2e_kg=fp.co2e_kg,
        components=components,
        windows={n: a.summary(kinds, Provenance.ESTIMATED) for n, a in windows.items()},
        steps=steps,
        context=header.get("context", {}),
        footprint=fp,
        complete=False,
        started_at=header.get("started_at", ""),
        path=str(path),
        faults=faults,
        status="interrupted",
    )


def read_run(path: Path | str) -> RunSummary:
    """A run record (JSON Lines), finished or interrupted, as a :class:`RunSummary`.

    ``path`` is a record file or a folder (its most recent record). ``status`` is the
    summary line's (older records: ``finished``); a run without a summary line (killed) is
    ``interrupted``, with ``complete=False``, and keeps every window closed before the end.
    """
    p = resolve_record_path(path)
    lines, bad = read_lines(p)
    headers = [line for line in lines if line.get("type") == "header"]
    if not headers:
        raise LpmError(f"{p} is not an lpm run record (no header line); pass a file lpm wrote")
    header = headers[0]
    summaries = [line for line in lines if line.get("type") == "summary"]
    if summaries:
        last = summaries[-1]
        return _summary_from_dict(last.get("summary", {}), header, p, last.get("status"))
    return _rebuild(lines, header, p, bad)


def read_windows(path: Path | str) -> list[dict]:
    """Every window line of a record, in order (for listing windows one by one).

    Each line has ``provenance`` (and the old ``estimated``); lines of records written
    before provenance existed get it from the devices' flags as of that line.
    """
    lines, _ = read_lines(resolve_record_path(path))
    header = next((line for line in lines if line.get("type") == "header"), {})
    devices = _device_provenance(header)
    out = []
    for line in lines:
        if line.get("type") == "window":
            if "provenance" in line:
                prov = Provenance.parse(line["provenance"])
            else:
                by_device = _window_line_provenance(line, devices)
                prov = Provenance.combine(by_device.values())
                line = {**line, "provenance_by_device": {k: v.value for k, v in by_device.items()}}
            out.append({**line, "provenance": prov.value, "estimated": prov.is_estimated})
    return out
