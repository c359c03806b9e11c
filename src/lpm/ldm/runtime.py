"""Where a run executes: device, mixed precision, and torch.distributed (torchrun)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from lpm.errors import LpmError
from lpm.ldm.world import env_world


@dataclass(frozen=True)
class Runtime:
    """Device and process-group facts of this process."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    distributed: bool = False
    amp_dtype: torch.dtype | None = None  # None: full precision

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Autocast context for forward passes (a no-op without mixed precision)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @property
    def needs_grad_scaler(self) -> bool:
        return self.amp_dtype == torch.float16


def cpu_supports_bf16() -> bool:
    """True when oneDNN runs bf16 natively on this CPU (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def amp_dtype_for(device: torch.device, amp: bool, *, training: bool = False) -> torch.dtype | None:
    """Mixed-precision dtype: bf16 where the hardware has it, fp16 on older GPUs, else None.

    On CPUs bf16 is used for inference only: oneDNN's bf16 backward passes of 3D
    convolutions gave run-to-run differences and occasional NaNs (lpm's tests), so CPU
    training stays in fp32.
    """
    if not amp:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and not training and cpu_supports_bf16():
        return torch.bfloat16
    return None


@contextlib.contextmanager
def runtime(amp: bool = True) -> Iterator[Runtime]:
    """Set up this process: CUDA device per local rank, process group under torchrun.

    The process group (NCCL on GPU, gloo on CPU) is created when WORLD_SIZE > 1 and none
    exists yet, and destroyed on exit if it was created here.
    """
    import torch.distributed as dist

    rank, world, local = env_world()
    if torch.cuda.is_available():
        device = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    created = False
    if world > 1 and not (dist.is_available() and dist.is_initialized()):
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        created = True
    distributed = world > 1 and dist.is_initialized()
    try:
        yield Runtime(
            device=device,
            rank=rank if distributed else 0,
            world_size=world if distributed else 1,
            local_rank=local,
            distributed=distributed,
            amp_dtype=amp_dtype_for(device, amp, training=True),
        )
    finally:
        if created and dist.is_initialized():
            dist.destroy_process_group()


def per_rank_batch(batch_size: int, world_size: int, global_batch: str) -> int:
    """Batch per process: the same global batch split over ranks, or the same per GPU."""
    if global_batch == "same_per_gpu" or world_size == 1:
        return batch_size
    if batch_size % world_size:
        raise LpmError(
            f"batch size {batch_size} does not split evenly over {world_size} processes with "
            "global_batch='same_global'; use a multiple of the process count or same_per_gpu."
        )
    return batch_size // world_size


def broadcast_object(obj: Any, rt: Runtime) -> Any:
    """Rank 0's value of `obj` on every rank."""
    if not rt.distributed:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(rt: Runtime) -> None:
    """Wait for all ranks."""
    if rt.distributed:
        import torch.distributed as dist

        dist.barrier()
