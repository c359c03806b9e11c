"""The body inside a CT image and its tissue classes by HU, per image (for the fidelity
metrics: HU histograms and tissue-class voxel counts of the body).

Body rule: voxels above BODY_THRESHOLD_HU (-500 HU, the air/tissue boundary also used for
lung segmentation by Hu et al. 2001), with every hole filled: a voxel belongs to the body
unless it is connected to the image border through voxels at or below the threshold
(face neighbours: 4-connectivity in 2D, 6 in 3D, so a one-voxel wall with diagonal gaps
still closes a lung). Lungs and bowel gas are enclosed, so they belong to the body; the air
around the patient does not. An image with no body voxels counts all its voxels.
"""

from __future__ import annotations

import numpy as np
import torch

from lpm.datasets import DEFAULT_HU_WINDOW

BODY_THRESHOLD_HU = -500.0

# Tissue classes as half-open HU intervals [low, high). Sources:
#   air  < -950: the -950 HU threshold for air-like (emphysematous) lung, Gevenois et al.,
#        Am J Respir Crit Care Med 1996;154:187-192.
#   lung [-950, -500): aerated lung up to the -500 HU air/tissue boundary of Hu, Hoffman and
#        Reinhardt, IEEE Trans Med Imaging 2001;20(6):490-498.
#   fat  [-190, -30): adipose tissue, Kvist et al., Am J Clin Nutr 1988;48:1351-1361.
#   soft tissue [-30, 150): skeletal muscle -29 to +150 HU, Mitsiopoulos et al.,
#        J Appl Physiol 1998;85:115-122 (organs, blood and water fall in it too).
#   bone >= 150: denser than the muscle range (cancellous bone ~+300, cortical bone +700 to
#        +3000 HU: Buzug, Computed Tomography, Springer 2008; Prokop & Galanski 2003).
# Voxels in [-500, -190) (partial volume between lung and tissue) are in no class.
TISSUE_CLASSES: dict[str, tuple[float, float]] = {
    "air": (-np.inf, -950.0),
    "lung": (-950.0, -500.0),
    "fat": (-190.0, -30.0),
    "soft_tissue": (-30.0, 150.0),
    "bone": (150.0, np.inf),
}


def _grow(mask: torch.Tensor) -> torch.Tensor:
    """`mask` (N, *spatial) dilated by one voxel along each axis (4-/6-connectivity)."""
    out = mask.clone()
    for axis in range(1, mask.ndim):
        n = mask.shape[axis]
        out.narrow(axis, 1, n - 1).logical_or_(mask.narrow(axis, 0, n - 1))
        out.narrow(axis, 0, n - 1).logical_or_(mask.narrow(axis, 1, n - 1))
    return out


def body_mask(images_hu: np.ndarray, threshold_hu: float = BODY_THRESHOLD_HU) -> np.ndarray:
    """Boolean body masks (N, *spatial) of HU images, by the rule in the module docstring."""
    images = torch.from_numpy(np.ascontiguousarray(images_hu, dtype=np.float32))
    low = images <= threshold_hu
    border = torch.ones_like(low)
    border[(slice(None), *([slice(1, -1)] * (images.ndim - 1)))] = False
    outside = low & border
    while True:
        grown = _grow(outside) & low
        if torch.equal(grown, outside):
            break
        outside = grown
    body = ~outside
    empty = body.flatten(1).sum(1) == 0
    body[empty] = True
    return body.numpy()


def hu_histograms(
    images_hu: np.ndarray,
    mask: np.ndarray,
    hu_window: tuple[float, float] = DEFAULT_HU_WINDOW,
) -> np.ndarray:
    """Per-image counts (N, bins) of masked voxels in 1-HU bins over the window (values
    outside it are clipped to its ends, as the training data is)."""
    low, high = hu_window
    bins = int(np.ceil(high - low))
    out = np.zeros((images_hu.shape[0], bins), dtype=np.float64)
    for i, (image, m) in enumerate(zip(images_hu, mask, strict=True)):
        values = np.clip(image[m], low, high)
        index = np.minimum((values - low).astype(np.int64), bins - 1)
        out[i] = np.bincount(index, minlength=bins)
    return out


def class_counts(images_hu: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-image voxel counts (N, classes + 1) of the body: one column per TISSUE_CLASSES
    entry, then the body's total."""
    out = np.zeros((images_hu.shape[0], len(TISSUE_CLASSES) + 1), dtype=np.float64)
    for i, (image, m) in enumerate(zip(images_hu, mask, strict=True)):
        values = image[m]
        for k, (lo, hi) in enumerate(TISSUE_CLASSES.values()):
            out[i, k] = np.count_nonzero((values >= lo) & (values < hi))
        out[i, -1] = values.size
    return out


def fractions(counts: np.ndarray) -> np.ndarray:
    """Pooled tissue-class fractions of the body from class_counts rows."""
    total = counts.sum(axis=0)
    return total[:-1] / max(total[-1], 1.0)
