"""Random patches of training images for the autoencoder (``--patch-size``).

The VQ-GAN is convolutional, so it can learn from crops of the images and still encode and
decode whole ones; a step on a 16³ crop of a 32³ volume costs about an eighth of a step on
the volume, so a CPU budget buys several times more updates (MAISI trains its autoencoder
on patches the same way). Each image of a batch gets its own crop; the offsets are
multiples of the autoencoder's downsampling, so a crop's latent grid lines up with the
whole image's, and they depend only on (seed, iteration), so a resumed run crops as the
uninterrupted one would have.
"""

from __future__ import annotations

import torch


def patch_shape(size: tuple[int, ...], patch_size: int | None) -> tuple[int, ...]:
    """The shape the autoencoder trains on: `patch_size` per axis (at most the axis), or the
    whole image when `patch_size` is None."""
    if patch_size is None:
        return tuple(size)
    return tuple(min(int(patch_size), int(n)) for n in size)


def random_patches(
    images: torch.Tensor, shape: tuple[int, ...], *, step: int, seed: int, iteration: int
) -> torch.Tensor:
    """One random crop of `shape` from each image of `images` (N, C, *spatial), at offsets
    that are multiples of `step`, drawn from (seed, iteration)."""
    spatial = tuple(images.shape[2:])
    if len(shape) != len(spatial):
        raise ValueError(f"patch shape {shape} has another number of axes than {spatial}")
    if tuple(shape) == spatial:
        return images
    gen = torch.Generator().manual_seed((int(seed) * 1_000_003 + int(iteration)) % 2**63)
    crops = []
    for image in images:
        offsets = [
            int(torch.randint(0, (n - p) // step + 1, (1,), generator=gen)) * step
            for n, p in zip(spatial, shape, strict=True)
        ]
        index = tuple(slice(o, o + p) for o, p in zip(offsets, shape, strict=True))
        crops.append(image[(slice(None), *index)])
    return torch.stack(crops)  # a fresh, contiguous tensor
