"""Estimated CPU and DRAM energy where no counter can be read (VMs, containers, no root).

CPU: power = W per logical CPU x (u + idle_fraction x (n - u)), where u is the number of
logical CPUs kept busy (CPU seconds per wall second of the measured processes, or of the
whole machine) and n the logical CPUs available to them. W per logical CPU is the package
TDP divided by its cores (from data/cpu_tdp.csv) divided by threads per core, or Green
Algorithms' 12 W per core when the model is unknown.

DRAM: power = W per GB x GB (resident memory of the measured processes, or all installed
memory for the machine scope).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

from lpm.energy.reading import MeterBase, Reading
from lpm.energy.tdp import (
    CPU_IDLE_FRACTION,
    DRAM_W_PER_GB,
    FALLBACK_W_PER_CORE,
    cores_in_model_name,
    lookup_cpu,
)
from lpm.provenance import Provenance

log = logging.getLogger("lpm.energy")

SCOPES = ("process", "machine")


def cpu_model_name(cpuinfo: Path | str = "/proc/cpuinfo") -> str:
    """The CPU model as the OS reports it ("" when unknown)."""
    try:
        for line in Path(cpuinfo).read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or ""


def _is_vm(cpuinfo: Path | str = "/proc/cpuinfo") -> bool:
    try:
        for line in Path(cpuinfo).read_text(errors="replace").splitlines():
            if line.startswith("flags"):
                return "hypervisor" in line.split()
    except OSError:
        pass
    return False


def _sockets(cpuinfo: Path | str = "/proc/cpuinfo") -> int:
    ids = set()
    try:
        for line in Path(cpuinfo).read_text(errors="replace").splitlines():
            if line.startswith("physical id"):
                ids.add(line.split(":", 1)[1].strip())
    except OSError:
        pass
    return max(len(ids), 1)


@dataclass(frozen=True)
class CpuPowerModel:
    """How estimated CPU power is computed, and where each number comes from."""

    model_name: str
    w_per_core: float
    threads_per_core: float
    idle_fraction: float
    tdp_w: float | None
    cores_per_package: int | None
    matched_model: str | None
    source: str

    @property
    def w_per_logical_cpu(self) -> float:
        """Full-load power of one logical CPU (hardware thread)."""
        return self.w_per_core / max(self.threads_per_core, 1.0)

    def power_w(self, busy_cpus: float, available_cpus: float) -> float:
        """Power with ``busy_cpus`` of ``available_cpus`` logical CPUs busy."""
        u = min(max(busy_cpus, 0.0), available_cpus)
        return self.w_per_logical_cpu * (u + self.idle_fraction * (available_cpus - u))

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "model_name": self.model_name,
            "matched_model": self.matched_model,
            "tdp_w": self.tdp_w,
            "cores_per_package": self.cores_per_package,
            "w_per_core": self.w_per_core,
            "threads_per_core": self.threads_per_core,
            "idle_fraction": self.idle_fraction,
            "source": self.source,
        }


def cpu_power_model(
    model_name: str | None = None,
    *,
    w_per_core: float | None = None,
    idle_fraction: float = CPU_IDLE_FRACTION,
    cpuinfo: Path | str = "/proc/cpuinfo",
) -> CpuPowerModel:
    """The CPU power model for this machine (or for ``model_name``)."""
    name = cpu_model_name(cpuinfo) if model_name is None else model_name
    logical = psutil.cpu_count(logical=True) or 1
    physical = psutil.cpu_count(logical=False) or logical
    threads_per_core = max(logical / physical, 1.0)
    if w_per_core is not None:
        return CpuPowerModel(
            name, w_per_core, threads_per_core, idle_fraction, None, None, None, "user"
        )
    row = lookup_cpu(name) if name else None
    if row is not None:
        cores = row.cores or cores_in_model_name(name)
        how = "cores from the table" if row.cores else "cores from the model name"
        if cores is None and not _is_vm(cpuinfo):
            cores = max(physical // _sockets(cpuinfo), 1)
            how = "cores per socket of this machine"
        if cores:
            return CpuPowerModel(
                name,
                row.tdp_w / cores,
                threads_per_core,
                idle_fraction,
                row.tdp_w,
                cores,
                row.model,
                f"TDP {row.tdp_w:g} W ({row.source}) / {cores} cores ({how})",
            )
        source = (
            f"{row.model} is in the TDP table ({row.tdp_w:g} W) but its core count is "
            "unknown in this VM; Green Algorithms' default of 12 W per core"
        )
        return CpuPowerModel(
            name,
            FALLBACK_W_PER_CORE,
            threads_per_core,
            idle_fraction,
            row.tdp_w,
            None,
            row.model,
            source,
        )
    return CpuPowerModel(
        name,
        FALLBACK_W_PER_CORE,
        threads_per_core,
        idle_fraction,
        None,
        None,
        None,
        f"model {name!r} not in the TDP table; Green Algorithms' default of 12 W per core",
    )


def _tree(pids: Iterable[int]) -> list[psutil.Process]:
    procs: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
        except psutil.Error:
            continue
        procs[root.pid] = root
        with contextlib.suppress(psutil.Error):
            for child in root.children(recursive=True):
                procs[child.pid] = child
    return list(procs.values())


class ProcessTree:
    """Processes rooted at some pids, with their descendants.

    Listing descendants scans every process of the machine, so it is redone at most every
    ``rescan_s``; in between the known processes are read directly (cheap). A child started
    in between is found at the next scan with all its CPU time; one that ends is counted by
    its parent when reaped. CPU and DRAM estimates share one tree.
    """

    def __init__(
        self,
        pids: Iterable[int] | None = None,
        *,
        rescan_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pids: list[int] = list(pids) if pids is not None else [os.getpid()]
        self.rescan_s = rescan_s
        self._clock = clock
        self._procs: list[psutil.Process] = []
        self._scanned = -float("inf")

    def add(self, pids: Iterable[int]) -> None:
        """Also follow these roots (rescans now)."""
        self.pids.extend(p for p in pids if p not in self.pids)
        self._scanned = -float("inf")

    def processes(self) -> list[psutil.Process]:
        """The roots and their descendants (as of the latest scan)."""
        now = self._clock()
        if now - self._scanned >= self.rescan_s:
            self._procs = _tree(self.pids)
            self._scanned = now
        return self._procs

    def cpu_seconds(self) -> float:
        """CPU seconds of the roots, their live descendants and reaped children."""
        total = 0.0
        for p in self.processes():
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the roots and their live descendants."""
        total = 0
        for p in self.processes():
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
        return total


def tree_cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds of these processes, their live descendants and reaped children."""
    return ProcessTree(pids).cpu_seconds()


def tree_rss_bytes(pids: Iterable[int]) -> int:
    """Resident memory of these processes and their live descendants."""
    return ProcessTree(pids).rss_bytes()


def machine_busy_cpu_seconds() -> float:
    """CPU seconds all logical CPUs of the machine spent not idle."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def _available_cpus(pids: Iterable[int]) -> int:
    cpus: set[int] = set()
    for pid in pids:
        with contextlib.suppress(AttributeError, OSError):
            cpus |= set(os.sched_getaffinity(pid))
    return len(cpus) or (psutil.cpu_count() or 1)


class EstimatedCpuMeter(MeterBase):
    """CPU energy from CPU time x a TDP model (marked estimated)."""

    kind = "cpu"
    provenance = Provenance.ESTIMATED

    def __init__(
        self,
        *,
        scope: str = "process",
        pids: Iterable[int] | None = None,
        tree: ProcessTree | None = None,
        model: CpuPowerModel | None = None,
        clock: Callable[[], float] = time.monotonic,
        cpu_seconds: Callable[[], float] | None = None,
        available_cpus: int | None = None,
        reason: str = "",
    ) -> None:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
        self.scope = scope
        self.model = model or cpu_power_model()
        self.reason = reason
        self.tree = tree or ProcessTree(pids)
        self._clock = clock
        self._cpu_seconds_fn = cpu_seconds
        self._available_override = available_cpus
        self.notices: list[str] = []
        self._lock = threading.RLock()  # track_pids may come from another thread than read
        self.name = f"cpu (estimated, {scope})"
        self.devices = (f"cpu (estimated, {scope})",)
        self._available = self._count_available()
        self._last_t = clock()
        self._last_cpu_s = self._cpu_seconds()
        self._acc_j = 0.0

    def _count_available(self) -> int:
        if self._available_override is not None:
            return self._available_override
        if self.scope == "machine":
            return psutil.cpu_count() or 1
        return _available_cpus(self.tree.pids)

    def _cpu_seconds(self) -> float:
        if self._cpu_seconds_fn is not None:
            return self._cpu_seconds_fn()
        if self.scope == "machine":
            return machine_busy_cpu_seconds()
        return self.tree.cpu_seconds()

    def track_pids(self, pids: Iterable[int]) -> None:
        """Also estimate for these process trees (other local ranks), from now on."""
        with self._lock:
            new = [p for p in pids if p not in self.tree.pids]
            if not new or self.scope == "machine":
                return
            self.read()  # close the interval with the old set
            self.tree.add(new)
            self._available = self._count_available()
            self._last_cpu_s = self._cpu_seconds()

    def read(self) -> Reading:
        """Cumulative estimated CPU energy in J."""
        with self._lock:
            now = self._clock()
            cpu_s = self._cpu_seconds()
            dt = now - self._last_t
            if dt > 0:
                # a child that exited but is not reaped yet drops out for a moment: never go back
                busy = max(cpu_s - self._last_cpu_s, 0.0) / dt
                self._acc_j += self.model.power_w(busy, self._available) * dt
                self._last_t = now
                self._last_cpu_s = max(cpu_s, self._last_cpu_s)
            return Reading(
                energy_j=(self._acc_j,), devices=self.devices, provenance=(Provenance.ESTIMATED,)
            )

    def describe(self) -> dict:
        """What this meter is, for run records and ``lpm hardware``."""
        return {
            **super().describe(),
            "method": "cpu time x TDP model",
            "scope": self.scope,
            "pids": list(self.tree.pids) if self.scope == "process" else [],
            "available_cpus": self._available,
            "model": self.model.to_dict(),
            "reason": self.reason,
        }


class EstimatedDramMeter(MeterBase):
    """DRAM energy from memory size x W per GB (marked estimated)."""

    kind = "dram"
    provenance = Provenance.ESTIMATED

    def __init__(
        self,
        *,
        scope: str = "process",
        pids: Iterable[int] | None = None,
        tree: ProcessTree | None = None,
        w_per_gb: float = DRAM_W_PER_GB,
        clock: Callable[[], float] = time.monotonic,
        memory_bytes: Callable[[], float] | None = None,
        reason: str = "",
    ) -> None:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
        self.scope = scope
        self.w_per_gb = w_per_gb
        self.reason = reason
        self.tree = tree or ProcessTree(pids)
        self._clock = clock
        self._memory_fn = memory_bytes
        self.notices: list[str] = []
        self.name = f"dram (estimated, {scope})"
        self.devices = (f"dram (estimated, {scope})",)
        self._last_t = clock()
        self._last_gb = self._gb()
        self._acc_j = 0.0

    def _gb(self) -> float:
        if self._memory_fn is not None:
            b = self._memory_fn()
        elif self.scope == "machine":
            b = psutil.virtual_memory().total
        else:
            b = self.tree.rss_bytes()
        return b / 1e9

    def track_pids(self, pids: Iterable[int]) -> None:
        """Also count the memory of these process trees, from now on."""
        if self.scope == "process":
            self.tree.add(pids)

    def read(self) -> Reading:
        """Cumulative estimated DRAM energy in J (trapezoids over memory samples)."""
        now = self._clock()
        gb = self._gb()
        dt = now - self._last_t
        if dt > 0:
            self._acc_j += self.w_per_gb * 0.5 * (gb + self._last_gb) * dt
            self._last_t = now
            self._last_gb = gb
        return Reading(
            energy_j=(self._acc_j,), devices=self.devices, provenance=(Provenance.ESTIMATED,)
        )

    def describe(self) -> dict:
        """What this meter is, for run records and ``lpm hardware``."""
        return {
            **super().describe(),
            "method": "memory GB x W per GB",
            "scope": self.scope,
            "w_per_gb": self.w_per_gb,
            "memory_gb": round(self._last_gb, 3),
            "reason": self.reason,
        }
