"""Noise schedules and samplers: thin constructors around MONAI's schedulers."""

from __future__ import annotations

from typing import Any

from lpm.errors import LpmError

# Samplers that can run a UNet trained to predict the noise (epsilon).
SAMPLERS: dict[str, str] = {
    "ddpm": "DDPMScheduler",
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
}


def schedule_args(
    schedule: str, beta_start: float, beta_end: float, num_train_timesteps: int
) -> dict[str, Any]:
    """Constructor arguments shared by every MONAI scheduler for one noise schedule."""
    args: dict[str, Any] = {"num_train_timesteps": int(num_train_timesteps), "schedule": schedule}
    if schedule != "cosine":
        args["beta_start"] = float(beta_start)
        args["beta_end"] = float(beta_end)
    return args


def sampler_name(name: str) -> str:
    """Normalise a sampler name ("ddim", "DDIM", "DDIMScheduler") to its key, or LpmError."""
    key = str(name).strip().lower().removesuffix("scheduler")
    if key in SAMPLERS:
        return key
    if key == "rflow":
        raise LpmError(
            "sampler 'rflow' needs a model trained for rectified flow, but lpm trains the "
            f"UNet to predict noise; use one of {', '.join(SAMPLERS)}."
        )
    raise LpmError(f"unknown sampler {name!r}; use one of {', '.join(SAMPLERS)}.")


def make_scheduler(name: str, args: dict[str, Any]) -> Any:
    """A MONAI scheduler by sampler name, for the schedule in `args` (see schedule_args).

    x0 clipping is off: latents are scaled to unit variance, not to [-1, 1].
    """
    from monai.networks import schedulers

    key = sampler_name(name)
    cls = getattr(schedulers, SAMPLERS[key])
    kwargs = dict(args)
    if key in ("ddpm", "ddim"):
        kwargs["clip_sample"] = False
    if key == "pndm":
        kwargs["skip_prk_steps"] = True
    return cls(**kwargs)


def set_steps(scheduler: Any, steps: int, num_train_timesteps: int, device: Any = None) -> None:
    """Set the number of denoising steps, with an LpmError for impossible counts."""
    if steps < 1 or steps > num_train_timesteps:
        raise LpmError(
            f"steps={steps} is out of range; the model was trained with {num_train_timesteps} "
            f"timesteps, so use 1 to {num_train_timesteps}."
        )
    scheduler.set_timesteps(num_inference_steps=int(steps), device=device)
