"""User-facing configuration of the two training stages and of sampling (pydantic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lpm.errors import LpmError
from lpm.ldm.presets import MODELS, UNET_DOWNSAMPLE, check_dims

SCHEDULES: tuple[str, ...] = ("scaled_linear_beta", "linear_beta", "cosine", "sigmoid_beta")
DEFAULT_SCHEDULE = "scaled_linear_beta"
DEFAULT_BETA_START = 0.0015
DEFAULT_BETA_END = 0.0195


def _parse_size(value: Any, dims: int) -> tuple[int, ...]:
    from lpm.datasets import parse_size

    return tuple(parse_size(value, dims))


def _data_source(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("data must be 'phantom' or a path to CT (file, folder or list file)")
    return "phantom" if text.lower() == "phantom" else text


def _check_divisible(size: tuple[int, ...], factor: int, what: str) -> None:
    from lpm.datasets import check_divisible

    check_divisible(size, factor, what=what)


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

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


class TrackingFields(BaseModel):
    """Energy tracking settings shared by all runs."""

    interval_s: float = Field(1.0, gt=0, description="power sampling interval of the Tracker")
    pue: float = Field(1.55, ge=1.0, description="power usage effectiveness for CO2e")
    region: str = Field("EU27", description="carbon intensity region")


class AutoencoderConfig(_Base, TrackingFields):
    """Stage 1: the VQ-GAN (MONAI VQVAE + PatchDiscriminator)."""

    dims: Literal[2, 3]
    size: tuple[int, ...] = (64,)
    data: str = "phantom"
    iterations: int = Field(200, ge=1)
    batch_size: int = Field(2, ge=1)
    out: Path = Path("runs/autoencoder")
    lr: float = Field(1e-4, gt=0)
    lr_discriminator: float = Field(5e-4, gt=0)
    downsample: Literal[4, 8] = 4
    latent_channels: int = Field(3, ge=1)
    num_embeddings: int = Field(256, ge=2)
    channels: int = Field(64, ge=8)
    adv_weight: float = Field(0.01, ge=0)
    adv_warmup_iterations: int = Field(
        -1, description="iterations before the adversarial loss starts; -1 = a quarter"
    )
    perceptual_weights: Path | None = Field(
        None, description="torch file with perceptual-network weights already on disk"
    )
    perceptual_weight: float = Field(0.001, ge=0)
    checkpoint_every: int = Field(100, ge=1)
    amp: bool = True
    seed: int = 0
    n_items: int | None = Field(None, ge=1, description="data set size (default: all)")
    skip_bad: bool = False
    num_workers: int = Field(0, ge=0)
    warmup_iterations: int = Field(0, ge=0)
    progress: bool = True

    @model_validator(mode="after")
    def _check(self) -> AutoencoderConfig:
        if len(self.size) == 1:
            object.__setattr__(self, "size", (self.size[0],) * self.dims)
        if len(self.size) != self.dims:
            raise ValueError(f"size has {len(self.size)} axes but dims is {self.dims}")
        _check_divisible(self.size, self.downsample, f"a {self.downsample}x autoencoder")
        return self

    @field_validator("data", mode="before")
    @classmethod
    def _data(cls, v: Any) -> str:
        return _data_source(v)


class TrainConfig(_Base, TrackingFields):
    """Stage 2: the diffusion UNet in the autoencoder's latent space."""

    dims: Literal[2, 3]
    size: tuple[int, ...] = (64,)
    model: Literal["small", "medium", "large"] = "small"
    data: str = "phantom"
    iterations: int = Field(1000, ge=1)
    batch_size: int = Field(2, ge=1)
    warmup_iterations: int = Field(
        0, ge=0, description="first iterations left out of the per-step energy statistics"
    )
    autoencoder: Path | None = None
    out: Path = Path("runs/ldm")
    lr: float = Field(1e-4, gt=0)
    amp: bool = True
    ema: bool = True
    ema_decay: float = Field(0.999, gt=0, lt=1)
    seed: int = 0
    global_batch: Literal["same_global", "same_per_gpu"] = "same_per_gpu"
    grad_clip: float = Field(1.0, gt=0)
    schedule: Literal["scaled_linear_beta", "linear_beta", "cosine", "sigmoid_beta"] = (
        DEFAULT_SCHEDULE
    )
    beta_start: float = Field(DEFAULT_BETA_START, gt=0, lt=1)
    beta_end: float = Field(DEFAULT_BETA_END, gt=0, lt=1)
    num_train_timesteps: int = Field(1000, ge=2)
    checkpoint_every: int = Field(500, ge=1)
    validation_samples: int = Field(0, ge=0, description="samples drawn at the end (DDIM)")
    validation_steps: int = Field(50, ge=1)
    autoencoder_iterations: int = Field(
        100, ge=1, description="iterations of the small autoencoder trained when none is given"
    )
    autoencoder_downsample: Literal[4, 8] = 4
    n_items: int | None = Field(None, ge=1)
    skip_bad: bool = False
    num_workers: int = Field(0, ge=0)
    cache_latents_mb: float = Field(
        2048.0, ge=0, description="keep each item's latent (frozen autoencoder); 0 = off"
    )
    compile: bool = False
    channels_last: bool = False
    progress: bool = True

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if len(self.size) == 1:
            object.__setattr__(self, "size", (self.size[0],) * self.dims)
        if len(self.size) != self.dims:
            raise ValueError(f"size has {len(self.size)} axes but dims is {self.dims}")
        if self.beta_start >= self.beta_end:
            raise ValueError(f"beta_start {self.beta_start} must be below beta_end {self.beta_end}")
        if self.autoencoder is None:
            factor = self.autoencoder_downsample * UNET_DOWNSAMPLE
            _check_divisible(
                self.size, factor, f"the {self.autoencoder_downsample}x autoencoder and the UNet"
            )
        return self

    @field_validator("data", mode="before")
    @classmethod
    def _data(cls, v: Any) -> str:
        return _data_source(v)


class SampleConfig(_Base, TrackingFields):
    """Sampling from a trained run."""

    run: Path
    n: int = Field(1, ge=1)
    steps: int = Field(1000, ge=1)
    sampler: str = "ddpm"
    batch_size: int = Field(4, ge=1, description="samples denoised together")
    out: Path = Path("samples")
    seed: int = 0
    ema: bool = True
    amp: bool = True
    png: bool = True
    warmup_steps: int = Field(0, ge=0)
    compile: bool = False
    channels_last: bool = False
    progress: bool = True


def validated(config_cls: type[BaseModel], /, **values: Any) -> Any:
    """Build a config, turning pydantic errors into one-line LpmErrors naming the field."""
    try:
        return config_cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "config"
        msg = first.get("msg", "invalid value").removeprefix("Value error, ")
        raise LpmError(f"invalid {field}: {msg}.") from None


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
