"""NVIDIA GPUs through NVML (nvidia-ml-py): the energy counter first, else power polling.

Device scope follows CUDA: ``CUDA_VISIBLE_DEVICES`` (indices, ``GPU-`` UUIDs or unique
prefixes, ``MIG-`` UUIDs, the old ``MIG-GPU-<uuid>/<gi>/<ci>`` form), else Slurm's
``SLURM_STEP_GPUS`` / ``SLURM_JOB_GPUS``, else every GPU. A MIG instance has no energy
reading of its own, so its parent GPU is measured (once, however many of its instances are
visible) and the fact is recorded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lpm.energy.reading import MeterBase, Reading
from lpm.energy.tdp import FALLBACK_GPU_W, lookup_gpu
from lpm.provenance import Provenance

log = logging.getLogger("lpm.energy")


class NvmlUnavailable(RuntimeError):
    """NVML could not be loaded or initialised (no driver, no GPU, no library)."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class GpuTarget:
    """One visible GPU: its NVML handle, position in the visible list, and notes."""

    position: int
    handle: Any
    uuid: str
    name: str
    note: str = ""


_INDEX = re.compile(r"^[0-9]{1,9}$")  # ASCII digits: str.isdigit() takes "²", int() does not


def _scope_spec(env: Mapping[str, str]) -> tuple[str | None, str]:
    for var in ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"):
        if var in env:
            return env[var], var
    return None, "all"


def resolve_gpus(nvml: Any, env: Mapping[str, str] | None = None) -> tuple[list[GpuTarget], str]:
    """The physical GPUs this job may use, in CUDA's visible order, and where that came from.

    Follows CUDA's rule that the list ends at the first entry that names no device.
    """
    env = os.environ if env is None else env
    count = int(nvml.nvmlDeviceGetCount())
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    uuids = [_text(nvml.nvmlDeviceGetUUID(h)) for h in handles]
    names = [_text(nvml.nvmlDeviceGetName(h)) for h in handles]
    spec, source = _scope_spec(env)
    if spec is None:
        targets = [GpuTarget(i, handles[i], uuids[i], names[i]) for i in range(count)]
        return targets, "all GPUs (no CUDA_VISIBLE_DEVICES or Slurm GPU list)"

    entries = [e.strip() for e in spec.split(",") if e.strip()]
    chosen: list[tuple[int, str]] = []  # (physical index, note)
    for entry in entries:
        idx = _resolve_entry(nvml, entry, uuids)
        if idx is None and source != "CUDA_VISIBLE_DEVICES" and _INDEX.match(entry):
            # Slurm with device cgroups: its list holds host indices while NVML only sees
            # the job's GPUs, renumbered from 0; all NVML sees is then the job's.
            chosen = [(i, "") for i in range(count)]
            break
        if idx is None:
            break
        phys, note = idx
        chosen.append((phys, note))

    targets: list[GpuTarget] = []
    seen: set[int] = set()
    for pos, (phys, note) in enumerate(chosen):
        if phys in seen:
            continue  # several MIG instances of one GPU: measure the GPU once
        seen.add(phys)
        targets.append(GpuTarget(pos, handles[phys], uuids[phys], names[phys], note))
    return targets, f"{source}={spec}"


def _resolve_entry(nvml: Any, entry: str, uuids: Sequence[str]) -> tuple[int, str] | None:
    """Physical index named by one CUDA_VISIBLE_DEVICES entry, with a note; None if invalid."""
    if _INDEX.match(entry.lstrip("-")):
        i = int(entry)
        return (i, "") if 0 <= i < len(uuids) else None
    mig_note = "MIG instance: NVML reads the whole parent GPU, shared with other instances"
    if entry.startswith("MIG-GPU-"):
        parent = entry[len("MIG-") :].split("/")[0]
        return (uuids.index(parent), mig_note) if parent in uuids else None
    if entry.startswith("MIG-"):
        try:
            mig = nvml.nvmlDeviceGetHandleByUUID(entry)
            parent_handle = nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig)
            parent_uuid = _text(nvml.nvmlDeviceGetUUID(parent_handle))
        except nvml.NVMLError:
            return None
        return (uuids.index(parent_uuid), mig_note) if parent_uuid in uuids else None
    matches = [i for i, u in enumerate(uuids) if u.startswith(entry)]
    if not matches and not entry.startswith("GPU-"):
        matches = [i for i, u in enumerate(uuids) if u.startswith("GPU-" + entry)]
    return (matches[0], "") if len(matches) == 1 else None


@dataclass
class _Gpu:
    target: GpuTarget
    label: str
    method: str  # "counter" (mJ energy counter) or "power" (mW samples, trapezoids)
    last_raw: float | None
    last_t: float
    acc_j: float = 0.0
    measured_j: float = 0.0
    measured_s: float = 0.0
    estimated: bool = False
    faults: int = 0
    notes: list[str] = field(default_factory=list)


class NvmlMeter(MeterBase):
    """Energy of this job's NVIDIA GPUs.

    ``nvml`` is the pynvml module (injectable for tests); ``select`` keeps only these
    positions of the visible list (one rank's own GPU under torch.distributed).
    """

    kind = "gpu"
    provenance = Provenance.MEASURED

    def __init__(
        self,
        *,
        nvml: Any = None,
        env: Mapping[str, str] | None = None,
        select: Sequence[int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if nvml is None:
            try:
                import pynvml as nvml  # type: ignore[no-redef]
            except ImportError as exc:  # pragma: no cover - nvidia-ml-py is a dependency
                raise NvmlUnavailable(f"nvidia-ml-py is not installed ({exc})") from exc
        self._nvml = nvml
        self._clock = clock
        self.notices: list[str] = []
        try:
            nvml.nvmlInit()
        except Exception as exc:
            raise NvmlUnavailable(f"NVML could not start: {exc}") from exc
        try:
            self.driver_version = _text(nvml.nvmlSystemGetDriverVersion())
        except Exception:
            self.driver_version = ""
        try:
            targets, self.scope = resolve_gpus(nvml, env)
        except Exception as exc:
            raise NvmlUnavailable(f"NVML could not list GPUs: {exc}") from exc
        if select is not None:
            keep = set(select)
            targets = [t for t in targets if t.position in keep]
        self._gpus: list[_Gpu] = []
        for t in targets:
            gpu = self._open(t)
            if gpu is not None:
                self._gpus.append(gpu)
        if not self._gpus:
            raise NvmlUnavailable(f"no readable NVIDIA GPU in scope ({self.scope})")
        names = sorted({g.target.name for g in self._gpus})
        self.name = f"gpu ({len(self._gpus)} x {', '.join(names)}, NVML)"
        self.devices = tuple(g.label for g in self._gpus)
        self.device_ids = tuple(f"gpu-uuid:{g.target.uuid}" for g in self._gpus)

    def _open(self, t: GpuTarget) -> _Gpu | None:
        nvml = self._nvml
        label = f"gpu:{t.position} {t.name}"
        now = self._clock()
        try:
            raw = float(nvml.nvmlDeviceGetTotalEnergyConsumption(t.handle))
            return _Gpu(t, label, "counter", raw, now, notes=[t.note] if t.note else [])
        except nvml.NVMLError:
            pass
        try:
            p_w = float(nvml.nvmlDeviceGetPowerUsage(t.handle)) / 1000.0
        except nvml.NVMLError as exc:
            self.notices.append(
                f"{label}: no energy counter and no power reading ({exc}); left out"
            )
            return None
        notes = [t.note] if t.note else []
        notes.append("no energy counter on this GPU: power samples integrated over time")
        return _Gpu(t, label, "power", p_w, now, notes=notes)

    def _fallback_w(self, g: _Gpu) -> float:
        if g.measured_s > 0:
            return g.measured_j / g.measured_s
        row = lookup_gpu(g.target.name)
        return row.tdp_w if row else FALLBACK_GPU_W

    def read(self) -> Reading:
        """Cumulative energy per GPU in J; faults are bridged with an estimate."""
        nvml = self._nvml
        for g in self._gpus:
            now = self._clock()
            dt = max(now - g.last_t, 0.0)
            try:
                if g.method == "counter":
                    raw = float(nvml.nvmlDeviceGetTotalEnergyConsumption(g.target.handle))
                    if g.last_raw is None:
                        # first reading after a fault: no counter value for the gap
                        delta_j = self._fallback_w(g) * dt
                    elif raw >= g.last_raw:
                        delta_j = (raw - g.last_raw) / 1000.0
                    else:
                        # counter reset (driver reload, GPU reset): it restarted from zero
                        delta_j = raw / 1000.0
                        self.notices.append(
                            f"{g.label}: energy counter went back from {g.last_raw:.0f} to "
                            f"{raw:.0f} mJ (reset); counted from zero"
                        )
                else:
                    raw = float(nvml.nvmlDeviceGetPowerUsage(g.target.handle)) / 1000.0
                    if g.last_raw is None:
                        delta_j = self._fallback_w(g) * dt
                    else:
                        delta_j = 0.5 * (raw + g.last_raw) * dt
            except nvml.NVMLError as exc:
                fb_w = self._fallback_w(g)
                g.acc_j += fb_w * dt
                g.last_t = now
                g.last_raw = None
                g.estimated = True
                g.faults += 1
                if g.faults == 1:
                    self.notices.append(
                        f"{g.label}: NVML read failed ({exc}); estimating {fb_w:.0f} W until "
                        "readings return"
                    )
                continue
            g.acc_j += delta_j
            if g.last_raw is not None and g.last_t < now:
                g.measured_j += delta_j
                g.measured_s += dt
            g.last_raw = raw
            g.last_t = now
        return Reading(
            energy_j=tuple(g.acc_j for g in self._gpus),
            devices=self.devices,
            provenance=tuple(
                Provenance.ESTIMATED if g.estimated else Provenance.MEASURED for g in self._gpus
            ),
        )

    def describe(self) -> dict:
        """What this meter is, for run records and ``lpm hardware``."""
        return {
            **super().describe(),
            "method": "nvml",
            "scope": self.scope,
            "driver_version": self.driver_version,
            "devices": [
                {
                    "label": g.label,
                    "name": g.target.name,
                    "uuid": g.target.uuid,
                    "method": "energy counter" if g.method == "counter" else "power polling",
                    "notes": g.notes,
                }
                for g in self._gpus
            ],
        }

    def close(self) -> None:
        """Shut NVML down (safe to call twice)."""
        with contextlib.suppress(Exception):
            self._nvml.nvmlShutdown()
