"""Stage 2: train the diffusion UNet in the frozen autoencoder's latent space.

One process or several under torchrun (DDP). The objective (lpm.ldm.objectives: DDPM or
rectified flow) gives the noisy input, timesteps and target; MSE or L1 loss, AdamW, EMA
of the UNet weights, gradient clipping, mixed precision where the hardware has it, atomic
checkpoints with exact resume, energy tracked per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from lpm.energy.distributed import gather
from lpm.errors import LpmError
from lpm.ldm import checkpoint as ckpt
from lpm.ldm import segments
from lpm.ldm import stage as loop
from lpm.ldm.config import TrainConfig
from lpm.ldm.data import make_dataset
from lpm.ldm.ema import make_ema
from lpm.ldm.first_stage import autoencoder_for, check_latent
from lpm.ldm.flops import count_flops
from lpm.ldm.latents import LatentBatches
from lpm.ldm.losslog import LossLog
from lpm.ldm.memory import check_fits
from lpm.ldm.networks import (
    LDM_FILE,
    build_unet,
    count_parameters,
    load_autoencoder,
    memory_format,
)
from lpm.ldm.objectives import objective, of_scheduler
from lpm.ldm.outputs import DIFFUSION, check_output
from lpm.ldm.presets import preset
from lpm.ldm.results import TrainResult
from lpm.ldm.runtime import (
    Runtime,
    barrier,
    broadcast_object,
    per_rank_batch,
    runtime,
)
from lpm.ldm.schedulers import make_scheduler, samplers_for
from lpm.ldm.tracking import training_measurements

LOSS_LOG = "losses.jsonl"
_RESUME_KEYS = (
    "dims",
    "size",
    "model",
    "objective",
    "schedule",
    "beta_start",
    "beta_end",
    "prediction_type",
)
# Resume keys that checkpoints written before they existed lack, with what they meant then.
_RESUME_DEFAULTS = {"objective": "ddpm"}


@dataclass
class Stage2:
    """The state of a diffusion training run (what a checkpoint holds)."""

    unet: torch.nn.Module  # the plain module (weights, EMA source)
    model: torch.nn.Module  # what the forward pass calls (DDP and/or compiled wrapper)
    ema: Any
    opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    scheduler: Any
    generator: torch.Generator
    scale_factor: float = 1.0
    rank: int = 0


LOSSES: dict[str, Any] = {"mse": F.mse_loss, "l1": F.l1_loss}


def diffusion_loss(
    model: torch.nn.Module,
    scheduler: Any,
    latents: torch.Tensor,
    noise: torch.Tensor,
    timesteps: torch.Tensor,
    rt: Runtime,
    loss: str = "l1",
) -> torch.Tensor:
    """The error (``loss``: "l1" or "mse") between the UNet's prediction and its target.

    The target is the scheduler's objective's: for DDPM the noise (epsilon) or the velocity
    sqrt(a)·noise − sqrt(1−a)·latents (v_prediction), as its prediction type says; for
    rectified flow (RFlowScheduler) the velocity latents − noise.
    """
    noisy = scheduler.add_noise(original_samples=latents, noise=noise, timesteps=timesteps)
    target = of_scheduler(scheduler).target(scheduler, latents, noise, timesteps)
    with rt.autocast():
        prediction = model(noisy, timesteps=timesteps)
    return LOSSES[loss](prediction.float(), target.float())


def stage2_step(s: Stage2, latents: torch.Tensor, cfg: TrainConfig, rt: Runtime) -> torch.Tensor:
    """One optimisation step on a batch of (scaled) latents; returns the loss (detached)."""
    noise = torch.randn(latents.shape, generator=s.generator, device=latents.device)
    timesteps = of_scheduler(s.scheduler).timesteps(s.scheduler, latents, s.generator)
    if cfg.channels_last:
        noise = noise.contiguous(memory_format=memory_format(cfg.dims))
    s.opt.zero_grad(set_to_none=True)
    loss = diffusion_loss(s.model, s.scheduler, latents, noise, timesteps, rt, cfg.loss)
    s.scaler.scale(loss).backward()
    s.scaler.unscale_(s.opt)
    torch.nn.utils.clip_grad_norm_(s.unet.parameters(), cfg.grad_clip)
    s.scaler.step(s.opt)
    s.scaler.update()
    if s.ema is not None:
        s.ema.update_parameters(s.unet)
    return loss.detach()


def _state(
    s: Stage2, iteration: int, cfg: TrainConfig, unet_kwargs: dict, rt: Runtime | None = None
) -> dict[str, Any]:
    """Checkpoint contents; random states of every rank (a collective under DDP)."""
    per_rank = (s.generator.get_state(), ckpt.rng_state())
    ranks = (gather(per_rank) if rt is not None and rt.distributed else None) or [per_rank]
    return {
        "iteration": iteration,
        "config": cfg.model_dump(mode="json"),
        "unet_kwargs": unet_kwargs,
        "unet": s.unet.state_dict(),
        "ema": s.ema.state_dict() if s.ema is not None else None,
        "opt": s.opt.state_dict(),
        "scaler": s.scaler.state_dict(),
        "generator": [g for g, _ in ranks],
        "rng": [r for _, r in ranks],
        "scale_factor": s.scale_factor,
    }


def _restore(s: Stage2, state: dict[str, Any]) -> int:
    s.unet.load_state_dict(state["unet"])
    if s.ema is not None and state.get("ema") is not None:
        s.ema.load_state_dict(state["ema"])
    s.opt.load_state_dict(state["opt"])
    s.scaler.load_state_dict(state["scaler"])
    rank = s.rank if s.rank < len(state["generator"]) else 0
    s.generator.set_state(state["generator"][rank])
    ckpt.set_rng_state(state["rng"][rank])
    s.scale_factor = float(state["scale_factor"])
    return int(state["iteration"])


def _schedule(cfg: TrainConfig) -> dict[str, Any]:
    """The run's objective and schedule (stored with the model for sampling)."""
    return objective(cfg.objective).schedule(cfg)


def _resume_state(cfg: TrainConfig) -> dict[str, Any] | None:
    """The run's last checkpoint (stage.resume_state), an older one lacking a key of
    _RESUME_DEFAULTS read as holding its default; LpmError when the settings differ."""
    what = "a training run"
    keys = tuple(k for k in _RESUME_KEYS if k not in _RESUME_DEFAULTS)
    state = loop.resume_state(cfg, keys, what)
    if state is None:
        return None
    saved = state.get("config", {})
    for key, default in _RESUME_DEFAULTS.items():
        theirs, mine = saved.get(key, default), getattr(cfg, key)
        if theirs != mine:
            raise LpmError(
                f"{cfg.out} holds {what} with {key}={theirs}, not {mine}; use another --out "
                "or delete that directory."
            )
    return state


def _build(cfg: TrainConfig, rt: Runtime, latent_channels: int) -> tuple[Stage2, dict]:
    torch.manual_seed(cfg.seed)
    kwargs = preset(cfg.dims, cfg.model, latent_channels=latent_channels)
    unet = build_unet(kwargs).to(rt.device)
    if cfg.channels_last:
        unet = unet.to(memory_format=memory_format(cfg.dims))
    model: torch.nn.Module = unet
    if rt.distributed:
        from torch.nn.parallel import DistributedDataParallel

        ids = [rt.device.index] if rt.device.type == "cuda" else None
        model = DistributedDataParallel(unet, device_ids=ids)
    if cfg.compile:
        model = torch.compile(model)
    generator = torch.Generator(device=rt.device)
    generator.manual_seed(cfg.seed * 1000 + rt.rank)
    s = Stage2(
        unet=unet,
        model=model,
        ema=make_ema(unet, cfg.ema_decay) if cfg.ema else None,
        opt=torch.optim.AdamW(unet.parameters(), lr=cfg.lr),
        scaler=torch.amp.GradScaler(rt.device.type, enabled=rt.needs_grad_scaler),
        scheduler=make_scheduler(samplers_for(cfg.objective)[0], _schedule(cfg)),
        generator=generator,
        rank=rt.rank,
    )
    return s, kwargs


def _flops(s: Stage2, latents: torch.Tensor, cfg: TrainConfig, rt: Runtime) -> int | None:
    """FLOPs of one training iteration (forward + backward of the UNet), leaving no trace."""
    noise = torch.zeros_like(latents)
    t = torch.full((latents.shape[0],), cfg.num_train_timesteps // 2, device=latents.device)

    def one() -> None:
        loss = diffusion_loss(s.unet, s.scheduler, latents, noise, t, rt, cfg.loss)
        loss.backward()

    flops = count_flops(one)
    s.unet.zero_grad(set_to_none=True)
    return flops


@dataclass
class _Stage2Loop:
    """Stage 2 as the training-stage loop drives it (lpm.ldm.stage.TrainingStage)."""

    s: Stage2
    cfg: TrainConfig
    rt: Runtime
    unet_kwargs: dict
    loss_log: Any = None  # the open LossLog
    batches: Any = None
    losses: list[float] = field(default_factory=list)

    def restore(self, state: dict[str, Any]) -> int:
        return _restore(self.s, state)

    def next_batch(self) -> torch.Tensor:
        return next(self.batches) * self.s.scale_factor

    def step(self, iteration: int, batch: torch.Tensor) -> dict[str, float]:
        loss = float(stage2_step(self.s, batch, self.cfg, self.rt))
        self.losses.append(loss)
        self.loss_log.write(iteration + 1, loss)
        return {"loss": loss}

    def state(self, iteration: int) -> dict[str, Any]:
        return _state(self.s, iteration, self.cfg, self.unet_kwargs, self.rt)

    def before_checkpoint(self) -> None:
        self.loss_log.flush()


def train_ldm(cfg: TrainConfig, *, meters: Any = None) -> TrainResult:
    """Train the diffusion UNet; writes ldm.pt, checkpoints, losses, energy record, summary.

    Resumes from out/checkpoints/last.pt when it exists. Under torchrun every rank calls
    this; rank 0 writes the files and every rank returns the (job-wide) result.
    """
    check_output(cfg.out, DIFFUSION)
    check_fits(cfg)
    ae_dir = autoencoder_for(cfg, meters)
    with runtime(cfg.amp) as rt:
        return _train(cfg, rt, ae_dir, meters)


def _train(cfg: TrainConfig, rt: Runtime, ae_dir: Path, meters: Any) -> TrainResult:
    out = Path(cfg.out)
    if rt.is_main:
        out.mkdir(parents=True, exist_ok=True)
    barrier(rt)
    autoencoder, ae_blob = load_autoencoder(ae_dir)
    autoencoder = autoencoder.to(rt.device)
    check_latent(cfg, ae_blob)
    latent_channels = int(ae_blob["kwargs"]["embedding_dim"])
    batch = per_rank_batch(cfg.batch_size, rt.world_size, cfg.global_batch)
    state = _resume_state(cfg)
    ckpt.seed_everything(cfg.seed + rt.rank)
    s, unet_kwargs = _build(cfg, rt, latent_channels)
    stage = _Stage2Loop(s, cfg, rt, unet_kwargs)
    start = loop.resume(stage, state)
    dataset = make_dataset(
        cfg.data, cfg.dims, cfg.size, seed=cfg.seed, n=cfg.n_items, skip_bad=cfg.skip_bad
    )
    stage.batches = LatentBatches(
        dataset,
        autoencoder,
        rt,
        batch,
        seed=cfg.seed,
        start_batch=start,
        cache_mb=cfg.cache_latents_mb,
        num_workers=cfg.num_workers,
    )
    raw = next(stage.batches)
    if state is None:
        s.scale_factor = broadcast_object(float(1.0 / raw.flatten().std().clamp_min(1e-8)), rt)
    latents = raw * s.scale_factor
    flops = _flops(s, latents, cfg, rt)
    params = count_parameters(s.unet)
    tracker = loop.stage_tracker(cfg, meters=meters, run_name="train", rt=rt)
    with tracker:
        with LossLog(out / LOSS_LOG, start, enabled=rt.is_main) as stage.loss_log:
            label = f"train {cfg.dims}D {cfg.model}"
            loop.run_iterations(
                stage,
                cfg,
                tracker,
                start=start,
                first_batch=latents,
                label=label,
                is_main=rt.is_main,
                distributed=rt.distributed,
                earlier_segments=segments.earlier(state),
            )
        if rt.is_main:
            _save_model(out, cfg, s, unet_kwargs, ae_blob, latent_channels)
        if cfg.validation_samples and rt.is_main:
            with tracker.window("validate"):
                _validate(out, cfg, rt)
    summary, measured = training_measurements(tracker, max(cfg.iterations - start, 0))
    rows = segments.pool_measured(
        measured, segments.earlier(state), start=start, end=max(cfg.iterations, start)
    )
    result = TrainResult(
        out=out,
        **measured,
        flops_per_iteration=flops,
        parameters=params,
        world_size=rt.world_size,
        loss_first=stage.losses[0] if stage.losses else float("nan"),
        loss_last=stage.losses[-1] if stage.losses else float("nan"),
        extra={
            "stage": "diffusion",
            "dims": cfg.dims,
            "size": list(cfg.size),
            "model": cfg.model,
            "batch_size_per_process": batch,
            "global_batch_size": batch * rt.world_size,
            "global_batch": cfg.global_batch,
            "scale_factor": s.scale_factor,
            "cache_latents_mb": cfg.cache_latents_mb,
            "schedule": _schedule(cfg),
            **loop.common_extra(summary, rt, start=start, cfg=cfg, segment_rows=rows),
            "footprint": summary.footprint.to_dict(),
            "autoencoder": str(ae_dir),
        },
    )
    if rt.is_main:
        loop.write_outputs(result, cfg)
    barrier(rt)
    return result


def _save_model(
    out: Path,
    cfg: TrainConfig,
    s: Stage2,
    unet_kwargs: dict,
    ae_blob: dict[str, Any],
    latent_channels: int,
) -> None:
    latent_spatial = [n // int(ae_blob.get("downsample", 4)) for n in cfg.size]
    ckpt.save_atomic(
        {
            "kind": "lpm-ldm",
            "dims": cfg.dims,
            "size": list(cfg.size),
            "model": cfg.model,
            "unet_kwargs": unet_kwargs,
            "unet": s.unet.state_dict(),
            "ema": s.ema.module.state_dict() if s.ema is not None else None,
            "schedule": _schedule(cfg),
            "scale_factor": s.scale_factor,
            "latent_shape": [latent_channels, *latent_spatial],
            "autoencoder": {"kwargs": ae_blob["kwargs"], "state": ae_blob["state"]},
            "config": cfg.model_dump(mode="json"),
        },
        out / LDM_FILE,
    )


def _validate(out: Path, cfg: TrainConfig, rt: Runtime) -> None:
    """A few samples of the finished model into out/validation (untracked inside), with the
    objective's validation sampler (DDIM for ddpm, rflow for rflow)."""
    from lpm.ldm.sampling import generate

    generate(
        out,
        out / "validation",
        n=cfg.validation_samples,
        steps=cfg.validation_steps,
        sampler=objective(cfg.objective).validation_sampler,
        batch_size=cfg.validation_samples,
        seed=cfg.seed,
        device=rt.device,
        amp=cfg.amp,
    )
