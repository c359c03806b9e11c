"""Training objectives of the diffusion UNet: schedule, timestep draw and regression target.

One `Objective` per name in lpm.ldm.schedulers.OBJECTIVES, in a registry (no if-chains):
- "ddpm": a DDPM noise schedule; timesteps uniform over 0..T-1; the target is the noise
  (epsilon) or the velocity sqrt(a)·noise − sqrt(1−a)·x0, as the prediction type says.
- "rflow": rectified flow (MONAI's RFlowScheduler): x_t = (1 − t/T)·x0 + (t/T)·noise, the
  target is the velocity x0 − noise; timesteps drawn as RFlowScheduler.sample_timesteps
  draws them (settings in RFLOW_SETTINGS), but from the run's generator, so a resumed run
  draws exactly what the uninterrupted one would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from lpm.ldm.schedulers import schedule_args, schedule_objective

# The RFlowScheduler settings lpm trains and samples with (stored in ldm.pt's schedule, so
# a model is always sampled with those it was trained with). Chosen by a short experiment
# on 2D 32² phantoms (docs/ldm.md, "Rectified flow"): logit-normal timesteps (Esser et al.
# 2024; better than uniform on every metric there, within the CIs), integer timesteps as
# the UNet was trained on, no resolution-dependent timestep transform (it is relative to a
# reference size, and each lpm model samples at the one size it trained at).
RFLOW_SETTINGS: dict[str, Any] = {
    "use_discrete_timesteps": True,
    "sample_method": "logit-normal",
    "loc": 0.0,
    "scale": 1.0,
    "use_timestep_transform": False,
    "transform_scale": 1.0,
}


def _ddpm_schedule(cfg: Any) -> dict[str, Any]:
    return schedule_args(
        cfg.schedule, cfg.beta_start, cfg.beta_end, cfg.num_train_timesteps, cfg.prediction_type
    )


def _rflow_schedule(cfg: Any) -> dict[str, Any]:
    """RFlowScheduler's constructor arguments (+ "objective"); prediction_type is unused."""
    return {
        "objective": "rflow",
        "num_train_timesteps": int(cfg.num_train_timesteps),
        **RFLOW_SETTINGS,
        "base_img_size_numel": 32 * 32 * 32,  # MONAI's default reference (transform only)
        "spatial_dim": int(cfg.dims),
    }


def _ddpm_timesteps(scheduler: Any, latents: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n = latents.shape[0]
    return torch.randint(0, scheduler.num_train_timesteps, (n,), generator=g, device=latents.device)


def _rflow_timesteps(scheduler: Any, latents: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """RFlowScheduler.sample_timesteps' draw, from generator G."""
    from monai.networks.schedulers.rectified_flow import timestep_transform

    n, device, big_t = latents.shape[0], latents.device, scheduler.num_train_timesteps
    if scheduler.sample_method == "logit-normal":
        # LogisticNormal(loc, scale) in one dimension: sigmoid of a normal draw
        loc, scale = _logit_normal_params(scheduler)
        z = torch.randn((n,), generator=g, device=device) * scale + loc
        t = torch.sigmoid(z) * big_t
    else:
        t = torch.rand((n,), generator=g, device=device) * big_t
    if scheduler.use_discrete_timesteps:
        t = t.long()
    if scheduler.use_timestep_transform:
        t = timestep_transform(
            t,
            input_img_size_numel=math.prod(latents.shape[2:]),
            base_img_size_numel=scheduler.base_img_size_numel,
            num_train_timesteps=big_t,
            spatial_dim=latents.ndim - 2,
        )
    return t


def _logit_normal_params(scheduler: Any) -> tuple[float, float]:
    dist = scheduler.distribution  # torch LogisticNormal
    return float(dist.loc.flatten()[0]), float(dist.scale.flatten()[0])


def _ddpm_target(
    scheduler: Any, latents: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
) -> torch.Tensor:
    if scheduler.prediction_type == "v_prediction":
        return scheduler.get_velocity(latents, noise, timesteps)
    return noise


def _rflow_target(
    scheduler: Any, latents: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
) -> torch.Tensor:
    return latents - noise


@dataclass(frozen=True)
class Objective:
    """How one objective trains: its stored schedule, timestep draw, target, and the
    sampler its validation samples use."""

    name: str
    schedule: Callable[[Any], dict[str, Any]]  # TrainConfig -> ldm.pt's schedule dict
    timesteps: Callable[[Any, torch.Tensor, torch.Generator], torch.Tensor]
    target: Callable[[Any, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    validation_sampler: str
    predicts: Callable[[Any], str]  # TrainConfig -> what the UNet predicts, in words


REGISTRY: dict[str, Objective] = {
    "ddpm": Objective(
        "ddpm",
        _ddpm_schedule,
        _ddpm_timesteps,
        _ddpm_target,
        "ddim",
        lambda cfg: cfg.prediction_type,
    ),
    "rflow": Objective(
        "rflow",
        _rflow_schedule,
        _rflow_timesteps,
        _rflow_target,
        "rflow",
        lambda cfg: "rflow velocity",
    ),
}


def objective(name: str) -> Objective:
    """The registered objective NAME (LpmError for an unknown one)."""
    return REGISTRY[schedule_objective({"objective": name})]


def of_scheduler(scheduler: Any) -> Objective:
    """The objective a training scheduler belongs to (RFlowScheduler: rflow, else ddpm)."""
    return REGISTRY["rflow" if type(scheduler).__name__ == "RFlowScheduler" else "ddpm"]
