"""The real measurement of one job: a short training run and one sampling run per step count."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.results import ScenarioRecord
from lpm.study.grid import Job
from lpm.study.records import build_records, synthesis_steps
from lpm.study.resume import Progress
from lpm.study.spec import StudySpec


def hardware_context(run_record: str | None = None) -> dict[str, Any]:
    """What ran the measurement: the context of the energy run record, else a short one."""
    if run_record:
        try:
            from lpm.energy import read_run

            context = dict(read_run(run_record).context)
            if context:
                return context
        except (LpmError, OSError, ValueError):
            pass
    import torch

    ctx: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "gpus": [],
    }
    try:
        from lpm.energy.estimated import cpu_model_name

        ctx["cpu"] = cpu_model_name() or ctx["cpu"]
    except (ImportError, OSError):
        pass
    if torch.cuda.is_available():
        ctx["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return ctx


def measure_job(job: Job, spec: StudySpec, work_dir: Path) -> list[ScenarioRecord]:
    """Train and sample `job`'s model just long enough to measure; one record per scenario.

    Training runs ``measure.warmup_iterations + measure.train_iterations`` iterations (the
    warm-up is excluded from the statistics). Sampling runs once per step count of the
    job: ``measure.warmup_samples`` warm-up samples, then ``measure.samples`` measured
    samples, each of exactly that many denoising steps (``measure.sample_steps``, where
    set, replaces the step count of a job that has only one; see
    :func:`lpm.study.records.synthesis_steps`).

    A job killed mid-way and measured again with the same settings goes on where it
    stopped (:mod:`lpm.study.resume`): training from its last checkpoint (every
    ``measure.checkpoint_every`` iterations), the finished runs kept.
    """
    import torch

    before = torch.get_num_threads()
    if spec.threads:
        torch.set_num_threads(spec.threads)
    try:
        return _measure(job, spec, work_dir)
    finally:
        torch.set_num_threads(before)


def train_settings(job: Job, spec: StudySpec, work_dir: Path) -> dict[str, Any]:
    """The TrainConfig fields of JOB's measured training run (in WORK_DIR/train)."""
    m = spec.measure
    return {
        "dims": job.dims,
        "size": tuple(job.size),
        "model": job.model,
        "data": spec.data,
        "iterations": m.warmup_iterations + m.train_iterations,
        "warmup_iterations": m.warmup_iterations,
        "batch_size": spec.batch_size,
        "autoencoder": None,
        "autoencoder_iterations": m.autoencoder_iterations,
        "checkpoint_every": m.checkpoint_every,
        "out": str(work_dir / "train"),
        "seed": spec.seed,
        "global_batch": spec.global_batch,
        "interval_s": m.interval_s,
        "pue": spec.pue,
        "region": spec.region,
        "validation_samples": 0,
        "progress": False,
    }


def _sample_settings(job: Job, spec: StudySpec, work_dir: Path, steps: int) -> dict[str, Any]:
    """The SampleConfig fields of JOB's measured sampling run at STEPS steps per sample."""
    m = spec.measure
    return {
        "run": str(work_dir / "train"),
        "n": m.warmup_samples + m.samples,
        "steps": steps,
        "warmup_steps": m.warmup_samples * steps,
        "sampler": job.sampler,
        "batch_size": 1,
        "out": str(work_dir / f"samples-{steps}"),
        "seed": spec.seed,
        "interval_s": m.interval_s,
        "pue": spec.pue,
        "region": spec.region,
        "png": False,
        "progress": False,
        "replace": True,  # a sampling run a kill cut short is measured again whole
    }


def _measure(job: Job, spec: StudySpec, work_dir: Path) -> list[ScenarioRecord]:
    from lpm.ldm import SampleConfig, TrainConfig, sample_ldm, train_ldm

    started = time.monotonic()
    train_cfg = train_settings(job, spec, work_dir)
    step_counts = sorted(set(synthesis_steps(job, spec).values()), reverse=True)
    plan = {  # every setting, defaults too: a newer lpm with other defaults starts over
        "job": job.job_id,
        "processes": job.processes,
        "train": TrainConfig(**train_cfg).model_dump(mode="json"),
        "sample": {
            str(n): SampleConfig(**_sample_settings(job, spec, work_dir, n)).model_dump(mode="json")
            for n in step_counts
        },
    }
    progress = Progress(work_dir, plan)
    progress.open()  # a killed measurement of this plan goes on; other settings start over
    train = progress.done("train")
    if train is None:
        if job.processes > 1:
            from lpm.study.ddp import train_distributed

            threads = max(1, (spec.threads or os.cpu_count() or 1) // job.processes)
            result = train_distributed(train_cfg, job.processes, work_dir / "ddp", threads=threads)
        else:
            result = train_ldm(TrainConfig(**train_cfg)).to_dict()
        train = progress.finish("train", result)

    samples: dict[int, dict[str, Any]] = {}
    for steps in step_counts:
        part = f"sample-{steps}"
        sample = progress.done(part)
        if sample is None:
            cfg = SampleConfig(**plan["sample"][str(steps)])
            sample = progress.finish(part, sample_ldm(cfg).to_dict())
        samples[steps] = sample
    records = build_records(
        job,
        spec,
        train=train,
        samples=samples,
        hardware=hardware_context((train.get("extra") or {}).get("run_record")),
        duration_s=time.monotonic() - started,
    )
    _drop_bulk(work_dir)
    progress.close()
    return records


BULK_SUFFIXES = (".pt", ".nii", ".gz", ".png")


def _drop_bulk(work_dir: Path) -> None:
    """Delete samples and checkpoints (the bulk); keep summaries and energy records."""
    for path in work_dir.rglob("*"):
        if path.is_file() and path.suffix in BULK_SUFFIXES:
            path.unlink(missing_ok=True)
