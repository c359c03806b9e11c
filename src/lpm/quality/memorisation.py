"""Memorisation: each generated image's nearest training image and whether it is a copy.

Similarity is the normalised cross-correlation (NCC, Pearson's r over voxels) in image
space, or the cosine of feature vectors. The copy threshold is calibrated on real held-out
images, which are by definition not copies: it is the highest similarity any held-out image
has to its nearest training image. A generated image above it is a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lpm.quality.stats import DEFAULT_BOOTSTRAP, Estimate, bootstrap_mean, require

MIN_HELDOUT = 4
CLOSEST_PAIRS = 4


def _unit_rows(x: np.ndarray, centre: bool) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x, np.float32).reshape(len(x), -1), dtype=torch.float32)
    if centre:
        t = t - t.mean(1, keepdim=True)
    norm = t.norm(dim=1, keepdim=True)
    return torch.where(norm > 0, t / norm.clamp_min(1e-12), torch.zeros_like(t))


def ncc_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NCC (N, M) between images a (N, *spatial) and b (M, *spatial); constant images: 0."""
    return (_unit_rows(a, True) @ _unit_rows(b, True).T).double().numpy()


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity (N, M) between feature vectors a (N, F) and b (M, F)."""
    return (_unit_rows(a, False) @ _unit_rows(b, False).T).double().numpy()


@dataclass(frozen=True)
class CopyCheck:
    """Nearest training image per generated image, the calibrated threshold and copies."""

    similarity: str
    nearest_index: np.ndarray  # (N,) index into the training set
    nearest_similarity: np.ndarray  # (N,)
    heldout_similarity: np.ndarray  # (H,) held-out images' nearest-neighbour similarity
    threshold: float
    copy_rate: Estimate
    closest: list[tuple[int, int, float]]  # (generated index, training index, similarity)

    @property
    def copies(self) -> np.ndarray:
        return self.nearest_similarity > self.threshold


def copy_check(
    sim_gen_train: np.ndarray,
    sim_heldout_train: np.ndarray,
    *,
    similarity: str = "ncc",
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> CopyCheck:
    """Copies among generated images from their similarity to the training images, with the
    threshold from held-out images' similarity to them (both (rows, n_train) matrices)."""
    require(f"copy_rate ({similarity})", "generated", sim_gen_train.shape[0], 1)
    require(f"copy_rate ({similarity})", "held-out real", sim_heldout_train.shape[0], MIN_HELDOUT)
    require(f"copy_rate ({similarity})", "training", sim_gen_train.shape[1], 1)
    nearest = sim_gen_train.argmax(1)
    best = sim_gen_train.max(1)
    heldout = sim_heldout_train.max(1)
    threshold = float(heldout.max())
    copies = (best > threshold).astype(np.float64)
    rate = bootstrap_mean(
        copies,
        n_boot=n_boot,
        seed=seed,
        n={"generated": len(best), "heldout": len(heldout), "train": sim_gen_train.shape[1]},
    )
    order = np.argsort(-best)[:CLOSEST_PAIRS]
    closest = [(int(i), int(nearest[i]), float(best[i])) for i in order]
    return CopyCheck(similarity, nearest, best, heldout, threshold, rate, closest)
