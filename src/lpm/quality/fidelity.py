"""Fidelity: how close generated images are to real ones in distribution.

HU distributions of the body (1-D Wasserstein), tissue-class fractions (L1 distance), and a
Fréchet distance and MMD on feature vectors. Each returns an Estimate with a bootstrap CI.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from lpm.quality.stats import DEFAULT_BOOTSTRAP, Estimate, bootstrap_two, require
from lpm.quality.tissue import fractions

MIN_IMAGES = 4


def _wasserstein_hist(h_a: np.ndarray, h_b: np.ndarray) -> float:
    """W1 between two histograms on the same 1-HU bins: the area between their CDFs (HU)."""
    cdf_a = np.cumsum(h_a) / max(h_a.sum(), 1.0)
    cdf_b = np.cumsum(h_b) / max(h_b.sum(), 1.0)
    return float(np.abs(cdf_a - cdf_b).sum())


def hu_wasserstein(
    hist_gen: np.ndarray, hist_real: np.ndarray, *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> Estimate:
    """1-D Wasserstein distance (HU) between the pooled body HU distributions of two sets,
    from per-image histograms (tissue.hu_histograms)."""
    require("hu_wasserstein", "generated", len(hist_gen), MIN_IMAGES)
    require("hu_wasserstein", "real", len(hist_real), MIN_IMAGES)
    return bootstrap_two(
        lambda a, b: _wasserstein_hist(hist_gen[a].sum(0), hist_real[b].sum(0)),
        len(hist_gen),
        len(hist_real),
        n_boot=n_boot,
        seed=seed,
    )


def tissue_fraction_distance(
    counts_gen: np.ndarray,
    counts_real: np.ndarray,
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> Estimate:
    """L1 distance between the tissue-class fractions of the body (sum over classes of
    |generated - real|, 0 to 2), from tissue.class_counts rows."""
    require("tissue_fraction_l1", "generated", len(counts_gen), MIN_IMAGES)
    require("tissue_fraction_l1", "real", len(counts_real), MIN_IMAGES)
    return bootstrap_two(
        lambda a, b: float(np.abs(fractions(counts_gen[a]) - fractions(counts_real[b])).sum()),
        len(counts_gen),
        len(counts_real),
        n_boot=n_boot,
        seed=seed,
    )


def frechet(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, F).

    The same quantity as MONAI's FIDMetric (get_fid_score): |mu_a - mu_b|^2 + tr(S_a) +
    tr(S_b) - 2 tr((S_a S_b)^1/2). MONAI takes the matrix square root with scipy, which lpm
    does not depend on; here tr((S_a S_b)^1/2) is the sum of the square roots of the
    eigenvalues of S_a^1/2 S_b S_a^1/2 (symmetric, so torch.linalg.eigh suffices).
    """
    a = torch.as_tensor(features_a, dtype=torch.float64)
    b = torch.as_tensor(features_b, dtype=torch.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a = torch.atleast_2d(torch.cov(a.T))
    s_b = torch.atleast_2d(torch.cov(b.T))
    w, v = torch.linalg.eigh(s_a)
    root_a = (v * w.clamp_min(0).sqrt()) @ v.T
    inner = torch.linalg.eigvalsh(root_a @ s_b @ root_a).clamp_min(0).sqrt().sum()
    diff = mu_a - mu_b
    return float(diff.dot(diff) + s_a.trace() + s_b.trace() - 2.0 * inner)


def _feature_distance(
    name: str,
    distance: Callable[[np.ndarray, np.ndarray], float],
    feats_gen: np.ndarray,
    feats_real: np.ndarray,
    n_boot: int,
    seed: int,
) -> Estimate:
    """distance(generated, real) on feature sets, with a bootstrap CI over both sets."""
    require(name, "generated", len(feats_gen), MIN_IMAGES)
    require(name, "real", len(feats_real), MIN_IMAGES)
    return bootstrap_two(
        lambda a, b: distance(feats_gen[a], feats_real[b]),
        len(feats_gen),
        len(feats_real),
        n_boot=n_boot,
        seed=seed,
    )


def frechet_distance(
    feats_gen: np.ndarray, feats_real: np.ndarray, *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> Estimate:
    """Fréchet distance (FID-style) between feature sets, with a bootstrap CI."""
    return _feature_distance("frechet_distance", frechet, feats_gen, feats_real, n_boot, seed)


def mmd(features_real: np.ndarray, features_gen: np.ndarray) -> float:
    """Unbiased MMD^2 of MONAI's MMDMetric (Gretton et al. 2012, linear kernel) between two
    feature sets; the larger set is cut to the smaller one's size (MONAI needs equal sizes)."""
    from monai.metrics import MMDMetric

    k = min(len(features_real), len(features_gen))
    y = torch.as_tensor(features_real[:k], dtype=torch.float64)
    y_pred = torch.as_tensor(features_gen[:k], dtype=torch.float64)
    return float(MMDMetric()(y, y_pred))


def mmd_distance(
    feats_gen: np.ndarray, feats_real: np.ndarray, *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> Estimate:
    """MMD between feature sets, with a bootstrap CI (each draw resamples both sets)."""
    return _feature_distance("mmd", lambda g, r: mmd(r, g), feats_gen, feats_real, n_boot, seed)
