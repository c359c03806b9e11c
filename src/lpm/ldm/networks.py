"""MONAI networks of both stages, built from presets, and the run files that hold them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lpm.errors import LpmError
from lpm.ldm.checkpoint import load
from lpm.ldm.schedulers import schedule_objective

AUTOENCODER_FILE = "autoencoder.pt"
LDM_FILE = "ldm.pt"


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def build_autoencoder(kwargs: dict[str, Any]) -> torch.nn.Module:
    """MONAI VQVAE (the VQ-GAN generator)."""
    from monai.networks.nets import VQVAE

    return VQVAE(**kwargs)


def build_discriminator(kwargs: dict[str, Any]) -> torch.nn.Module:
    """MONAI PatchDiscriminator."""
    from monai.networks.nets import PatchDiscriminator

    return PatchDiscriminator(**kwargs)


def build_unet(kwargs: dict[str, Any]) -> torch.nn.Module:
    """MONAI DiffusionModelUNet."""
    from monai.networks.nets import DiffusionModelUNet

    return DiffusionModelUNet(**kwargs)


def memory_format(dims: int) -> torch.memory_format:
    """channels_last for 2D, channels_last_3d for 3D."""
    return torch.channels_last if dims == 2 else torch.channels_last_3d


def load_autoencoder(run: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The trained autoencoder of a run dir (or an autoencoder.pt file), in eval mode."""
    path = Path(run)
    if path.is_dir():
        path = path / AUTOENCODER_FILE
    if not path.exists():
        raise LpmError(
            f"no trained autoencoder at {path}; pass the --out directory of "
            "`lpm train-autoencoder` (or leave --autoencoder out to train one)."
        )
    blob = load(path, what="autoencoder")
    if blob.get("kind") != "lpm-autoencoder":
        raise LpmError(f"{path} is not an lpm autoencoder file.")
    model = build_autoencoder(blob["kwargs"])
    model.load_state_dict(blob["state"])
    model.eval().requires_grad_(False)
    return model, blob


def load_ldm(run: str | Path) -> dict[str, Any]:
    """The contents of a trained LDM run's ldm.pt (networks' kwargs, weights, schedule)."""
    run = Path(run)
    if not run.exists():
        raise LpmError(f"run directory {run} does not exist; pass the --out of `lpm train`.")
    path = run / LDM_FILE if run.is_dir() else run
    if not path.exists():
        raise LpmError(
            f"{run} holds no trained model ({LDM_FILE} missing); pass the --out of a finished "
            "`lpm train` run."
        )
    blob = load(path, what="model file")
    if blob.get("kind") != "lpm-ldm":
        raise LpmError(f"{path} is not an lpm latent diffusion model file.")
    return blob


def run_objective(run: str | Path) -> str:
    """The training objective of a trained run ("ddpm" or "rflow"; older ldm.pt: "ddpm")."""
    return schedule_objective(load_ldm(run).get("schedule") or {})
