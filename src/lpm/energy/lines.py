"""Record writing: the run record's lines (header, window, checkpoint, fault) and its log.

Plain dicts in the shapes :mod:`lpm.energy.record` reads back (schema :data:`SCHEMA`);
:class:`RecordWriter` appends them whole or not at all; :class:`RunLog` writes them,
keeps the run's fault notes, and turns a write that fails during the run (a full disk)
into one warning and a note: the measured job never sees it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from lpm.carbon import Intensity
from lpm.energy.accounting import OpenWindow
from lpm.energy.polling import Device
from lpm.energy.record import SCHEMA
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


def open_append(path: Path) -> BinaryIO:
    """The record file, opened to append without a buffer (each write reaches the OS)."""
    return open(path, "ab", buffering=0)


class RecordWriter:
    """Appends JSON lines to one file: each line is written whole and fsynced, or not at all.

    A line that cannot be written (a full disk) raises OSError after the file is cut back
    to its last whole line, so a later line never joins a torn one.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open_append(self.path)
        self._size = os.fstat(self._fh.fileno()).st_size
        self._lock = threading.Lock()

    def write(self, obj: dict[str, Any]) -> None:
        """Append one line and make it durable (OSError, and the file as before, if not)."""
        data = memoryview(
            (json.dumps(obj, separators=(",", ":"), default=str, allow_nan=False) + "\n").encode()
        )
        with self._lock:
            if self._fh.closed:
                return
            try:
                done = 0
                while done < len(data):
                    n = self._fh.write(data[done:])
                    if not n:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    done += n
                os.fsync(self._fh.fileno())
            except OSError:
                with contextlib.suppress(OSError):
                    self._fh.truncate(self._size)
                raise
            self._size += len(data)

    def close(self) -> None:
        """Close the file (safe to call twice; never raises)."""
        with self._lock, contextlib.suppress(OSError):
            self._fh.close()


class RunLog:
    """The run record being written (if any) and the run's fault notes.

    A write that fails during the run (a full disk) is logged once, noted in the run's
    faults with the count of lines lost, and never reaches the measured job: the totals
    stay in memory and the summary is still returned.
    """

    def __init__(self) -> None:
        self.writer: RecordWriter | None = None
        self.path: Path | None = None
        self._lock = threading.Lock()
        self._faults: list[str] = []
        self._count = 0
        self._reported: set[str] = set()
        self._lost = 0
        self._why = ""

    def open(self, path: Path, first: dict) -> None:
        """Start writing ``path`` with its ``first`` line (the header).

        OSError when the file cannot be opened or the line cannot be written: at the start
        nothing is measured yet, so the caller refuses the run; an empty file is removed.
        """
        writer = RecordWriter(path)
        try:
            writer.write(first)
        except Exception:  # OSError; a ValueError (NaN in the header) is a bug, raised too
            writer.close()
            with contextlib.suppress(OSError):
                if path.stat().st_size == 0:
                    path.unlink()
            raise
        self.writer = writer
        self.path = path

    def write(self, obj: dict) -> bool:
        """Append one line, if a record is open; False when it could not be written."""
        if self.writer is None:
            return False
        try:
            self.writer.write(obj)
        except Exception as exc:  # a full disk must not stop training
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            with self._lock:
                self._lost += 1
                first = not self._why
                self._why = self._why or reason
            if first:
                log.warning(
                    "lpm.energy: cannot write run record %s (%s); the run goes on and its "
                    "totals are kept in memory and reported at the end",
                    self.path,
                    reason,
                )
            return False
        return True

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
        """The notes so far, with a count of those left out and of record lines lost."""
        with self._lock:
            out = list(self._faults)
            if self._count > len(out):
                out.append(f"... and {self._count - len(out)} more")
            if self._lost:
                out.append(
                    f"{self._lost} line(s) could not be written to the run record {self.path} "
                    f"({self._why}); the totals here are the whole run's, the record's are not"
                )
        return out

    def close(self) -> None:
        """Close the record (never raises)."""
        if self.writer is not None:
            self.writer.close()
