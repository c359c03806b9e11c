"""Evaluate a folder of samples (`lpm sample --out`) against reference data specs and write
quality.json and quality.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lpm.datasets import DEFAULT_HU_WINDOW
from lpm.quality.evaluate import evaluate
from lpm.quality.features import Features
from lpm.quality.html import write_html
from lpm.quality.images import DataSpec, load_reference, load_samples
from lpm.quality.report import ImageSet, QualityReport, write_report
from lpm.quality.stats import DEFAULT_BOOTSTRAP

SUMMARY_FILE = "summary.json"


def sampling_summary(samples_dir: str | Path) -> dict[str, Any] | None:
    """The samples folder's summary.json (from `lpm sample`), or None if absent/unreadable."""
    path = Path(samples_dir) / SUMMARY_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def evaluate_dir(
    samples_dir: str | Path,
    real: DataSpec,
    train: DataSpec | None = None,
    features: Features | None = None,
    *,
    out: str | Path | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    hu_window: tuple[float, float] = DEFAULT_HU_WINDOW,
    notes: dict[str, str] | None = None,
) -> QualityReport:
    """Load the samples and the reference images at their shape, evaluate, and write
    quality.json + quality.html into `out` (default: the samples folder)."""
    notes = notes or {}
    samples, names = load_samples(samples_dir)
    shape = tuple(samples.shape[1:])
    real_images = load_reference(real, shape, hu_window)
    train_images = None if train is None else load_reference(train, shape, hu_window)

    def info(images: Any, spec: DataSpec, key: str) -> ImageSet:
        return ImageSet(
            source=spec.describe(), n=len(images), shape=list(shape), note=notes.get(key, "")
        )

    sources: dict[str, Any] = {
        "samples": ImageSet(source=str(samples_dir), n=len(samples), shape=list(shape)),
        "real": info(real_images, real, "real"),
        "summary": str(Path(samples_dir) / SUMMARY_FILE),
    }
    if train is not None:
        sources["train"] = info(train_images, train, "train")
    report = evaluate(
        samples,
        real_images,
        train_images,
        features,
        names=names,
        sources=sources,
        sampling_summary=sampling_summary(samples_dir),
        n_boot=n_boot,
        seed=seed,
        hu_window=hu_window,
    )
    target = Path(samples_dir) if out is None else Path(out)
    write_report(report, target)
    write_html(report, target, samples, real_images, train_images, names)
    return report
