"""The tradeoff stage of a study (spec.tradeoff): the energy-quality sweep of synthesis
recipes (lpm.study.tradeoff) on the quality stage's model, or on a model of its own, and on
a twin UNet per further training objective, recorded in DIR/tradeoff.

DIR/tradeoff holds the sweep's files (tradeoff.jsonl, tradeoff.json, its sub-runs),
stage.json (which models it swept) and work/ (the twins, and the stage's own autoencoder
and model when spec.tradeoff.setting is given). A finished sweep is not run again; a
half-done one resumes (the sweep skips its done points, a twin resumes its training).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.io import atomic_write_text
from lpm.results import TRADEOFF_DIR, TradeoffSummary, read_quality_record
from lpm.results.tradeoff import read_summary
from lpm.study.quality import model_dirs
from lpm.study.spec import StudySpec, TradeoffStage

SweepFn = Callable[..., TradeoffSummary]
"""The sweep: ``fn(runs, out, sweep, *, progress, meters) -> TradeoffSummary``
(lpm.study.tradeoff.run_tradeoff)."""

STAGE_FILE = "stage.json"
"""DIR/tradeoff/stage.json: the models swept (run dirs) and the quality stage they reuse."""


@dataclass(frozen=True)
class TradeoffJob:
    """The stage as a job of the executors (they read its id and its processes)."""

    job_id: str = "tradeoff"
    processes: int = 1
    scenario_ids: tuple[str, ...] = ()


def stage_dir(out_dir: str | Path) -> Path:
    """DIR/tradeoff."""
    return Path(out_dir) / TRADEOFF_DIR


def model_runs(spec: StudySpec, out_dir: str | Path) -> dict[str, Path]:
    """objective -> the run dir the sweep samples: the ddpm model is the quality stage's
    (unless the stage has its own setting); every other one is a twin in DIR/tradeoff/work."""
    stage = _stage(spec)
    work = stage_dir(out_dir) / "work"
    runs = {}
    for objective in stage.objectives:
        if stage.setting is None and objective == "ddpm":
            runs[objective] = model_dirs(out_dir)[1]
        else:
            runs[objective] = work / objective
    return runs


def autoencoder_dir(spec: StudySpec, out_dir: str | Path) -> Path:
    """The autoencoder the stage's UNets train on: the quality stage's, or its own."""
    if _stage(spec).setting is None:
        return model_dirs(out_dir)[0]
    return stage_dir(out_dir) / "work" / "autoencoder"


def finished(spec: StudySpec, out_dir: str | Path) -> TradeoffSummary | None:
    """The sweep's summary if it finished on the models this spec sweeps, else None."""
    summary = read_summary(stage_dir(out_dir))
    if summary is None or _read_stage(out_dir) != _stage_state(spec, out_dir):
        return None
    swept = {Path(run.path).resolve() for run in summary.runs}
    if swept != {p.resolve() for p in model_runs(spec, out_dir).values()}:
        return None
    return summary if summary.tolerance == _stage(spec).tolerance else None


def run_tradeoff_job(
    job: TradeoffJob, *, spec: StudySpec, out_dir: str, sweep_fn: SweepFn | None = None
) -> TradeoffSummary:
    """Run the stage in whatever process runs the job; leaves DIR/tradeoff/tradeoff.json."""
    import torch

    stage = _stage(spec)
    threads = stage.threads or spec.threads
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return run_stage(spec, Path(out_dir), sweep_fn)
    finally:
        torch.set_num_threads(before)


def run_stage(spec: StudySpec, out_dir: Path, sweep_fn: SweepFn | None = None) -> TradeoffSummary:
    """Train what the sweep needs and is not there, then run (or resume) the sweep."""
    tdir = stage_dir(out_dir)
    state = _stage_state(spec, out_dir)
    if tdir.exists() and _read_stage(out_dir) != state:
        shutil.rmtree(tdir)  # swept other models (the quality stage ran again): start over
    tdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(tdir / STAGE_FILE, json.dumps(state, indent=2) + "\n")
    runs = prepare_models(spec, out_dir)
    fn = sweep_fn or _default_sweep()
    return fn(list(runs.values()), tdir, make_sweep(spec), progress=False, meters=None)


def prepare_models(spec: StudySpec, out_dir: Path) -> dict[str, Path]:
    """Every model of the sweep, trained where missing: the stage's own autoencoder and
    models (with a setting) or the twins of the quality stage's model. Checkpoints dropped."""
    from lpm.study.quality import autoencoder_config, drop_checkpoints, unet_config

    stage = _stage(spec)
    runs = model_runs(spec, out_dir)
    ae_dir = autoencoder_dir(spec, out_dir)
    setting = stage.setting or spec.quality
    if setting is None:  # the spec's own check refuses this
        raise LpmError("spec tradeoff: no model to sweep (no setting and no quality stage)")
    if stage.setting is None:
        needed = [ae_dir / "autoencoder.pt"] + ([runs["ddpm"] / "ldm.pt"] if "ddpm" in runs else [])
        for path in needed:
            if not path.is_file():
                raise LpmError(
                    f"the tradeoff stage needs the quality stage's model, but {path} is not "
                    "there; run the study with its quality stage (not --no-quality), or "
                    "with --no-tradeoff"
                )
    elif not (ae_dir / "autoencoder.pt").is_file():
        train_stage_autoencoder(autoencoder_config(spec, setting, ae_dir))
    for objective, run in runs.items():
        if stage.setting is None and objective == "ddpm":
            continue
        if not _trained(run):
            train_twin(unet_config(spec, setting, autoencoder=ae_dir, out=run, objective=objective))
    drop_checkpoints(stage_dir(out_dir) / "work", keep_models=True)
    return runs


def train_twin(config: Any) -> None:
    """Train one UNet of the sweep (resumes from its checkpoint when one is there)."""
    from lpm.ldm import train_ldm

    train_ldm(config)


def train_stage_autoencoder(config: Any) -> None:
    """Train the autoencoder of the stage's own setting."""
    from lpm.ldm import train_autoencoder

    train_autoencoder(config)


def make_sweep(spec: StudySpec) -> Any:
    """The sweep's settings (lpm.study.tradeoff.TradeoffSweep) of the spec's stage."""
    from lpm.study.tradeoff import TradeoffSweep

    stage = _stage(spec)
    ref = stage.reference
    return TradeoffSweep(
        samplers=stage.samplers,
        steps=list(stage.steps),
        batches=list(stage.batches),
        quality_samples=stage.quality_samples,
        energy_steps=stage.energy_steps,
        energy_batches=stage.energy_batches,
        tolerance=stage.tolerance,
        reference=(ref.sampler, ref.steps, ref.batch),
        target_samples=spec.targets.samples,
        seed=spec.seed,
        pue=spec.pue,
        region=spec.region,
        interval_s=spec.measure.interval_s,
        bootstrap=stage.bootstrap,
    )


def _default_sweep() -> SweepFn:
    from lpm.study.tradeoff import run_tradeoff

    return run_tradeoff


def _trained(run: Path) -> bool:
    return (run / "ldm.pt").is_file() and (run / "summary.json").is_file()


def _stage(spec: StudySpec) -> TradeoffStage:
    if spec.tradeoff is None:
        raise LpmError("the spec has no tradeoff stage")
    return spec.tradeoff


def _stage_state(spec: StudySpec, out_dir: str | Path) -> dict[str, Any]:
    """What the sweep's models are: their run dirs and, when they are the quality stage's,
    when that stage finished (a stage run again trained other models)."""
    quality = None
    if _stage(spec).setting is None:
        record = read_quality_record(out_dir)
        quality = None if record is None else record.finished_at
    runs = {k: str(v.relative_to(Path(out_dir))) for k, v in model_runs(spec, out_dir).items()}
    return {"runs": runs, "quality_finished_at": quality}


def _read_stage(out_dir: str | Path) -> dict[str, Any] | None:
    path = stage_dir(out_dir) / STAGE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
