"""Feature vectors of HU images for the Fréchet distance and MMD: the Features protocol, and
features from a frozen encoder (a torch module or callable from images to feature maps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from lpm.datasets import DEFAULT_HU_WINDOW, hu_to_unit


@runtime_checkable
class Features(Protocol):
    """Maps HU images (N, *spatial) to feature vectors (N, F); `name` says what they are."""

    name: str

    def __call__(self, images_hu: np.ndarray) -> np.ndarray: ...


def pool_mean_std(maps: torch.Tensor) -> torch.Tensor:
    """(B, C, *spatial) feature maps -> (B, 2C): each channel's spatial mean, then its std."""
    flat = maps.flatten(2).float()
    return torch.cat([flat.mean(2), flat.std(2, unbiased=False)], dim=1)


class EncoderFeatures:
    """Features from a frozen encoder: HU -> [-1, 1] through the HU window -> encoder ->
    per-channel mean and std of its output maps (or its vectors if it returns (B, F))."""

    def __init__(
        self,
        encoder: torch.nn.Module | Callable[[torch.Tensor], torch.Tensor],
        name: str = "encoder",
        *,
        hu_window: tuple[float, float] = DEFAULT_HU_WINDOW,
        batch_size: int = 16,
        device: str | torch.device = "cpu",
    ) -> None:
        self.encoder = encoder
        self.name = name
        self.hu_window = hu_window
        self.batch_size = int(batch_size)
        self.device = torch.device(device)

    def __call__(self, images_hu: np.ndarray) -> np.ndarray:
        units = hu_to_unit(images_hu, self.hu_window)
        out = []
        with torch.inference_mode():
            for start in range(0, len(units), self.batch_size):
                batch = torch.from_numpy(units[start : start + self.batch_size, None])
                maps = self.encoder(batch.to(self.device))
                vectors = maps.flatten(1).float() if maps.ndim == 2 else pool_mean_std(maps)
                out.append(vectors.cpu().numpy().astype(np.float64))
        return np.concatenate(out)
