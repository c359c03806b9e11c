"""Tiny runs shared by the ldm and CLI tests (2D 32², 3D 16³, a few iterations)."""

from __future__ import annotations

from pathlib import Path

import torch

from lpm.energy import SimulatedMeter
from lpm.ldm import AutoencoderConfig, TrainConfig, train_autoencoder, train_ldm

TINY_SIZE = {2: 32, 3: 16}


def set_threads() -> None:
    torch.set_num_threads(1)


def sim_meters() -> list:
    """A fixed-power CPU meter: no /proc or RAPL reads, energy = 20 W x time."""
    return [SimulatedMeter(kind="cpu", watts=20.0, devices=1)]


def tiny_autoencoder(out: Path, dims: int = 2, iterations: int = 3, **kw) -> Path:
    cfg = AutoencoderConfig(
        dims=dims,
        size=TINY_SIZE[dims],
        iterations=iterations,
        batch_size=2,
        channels=16,
        num_embeddings=32,
        out=out,
        progress=False,
        interval_s=0.1,
        **{"n_items": 4, **kw},
    )
    train_autoencoder(cfg, meters=sim_meters())
    return out


def tiny_train_config(out: Path, autoencoder: Path, dims: int = 2, **kw) -> TrainConfig:
    values = {
        "dims": dims,
        "size": TINY_SIZE[dims],
        "model": "small",
        "iterations": 3,
        "batch_size": 2,
        "autoencoder": autoencoder,
        "out": out,
        "n_items": 4,
        "progress": False,
        "interval_s": 0.1,
    }
    values.update(kw)
    return TrainConfig(**values)


def tiny_ldm(out: Path, autoencoder: Path, dims: int = 2, **kw) -> Path:
    train_ldm(tiny_train_config(out, autoencoder, dims, **kw), meters=sim_meters())
    return out
