"""Diversity: MS-SSIM between pairs of images of one set (MONAI MultiScaleSSIMMetric).

Generated pairs far more similar than real pairs show mode collapse. Images are windowed
to [0, 1] (data range 1). Wang et al.'s 11-wide kernel and 5 scales need images above 160
pixels; so lpm uses a 3-wide Gaussian kernel (sigma 1) and as many of the 5 scales as MONAI
allows for the image (4 at 32², 5 at 64² and above, 3 at 16³), with Wang et al.'s weights
for those scales renormalised to sum to 1. Values are comparable only between sets of one
size (the report compares generated and real images of the same size).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from lpm.datasets import DEFAULT_HU_WINDOW
from lpm.errors import LpmError
from lpm.quality.stats import DEFAULT_BOOTSTRAP, Estimate, bootstrap_mean, require

KERNEL_SIZE = 3
KERNEL_SIGMA = 1.0
WANG_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MIN_IMAGES = 3
DEFAULT_PAIRS = 100


def scale_weights(shape: tuple[int, ...]) -> tuple[float, ...]:
    """Weights of the scales MONAI's MS-SSIM check allows for images of `shape`."""
    for levels in range(len(WANG_WEIGHTS), 0, -1):
        div = max(1, levels - 1) ** 2
        if all(s // div > KERNEL_SIZE - 1 for s in shape):
            w = np.asarray(WANG_WEIGHTS[:levels])
            return tuple(float(x) for x in w / w.sum())
    raise LpmError(f"images of {shape} are too small for MS-SSIM; use at least 8 pixels a side.")


def pairs(n: int, max_pairs: int, seed: int) -> np.ndarray:
    """Up to `max_pairs` distinct unordered pairs (i < j) of range(n), drawn with `seed`."""
    every = np.array(list(itertools.combinations(range(n), 2)), dtype=np.int64)
    if len(every) <= max_pairs:
        return every
    pick = np.random.default_rng(seed).choice(len(every), max_pairs, replace=False)
    return every[np.sort(pick)]


def pair_ms_ssim(
    images_hu: np.ndarray,
    index: np.ndarray,
    hu_window: tuple[float, float] = DEFAULT_HU_WINDOW,
    batch_size: int = 32,
) -> np.ndarray:
    """MS-SSIM of each pair (rows of `index`) of images (N, *spatial)."""
    from monai.metrics import MultiScaleSSIMMetric

    low, high = hu_window
    x = torch.from_numpy(np.clip((np.asarray(images_hu, np.float32) - low) / (high - low), 0, 1))
    metric = MultiScaleSSIMMetric(
        spatial_dims=x.ndim - 1,
        data_range=1.0,
        kernel_size=KERNEL_SIZE,
        kernel_sigma=KERNEL_SIGMA,
        weights=scale_weights(tuple(x.shape[1:])),
        reduction="none",
    )
    out = []
    for start in range(0, len(index), batch_size):
        chunk = index[start : start + batch_size]
        a = x[chunk[:, 0]].unsqueeze(1)
        b = x[chunk[:, 1]].unsqueeze(1)
        out.append(metric(a, b).reshape(-1).double().numpy())
    return np.concatenate(out)


def ms_ssim_diversity(
    images_hu: np.ndarray,
    what: str,
    *,
    max_pairs: int = DEFAULT_PAIRS,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    hu_window: tuple[float, float] = DEFAULT_HU_WINDOW,
) -> Estimate:
    """Mean MS-SSIM over pairs of one set's images (1 = identical), with a bootstrap CI over
    the pairs; `what` names the set."""
    require(f"ms_ssim ({what})", what, len(images_hu), MIN_IMAGES)
    index = pairs(len(images_hu), max_pairs, seed)
    values = pair_ms_ssim(images_hu, index, hu_window)
    return bootstrap_mean(
        values, n_boot=n_boot, seed=seed, n={what: len(images_hu), "pairs": len(index)}
    )
