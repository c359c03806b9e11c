"""evaluate(): every quality metric of generated HU images against real (held-out) and
training images, as one QualityReport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from lpm.datasets import DEFAULT_HU_WINDOW
from lpm.quality import fidelity, tissue
from lpm.quality.diversity import ms_ssim_diversity
from lpm.quality.energy import useful_energy
from lpm.quality.features import Features
from lpm.quality.images import check_same_shape
from lpm.quality.memorisation import CopyCheck, copy_check, cosine_matrix, ncc_matrix
from lpm.quality.report import ClosePair, ImageSet, Memorisation, Metric, QualityReport
from lpm.quality.stats import DEFAULT_BOOTSTRAP, Estimate, halves

THRESHOLD_RULE = "max over held-out real images of their similarity to the nearest training image"


def _with_floor(
    metric: Callable[..., Estimate],
    gen: np.ndarray,
    real: np.ndarray,
    minimum: int,
    n_boot: int,
    seed: int,
    **kw: str,
) -> Metric:
    """A two-set metric with its floor: the same metric between two halves of the real set."""
    est = metric(gen, real, n_boot=n_boot, seed=seed)
    floor = None
    if len(real) >= 2 * minimum:
        a, b = halves(len(real), seed)
        floor = metric(real[a], real[b], n_boot=0, seed=seed).value
    return Metric.of(est, floor=floor, **kw)


def _memorisation(check: CopyCheck, names: list[str], n_train: int) -> Memorisation:
    return Memorisation(
        similarity=check.similarity,
        threshold=check.threshold,
        threshold_rule=THRESHOLD_RULE,
        copies=int(check.copies.sum()),
        n_generated=len(check.nearest_similarity),
        n_heldout=len(check.heldout_similarity),
        n_train=n_train,
        closest=[
            ClosePair(sample=names[i], train_index=j, similarity=s) for i, j, s in check.closest
        ],
    )


def _set(images: np.ndarray, source: str | ImageSet | None, default: str) -> ImageSet:
    if isinstance(source, ImageSet):
        return source
    return ImageSet(source=source or default, n=len(images), shape=list(images.shape[1:]))


def evaluate(
    samples: np.ndarray,
    real: np.ndarray,
    train: np.ndarray | None = None,
    features: Features | None = None,
    *,
    names: list[str] | None = None,
    sources: dict[str, str | ImageSet] | None = None,
    sampling_summary: dict[str, Any] | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    hu_window: tuple[float, float] = DEFAULT_HU_WINDOW,
) -> QualityReport:
    """Fidelity, diversity and memorisation of `samples` (N, *spatial, HU) against `real`
    held-out images (and `train`, the images the model learnt from).

    `features` (e.g. lpm.ldm.features.autoencoder_features or quality.resnet_features) adds
    the Fréchet distance, MMD and a feature-space copy check; `sampling_summary` (the
    summary.json of `lpm sample`) adds energy and CO2e per sample that is not a copy.
    Too few images for a metric raise LpmError naming it and the minimum.
    """
    samples = np.asarray(samples, np.float32)
    real = np.asarray(real, np.float32)
    check_same_shape(samples, real, "real")
    if train is not None:
        train = np.asarray(train, np.float32)
        check_same_shape(samples, train, "training")
    names = names or [f"sample {i}" for i in range(len(samples))]
    sources = sources or {}
    notes: list[str] = []
    m_gen, m_real = tissue.body_mask(samples), tissue.body_mask(real)
    hist_g, hist_r = (
        tissue.hu_histograms(x, m, hu_window) for x, m in ((samples, m_gen), (real, m_real))
    )
    counts_g, counts_r = tissue.class_counts(samples, m_gen), tissue.class_counts(real, m_real)
    boot = {"n_boot": n_boot, "seed": seed}
    metrics: dict[str, Metric] = {
        "hu_wasserstein": _with_floor(
            fidelity.hu_wasserstein, hist_g, hist_r, fidelity.MIN_IMAGES, **boot,
            better="lower", unit="HU",
            description="1-D Wasserstein distance between the body's HU distributions",
        ),
        "tissue_fraction_l1": _with_floor(
            fidelity.tissue_fraction_distance, counts_g, counts_r, fidelity.MIN_IMAGES, **boot,
            better="lower",
            description="L1 distance of the body's air/lung/fat/soft tissue/bone fractions",
        ),
    }  # fmt: skip
    frac_g, frac_r = tissue.fractions(counts_g), tissue.fractions(counts_r)
    tissue_fractions = {
        name: {"generated": float(frac_g[k]), "real": float(frac_r[k])}
        for k, name in enumerate(tissue.TISSUE_CLASSES)
    }
    feats_g = feats_r = None
    if features is not None:
        feats_g, feats_r = features(samples), features(real)
        for key, fn, text in (
            ("frechet_distance", fidelity.frechet_distance, "Fréchet distance of features"),
            ("mmd", fidelity.mmd_distance, "MMD (linear kernel, unbiased) of features"),
        ):
            metrics[key] = _with_floor(
                fn, feats_g, feats_r, fidelity.MIN_IMAGES, **boot, better="lower",
                description=f"{text} ({features.name})",
            )  # fmt: skip
    else:
        notes.append("no features given: Fréchet distance and MMD left out")
    ms_real = ms_ssim_diversity(real, "real", **boot, hu_window=hu_window)
    ms_gen = ms_ssim_diversity(samples, "generated", **boot, hu_window=hu_window)
    metrics["ms_ssim"] = Metric.of(
        ms_gen, floor=ms_real.value, better="closer_to_floor",
        description="mean MS-SSIM between pairs of generated images (floor: real pairs); "
        "far above the floor means too little diversity (mode collapse)",
    )  # fmt: skip
    memo = None
    copy_rate = None
    if train is not None:
        check = copy_check(ncc_matrix(samples, train), ncc_matrix(real, train), **boot)
        memo = _memorisation(check, names, len(train))
        copy_rate = check.copy_rate.value
        metrics["copy_rate"] = Metric.of(
            check.copy_rate, better="lower",
            description="share of generated images closer (NCC) to a training image than any "
            "held-out real image is",
        )  # fmt: skip
        if features is not None:
            ft = features(train)
            fcheck = copy_check(
                cosine_matrix(feats_g, ft), cosine_matrix(feats_r, ft), similarity="cosine", **boot
            )
            metrics["copy_rate_features"] = Metric.of(
                fcheck.copy_rate, better="lower",
                description=f"as copy_rate, by cosine similarity of features ({features.name})",
            )  # fmt: skip
    else:
        notes.append("no training images given: memorisation left out")
    energy = None
    if sampling_summary is not None:
        energy = useful_energy(sampling_summary, copy_rate, source=sources.get("summary", ""))
    return QualityReport(
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        hu_window=tuple(hu_window),
        samples=_set(samples, sources.get("samples"), "array"),
        real=_set(real, sources.get("real"), "array"),
        train=None if train is None else _set(train, sources.get("train"), "array"),
        features=None if features is None else features.name,
        bootstrap=n_boot,
        seed=seed,
        metrics=metrics,
        tissue_fractions=tissue_fractions,
        memorisation=memo,
        energy=energy,
        notes=notes,
    )
