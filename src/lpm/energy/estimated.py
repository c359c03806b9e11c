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

import psutil

from lpm.energy.cpu_model import CpuPowerModel, cpu_model_name, cpu_power_model
from lpm.energy.reading import MeterBase, Reading
from lpm.energy.tdp import DRAM_W_PER_GB
from lpm.provenance import Provenance

log = logging.getLogger("lpm.energy")

SCOPES = ("process", "machine")

__all__ = [
    "SCOPES",
    "CpuPowerModel",
    "EstimatedCpuMeter",
    "EstimatedDramMeter",
    "ProcessTree",
    "cpu_model_name",
    "cpu_power_model",
    "machine_busy_cpu_seconds",
    "tree_cpu_seconds",
]


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


class _EstimatedMeter(MeterBase):
    """What both estimated meters hold: a scope, the process tree, a clock, the sum in J."""

    provenance = Provenance.ESTIMATED

    def __init__(
        self,
        *,
        scope: str,
        pids: Iterable[int] | None,
        tree: ProcessTree | None,
        clock: Callable[[], float],
        reason: str,
    ) -> None:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
        self.scope = scope
        self.reason = reason
        self.tree = tree or ProcessTree(pids)
        self._clock = clock
        self.notices: list[str] = []
        self.name = f"{self.kind} (estimated, {scope})"
        self.devices = (self.name,)
        self._acc_j = 0.0

    def _reading(self) -> Reading:
        """The energy summed so far, as a reading of the one device."""
        return Reading(
            energy_j=(self._acc_j,), devices=self.devices, provenance=(Provenance.ESTIMATED,)
        )


class EstimatedCpuMeter(_EstimatedMeter):
    """CPU energy from CPU time x a TDP model (marked estimated)."""

    kind = "cpu"

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
        idle_share: bool = True,
    ) -> None:
        super().__init__(scope=scope, pids=pids, tree=tree, clock=clock, reason=reason)
        self.model = model or cpu_power_model()
        self.idle_share = idle_share
        self._cpu_seconds_fn = cpu_seconds
        self._available_override = available_cpus
        self._lock = threading.RLock()  # track_pids may come from another thread than read
        self._available = self._count_available()
        self._last_t = clock()
        self._last_cpu_s = self._cpu_seconds()

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

    def leave_idle_share(self) -> None:
        """Count only what this task's busy CPUs add above idle, from now on.

        For a task that shares its node's CPUs with other tasks of the job: the node's
        first task counts the idle power of the CPUs, every task the busy share of its
        own processes, so the tasks' estimates add up to the node's model once.
        """
        with self._lock:
            self.read()
            self.idle_share = False
            self.name = f"cpu (estimated, {self.scope}, busy share)"
            self.devices = (self.name,)

    def _power_w(self, busy: float) -> float:
        if self.idle_share:
            return self.model.power_w(busy, self._available)
        u = min(max(busy, 0.0), self._available)
        return self.model.w_per_logical_cpu * (1.0 - self.model.idle_fraction) * u

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
                self._acc_j += self._power_w(busy) * dt
                self._last_t = now
                self._last_cpu_s = max(cpu_s, self._last_cpu_s)
            return self._reading()

    def describe(self) -> dict:
        """What this meter is, for run records and ``lpm hardware``."""
        return {
            **super().describe(),
            "method": "cpu time x TDP model",
            "scope": self.scope,
            "pids": list(self.tree.pids) if self.scope == "process" else [],
            "available_cpus": self._available,
            "idle_share": self.idle_share,
            "model": self.model.to_dict(),
            "reason": self.reason,
        }


class EstimatedDramMeter(_EstimatedMeter):
    """DRAM energy from memory size x W per GB (marked estimated)."""

    kind = "dram"

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
        super().__init__(scope=scope, pids=pids, tree=tree, clock=clock, reason=reason)
        self.w_per_gb = w_per_gb
        self._memory_fn = memory_bytes
        self._last_t = clock()
        self._last_gb = self._gb()

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
        return self._reading()

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
