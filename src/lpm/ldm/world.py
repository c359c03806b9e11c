"""Where this process runs: its place under torchrun, its device and the memory free there.

Read without importing torch where it can be (no GPU driver on Linux means the CPU), so
that a check before a run costs milliseconds.
"""

from __future__ import annotations

import os
import sys

from lpm.errors import LpmError


def env_world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment, or (0, 1, 0)."""
    try:
        rank = int(os.environ.get("RANK", "0"))
        world = int(os.environ.get("WORLD_SIZE", "1"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise LpmError(
            "RANK/WORLD_SIZE/LOCAL_RANK must be integers; start with torchrun."
        ) from None
    return rank, world, local


def local_world_size() -> int:
    """Processes of this job on this machine (LOCAL_WORLD_SIZE, else WORLD_SIZE, else 1)."""
    for name in ("LOCAL_WORLD_SIZE", "WORLD_SIZE"):
        try:
            return max(1, int(os.environ[name]))
        except (KeyError, ValueError):
            continue
    return 1


def _cuda_possible() -> bool:
    """False when this machine has no GPU torch could use, told without importing torch."""
    if "torch" in sys.modules:
        return bool(sys.modules["torch"].cuda.is_available())
    if sys.platform.startswith("linux"):
        nodes = ("/proc/driver/nvidia/gpus", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")
        if not any(os.path.exists(p) for p in nodes):
            return False
    import torch

    return bool(torch.cuda.is_available())


def run_device() -> str:
    """The device lpm's runs use here: "cuda:<local rank>" when a GPU is there, else "cpu"."""
    if not _cuda_possible():
        return "cpu"
    import torch

    return f"cuda:{env_world()[2] % max(1, torch.cuda.device_count())}"


def available_bytes(device: str) -> int:
    """Memory free for a run on DEVICE: the GPU's free memory, or RAM available to start."""
    if str(device).startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available) // local_world_size()


__all__ = ["available_bytes", "env_world", "local_world_size", "run_device"]
