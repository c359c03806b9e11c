"""The autoencoder a diffusion run trains on: the given run's, or a small one trained first."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lpm.datasets import check_divisible
from lpm.errors import LpmError
from lpm.ldm.autoencoder import train_autoencoder
from lpm.ldm.config import AutoencoderConfig, TrainConfig
from lpm.ldm.networks import AUTOENCODER_FILE
from lpm.ldm.presets import UNET_DOWNSAMPLE
from lpm.ldm.runtime import env_world

log = logging.getLogger(__name__)


def autoencoder_for(cfg: TrainConfig, meters: Any) -> Path:
    """The autoencoder run dir: the given one, or a small one trained now into out/."""
    if cfg.autoencoder is not None:
        path = Path(cfg.autoencoder)
        target = path / AUTOENCODER_FILE if path.is_dir() else path
        if not target.exists():
            raise LpmError(
                f"no trained autoencoder at {path}; pass the --out directory of "
                "`lpm train-autoencoder` (or leave --autoencoder out to train one)."
            )
        return path
    path = Path(cfg.out) / "autoencoder"
    rank, _, _ = env_world()
    if rank == 0 and not (path / AUTOENCODER_FILE).exists():
        log.info(
            "no --autoencoder given: training a small one for %d iterations",
            cfg.autoencoder_iterations,
        )
        train_autoencoder(
            AutoencoderConfig(
                dims=cfg.dims,
                size=cfg.size,
                data=cfg.data,
                iterations=cfg.autoencoder_iterations,
                batch_size=min(cfg.batch_size, 2),
                out=path,
                seed=cfg.seed,
                downsample=cfg.autoencoder_downsample,
                channels=32,
                amp=cfg.amp,
                n_items=cfg.n_items,
                skip_bad=cfg.skip_bad,
                interval_s=cfg.interval_s,
                pue=cfg.pue,
                region=cfg.region,
                progress=cfg.progress,
            ),
            meters=meters,
        )
    return path


def check_latent(cfg: TrainConfig, ae_blob: dict[str, Any]) -> int:
    downsample = int(ae_blob.get("downsample", 4))
    if int(ae_blob.get("dims", cfg.dims)) != cfg.dims:
        raise LpmError(
            f"the autoencoder is {ae_blob.get('dims')}D but --dims is {cfg.dims}; train an "
            f"autoencoder with --dims {cfg.dims}."
        )
    check_divisible(
        cfg.size, downsample * UNET_DOWNSAMPLE, what=f"the {downsample}x autoencoder and the UNet"
    )
    return downsample
