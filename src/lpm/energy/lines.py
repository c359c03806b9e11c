"""The lines a Tracker writes to its run record: header, window, checkpoint totals, fault.

Plain dicts in the shapes :mod:`lpm.energy.record` reads back (schema :data:`SCHEMA`).
"""

from __future__ import annotations

from collections.abc import Sequence

from lpm.carbon import Intensity
from lpm.energy.accounting import OpenWindow
from lpm.energy.polling import Device
from lpm.energy.record import SCHEMA
from lpm.provenance import Provenance


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
