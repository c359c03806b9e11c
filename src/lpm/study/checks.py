"""Checks of a spec against the world: data on disk, known regions, sizes the models take.

These run before any scenario does, so that a typo fails in a second, not after an hour.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lpm.errors import LpmError
from lpm.sizes import size_id
from lpm.study.grid import scenarios
from lpm.study.spec import ModelSetting, StudySpec

MultipleFn = Callable[[int, str], int]
"""(dims, model) -> the number every image axis must be a multiple of."""


def check_data(spec: StudySpec) -> None:
    """``data`` is ``phantom`` or an existing path."""
    if spec.data != "phantom" and not Path(spec.data).expanduser().exists():
        raise LpmError(f"spec data: {spec.data} does not exist; give a path or 'phantom'")


def check_regions(spec: StudySpec) -> None:
    """Every region (and the months' region and year) has an intensity in lpm.carbon."""
    from lpm.carbon import IntensityDatabase

    db = IntensityDatabase.default()
    for where, region in [("region", spec.region)] + [("regions", r) for r in spec.regions]:
        try:
            db.lookup(region, source=spec.intensity_source)
        except LpmError as exc:
            raise LpmError(f"spec {where}: {exc}") from None
    if spec.months is not None:
        try:
            db.lookup(spec.months.region, month=f"{spec.months.year}-01")
        except LpmError as exc:
            raise LpmError(f"spec months: {exc}") from None


def size_multiple(dims: int, model: str) -> int:
    """The multiple every image axis needs: autoencoder (4x) × diffusion UNet downsampling."""
    from lpm.ldm import size_multiple as ldm_size_multiple

    return ldm_size_multiple(dims, model)


def check_sizes(spec: StudySpec, multiple: MultipleFn | None = None) -> None:
    """Each scenario's image axes are multiples of what its model downsamples by."""
    multiple = multiple or size_multiple
    for sc in scenarios(spec):
        m = multiple(sc.dims, sc.model)
        if any(axis % m for axis in sc.size):
            raise LpmError(
                f"spec image size {size_id(sc.size)} cannot be taken by the {sc.dims}D "
                f"{sc.model} model: every axis must be a multiple of {m} (autoencoder x UNet "
                f"downsampling); use e.g. {_nearest(sc.size, m)}"
            )


def _nearest(size: tuple[int, ...], m: int) -> str:
    fixed = tuple(max(m, round(a / m) * m) for a in size)
    return size_id(fixed)


def check_quality(spec: StudySpec, multiple: MultipleFn | None = None) -> None:
    """The quality stage (if any) can draw held-out data and its model takes its size."""
    stage = spec.quality
    if stage is None:
        return
    if spec.data != "phantom":
        raise LpmError(
            "spec quality: the quality stage scores samples against held-out phantoms, but "
            f"data is {spec.data}; set data: phantom or quality: null"
        )
    _check_model_size(stage, "quality", multiple)


def _check_model_size(setting: ModelSetting, where: str, multiple: MultipleFn | None) -> None:
    m = (multiple or size_multiple)(setting.dims, setting.model)
    size = setting.size_tuple()
    if any(axis % m for axis in size):
        raise LpmError(
            f"spec {where}.size {size_id(size)} cannot be taken by the {setting.dims}D "
            f"{setting.model} model: every axis must be a multiple of {m}; use e.g. "
            f"{_nearest(size, m)}"
        )


def samplers_by_objective() -> dict[str, tuple[str, ...]]:
    """lpm.ldm's samplers per training objective it can train (ddpm's alone before rflow)."""
    from lpm.ldm import TrainConfig, schedulers

    table = getattr(schedulers, "SAMPLERS_BY_OBJECTIVE", None)
    if table is None:
        table = {"ddpm": tuple(s for s in schedulers.SAMPLERS if s != "rflow")}
    if "objective" not in TrainConfig.model_fields:
        return {"ddpm": tuple(table["ddpm"])}
    return {key: tuple(value) for key, value in table.items()}


def schedule_timesteps() -> int:
    """Timesteps of the noise schedule the study's models train with (lpm.ldm's default)."""
    from lpm.ldm import TrainConfig

    return int(TrainConfig.model_fields["num_train_timesteps"].default)


def _sampler(name: str, where: str) -> str:
    from lpm.ldm.schedulers import sampler_name

    try:
        return sampler_name(name)
    except LpmError as exc:
        raise LpmError(f"spec {where}: {exc}") from None


def _steps(values: list[int | None], where: str) -> None:
    top = schedule_timesteps()
    bad = [v for v in values if v is not None and v > top]
    if bad:
        raise LpmError(
            f"spec {where}: {bad[0]} steps is more than the {top} timesteps of the models' "
            f"noise schedule; use 1 to {top}"
        )


def check_samplers(spec: StudySpec) -> None:
    """The grid's and the quality stage's samplers exist and run their models (objective
    ddpm), with no more steps than the noise schedule has."""
    ddpm = samplers_by_objective()["ddpm"]
    named = [("sampler", spec.sampler)]
    if spec.quality is not None:
        named.append(("quality.sampler", spec.quality.sampler))
    for where, name in named:
        key = _sampler(name, where)
        if key not in ddpm:
            raise LpmError(
                f"spec {where}: {key!r} cannot run the study's models (trained for objective "
                f"ddpm); use one of {', '.join(ddpm)}"
            )
    _steps([*spec.steps, spec.measure.sample_steps], "steps")
    if spec.quality is not None:
        _steps([spec.quality.steps], "quality.steps")


def check_tradeoff(spec: StudySpec, multiple: MultipleFn | None = None) -> None:
    """The tradeoff stage (if any): held-out phantoms, a size its model takes, objectives
    lpm trains, samplers that exist and fit them, steps the schedule has."""
    stage = spec.tradeoff
    if stage is None:
        return
    if spec.data != "phantom":
        raise LpmError(
            "spec tradeoff: the sweep scores samples against held-out phantoms, but data is "
            f"{spec.data}; set data: phantom or tradeoff: null"
        )
    if stage.setting is not None:
        _check_model_size(stage.setting, "tradeoff.setting", multiple)
    table = samplers_by_objective()
    for objective in stage.objectives:
        if objective not in table:
            raise LpmError(
                f"spec tradeoff.objectives: this lpm cannot train objective {objective!r}; "
                f"use {', '.join(table)}"
            )
    fitting = {s for o in stage.objectives for s in table[o]}
    objectives = ", ".join(stage.objectives)
    named = [("tradeoff.reference.sampler", stage.reference.sampler)]
    named += [("tradeoff.samplers", s) for s in stage.samplers or []]
    keys = set()
    for where, name in named:
        key = _sampler(name, where)
        if key not in fitting:
            raise LpmError(
                f"spec {where}: {key!r} fits none of the objectives ({objectives}); use one "
                f"of {', '.join(sorted(fitting))} or add its objective to tradeoff.objectives"
            )
        keys.add(key)
    for objective in stage.objectives if stage.samplers else []:
        if not keys & set(table[objective]):
            raise LpmError(
                f"spec tradeoff.samplers: none runs the model of objective {objective}; add "
                f"one of {', '.join(table[objective])}"
            )
    _steps(list(stage.steps), "tradeoff.steps")
    _steps([stage.reference.steps], "tradeoff.reference.steps")


def check_spec(spec: StudySpec, *, multiple: MultipleFn | None = None) -> None:
    """All checks a spec must pass before its study runs (also before a dry run)."""
    check_data(spec)
    check_regions(spec)
    check_sizes(spec, multiple)
    check_samplers(spec)
    check_quality(spec, multiple)
    check_tradeoff(spec, multiple)


def check_memory(
    spec: StudySpec, *, device: str | None = None, available: int | None = None
) -> None:
    """Every measured training run fits in this machine's memory (lpm.ldm.memory).

    For studies that run here (``--executor local``): a scenario too large is refused
    before the first one starts, not hours later when its turn comes. Processes of one
    run share the host's RAM on a CPU, so their estimates add up there; on GPUs each
    process has a device of its own.
    """
    from lpm.ldm import TrainConfig
    from lpm.ldm.memory import estimate, gib
    from lpm.ldm.world import available_bytes, run_device
    from lpm.study.grid import jobs
    from lpm.study.measure import train_settings

    device = device or run_device()
    room = available_bytes(device) if available is None else available
    for job in jobs(spec):
        cfg = TrainConfig(**train_settings(job, spec, Path("/nonexistent/lpm-check")))
        e = estimate(cfg, device)
        if e is None:
            continue
        need = e.bytes * (job.processes if e.device == "cpu" else 1)
        if need > room:
            raise LpmError(
                f"spec: scenario {job.job_id} needs about {gib(need)} to train but "
                f"{gib(room)} of {'RAM' if e.device == 'cpu' else device} is free here; "
                "remove it from the spec, lower batch_size, or run the study on a larger "
                "machine (--executor slurm)"
            )
