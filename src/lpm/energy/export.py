"""Export a run as a row of a CodeCarbon-compatible ``emissions.csv``.

Column names and units follow CodeCarbon's documented output (docs/edit/output.rst of
mlco2/codecarbon; the column order is that of the files CodeCarbon 2.3+ writes):
duration in s, emissions in kg CO2e, powers in W, energies in kWh, ram_total_size in GB.
``energy_consumed`` is the sum of the three energies (IT energy); ``emissions`` is lpm's
CO2e, which includes the PUE given in the ``pue`` column. Fields lpm does not know (cloud,
coordinates, CodeCarbon's version) are left empty. Rows are appended like CodeCarbon does.

After CodeCarbon's columns lpm adds ``provenance`` (measured | estimated | simulated |
mixed: where the energy comes from), ``provenance_parts`` (which part is which, e.g.
"gpu measured; cpu, dram estimated"), ``status`` (finished | interrupted | failed) and
``slurm_job_id``, ``slurm_step_id``, ``slurm_node``, ``slurm_account`` (from the record
context's ``slurm`` entry; empty outside Slurm); tools that read CodeCarbon's columns by
name are not affected. New columns are only ever added at
the end: a file an older lpm started (its header a prefix of today's) gets rows of its own
columns, never misaligned ones.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import logging
import os
from datetime import datetime
from pathlib import Path

from lpm.energy.record import read_run
from lpm.energy.results import RunSummary
from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.units import J_PER_KWH

log = logging.getLogger("lpm.energy")

CODECARBON_COLUMNS = (
    "timestamp",
    "project_name",
    "run_id",
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "country_name",
    "country_iso_code",
    "region",
    "cloud_provider",
    "cloud_region",
    "os",
    "python_version",
    "codecarbon_version",
    "cpu_count",
    "cpu_model",
    "gpu_count",
    "gpu_model",
    "longitude",
    "latitude",
    "ram_total_size",
    "tracking_mode",
    "on_cloud",
    "pue",
)
LPM_COLUMNS = (
    "provenance",
    "provenance_parts",
    "status",
    "slurm_job_id",
    "slurm_step_id",
    "slurm_node",
    "slurm_account",
)
SLURM_COLUMNS = {
    "slurm_job_id": "job_id",
    "slurm_step_id": "step_id",
    "slurm_node": "node_name",
    "slurm_account": "account",
}
"""CSV column -> key of the record context's ``slurm`` entry (empty outside Slurm)."""
EXPORT_COLUMNS = CODECARBON_COLUMNS + LPM_COLUMNS
OLDEST_COLUMNS = CODECARBON_COLUMNS + LPM_COLUMNS[:2]
"""The header of the oldest lpm emissions.csv rows can still be appended to."""


def _timestamp(summary: RunSummary) -> str:
    if summary.started_at:
        try:
            start = datetime.fromisoformat(summary.started_at.replace("Z", "+00:00"))
            end = start.timestamp() + summary.duration_s
            return datetime.fromtimestamp(end, start.tzinfo).strftime("%Y-%m-%dT%H:%M:%S")
        except ValueError:
            pass
    return ""


def codecarbon_row(summary: RunSummary, *, project_name: str = "lpm") -> dict[str, object]:
    """One ``emissions.csv`` row (keyed by CodeCarbon's column names, then lpm's)."""
    by_kind = summary.energy_by_kind_j()
    duration = summary.duration_s
    ctx = summary.context or {}
    gpus = [c for c in summary.components if c.kind == "gpu"]
    gpu_names = [c.name for c in gpus]
    gpu_models = ctx.get("gpu_names") or []
    gpu_model = ""
    if gpu_models:
        gpu_model = ", ".join(f"{gpu_models.count(n)} x {n}" for n in sorted(set(gpu_models)))
    elif gpus and all(c.provenance is Provenance.SIMULATED for c in gpus):
        gpu_model = f"{len(gpus)} x simulated GPU"
    scopes = {
        m.get("scope") for m in ctx.get("meters", []) if isinstance(m, dict) and m.get("scope")
    }
    fp = summary.footprint
    slurm = ctx.get("slurm") if isinstance(ctx.get("slurm"), dict) else {}

    def power(kind: str) -> float:
        return by_kind.get(kind, 0.0) / duration if duration > 0 else 0.0

    return {
        "timestamp": _timestamp(summary),
        "project_name": project_name,
        "run_id": summary.run_id,
        "duration": duration,
        "emissions": summary.co2e_kg,
        "emissions_rate": summary.co2e_kg / duration if duration > 0 else 0.0,
        "cpu_power": power("cpu"),
        "gpu_power": power("gpu"),
        "ram_power": power("dram"),
        "cpu_energy": by_kind.get("cpu", 0.0) / J_PER_KWH,
        "gpu_energy": by_kind.get("gpu", 0.0) / J_PER_KWH,
        "ram_energy": by_kind.get("dram", 0.0) / J_PER_KWH,
        "energy_consumed": summary.it_energy_kwh,
        "country_name": fp.intensity.name,
        "country_iso_code": "",
        "region": fp.intensity.region,
        "cloud_provider": "",
        "cloud_region": "",
        "os": ctx.get("os", ""),
        "python_version": ctx.get("python_version", ""),
        "codecarbon_version": "",
        "cpu_count": ctx.get("cpu_count_logical", ""),
        "cpu_model": ctx.get("cpu_model", ""),
        "gpu_count": len(gpu_names),
        "gpu_model": gpu_model,
        "longitude": "",
        "latitude": "",
        "ram_total_size": ctx.get("ram_total_gb", ""),
        "tracking_mode": "machine" if scopes == {"machine"} else "process",
        "on_cloud": "N",
        "pue": fp.pue,
        "provenance": summary.provenance.value,
        "provenance_parts": summary.describe_provenance(),
        "status": summary.status,
        **{col: _cell(slurm.get(key)) for col, key in SLURM_COLUMNS.items()},
    }


def _cell(value: object) -> object:
    return "" if value is None else value


def export_codecarbon_csv(
    run: RunSummary | str | Path, csv_path: str | Path, *, project_name: str = "lpm"
) -> Path:
    """Append ``run`` (a summary or a run record path) as a row of ``csv_path``.

    A new file gets CodeCarbon's header; an existing one must have the same header.
    """
    summary = run if isinstance(run, RunSummary) else read_run(run)
    out = Path(csv_path)
    row = codecarbon_row(summary, project_name=project_name)
    try:
        return _append(out, row)
    except OSError as exc:
        raise LpmError(
            f"cannot write {out} ({exc.strerror or exc}); choose a writable path"
        ) from None


def _check_header(out: Path, first_line: str) -> tuple[str, ...]:
    """The columns of an existing file rows can be appended to: lpm's, or an older lpm's
    (a prefix of them, from provenance on); rows then get only those columns, in order."""
    header = tuple(next(csv.reader([first_line.rstrip("\r\n")]), []))
    if header == CODECARBON_COLUMNS:
        raise LpmError(
            f"{out} has CodeCarbon's columns but no provenance column (an older lpm or "
            "CodeCarbon wrote it); choose a new file name"
        )
    if len(header) < len(OLDEST_COLUMNS) or header != EXPORT_COLUMNS[: len(header)]:
        raise LpmError(
            f"{out} exists with other columns than lpm's emissions.csv (CodeCarbon's "
            "and provenance); choose a new file name"
        )
    if header != EXPORT_COLUMNS:
        log.warning(
            "%s has an older lpm's columns: rows appended without %s; use a new file for them",
            out,
            ", ".join(EXPORT_COLUMNS[len(header) :]),
        )
    return header


def _append(out: Path, row: dict[str, object]) -> Path:
    """Append under an exclusive lock: "is it new?" and the write are one step, so two
    exports at once write the header once; a last line without its newline gets one
    first, so the new row never joins it; a write that fails (a full disk) is cut back."""
    import fcntl
    import io

    if out.is_dir():
        raise LpmError(f"{out} is a folder; give a file name such as {out / 'emissions.csv'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a+b", buffering=0) as fh:  # unbuffered: a failed write is seen here
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0, io.SEEK_END)
            new = fh.tell() == 0
            prefix = b""
            columns = EXPORT_COLUMNS
            if not new:
                fh.seek(0)
                try:
                    columns = _check_header(out, fh.readline(1_000_000).decode("utf-8"))
                except UnicodeDecodeError:
                    raise LpmError(
                        f"{out} is not a text CSV; choose a new file name for the export"
                    ) from None
                fh.seek(-1, io.SEEK_END)
                if fh.read(1) != b"\n":
                    prefix = b"\n"
            text = io.StringIO(newline="")
            writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
            data = prefix + text.getvalue().encode("utf-8")
            end = fh.seek(0, io.SEEK_END)
            try:
                done = 0
                while done < len(data):
                    n = fh.write(data[done:])
                    if not n:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    done += n
                os.fsync(fh.fileno())
            except OSError:  # a full disk: the file as it was, never half a row
                with contextlib.suppress(OSError):
                    os.ftruncate(fh.fileno(), end)
                raise
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return out
