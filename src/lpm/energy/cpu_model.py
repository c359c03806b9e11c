"""The CPU power model of the estimates: what one logical CPU of this machine draws.

W per logical CPU is the package TDP divided by its cores (from data/cpu_tdp.csv) divided
by threads per core, or Green Algorithms' 12 W per core when the model is unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import psutil

from lpm.energy.tdp import CPU_IDLE_FRACTION, FALLBACK_W_PER_CORE, cores_in_model_name, lookup_cpu

log = logging.getLogger("lpm.energy")


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
