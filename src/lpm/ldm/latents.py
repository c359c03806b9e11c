"""Batches of latents for stage 2: encoded per batch, or encoded once per item and cached.

The autoencoder is frozen and CTDataset items are deterministic per index, so an item's
latent never changes; caching it skips the encoder (and the data loading) after the first
epoch. Items are encoded one at a time so a latent is bit-identical however batches group
it (a resumed run sees exactly the latents the uninterrupted run saw).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from lpm.ldm.data import ResumableBatchSampler, make_loader
from lpm.ldm.runtime import Runtime


def encode(
    autoencoder: torch.nn.Module, images: torch.Tensor, scale_factor: float, rt: Runtime
) -> torch.Tensor:
    """Latents of a batch of images, scaled (no gradients; the autoencoder is frozen)."""
    with torch.no_grad(), rt.autocast():
        z = autoencoder.encode_stage_2_inputs(images)
    return (z.float() * scale_factor).detach()


class LatentBatches:
    """Endless latent batches in the resumable order of ResumableBatchSampler.

    ``next()`` returns unscaled latents (B, C, *latent_size); multiply by the scale factor.
    With ``cache_mb`` > 0 latents are kept on the device up to that many MiB.
    """

    def __init__(
        self,
        dataset: Any,
        autoencoder: torch.nn.Module,
        rt: Runtime,
        batch_size: int,
        *,
        seed: int,
        start_batch: int = 0,
        cache_mb: float = 0.0,
        num_workers: int = 0,
    ) -> None:
        self.dataset = dataset
        self.autoencoder = autoencoder
        self.rt = rt
        self.cache_bytes = int(cache_mb * 2**20)
        self.sampler = ResumableBatchSampler(
            len(dataset),
            batch_size,
            seed=seed,
            rank=rt.rank,
            world_size=rt.world_size,
            start_batch=start_batch,
        )
        self._k = start_batch
        self._cache: dict[int, torch.Tensor] = {}
        self._used = 0
        self._loader: Iterator[torch.Tensor] | None = None
        if self.cache_bytes <= 0:
            self._loader = make_loader(
                dataset,
                batch_size,
                seed=seed,
                rank=rt.rank,
                world_size=rt.world_size,
                start_batch=start_batch,
                num_workers=num_workers,
                pin_memory=rt.device.type == "cuda",
            )

    def _item(self, index: int) -> torch.Tensor:
        latent = self._cache.get(index)
        if latent is not None:
            return latent
        image = self.dataset[index].unsqueeze(0).to(self.rt.device)
        latent = encode(self.autoencoder, image, 1.0, self.rt)[0]
        size = latent.numel() * latent.element_size()
        if self._used + size <= self.cache_bytes:
            self._cache[index] = latent
            self._used += size
        return latent

    def __iter__(self) -> LatentBatches:
        return self

    def __next__(self) -> torch.Tensor:
        if self._loader is not None:
            images = next(self._loader).to(self.rt.device, non_blocking=True)
            self._k += 1
            return encode(self.autoencoder, images, 1.0, self.rt)
        indices = self.sampler.batch(self._k)
        self._k += 1
        return torch.stack([self._item(i) for i in indices])
