"""Training data: CTDataset batches in a seeded order that a resumed run can continue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from lpm.errors import LpmError


class ResumableBatchSampler(Sampler[list[int]]):
    """Endless batches of indices, a fresh seeded permutation per epoch, sharded over ranks.

    Batch k depends only on (n, batch_size, seed, rank, world_size, k), so a run resumed at
    iteration k gets the batches it would have got (like DistributedSampler with set_epoch,
    without replaying the skipped batches). Each rank takes every world_size-th index.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        start_batch: int = 0,
    ) -> None:
        if n < 1:
            raise LpmError("the data set is empty; check the data path.")
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start_batch = start_batch
        # Indices per rank per epoch (repeat the set so every rank gets at least one batch).
        self.per_rank = max(-(-n // world_size), batch_size)

    def _epoch(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, 0x5A]))
        total = self.per_rank * self.world_size
        order = np.concatenate([rng.permutation(self.n) for _ in range(-(-total // self.n))])
        return order[:total][self.rank :: self.world_size]

    def batch(self, k: int) -> list[int]:
        """Indices of batch k of this rank."""
        per_epoch = self.per_rank // self.batch_size
        epoch, pos = divmod(k, per_epoch)
        idx = self._epoch(epoch)
        return [int(i) for i in idx[pos * self.batch_size : (pos + 1) * self.batch_size]]

    def __iter__(self) -> Iterator[list[int]]:
        k = self.start_batch
        while True:
            yield self.batch(k)
            k += 1

    def __len__(self) -> int:  # endless; DataLoader only needs a number
        return 2**62


def make_dataset(
    data: str, dims: int, size: tuple[int, ...], *, seed: int, n: int | None, skip_bad: bool
) -> Any:
    """The CTDataset for a run (phantoms or the user's CT)."""
    from lpm.datasets import CTDataset

    return CTDataset(source=data, dims=dims, size=size, n=n, seed=seed, skip_bad=skip_bad)


def make_loader(
    dataset: Any,
    batch_size: int,
    *,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    start_batch: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> Iterator[torch.Tensor]:
    """An endless iterator of batches shaped (B, 1, *size), starting at batch `start_batch`."""
    from lpm.datasets import collate

    sampler = ResumableBatchSampler(
        len(dataset),
        batch_size,
        seed=seed,
        rank=rank,
        world_size=world_size,
        start_batch=start_batch,
    )
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )
    return iter(loader)
