"""lpm.ldm: 2D/3D latent diffusion on CT, built on MONAI's networks and schedulers.

Stage 1 is a VQ-GAN (MONAI VQVAE + PatchDiscriminator), stage 2 a DiffusionModelUNet in
its latent space in three presets (small/medium/large). Training and sampling are tracked
by lpm.energy's Tracker and write summary.json.
"""

import importlib
from typing import Any

# Names and the module each lives in: imported on first use (PEP 562), so that reading a
# config (every `lpm` command builds its flags from them) does not import torch and MONAI.
_LAZY: dict[str, str] = {
    "train_autoencoder": "autoencoder",
    **dict.fromkeys(
        ("DEFAULT_BETA_END", "DEFAULT_BETA_START", "DEFAULT_SCHEDULE", "SCHEDULES",
         "AutoencoderConfig", "SampleConfig", "TrainConfig"),
        "config",
    ),
    "diffusion_loss": "diffusion",
    "train_ldm": "diffusion",
    "run_objective": "networks",
    **dict.fromkeys(
        ("LATENT_CHANNELS", "MODELS", "PRESETS", "autoencoder_kwargs", "discriminator_kwargs",
         "preset", "total_downsample"),
        "presets",
    ),
    **dict.fromkeys(("AutoencoderResult", "SampleResult", "TrainResult"), "results"),
    **dict.fromkeys(("generate", "load_sampler", "sample_ldm"), "sampling"),
    **dict.fromkeys(
        ("OBJECTIVES", "SAMPLERS", "SAMPLERS_BY_OBJECTIVE", "check_sampler", "make_scheduler",
         "samplers_for"),
        "schedulers",
    ),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lpm.ldm' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lpm.ldm.{module}"), name)
    globals()[name] = value
    return value


def size_multiple(dims: int, model: str, autoencoder_downsample: int = 4) -> int:
    """The multiple every image axis must be: autoencoder x UNet downsampling."""
    from lpm.ldm.presets import preset, total_downsample

    preset(dims, model)
    return total_downsample(autoencoder_downsample)


__all__ = [
    "DEFAULT_BETA_END",
    "DEFAULT_BETA_START",
    "DEFAULT_SCHEDULE",
    "LATENT_CHANNELS",
    "MODELS",
    "OBJECTIVES",
    "PRESETS",
    "SAMPLERS",
    "SAMPLERS_BY_OBJECTIVE",
    "SCHEDULES",
    "AutoencoderConfig",
    "AutoencoderResult",
    "SampleConfig",
    "SampleResult",
    "TrainConfig",
    "TrainResult",
    "autoencoder_kwargs",
    "check_sampler",
    "diffusion_loss",
    "discriminator_kwargs",
    "generate",
    "load_sampler",
    "make_scheduler",
    "preset",
    "run_objective",
    "sample_ldm",
    "samplers_for",
    "size_multiple",
    "total_downsample",
    "train_autoencoder",
    "train_ldm",
]
