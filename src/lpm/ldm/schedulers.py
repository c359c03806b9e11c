"""Noise schedules and samplers: thin constructors around MONAI's schedulers."""

from __future__ import annotations

from typing import Any

from lpm.errors import LpmError

# Samplers that can run a UNet trained to predict the noise (epsilon) or the velocity (v).
SAMPLERS: dict[str, str] = {
    "ddpm": "DDPMScheduler",
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
}


PREDICTION_TYPES: tuple[str, ...] = ("epsilon", "v_prediction")


def schedule_args(
    schedule: str,
    beta_start: float,
    beta_end: float,
    num_train_timesteps: int,
    prediction_type: str = "epsilon",
) -> dict[str, Any]:
    """Constructor arguments shared by every MONAI scheduler for one noise schedule.

    `prediction_type` is what the UNet predicts: the noise ("epsilon", the paper's and
    MONAI's default) or the velocity ("v_prediction", Salimans & Ho 2022). A model is
    sampled with the prediction type it was trained with (stored with its schedule).
    """
    if prediction_type not in PREDICTION_TYPES:
        raise LpmError(
            f"unknown prediction type {prediction_type!r}; use one of "
            f"{', '.join(PREDICTION_TYPES)}."
        )
    args: dict[str, Any] = {
        "num_train_timesteps": int(num_train_timesteps),
        "schedule": schedule,
        "prediction_type": prediction_type,
    }
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
            f"UNet to predict the noise or the velocity; use one of {', '.join(SAMPLERS)}."
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
