"""A trained run as the quality metrics' reference: its frozen autoencoder encoder as
features, its training data, and held-out data drawn from the same source.

Held-out phantoms are the run's phantoms with seed + HELDOUT_SEED_OFFSET: other seeds give
other phantoms, so none of them was trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from lpm.errors import LpmError
from lpm.ldm.checkpoint import load
from lpm.ldm.networks import AUTOENCODER_FILE, LDM_FILE, build_autoencoder, load_autoencoder
from lpm.quality import DataSpec, EncoderFeatures, Features, QualityReport, evaluate_dir
from lpm.quality.stats import DEFAULT_BOOTSTRAP

HELDOUT_SEED_OFFSET = 1_000_000
CONFIG_FILE = "config.json"


def run_config(run: str | Path) -> dict[str, Any]:
    """The settings of a training run (its config.json)."""
    path = Path(run) / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise LpmError(
            f"{run} has no readable {CONFIG_FILE}; pass the --out of a finished `lpm train` run."
        ) from None
    if not isinstance(data, dict) or "data" not in data or "dims" not in data:
        raise LpmError(f"{path} is not the config of an lpm training run.")
    return data


def _autoencoder(run: Path) -> torch.nn.Module:
    """The run's autoencoder: from ldm.pt (a diffusion run), else its autoencoder.pt."""
    if (run / LDM_FILE).is_file():
        blob = load(run / LDM_FILE, what="model file")
        if isinstance(blob.get("autoencoder"), dict):
            model = build_autoencoder(blob["autoencoder"]["kwargs"])
            model.load_state_dict(blob["autoencoder"]["state"])
            return model.eval().requires_grad_(False)
    for candidate in (run, run / "autoencoder"):
        if (candidate / AUTOENCODER_FILE).is_file():
            return load_autoencoder(candidate)[0]
    raise LpmError(f"{run} holds no trained autoencoder; pass a run of `lpm train`.")


def autoencoder_features(run: str | Path, device: str | torch.device = "cpu") -> Features:
    """Features from the run's frozen autoencoder: HU -> [-1, 1] -> encoder latents (the
    quantised latents the diffusion model learns) -> per-channel mean and std."""
    model = _autoencoder(Path(run)).to(device)
    return EncoderFeatures(
        model.encode_stage_2_inputs, name=f"autoencoder encoder of {run}", device=device
    )


def training_data(run: str | Path) -> DataSpec:
    """The data a run trained on: its source, number of items and seed (config.json)."""
    cfg = run_config(run)
    n = cfg.get("n_items")
    return DataSpec(str(cfg["data"]), None if n is None else int(n), int(cfg.get("seed", 0)))


def heldout_data(run: str | Path, n: int | None = None) -> DataSpec:
    """Held-out real data of a run: phantoms with the run's seed + HELDOUT_SEED_OFFSET
    (`n` of them, default as many as it trained on, else 64). A run on files raises
    LpmError asking for --real (lpm cannot tell which of the user's CT it did not see)."""
    train = training_data(run)
    if train.source.lower() != "phantom":
        raise LpmError(
            f"{run} trained on {train.source}, which has no held-out part lpm can draw; pass "
            "--real with CT the run did not train on."
        )
    return DataSpec(
        "phantom", n if n is not None else train.n or 64, train.seed + HELDOUT_SEED_OFFSET
    )


def evaluate_samples_dir(
    samples_dir: str | Path,
    run_dir: str | Path,
    *,
    real: DataSpec | None = None,
    train: DataSpec | None = None,
    features: Features | None = None,
    n_real: int | None = None,
    out: str | Path | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> QualityReport:
    """Evaluate samples of a run (`lpm sample --out`) against its held-out and training data,
    with its autoencoder's features unless others are given; writes quality.json/.html into
    `out` (default: the samples folder); `device` runs the encoder."""
    _check_shape(samples_dir, run_config(run_dir))
    notes: dict[str, str] = {}
    if real is None:
        real = heldout_data(run_dir, n_real)
        notes["real"] = f"held-out phantoms: the run's seed + {HELDOUT_SEED_OFFSET}"
    if train is None:
        train = training_data(run_dir)
        notes["train"] = "the run's training data"
    return evaluate_dir(
        samples_dir,
        real,
        train,
        features if features is not None else autoencoder_features(run_dir, device),
        out=out,
        n_boot=n_boot,
        seed=seed,
        notes=notes,
    )


def _check_shape(samples_dir: str | Path, cfg: dict[str, Any]) -> None:
    from lpm.datasets import format_size
    from lpm.quality import load_samples

    samples, _ = load_samples(samples_dir)
    size = tuple(int(s) for s in cfg.get("size", ()))
    if tuple(samples.shape[1:]) != size:
        raise LpmError(
            f"the samples are {format_size(samples.shape[1:])} but the run trained on "
            f"{format_size(size)} ({cfg.get('dims')}D); evaluate samples of this run."
        )
