"""lpm.ldm: 2D/3D latent diffusion on CT, built on MONAI's networks and schedulers.

Stage 1 is a VQ-GAN (MONAI VQVAE + PatchDiscriminator), stage 2 a DiffusionModelUNet in
its latent space in three presets (small/medium/large). Training and sampling are tracked
by lpm.energy's Tracker and write summary.json.
"""

from lpm.ldm.autoencoder import train_autoencoder
from lpm.ldm.config import (
    DEFAULT_BETA_END,
    DEFAULT_BETA_START,
    DEFAULT_SCHEDULE,
    SCHEDULES,
    AutoencoderConfig,
    SampleConfig,
    TrainConfig,
)
from lpm.ldm.diffusion import diffusion_loss, train_ldm
from lpm.ldm.networks import run_objective
from lpm.ldm.presets import (
    LATENT_CHANNELS,
    MODELS,
    PRESETS,
    autoencoder_kwargs,
    discriminator_kwargs,
    preset,
    total_downsample,
)
from lpm.ldm.results import AutoencoderResult, SampleResult, TrainResult
from lpm.ldm.sampling import generate, load_sampler, sample_ldm
from lpm.ldm.schedulers import (
    OBJECTIVES,
    SAMPLERS,
    SAMPLERS_BY_OBJECTIVE,
    check_sampler,
    make_scheduler,
    samplers_for,
)


def size_multiple(dims: int, model: str, autoencoder_downsample: int = 4) -> int:
    """The multiple every image axis must be: autoencoder x UNet downsampling."""
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
