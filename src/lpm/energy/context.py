"""Hardware and software context written at the top of every run record."""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Sequence
from importlib import metadata

import psutil

from lpm.energy.estimated import cpu_model_name
from lpm.energy.reading import MeterBase
from lpm.energy.slurm import FROM_ENV, SlurmJob
from lpm.energy.slurm import context as slurm_context


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _describe(m: MeterBase) -> dict:
    try:
        return m.describe()
    except Exception as exc:  # a meter's description must never break a run
        return {**MeterBase.describe(m), "error": str(exc)}


def collect_context(
    meters: Sequence[MeterBase] = (), slurm: SlurmJob | object | None = FROM_ENV
) -> dict:
    """CPU model and cores, GPU names and driver, torch version, host, Slurm job, versions.

    ``slurm`` is the job (read from the environment by default); under Slurm the context
    has a ``slurm`` entry (:func:`lpm.energy.slurm.context`) and ``slurm_job_id`` (kept for
    older readers). The torch version comes from package metadata, so torch is never
    imported here.
    """
    job = SlurmJob.from_env() if slurm is FROM_ENV else slurm
    assert job is None or isinstance(job, SlurmJob)
    from lpm import __version__

    gpus: list[str] = []
    driver = None
    for m in meters:
        d = _describe(m)
        if d.get("method") == "nvml":
            driver = d.get("driver_version")
            gpus.extend(dev.get("name", "") for dev in d.get("devices", []))
    vm = psutil.virtual_memory()
    ctx = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "os": platform.platform(),
        "python_version": platform.python_version(),
        "lpm_version": __version__,
        "torch_version": _version("torch"),
        "cpu_model": cpu_model_name(),
        "cpu_count_logical": psutil.cpu_count(logical=True),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "ram_total_gb": round(vm.total / 1e9, 3),
        "gpu_names": gpus,
        "gpu_driver": driver,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "slurm_job_id": job.job_id if job is not None else None,
        "meters": [_describe(m) for m in meters],
    }
    if job is not None:
        ctx["slurm"] = slurm_context(job, meters)
    return ctx
