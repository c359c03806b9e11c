"""User-facing configuration of the two training stages and of sampling (pydantic).

Each setting is declared here once: name, type, default, checks and description. The CLI
builds its flags from these fields (`lpm.cli.ldm_cmds`), so a new setting is one field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
from lpm.errors import LpmError
from lpm.ldm.presets import CODEBOOK_SIZE, MODELS, UNET_DOWNSAMPLE
from lpm.sizes import check_dims

SCHEDULES: tuple[str, ...] = ("scaled_linear_beta", "linear_beta", "cosine", "sigmoid_beta")
DEFAULT_SCHEDULE = "scaled_linear_beta"
DEFAULT_BETA_START = 0.0015
DEFAULT_BETA_END = 0.0195
# The velocity (Salimans & Ho 2022) rather than the paper's noise: with the noise, the
# small errors of a short run are amplified ~1/sqrt(alpha_bar) ~ 80x in the clean-latent
# estimate at the noisiest steps and sampling leaves the data (docs/ldm.md).
DEFAULT_PREDICTION_TYPE = "v_prediction"
# The mean squared error: its minimiser is the conditional mean the samplers assume. The L1
# of Pinaya et al. (2022) and the paper estimates the median, which favours the commoner
# mode (slices without lungs) in short runs on small data (docs/ldm.md).
DEFAULT_LOSS = "mse"


def _parse_size(value: Any, dims: int) -> tuple[int, ...]:
    from lpm.sizes import parse_size

    return tuple(parse_size(value, dims))


def _data_source(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("data must be 'phantom' or a path to CT (file, folder or list file)")
    return "phantom" if text.lower() == "phantom" else text


def _check_divisible(size: tuple[int, ...], factor: int, what: str) -> None:
    from lpm.sizes import check_divisible

    check_divisible(size, factor, what=what)


class _Base(BaseModel):
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _size_needs_dims(cls, data: Any) -> Any:
        if isinstance(data, dict) and "size" in data and "dims" in data:
            data = dict(data)
            try:
                dims = check_dims(int(data["dims"]))
            except (TypeError, ValueError):
                return data
            data["size"] = _parse_size(data["size"], dims)
        return data

    @field_validator("data", mode="before", check_fields=False)
    @classmethod
    def _data(cls, v: Any) -> str:
        return _data_source(v)

    def _full_size(self) -> None:
        """One number becomes every axis; another number of axes than dims is refused."""
        size, dims = self.size, self.dims  # type: ignore[attr-defined]
        if len(size) == 1:
            object.__setattr__(self, "size", (size[0],) * dims)
        elif len(size) != dims:
            raise ValueError(f"size has {len(size)} axes but dims is {dims}")


_SEED = "Random seed."
_AMP = "Mixed precision where supported."
_PROGRESS = "Show a progress bar."
_SKIP_BAD = "Skip unreadable or bad volumes with a warning."
_COMPILE = "torch.compile the UNet."
_CHANNELS_LAST = "channels_last memory format."
_DIMS = "2 or 3 (image dimensions)."
_SIZE = "One number (square/cube) or e.g. 256x256x192."
_DATA = "'phantom' or a NIfTI/DICOM path."
_N_ITEMS = "Data set size (default: all)."
_WORKERS = "Data loader worker processes."
_MEMORY = "Refuse a run whose memory estimate exceeds what the device has free."


class TrackingFields(BaseModel):
    """Energy tracking settings shared by all runs."""

    interval_s: float = Field(1.0, gt=0, description="Power sampling interval.")
    pue: float = Field(DEFAULT_PUE, ge=1.0, description="Power usage effectiveness for CO2e.")
    region: str = Field(DEFAULT_REGION, description="Carbon intensity region.")


class AutoencoderConfig(_Base, TrackingFields):
    """Stage 1: the VQ-GAN (MONAI VQVAE + PatchDiscriminator).

    Every field is also a flag of `lpm train-autoencoder`; its description is the flag's help.
    """

    dims: Literal[2, 3] = Field(description=_DIMS)
    size: tuple[int, ...] = Field((64,), description=_SIZE)
    data: str = Field("phantom", description=_DATA)
    iterations: int = Field(200, ge=1, description="Training iterations.")
    batch_size: int = Field(2, ge=1, description="Images per iteration.")
    out: Path = Field(Path("runs/autoencoder"), description="Run directory to write.")
    lr: float = Field(5e-4, gt=0, description="Learning rate of the autoencoder.")
    lr_discriminator: float = Field(5e-4, gt=0, description="Learning rate of the discriminator.")
    downsample: Literal[4, 8] = Field(4, description="4 or 8.")
    latent_channels: int = Field(3, ge=1, description="Channels of the latent space.")
    num_embeddings: int | None = Field(
        None, ge=2, description="Vectors in the VQ codebook (default: 256 in 2D, 2048 in 3D)."
    )
    channels: int = Field(64, ge=8, description="Base channels of the autoencoder.")
    patch_size: int | None = Field(
        None,
        ge=4,
        description="Train on a random crop of this many voxels per axis from each image "
        "(cheaper steps); default: whole images.",
    )
    adv_weight: float = Field(0.01, ge=0, description="Weight of the adversarial loss.")
    adv_warmup_iterations: int = Field(
        -1, description="Iterations before the adversarial loss starts; -1 = a quarter."
    )
    perceptual_weights: Path | None = Field(
        None, description="ResNet-50 weights on disk (never downloaded)."
    )
    perceptual_weight: float = Field(0.001, ge=0, description="Weight of the perceptual loss.")
    checkpoint_every: int = Field(100, ge=1, description="Iterations.")
    amp: bool = Field(True, description=_AMP)
    seed: int = Field(0, description=_SEED)
    n_items: int | None = Field(None, ge=1, description=_N_ITEMS)
    skip_bad: bool = Field(False, description=_SKIP_BAD)
    num_workers: int = Field(0, ge=0, description=_WORKERS)
    warmup_iterations: int = Field(
        0, ge=0, description="First iterations left out of per-step energy stats."
    )
    progress: bool = Field(True, description=_PROGRESS)
    memory_check: bool = Field(True, description=_MEMORY)

    @model_validator(mode="after")
    def _check(self) -> AutoencoderConfig:
        self._full_size()
        if self.num_embeddings is None:
            object.__setattr__(self, "num_embeddings", CODEBOOK_SIZE[self.dims])
        _check_divisible(self.size, self.downsample, f"a {self.downsample}x autoencoder")
        if self.patch_size is not None and self.patch_size % self.downsample:
            raise ValueError(
                f"patch_size {self.patch_size} is not a multiple of the autoencoder's "
                f"downsampling {self.downsample}; use e.g. {self.downsample * 4}"
            )
        return self

    @property
    def train_shape(self) -> tuple[int, ...]:
        """The shape of what the autoencoder trains on: the patch, or the whole image."""
        from lpm.ldm.patches import patch_shape

        return patch_shape(self.size, self.patch_size)


class TrainConfig(_Base, TrackingFields):
    """Stage 2: the diffusion UNet in the autoencoder's latent space.

    Every field is also a flag of `lpm train`; its description is the flag's help.
    """

    dims: Literal[2, 3] = Field(description=_DIMS)
    size: tuple[int, ...] = Field((64,), description=_SIZE)
    model: Literal["small", "medium", "large"] = Field(
        "small", description="small, medium or large."
    )
    data: str = Field("phantom", description=_DATA)
    iterations: int = Field(1000, ge=1, description="Training iterations.")
    batch_size: int = Field(2, ge=1, description="Batch size (see --global-batch).")
    warmup_iterations: int = Field(
        0, ge=0, description="First iterations left out of per-step energy stats."
    )
    autoencoder: Path | None = Field(
        None, description="Run dir of `lpm train-autoencoder` (else one is trained)."
    )
    out: Path = Field(Path("runs/ldm"), description="Run directory to write.")
    lr: float = Field(1e-4, gt=0, description="AdamW learning rate.")
    amp: bool = Field(True, description=_AMP)
    ema: bool = Field(True, description="Keep an EMA of the UNet weights.")
    ema_decay: float = Field(0.999, gt=0, lt=1, description="Decay of the EMA of the weights.")
    seed: int = Field(0, description=_SEED)
    global_batch: Literal["same_global", "same_per_gpu"] = Field(
        "same_per_gpu", description="same_per_gpu or same_global (under torchrun)."
    )
    grad_clip: float = Field(1.0, gt=0, description="Gradient norm clip.")
    schedule: Literal["scaled_linear_beta", "linear_beta", "cosine", "sigmoid_beta"] = Field(
        DEFAULT_SCHEDULE, description="scaled_linear_beta, linear_beta, cosine or sigmoid_beta."
    )
    beta_start: float = Field(
        DEFAULT_BETA_START, gt=0, lt=1, description="First beta of the schedule."
    )
    beta_end: float = Field(DEFAULT_BETA_END, gt=0, lt=1, description="Last beta of the schedule.")
    num_train_timesteps: int = Field(1000, ge=2, description="Steps of the noise schedule.")
    objective: Literal["ddpm", "rflow"] = Field(
        "ddpm",
        description="ddpm (a DDPM noise schedule; the UNet predicts what --prediction-type "
        "says; samplers ddpm, ddim, pndm) or rflow (rectified flow, MONAI's RFlowScheduler: "
        "the UNet predicts the velocity x0 - noise; sampler rflow; --schedule, --beta-* and "
        "--prediction-type do not apply).",
    )
    loss: Literal["mse", "l1"] = Field(
        DEFAULT_LOSS,
        description="mse or l1 (the paper's): error of the UNet's prediction to minimise.",
    )
    prediction_type: Literal["epsilon", "v_prediction"] = Field(
        DEFAULT_PREDICTION_TYPE,
        description="What the UNet predicts under --objective ddpm: v_prediction (velocity) "
        "or epsilon (the noise).",
    )
    checkpoint_every: int = Field(500, ge=1, description="Iterations.")
    validation_samples: int = Field(
        0, ge=0, description="Samples written at the end (DDIM; rflow for --objective rflow)."
    )
    validation_steps: int = Field(50, ge=1, description="Steps of the validation samples.")
    autoencoder_iterations: int = Field(
        100, ge=1, description="Iterations of the autoencoder trained first."
    )
    autoencoder_downsample: Literal[4, 8] = Field(
        4, description="4 or 8: downsampling of the autoencoder trained first."
    )
    n_items: int | None = Field(None, ge=1, description=_N_ITEMS)
    skip_bad: bool = Field(False, description=_SKIP_BAD)
    num_workers: int = Field(0, ge=0, description=_WORKERS)
    cache_latents_mb: float = Field(
        2048.0, ge=0, description="MB of latents kept per item (frozen autoencoder); 0 = off."
    )
    compile: bool = Field(False, description=_COMPILE)
    channels_last: bool = Field(False, description=_CHANNELS_LAST)
    progress: bool = Field(True, description=_PROGRESS)
    memory_check: bool = Field(True, description=_MEMORY)

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        self._full_size()
        if self.beta_start >= self.beta_end:
            raise ValueError(f"beta_start {self.beta_start} must be below beta_end {self.beta_end}")
        if self.autoencoder is None:
            factor = self.autoencoder_downsample * UNET_DOWNSAMPLE
            _check_divisible(
                self.size, factor, f"the {self.autoencoder_downsample}x autoencoder and the UNet"
            )
        return self


class SampleConfig(_Base, TrackingFields):
    """Sampling from a trained run.

    Every field is also a flag of `lpm sample`; its description is the flag's help.
    """

    run: Path = Field(description="Run directory of `lpm train`.")
    n: int = Field(1, ge=1, description="Number of samples.")
    steps: int = Field(1000, ge=1, description="Denoising steps per sample.")
    sampler: str = Field(
        "ddpm", description="ddpm, ddim or pndm (objective ddpm); rflow (objective rflow)."
    )
    batch_size: int = Field(4, ge=1, description="Samples denoised together.")
    out: Path = Field(Path("samples"), description="Directory for the samples.")
    replace: bool = Field(
        False, description="Replace the samples already in --out (else they are kept and it stops)."
    )
    seed: int = Field(0, description=_SEED)
    ema: bool = Field(True, description="Use the EMA weights.")
    amp: bool = Field(True, description=_AMP)
    png: bool = Field(True, description="Write PNG previews.")
    evaluate: bool = Field(
        False,
        description="Then measure the samples' quality against held-out data of the run "
        "(as `lpm evaluate --run`): quality.json, quality.html.",
    )
    warmup_steps: int = Field(
        0,
        ge=0,
        description="First denoising steps left out of the statistics (per-sample ones: the "
        "whole batches inside them).",
    )
    compile: bool = Field(False, description=_COMPILE)
    channels_last: bool = Field(False, description=_CHANNELS_LAST)
    progress: bool = Field(True, description=_PROGRESS)
    memory_check: bool = Field(True, description=_MEMORY)


def validated(config_cls: type[BaseModel], /, **values: Any) -> Any:
    """Build a config, turning pydantic errors into one-line LpmErrors naming the field."""
    try:
        return config_cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "config"
        msg = first.get("msg", "invalid value").removeprefix("Value error, ")
        flag = f" (--{field.replace('_', '-')})" if field in config_cls.model_fields else ""
        raise LpmError(f"invalid {field}{flag}: {msg}.") from None


__all__ = [
    "DEFAULT_BETA_END",
    "DEFAULT_BETA_START",
    "DEFAULT_SCHEDULE",
    "MODELS",
    "SCHEDULES",
    "AutoencoderConfig",
    "SampleConfig",
    "TrainConfig",
    "validated",
]
