"""Training objectives, noise schedules and samplers: thin constructors around MONAI's.

An objective is what the UNet was trained for: "ddpm" (a DDPM noise schedule; the UNet
predicts the noise or the velocity, as its prediction type says) or "rflow" (rectified
flow, MONAI's RFlowScheduler; the UNet predicts the velocity x0 - noise). A model's
objective is stored in its schedule dict (ldm.pt) and decides which samplers can run it.
"""

from __future__ import annotations

from typing import Any

from lpm.errors import LpmError

# Sampler key -> MONAI scheduler class.
SAMPLERS: dict[str, str] = {
    "ddpm": "DDPMScheduler",
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
    "rflow": "RFlowScheduler",
}

OBJECTIVES: tuple[str, ...] = ("ddpm", "rflow")
DEFAULT_OBJECTIVE = "ddpm"  # what a schedule without "objective" (older ldm.pt) was
SAMPLERS_BY_OBJECTIVE: dict[str, tuple[str, ...]] = {
    "ddpm": ("ddpm", "ddim", "pndm"),
    "rflow": ("rflow",),
}
_OBJECTIVE_WORDS = {
    "ddpm": "a DDPM noise schedule",
    "rflow": "rectified flow",
}

PREDICTION_TYPES: tuple[str, ...] = ("epsilon", "v_prediction")


def objective_name(objective: str) -> str:
    """Normalise an objective name ("ddpm", "RFlow") to its key, or LpmError."""
    key = str(objective).strip().lower()
    if key not in OBJECTIVES:
        raise LpmError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}.")
    return key


def schedule_objective(schedule: dict[str, Any]) -> str:
    """The objective a stored schedule dict was trained for (absent: "ddpm")."""
    return objective_name(schedule.get("objective", DEFAULT_OBJECTIVE))


def samplers_for(objective: str) -> tuple[str, ...]:
    """The samplers that can run a model trained for OBJECTIVE."""
    return SAMPLERS_BY_OBJECTIVE[objective_name(objective)]


def check_sampler(sampler: str, objective: str) -> str:
    """The sampler's normalised key if it can run a model of OBJECTIVE, else LpmError."""
    key = sampler_name(sampler)
    obj = objective_name(objective)
    fits = SAMPLERS_BY_OBJECTIVE[obj]
    if key not in fits:
        use = fits[0] if len(fits) == 1 else f"{', '.join(fits[:-1])} or {fits[-1]}"
        raise LpmError(
            f"sampler {key!r} cannot run a model trained for {_OBJECTIVE_WORDS[obj]} "
            f"(objective {obj}); use --sampler {use}."
        )
    return key


def schedule_args(
    schedule: str,
    beta_start: float,
    beta_end: float,
    num_train_timesteps: int,
    prediction_type: str = "epsilon",
) -> dict[str, Any]:
    """Constructor arguments shared by every MONAI DDPM-family scheduler for one schedule.

    `prediction_type` is what the UNet predicts: the noise ("epsilon", the paper's and
    MONAI's default) or the velocity ("v_prediction", Salimans & Ho 2022). A model is
    sampled with the prediction type it was trained with (stored with its schedule).
    The dict carries `"objective": "ddpm"`; make_scheduler drops it.
    """
    if prediction_type not in PREDICTION_TYPES:
        raise LpmError(
            f"unknown prediction type {prediction_type!r}; use one of "
            f"{', '.join(PREDICTION_TYPES)}."
        )
    args: dict[str, Any] = {
        "objective": "ddpm",
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
    raise LpmError(f"unknown sampler {name!r}; use one of {', '.join(SAMPLERS)}.")


def make_scheduler(name: str, args: dict[str, Any]) -> Any:
    """A MONAI scheduler by sampler name, for the stored schedule `args`.

    The sampler must fit the schedule's objective (check_sampler). x0 clipping is off:
    latents are scaled to unit variance, not to [-1, 1].
    """
    from monai.networks import schedulers

    key = check_sampler(name, schedule_objective(args))
    cls = getattr(schedulers, SAMPLERS[key])
    kwargs = {k: v for k, v in args.items() if k != "objective"}
    if key in ("ddpm", "ddim"):
        kwargs["clip_sample"] = False
    if key == "pndm":
        kwargs["skip_prk_steps"] = True
    return cls(**kwargs)


def set_steps(
    scheduler: Any,
    steps: int,
    num_train_timesteps: int,
    device: Any = None,
    input_img_size_numel: int | None = None,
) -> None:
    """Set the number of denoising steps, with an LpmError for impossible counts.

    `input_img_size_numel` (the latent's spatial size) is passed to schedulers that take it
    (RFlowScheduler, for its resolution-dependent timestep transform).
    """
    if steps < 1 or steps > num_train_timesteps:
        raise LpmError(
            f"steps={steps} is out of range; the model was trained with {num_train_timesteps} "
            f"timesteps, so use 1 to {num_train_timesteps}."
        )
    kwargs: dict[str, Any] = {"num_inference_steps": int(steps), "device": device}
    if type(scheduler).__name__ == "RFlowScheduler":
        kwargs["input_img_size_numel"] = input_img_size_numel
    scheduler.set_timesteps(**kwargs)
