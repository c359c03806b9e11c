"""The quality stage of a study: one model trained long enough to have quality (spec.quality),
sampled, scored by lpm.quality against held-out phantoms, and recorded with its figures in
DIR/quality (record.json, quality.json/.html, montage.png, pair-K.png, samples/)."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.results import (
    QUALITY_DIR,
    ClosestPairRecord,
    QualityMetricRecord,
    QualityRecord,
    QualitySetting,
    write_quality_record,
)
from lpm.study.spec import ModelSetting, QualityStage, StudySpec

MONTAGE = 8
"""Samples (and as many real images) in the montage."""
PAIRS = 4
"""Closest train/sample pairs drawn."""


@dataclass(frozen=True)
class QualityJob:
    """The stage as a job of the executors (they read its id and its processes)."""

    job_id: str = "quality"
    processes: int = 1
    scenario_ids: tuple[str, ...] = ()


def run_quality_job(job: QualityJob, *, spec: StudySpec, out_dir: str) -> QualityRecord:
    """Run the stage in whatever process runs the job; leaves DIR/quality/record.json."""
    import torch

    stage = spec.quality
    if stage is None:
        raise LpmError("the spec has no quality stage")
    threads = stage.threads or spec.threads
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        record = run_quality(spec, stage, Path(out_dir))
    finally:
        torch.set_num_threads(before)
    write_quality_record(out_dir, record)
    return record


def model_dirs(out_dir: str | Path) -> tuple[Path, Path]:
    """The quality stage's autoencoder and UNet run dirs: DIR/quality/work/autoencoder and
    DIR/quality/work/ddpm (named after its training objective, as the tradeoff stage's
    twins are: the sweep labels a run by its folder's name)."""
    work = Path(out_dir) / QUALITY_DIR / "work"
    return work / "autoencoder", work / "ddpm"


def _tracking(spec: StudySpec) -> dict[str, Any]:
    return {
        "interval_s": spec.measure.interval_s,
        "pue": spec.pue,
        "region": spec.region,
        "seed": spec.seed,
        "progress": False,
    }


def run_quality(spec: StudySpec, stage: QualityStage, out_dir: Path) -> QualityRecord:
    """Train the autoencoder and the UNet, sample, evaluate, draw the figures; the record."""
    from lpm.ldm import SampleConfig, sample_ldm, train_autoencoder, train_ldm
    from lpm.ldm.features import evaluate_samples_dir
    from lpm.ldm.results import quality_summary, write_summary

    started = time.monotonic()
    qdir = out_dir / QUALITY_DIR
    shutil.rmtree(qdir, ignore_errors=True)  # a stage killed half-way runs again from scratch
    work = qdir / "work"
    ae_dir, run_dir = model_dirs(out_dir)
    ae = train_autoencoder(autoencoder_config(spec, stage, ae_dir))
    train = train_ldm(unet_config(spec, stage, autoencoder=ae_dir, out=run_dir))
    sample = sample_ldm(
        SampleConfig(
            run=run_dir,
            n=stage.samples,
            steps=stage.steps,
            sampler=stage.sampler,
            batch_size=min(stage.samples, 16),
            out=qdir / "samples",
            png=False,
            replace=True,  # the stage runs again from scratch
            **_tracking(spec),
        )
    )
    report = evaluate_samples_dir(
        qdir / "samples", run_dir, out=qdir, n_boot=stage.bootstrap, seed=spec.seed
    )
    # as `lpm sample --evaluate` leaves it: the samples' summary.json with their quality
    write_summary(
        replace(sample, quality=quality_summary(report)), qdir / "samples" / "summary.json"
    )
    figures = draw_figures(report, qdir, run_dir)
    # the tradeoff stage samples this model and trains its twins on this autoencoder
    reused = spec.tradeoff is not None and spec.tradeoff.setting is None
    drop_checkpoints(work, keep_models=reused)
    return build_record(
        stage,
        report,
        ae=ae,
        train=train,
        sample=sample,
        figures=figures,
        duration_s=time.monotonic() - started,
    )


def draw_figures(report: Any, qdir: Path, run: Path) -> dict[str, Any]:
    """montage.png (samples over real images) and pair-K.png (training | sample) in qdir."""
    import numpy as np

    from lpm.ldm.features import heldout_data, training_data
    from lpm.quality import load_reference, load_samples

    samples, names = load_samples(qdir / "samples")
    shape = tuple(samples.shape[1:])
    window = tuple(report.hu_window)
    real = load_reference(heldout_data(run, report.real.n), shape, window)
    rows = [samples[:MONTAGE], real[:MONTAGE]]
    _write_png(qdir / "montage.png", rows, window)
    pairs: dict[str, str] = {}
    if report.memorisation is not None:
        train = load_reference(training_data(run), shape, window)
        index = {n: i for i, n in enumerate(names)}
        for k, pair in enumerate(report.memorisation.closest[:PAIRS]):
            if pair.sample in index and pair.train_index < len(train):
                duo = np.stack([train[pair.train_index], samples[index[pair.sample]]])
                _write_png(qdir / f"pair-{k}.png", [duo], window)
                pairs[pair.sample] = f"pair-{k}.png"
    return {"montage": "montage.png", "pairs": pairs}


def _write_png(path: Path, rows: list[Any], hu_window: tuple[float, ...], scale: int = 3) -> None:
    """Rows of display images (one image per panel), stacked, upscaled (nearest), as PNG."""
    import numpy as np
    from matplotlib import image as mpl_image

    from lpm.quality.html import montage_strip

    strips = [montage_strip(images, hu_window) for images in rows]
    width = max(s.shape[1] for s in strips)
    padded = [np.pad(s, ((0, 2), (0, width - s.shape[1])), constant_values=1.0) for s in strips]
    canvas = np.kron(np.concatenate(padded, axis=0)[:-2], np.ones((scale, scale)))
    mpl_image.imsave(path, canvas, cmap="gray", vmin=0.0, vmax=1.0, format="png")


def drop_checkpoints(work: Path, *, keep_models: bool = False) -> None:
    """Delete the runs' *.pt under `work`; with `keep_models` only those in checkpoints/
    (ldm.pt and autoencoder.pt stay)."""
    for path in work.rglob("*.pt"):
        if not keep_models or path.parent.name == "checkpoints":
            path.unlink(missing_ok=True)


def autoencoder_config(spec: StudySpec, setting: ModelSetting, out: Path) -> Any:
    """The AutoencoderConfig of a stage's model (a ModelSetting) in `out`."""
    from lpm.ldm import AutoencoderConfig

    return AutoencoderConfig(
        **_data(spec, setting),
        iterations=setting.autoencoder_iterations,
        out=out,
        **_tracking(spec),
    )


def unet_config(
    spec: StudySpec,
    setting: ModelSetting,
    *,
    autoencoder: Path,
    out: Path,
    objective: str = "ddpm",
) -> Any:
    """The TrainConfig of a stage's UNet (a ModelSetting) trained for `objective`."""
    from lpm.ldm import TrainConfig

    extra: dict[str, Any] = {}
    if objective != "ddpm":
        if "objective" not in TrainConfig.model_fields:
            raise LpmError(f"this lpm cannot train objective {objective!r}; use ddpm")
        extra["objective"] = objective
    return TrainConfig(
        **_data(spec, setting),
        model=setting.model,
        iterations=setting.train_iterations,
        batch_size=setting.batch_size,
        lr=setting.lr,
        autoencoder=autoencoder,
        out=out,
        validation_samples=0,
        **extra,
        **_tracking(spec),
    )


def _data(spec: StudySpec, setting: ModelSetting) -> dict[str, Any]:
    return {
        "dims": setting.dims,
        "size": setting.size_tuple(),
        "data": spec.data,
        "n_items": setting.n_items,
    }


def build_record(
    stage: QualityStage,
    report: Any,
    *,
    ae: Any,
    train: Any,
    sample: Any,
    figures: dict[str, Any],
    duration_s: float,
) -> QualityRecord:
    """The stage's record from its runs' results and the samples' QualityReport."""
    n = int(sample.samples)
    copy = report.metrics.get("copy_rate")
    copy_rate = None if copy is None else float(copy.value)
    useful = n * (1.0 - (copy_rate or 0.0))
    energy, co2e = float(sample.it_energy_kwh), float(sample.co2e_kg)
    memo = report.memorisation
    pairs = figures.get("pairs", {})
    return QualityRecord(
        setting=QualitySetting(
            dims=stage.dims,
            size=stage.size_tuple(),
            model=stage.model,
            autoencoder_iterations=stage.autoencoder_iterations,
            train_iterations=stage.train_iterations,
            batch_size=stage.batch_size,
            lr=stage.lr,
            samples=stage.samples,
            steps=stage.steps,
            sampler=stage.sampler,
        ),
        recon_l1_last=float(ae.recon_l1_last),
        train_loss_first=float(train.loss_first),
        train_loss_last=float(train.loss_last),
        train_duration_s=float(ae.duration_s) + float(train.duration_s),
        train_it_energy_kwh=float(ae.it_energy_kwh) + float(train.it_energy_kwh),
        sample_duration_s=float(sample.duration_s),
        sample_it_energy_kwh=energy,
        sample_co2e_kg=co2e,
        samples=n,
        real=report.real.source,
        n_real=report.real.n,
        train_data=report.train.source if report.train else "",
        n_train=report.train.n if report.train else 1,
        features=report.features,
        metrics={
            name: QualityMetricRecord(
                value=m.value,
                ci_low=m.ci[0],
                ci_high=m.ci[1],
                floor=m.floor,
                n=dict(m.n),
                better=m.better,
                unit=m.unit,
                description=m.description,
            )
            for name, m in report.metrics.items()
        },
        copy_rate=copy_rate,
        copies=None if memo is None else memo.copies,
        copy_threshold=None if memo is None else memo.threshold,
        copy_similarity=None if memo is None else memo.similarity,
        useful_samples=useful,
        it_energy_kwh_per_sample=energy / n,
        co2e_kg_per_sample=co2e / n,
        it_energy_kwh_per_useful_sample=energy / useful if useful > 0 else None,
        co2e_kg_per_useful_sample=co2e / useful if useful > 0 else None,
        montage=figures.get("montage"),
        closest=[
            ClosestPairRecord(
                sample=p.sample,
                train_index=p.train_index,
                similarity=p.similarity,
                figure=pairs.get(p.sample),
            )
            for p in ([] if memo is None else memo.closest)
        ],
        report_file=f"{QUALITY_DIR}/quality.json",
        html_file=f"{QUALITY_DIR}/quality.html",
        duration_s=float(duration_s),
        finished_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        provenance=Provenance.combine([ae.provenance, train.provenance, sample.provenance]),
    )
