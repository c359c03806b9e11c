"""Choose meters for this machine: NVML GPUs, RAPL CPU/DRAM, else estimates; or simulation."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lpm.energy import distributed
from lpm.energy.distributed import DistInfo
from lpm.energy.estimated import SCOPES, EstimatedCpuMeter, EstimatedDramMeter, ProcessTree
from lpm.energy.nvml import NvmlMeter, NvmlUnavailable
from lpm.energy.rapl import (
    DEFAULT_POWERCAP_ROOT,
    RaplPermissionError,
    RaplUnavailable,
    rapl_meters,
)
from lpm.energy.reading import MeterBase, as_meter
from lpm.energy.simulated import SimulatedMeter
from lpm.energy.slurm import FROM_ENV, SlurmJob, node_once
from lpm.errors import LpmError
from lpm.provenance import Provenance

log = logging.getLogger("lpm.energy")


@dataclass(frozen=True)
class HardwareItem:
    """One component: whether it is measured, estimated, simulated or missing, and why.

    ``provenance`` is None for a component nothing measures; ``status`` is its value
    as a string ("none" for a missing component), kept for older callers.
    """

    component: str  # "gpu" | "cpu" | "dram"
    provenance: Provenance | None
    meter: str
    reason: str

    def __post_init__(self) -> None:
        if self.provenance is not None:
            object.__setattr__(self, "provenance", Provenance.parse(self.provenance))

    @property
    def status(self) -> str:
        """ "measured" | "estimated" | "simulated" | "none"."""
        return self.provenance.value if self.provenance is not None else "none"

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "component": self.component,
            "provenance": self.provenance.value if self.provenance is not None else None,
            "status": self.status,
            "meter": self.meter,
            "reason": self.reason,
        }


@dataclass
class Detection:
    """The meters chosen, what they mean, and one-line notices for the user."""

    meters: list[MeterBase]
    items: list[HardwareItem]
    notices: list[str] = field(default_factory=list)


def _check_scope(cpu_scope: str) -> None:
    if cpu_scope not in SCOPES:
        raise LpmError(f"cpu_scope must be 'process' or 'machine', not {cpu_scope!r}")


# Bounds of a simulation: more devices than any node has, or watts that are not finite,
# describe no machine (and 10^8 devices never finish reading).
MAX_SIMULATED_DEVICES = 1024
MAX_SIMULATED_WATTS = 100_000.0


def _simulated(
    simulate_cpu_watts: float | None, simulate_gpus: int, simulate_gpu_watts: float | None
) -> Detection:
    if not 0 <= simulate_gpus <= MAX_SIMULATED_DEVICES:
        raise LpmError(f"simulate_gpus must be 0 to {MAX_SIMULATED_DEVICES}, not {simulate_gpus}")
    if simulate_gpus > 0 and simulate_gpu_watts is None:
        raise LpmError("simulate_gpus needs simulate_gpu_watts: give the watts of each GPU")
    if simulate_gpus == 0 and simulate_gpu_watts is not None:
        raise LpmError("simulate_gpu_watts needs simulate_gpus: give the number of GPUs")
    given = (("simulate_cpu_watts", simulate_cpu_watts), ("simulate_gpu_watts", simulate_gpu_watts))
    for label, w in given:
        if w is not None and not 0 <= w <= MAX_SIMULATED_WATTS:
            raise LpmError(
                f"{label} must be a number of watts from 0 to {MAX_SIMULATED_WATTS:g}, not {w}"
            )
    meters: list[MeterBase] = []
    items = []
    if simulate_cpu_watts is not None:
        m = SimulatedMeter("cpu", simulate_cpu_watts, 1)
        meters.append(m)
        items.append(HardwareItem("cpu", Provenance.SIMULATED, m.name, "simulation requested"))
    if simulate_gpus > 0:
        assert simulate_gpu_watts is not None
        m = SimulatedMeter("gpu", simulate_gpu_watts, simulate_gpus)
        meters.append(m)
        items.append(HardwareItem("gpu", Provenance.SIMULATED, m.name, "simulation requested"))
    return Detection(meters, items)


def detect(
    *,
    simulate_cpu_watts: float | None = None,
    simulate_gpus: int = 0,
    simulate_gpu_watts: float | None = None,
    cpu_scope: str = "process",
    powercap_root: Path | str = DEFAULT_POWERCAP_ROOT,
    powercap_reader: Callable[[Path], str] | None = None,
    nvml: Any = None,
    env: Mapping[str, str] | None = None,
    gpu_select: Sequence[int] | None = None,
    pids: Sequence[int] | None = None,
) -> Detection:
    """Detect meters and explain the choice (see :func:`detect_meters`)."""
    _check_scope(cpu_scope)
    if simulate_cpu_watts is not None or simulate_gpus or simulate_gpu_watts is not None:
        return _simulated(simulate_cpu_watts, simulate_gpus, simulate_gpu_watts)
    env = os.environ if env is None else env
    meters: list[MeterBase] = []
    items: list[HardwareItem] = []
    notices: list[str] = []

    try:
        gpu = NvmlMeter(nvml=nvml, env=env, select=gpu_select)
        meters.append(gpu)
        notices.extend(gpu.notices)
        gpu.notices.clear()
        items.append(
            HardwareItem(
                "gpu",
                Provenance.MEASURED,
                gpu.name,
                f"NVML, driver {gpu.driver_version}; {gpu.scope}",
            )
        )
    except NvmlUnavailable as exc:
        items.append(HardwareItem("gpu", None, "-", f"no NVIDIA GPU measured: {exc}"))

    cpu_reason = dram_reason = ""
    have_dram = False
    try:
        rapl_kw = {"reader": powercap_reader} if powercap_reader is not None else {}
        for m in rapl_meters(powercap_root, **rapl_kw):
            meters.append(m)
            have_dram = have_dram or m.kind == "dram"
            items.append(
                HardwareItem(m.kind, Provenance.MEASURED, m.name, f"RAPL via {powercap_root}")
            )
        if not have_dram:
            dram_reason = "RAPL has no dram zone on this CPU"
    except RaplPermissionError as exc:
        notices.append(str(exc))
        cpu_reason = dram_reason = "RAPL counters exist but are not readable (permission denied)"
    except RaplUnavailable as exc:
        cpu_reason = dram_reason = f"no RAPL counters ({exc}): usual in VMs and containers"

    tree = ProcessTree(pids)  # one scan of the process tree serves both estimates
    if not any(m.kind == "cpu" for m in meters):
        cpu = EstimatedCpuMeter(scope=cpu_scope, tree=tree, reason=cpu_reason)
        meters.append(cpu)
        items.append(
            HardwareItem("cpu", Provenance.ESTIMATED, cpu.name, f"{cpu_reason}; {cpu.model.source}")
        )
    if not have_dram:
        dram = EstimatedDramMeter(scope=cpu_scope, tree=tree, reason=dram_reason)
        meters.append(dram)
        items.append(
            HardwareItem(
                "dram",
                Provenance.ESTIMATED,
                dram.name,
                f"{dram_reason}; {dram.w_per_gb} W/GB (Green Algorithms) x "
                + (
                    "resident memory of the measured processes"
                    if cpu_scope == "process"
                    else "installed memory"
                ),
            )
        )
    return Detection(meters, items, notices)


def detect_meters(
    *,
    simulate_cpu_watts: float | None = None,
    simulate_gpus: int = 0,
    simulate_gpu_watts: float | None = None,
    cpu_scope: str = "process",
    **kwargs: Any,
) -> list[MeterBase]:
    """Meters for this job: NVML GPUs, RAPL CPU/DRAM, else estimated CPU/DRAM.

    With any simulation argument, only the simulated devices. ``cpu_scope`` is "process"
    (this process tree) or "machine" (the whole machine) for the estimates. Notices (e.g.
    RAPL permission denied, and how to grant access) are logged once.
    """
    d = detect(
        simulate_cpu_watts=simulate_cpu_watts,
        simulate_gpus=simulate_gpus,
        simulate_gpu_watts=simulate_gpu_watts,
        cpu_scope=cpu_scope,
        **kwargs,
    )
    for n in d.notices:
        log.warning("%s", n)
    return d.meters


def run_meters(
    given: Sequence[Any] | None,
    cpu_scope: str,
    dist: DistInfo | None,
    slurm: SlurmJob | object | None = FROM_ENV,
) -> tuple[list[MeterBase], list[str]]:
    """A run's meters and notices: ``given`` (adapted once with :func:`as_meter`) or detected.

    Under torch.distributed a rank detects only its own GPU, and CPU/DRAM meters stay on
    one rank per host (:func:`lpm.energy.distributed.host_once`). Without it, several
    Slurm tasks on one node (``slurm``: the job, read from the environment by default)
    leave CPU/DRAM to the node's first task and share the node's GPUs out
    (:func:`lpm.energy.slurm.node_once`, :meth:`SlurmJob.gpu_select`).
    """
    job = SlurmJob.from_env() if slurm is FROM_ENV else slurm
    assert job is None or isinstance(job, SlurmJob)
    notices: list[str] = [f"Slurm: {n}" for n in job.notes] if job is not None else []
    multi = dist is not None and dist.world_size > 1
    if given is None:
        idx = distributed.local_gpu_index() if dist is not None else None
        select = None if idx is None else [idx]
        if select is None and job is not None:
            own = job.gpu_select()
            if not multi or (own is not None and len(own) == 1):
                select = own
        if select == []:
            notices.append(
                "Slurm: this node's GPUs are measured by its first task (SLURM_LOCALID 0)"
            )
        detection = detect(cpu_scope=cpu_scope, gpu_select=select)
        given = detection.meters
        notices = [*notices, *detection.notices]
        if select == []:
            given = [m for m in given if m.kind != "gpu"]
    meters = [as_meter(m) for m in given]  # the one place third-party meters are adapted
    if multi:
        assert dist is not None
        meters = distributed.host_once(meters, dist)
    else:
        meters = node_once(meters, job)
        if job is not None and job.shares_node and not job.is_node_leader:
            notices.append(
                "Slurm: node-wide CPU and DRAM energy is measured by this node's first task "
                "(SLURM_LOCALID 0); this task's record holds its GPUs and its own processes"
            )
    return meters, notices
