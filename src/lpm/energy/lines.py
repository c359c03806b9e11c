"""Record writing: the run record's lines (header, window, checkpoint, fault) and its log.

Plain dicts in the shapes :mod:`lpm.energy.record` reads back (schema :data:`SCHEMA`);
:class:`RunLog` writes them and keeps the run's fault notes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from lpm.carbon import Intensity
from lpm.energy.accounting import OpenWindow
from lpm.energy.polling import Device
from lpm.energy.record import SCHEMA, RecordWriter
from lpm.provenance import Provenance

log = logging.getLogger("lpm.energy")

MAX_FAULTS = 100  # notes kept in a summary; the rest are counted


def totals_line(devices: Sequence[Device], elapsed_s: float, steps: int) -> dict:
    """Cumulative totals per device (the body of checkpoint and window lines)."""
    return {
        "elapsed_s": elapsed_s,
        "steps_total": steps,
        "totals_j": {d.key: d.total_j for d in devices},
        "provenance_by_device": {d.key: d.provenance.value for d in devices},
        "estimated_keys": [d.key for d in devices if d.provenance.is_estimated],
    }


def checkpoint_line(totals: dict) -> dict:
    """A ``checkpoint`` line from :func:`totals_line`."""
    return {"type": "checkpoint", **totals}


def window_line(
    w: OpenWindow, t0: float, duration_s: float, provenance: Provenance, totals: dict
) -> dict:
    """One closed occurrence of a window, with the run's totals as of its end."""
    return {
        "type": "window",
        "name": w.name,
        "index": w.index,
        "started_at": w.started_at,
        "t_start_s": w.t_start - t0,
        "duration_s": duration_s,
        "steps": w.steps,
        "energy_j": dict(w.energy),
        "provenance": provenance.value,
        "provenance_by_device": {k: v.value for k, v in w.provenance.items()},
        **totals,
    }


def summary_line(summary: dict) -> dict:
    """The last line: the run's summary (``RunSummary.to_dict``) and its status."""
    return {"type": "summary", "status": summary.get("status", "finished"), "summary": summary}


def fault_line(elapsed_s: float, message: str) -> dict:
    """A meter problem (or a note) at ``elapsed_s``."""
    return {"type": "fault", "elapsed_s": elapsed_s, "message": message}


def header_line(
    *,
    run_id: str,
    run_name: str | None,
    started_at: str,
    interval_s: float,
    pue: float,
    region: str,
    intensity: Intensity,
    warmup_steps: int,
    devices: Sequence[Device],
    context: dict,
) -> dict:
    """The first line: settings, devices and the hardware context."""
    return {
        "type": "header",
        "schema": SCHEMA,
        "run_id": run_id,
        "run_name": run_name,
        "started_at": started_at,
        "interval_s": interval_s,
        "pue": pue,
        "region": region,
        "intensity": intensity.to_dict(),
        "warmup_steps": warmup_steps,
        "devices": [
            {
                "key": d.key,
                "name": d.name,
                "kind": d.kind,
                "provenance": d.provenance.value,
                "estimated": d.provenance.is_estimated,
            }
            for d in devices
        ],
        "context": context,
    }


class RunLog:
    """The run record being written (if any) and the run's fault notes.

    A write that fails (a full disk) is logged once and never stops the measured job.
    """

    def __init__(self) -> None:
        self.writer: RecordWriter | None = None
        self.path: Path | None = None
        self._lock = threading.Lock()
        self._faults: list[str] = []
        self._count = 0
        self._reported: set[str] = set()

    def open(self, path: Path) -> None:
        """Start writing ``path`` (OSError when it cannot be opened)."""
        self.writer = RecordWriter(path)
        self.path = path

    def write(self, obj: dict) -> None:
        """Append one line, if a record is open."""
        if self.writer is None:
            return
        try:
            self.writer.write(obj)
        except Exception as exc:  # a full disk must not stop training
            if "record" not in self._reported:
                self._reported.add("record")
                log.warning("lpm.energy: cannot write run record %s (%s)", self.path, exc)

    def fault(
        self,
        message: str,
        elapsed_s: float,
        once: bool = True,
        key: str | None = None,
        log_it: bool = True,
    ) -> None:
        """Record a meter problem in the run and log it once (per ``key``)."""
        key = key or message
        with self._lock:
            if once and key in self._reported:
                return
            self._reported.add(key)
            self._count += 1
            if len(self._faults) < MAX_FAULTS:
                self._faults.append(message)
        if log_it:
            log.warning("lpm.energy: %s", message)
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.write(fault_line(elapsed_s, message))

    def extend(self, notes: Iterable[str]) -> None:
        """Add notes made elsewhere (other ranks'), neither logged nor written."""
        with self._lock:
            self._faults.extend(notes)

    def faults(self) -> list[str]:
        """The notes so far, with a count of those left out."""
        with self._lock:
            out = list(self._faults)
            if self._count > len(out):
                out.append(f"... and {self._count - len(out)} more")
        return out

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
