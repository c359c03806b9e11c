"""Architecture presets: diffusion UNet small/medium/large x 2D/3D and the VQ-GAN autoencoder.

The paper's sizes differ "mainly in the number of channels, residual blocks, and attention
layers" (§2.1); the values follow the MONAI Generative tutorials and Pinaya et al. (2022),
with "small" kept light enough to train on a laptop CPU. Every UNet has three levels, so it
halves the latent twice; the autoencoder downsamples 4x (default) or 8x.
"""

from __future__ import annotations

from typing import Any

from lpm.errors import LpmError
from lpm.sizes import check_dims

MODELS: tuple[str, ...] = ("small", "medium", "large")
LATENT_CHANNELS = 3
UNET_DOWNSAMPLE = 4  # three UNet levels -> two 2x downsamplings of the latent
AUTOENCODER_DOWNSAMPLE: tuple[int, ...] = (4, 8)
# VQ codebook size per image dimension. A latent vector carries log2(codes) bits, and a 4x
# 3D autoencoder has 4x fewer latent vectors per voxel than a 2D one: with 256 codes the
# 3D 32³ phantoms came back blurred (reconstruction HU Wasserstein 102 HU after 600
# iterations), with 2048 codes 62 HU at the same cost (bench/RESULTS.md, "LDM quality").
CODEBOOK_SIZE: dict[int, int] = {2: 256, 3: 2048}

# (channels per level, residual blocks per level, attention per level, channels per head)
_UNET: dict[tuple[int, str], tuple[tuple[int, ...], int, tuple[bool, ...], int]] = {
    (2, "small"): ((32, 64, 64), 1, (False, False, True), 32),
    (2, "medium"): ((64, 128, 256), 2, (False, True, True), 32),
    (2, "large"): ((128, 256, 512), 3, (True, True, True), 64),
    (3, "small"): ((32, 64, 64), 1, (False, False, True), 32),
    (3, "medium"): ((64, 128, 128), 2, (False, True, True), 32),
    (3, "large"): ((128, 256, 256), 2, (False, True, True), 64),
}


def _unet_kwargs(dims: int, model: str, latent_channels: int) -> dict[str, Any]:
    channels, blocks, attention, head = _UNET[(dims, model)]
    return {
        "spatial_dims": dims,
        "in_channels": latent_channels,
        "out_channels": latent_channels,
        "channels": channels,
        "num_res_blocks": blocks,
        "attention_levels": attention,
        "num_head_channels": tuple(head if a else 0 for a in attention),
        "norm_num_groups": 32,
        "use_flash_attention": True,
    }


PRESETS: dict[tuple[int, str], dict[str, Any]] = {
    key: _unet_kwargs(key[0], key[1], LATENT_CHANNELS) for key in _UNET
}


def check_model(model: str) -> str:
    """Return the model preset name if known, else raise LpmError."""
    if model not in MODELS:
        raise LpmError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}.")
    return model


def preset(dims: int, model: str, *, latent_channels: int = LATENT_CHANNELS) -> dict[str, Any]:
    """Keyword arguments for MONAI ``DiffusionModelUNet`` for a preset (a fresh dict)."""
    check_dims(dims)
    check_model(model)
    return _unet_kwargs(dims, model, latent_channels)


def autoencoder_kwargs(
    dims: int,
    *,
    downsample: int = 4,
    latent_channels: int = LATENT_CHANNELS,
    num_embeddings: int | None = None,
    channels: int = 64,
) -> dict[str, Any]:
    """Keyword arguments for MONAI ``VQVAE``: 4x (two levels) or 8x (three levels); the
    codebook has `num_embeddings` vectors (default CODEBOOK_SIZE[dims])."""
    check_dims(dims)
    if num_embeddings is None:
        num_embeddings = CODEBOOK_SIZE[dims]
    if downsample not in AUTOENCODER_DOWNSAMPLE:
        raise LpmError(f"autoencoder downsampling must be 4 or 8, got {downsample!r}.")
    levels = 2 if downsample == 4 else 3
    chans = tuple(channels * min(2**i, 2) for i in range(levels))
    return {
        "spatial_dims": dims,
        "in_channels": 1,
        "out_channels": 1,
        "channels": chans,
        "num_res_layers": 2,
        "num_res_channels": chans,
        "downsample_parameters": tuple((2, 4, 1, 1) for _ in range(levels)),
        "upsample_parameters": tuple((2, 4, 1, 1, 0) for _ in range(levels)),
        "num_embeddings": num_embeddings,
        "embedding_dim": latent_channels,
    }


def config_autoencoder_kwargs(cfg: Any) -> dict[str, Any]:
    """:func:`autoencoder_kwargs` of an AutoencoderConfig (its dims, downsample, latent
    channels, codebook and base channels)."""
    return autoencoder_kwargs(
        cfg.dims,
        downsample=cfg.downsample,
        latent_channels=cfg.latent_channels,
        num_embeddings=cfg.num_embeddings,
        channels=cfg.channels,
    )


def discriminator_kwargs(dims: int, size: tuple[int, ...], *, channels: int = 64) -> dict[str, Any]:
    """Keyword arguments for MONAI ``PatchDiscriminator`` (fewer layers for tiny images)."""
    check_dims(dims)
    layers = 3
    while layers > 1 and min(size) // 2**layers < 4:
        layers -= 1
    return {
        "spatial_dims": dims,
        "in_channels": 1,
        "out_channels": 1,
        "channels": channels,
        "num_layers_d": layers,
    }


def total_downsample(autoencoder_downsample: int) -> int:
    """Factor every image axis must divide by: autoencoder x UNet downsampling."""
    return autoencoder_downsample * UNET_DOWNSAMPLE
