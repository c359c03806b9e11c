"""Phantom image sets shared by the lpm.quality tests (2D 32², a few dozen images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lpm.quality import DataSpec, EncoderFeatures, load_reference

torch.set_num_threads(1)

SHAPE = (32, 32)
N = 24


def phantoms(seed: int, n: int = N, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    return load_reference(DataSpec("phantom", n, seed), shape)


@pytest.fixture(scope="session")
def train() -> np.ndarray:
    return phantoms(0)


@pytest.fixture(scope="session")
def real() -> np.ndarray:
    return phantoms(1_000_000)


@pytest.fixture(scope="session")
def other() -> np.ndarray:
    """Real images disjoint from `real` and `train` (other phantoms)."""
    return phantoms(2_000_000)


def conv_features() -> EncoderFeatures:
    """Features from a fixed, randomly initialised conv encoder (no weights downloaded)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, stride=2),
    ).eval()
    return EncoderFeatures(net, name="random conv")


def blurred(images: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    x = np.arange(-4, 5)
    k = np.exp(-(x**2) / (2 * sigma**2))
    k /= k.sum()
    t = torch.from_numpy(images.astype(np.float32))[:, None]
    kernel = torch.from_numpy(np.outer(k, k).astype(np.float32))[None, None]
    return torch.nn.functional.conv2d(t, kernel, padding=4)[:, 0].numpy()
