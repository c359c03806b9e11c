"""How much memory a training or sampling configuration needs, and whether the device has it.

Pure arithmetic on the configuration (no torch, no network built), so that a run that
cannot fit is refused in milliseconds, before torch is imported. The parts:

- parameters, exact: the UNet presets' counts (MONAI DiffusionModelUNet, tabled below
  without their input/output convolutions, which follow the latent channels), the VQ-VAE
  and PatchDiscriminator counted from their layer lists; tests/ldm/test_memory.py checks
  every one against the built networks. Training holds weights, gradients and AdamW's two
  moments (4 bytes each), plus an EMA copy of the UNet and, under DDP, gradient buckets.
- activations: what autograd saves per latent voxel (UNet) or image voxel and channel
  (VQ-VAE, discriminator) of one sample, counted on CPU with
  ``torch.autograd.graph.saved_tensors_hooks`` (each saved storage once; linear in size
  and batch), then checked against the peak RSS of real training steps (``ru_maxrss``
  minus the RSS before the first step): 2D small at latent 64² (batch 4) and 128² (batch
  2), 2D medium at 32², 3D small at 16³ peaked at 1.5-1.7x the saved values plus the
  optimiser state (the activations' gradients, allocator slack: ``TRAINING_OVERHEAD``),
  so the estimate is 0.9-1.1x of them; VQ-GAN steps 1.17x (2D 256², 32 channels, batch
  2) and 0.97-1.23x (3D 64³-96³), but 0.4x for 3D batch 1 at 64³, where oneDNN's CPU path
  took ~0.5 GiB more (0.67x of the whole process). Inference keeps a share of the
  training activations (skip connections, working maps; more in 3D, where CPU
  convolutions unfold their input), and encoding or decoding an image (one at a time) a
  few feature maps of the autoencoder (measured at 2D 1024² and 3D 128³). Mixed precision
  on a GPU keeps most activations in 16 bits (``AMP_SHARE``, not calibrated on a GPU).
- the latent cache (`cache_latents_mb`, up to the data's latents), one batch of images,
  and the runtime itself (interpreter, torch and MONAI; or the CUDA context).

A `lpm train` without `--autoencoder` first trains an autoencoder in the same process: its
estimate is the larger of the two stages'.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpm.errors import LpmError
from lpm.io import read_json_object
from lpm.ldm.parameters import (
    PERCEPTUAL_PARAMETERS,
    UNET_BODY,
    discriminator_parameters,
    unet_parameters,
    vqvae_parameters,
)
from lpm.ldm.world import available_bytes, run_device

GiB = 1024**3
MiB = 1024**2
FLOAT = 4  # bytes of a float32

# Values autograd saves in a training step, per latent voxel of one sample (float32).
UNET_SAVED: dict[tuple[int, str], float] = {
    (2, "small"): 1738.0,
    (2, "medium"): 7766.0,
    (2, "large"): 29776.0,
    (3, "small"): 1323.0,
    (3, "medium"): 4713.0,
    (3, "large"): 9416.0,
}
UNET_INFERENCE_SHARE = {2: 0.5, 3: 0.9}  # of UNET_SAVED, peak of a forward pass
VQ_SAVED = {2: 4.1, 3: 1.7}  # per image voxel and autoencoder channel, training
VQ_INFERENCE = {2: 2.4, 3: 0.6}  # per image voxel and channel, encoding or decoding
DISC_SAVED = {2: 89.0, 3: 26.0}  # per image voxel, PatchDiscriminator of 64 channels
TRAINING_OVERHEAD = 1.6  # peak / saved activations (their gradients, allocator slack)
AMP_SHARE = 0.6  # activations under mixed precision on a GPU, of float32's
RUNTIME = {"cpu": 512 * MiB, "cuda": 512 * MiB}  # torch + MONAI in RAM; a CUDA context
DEFAULT_PHANTOMS = 64  # lpm.datasets.dataset.DEFAULT_PHANTOMS
HEADROOM = 0.9  # what is suggested instead fits in this share of the free memory
STAGES = {
    "autoencoder": "training the autoencoder",
    "diffusion": "training the diffusion UNet",
    "sampling": "sampling",
}


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs on its device, by part; `stage` names the part of the run it is."""

    parts: dict[str, int]
    device: str = "cpu"
    stage: str = "diffusion"

    @property
    def bytes(self) -> int:
        return int(sum(self.parts.values()))

    def fits(self, device_bytes: int) -> bool:
        """True when the run's estimate is at most DEVICE_BYTES."""
        return self.bytes <= device_bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: bytes, parts, device, stage."""
        return {"bytes": self.bytes, "parts": dict(self.parts), "device": self.device,
                "stage": self.stage}  # fmt: skip

    def describe(self) -> str:
        """E.g. "about 3.2 GiB (activations 2.1 GiB, model 0.4 GiB, ...)"."""
        largest = sorted(self.parts.items(), key=lambda kv: -kv[1])[:3]
        shown = ", ".join(f"{name} {gib(b)}" for name, b in largest if b > 0)
        return f"about {gib(self.bytes)} ({shown})"


def gib(n: float) -> str:
    """Bytes as GiB with one decimal (MiB below 0.1 GiB)."""
    return f"{n / GiB:.1f} GiB" if n >= 0.1 * GiB else f"{n / MiB:.0f} MiB"


def _device_kind(device: Any) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


def _act_share(device: str, amp: bool) -> float:
    return AMP_SHARE if device == "cuda" and amp else 1.0


def _voxels(size: tuple[int, ...] | list[int], factor: int = 1) -> int:
    return math.prod(int(n) // factor for n in size)


def _training_state(trainable: int, weights: int) -> dict[str, int]:
    return {
        "model": weights * FLOAT,
        "gradients": trainable * FLOAT,
        "optimizer": 2 * trainable * FLOAT,
    }


def autoencoder_estimate(cfg: Any, device: Any = "cpu") -> MemoryEstimate:
    """Training the VQ-GAN of an AutoencoderConfig (lpm train-autoencoder)."""
    from lpm.ldm.presets import config_autoencoder_kwargs, discriminator_kwargs

    dev = _device_kind(device)
    size = tuple(cfg.train_shape)  # the patch under --patch-size
    vq_kwargs = config_autoencoder_kwargs(cfg)
    vq_all, vq_trainable = vqvae_parameters(vq_kwargs)
    disc_kwargs = discriminator_kwargs(cfg.dims, size)
    disc = discriminator_parameters(disc_kwargs)
    n = _voxels(size)
    per_image = VQ_SAVED[cfg.dims] * cfg.channels + 2 * DISC_SAVED[cfg.dims] * (
        disc_kwargs["channels"] / 64
    )
    parts = _training_state(vq_trainable + disc, vq_all + disc)
    parts["activations"] = int(
        cfg.batch_size * n * per_image * FLOAT * TRAINING_OVERHEAD * _act_share(dev, cfg.amp)
    )
    if cfg.perceptual_weights is not None and cfg.perceptual_weight > 0:
        parts["perceptual"] = PERCEPTUAL_PARAMETERS * FLOAT
    parts["data"] = 2 * cfg.batch_size * _voxels(cfg.size) * FLOAT  # whole images are read
    parts["runtime"] = RUNTIME[dev]
    return MemoryEstimate(parts=parts, device=dev, stage="autoencoder")


def _autoencoder_settings(folder: Path) -> dict[str, Any]:
    """An autoencoder run's settings (its config.json), defaults where it has none."""
    saved = read_json_object(folder / "config.json")
    return {
        "channels": int(saved.get("channels", 64)),
        "downsample": int(saved.get("downsample", 4)),
        "latent_channels": int(saved.get("latent_channels", 3)),
        "num_embeddings": int(saved.get("num_embeddings", 256)),
    }


def _first_autoencoder(cfg: Any) -> Any:
    """The AutoencoderConfig `lpm train` trains first (lpm.ldm.first_stage), or None."""
    from lpm.ldm.config import AutoencoderConfig

    if cfg.autoencoder is not None or (Path(cfg.out) / "autoencoder" / "autoencoder.pt").exists():
        return None
    return AutoencoderConfig(
        dims=cfg.dims,
        size=cfg.size,
        batch_size=min(cfg.batch_size, 2),
        downsample=cfg.autoencoder_downsample,
        channels=32,
        amp=cfg.amp,
        out=Path(cfg.out) / "autoencoder",
        progress=False,
    )


def _vq_of(dims: int, settings: dict[str, Any]) -> tuple[int, int]:
    from lpm.ldm.presets import autoencoder_kwargs

    return vqvae_parameters(autoencoder_kwargs(dims, **settings))


def diffusion_estimate(cfg: Any, device: Any = "cpu") -> MemoryEstimate:
    """Training the UNet of a TrainConfig (without the autoencoder trained first)."""
    dev = _device_kind(device)
    first = _first_autoencoder(cfg)
    if first is not None:
        ae = {
            "channels": first.channels,
            "downsample": first.downsample,
            "latent_channels": first.latent_channels,
            "num_embeddings": first.num_embeddings,
        }
    else:
        ae = _autoencoder_settings(Path(cfg.autoencoder or Path(cfg.out) / "autoencoder"))
    lc = ae["latent_channels"]
    from lpm.ldm.world import env_world

    world = env_world()[1]
    batch = cfg.batch_size
    if cfg.global_batch == "same_global" and world > 1:
        batch = max(1, math.ceil(batch / world))
    unet = unet_parameters(cfg.dims, cfg.model, lc)
    vq_all, _ = _vq_of(cfg.dims, ae)
    n_lat = _voxels(cfg.size, ae["downsample"])
    n_img = _voxels(cfg.size)
    parts = _training_state(unet, unet)
    if cfg.ema:
        parts["ema"] = unet * FLOAT
    if world > 1:
        parts["ddp buckets"] = unet * FLOAT
    parts["autoencoder"] = vq_all * FLOAT
    parts["activations"] = int(
        batch
        * n_lat
        * UNET_SAVED[(cfg.dims, cfg.model)]
        * FLOAT
        * TRAINING_OVERHEAD
        * _act_share(dev, cfg.amp)
    )
    parts["encoding"] = int((VQ_INFERENCE[cfg.dims] * ae["channels"] + 2) * n_img * FLOAT)
    items = cfg.n_items or (DEFAULT_PHANTOMS if str(cfg.data).lower() == "phantom" else None)
    cache = int(cfg.cache_latents_mb * MiB)
    latents = lc * n_lat * FLOAT
    parts["latent cache"] = cache if items is None else min(cache, items * latents)
    parts["data"] = 2 * batch * n_img * FLOAT
    parts["runtime"] = RUNTIME[dev]
    return MemoryEstimate(parts=parts, device=dev, stage="diffusion")


def train_estimate(cfg: Any, device: Any = "cpu") -> MemoryEstimate:
    """`lpm train`: the larger of the autoencoder trained first (if any) and the UNet."""
    diffusion = diffusion_estimate(cfg, device)
    first = _first_autoencoder(cfg)
    if first is None:
        return diffusion
    stage1 = autoencoder_estimate(first, device)
    return stage1 if stage1.bytes > diffusion.bytes else diffusion


def sample_estimate(cfg: Any, device: Any = "cpu") -> MemoryEstimate | None:
    """Sampling from a trained run (its config.json); None when the run does not say."""
    run = Path(cfg.run)
    saved = read_json_object(run / "config.json")
    try:
        dims, model = int(saved["dims"]), str(saved["model"])
        size = [int(n) for n in saved["size"]]
    except (KeyError, TypeError, ValueError):
        return None
    if (dims, model) not in UNET_BODY or len(size) != dims:
        return None
    dev = _device_kind(device)
    ae_dir = Path(saved["autoencoder"]) if saved.get("autoencoder") else run / "autoencoder"
    ae = _autoencoder_settings(ae_dir)
    if not saved.get("autoencoder"):
        ae["channels"] = 32  # the one `lpm train` trains first
        ae["downsample"] = int(saved.get("autoencoder_downsample", ae["downsample"]))
    vq_all, _ = _vq_of(dims, ae)
    unet = unet_parameters(dims, model, ae["latent_channels"])
    n_lat = _voxels(size, ae["downsample"])
    batch = min(cfg.batch_size, cfg.n)
    share = UNET_INFERENCE_SHARE[dims] * _act_share(dev, cfg.amp)
    parts = {
        "model": (unet + vq_all) * FLOAT,
        "activations": int(batch * n_lat * UNET_SAVED[(dims, model)] * share * FLOAT),
        "decoding": int((VQ_INFERENCE[dims] * ae["channels"] + 2) * _voxels(size) * FLOAT),
        "runtime": RUNTIME[dev],
    }
    return MemoryEstimate(parts=parts, device=dev, stage="sampling")


def estimate(cfg: Any, device: Any = "cpu") -> MemoryEstimate | None:
    """The memory a TrainConfig, AutoencoderConfig or SampleConfig needs on DEVICE.

    None for a SampleConfig whose run does not say its model (no config.json).
    """
    from lpm.ldm.config import AutoencoderConfig, SampleConfig, TrainConfig

    if isinstance(cfg, TrainConfig):
        return train_estimate(cfg, device)
    if isinstance(cfg, AutoencoderConfig):
        return autoencoder_estimate(cfg, device)
    if isinstance(cfg, SampleConfig):
        return sample_estimate(cfg, device)
    raise TypeError(f"no memory estimate for {type(cfg).__name__}")


def _smaller(cfg: Any, est: Callable[[Any], MemoryEstimate | None], room: int) -> str | None:
    """Flags of the largest configuration like CFG (smaller batch, then size) that fits."""

    def batch_fits(batch: int) -> MemoryEstimate | None:
        e = est(cfg.model_copy(update={"batch_size": batch}))
        return e if e is not None and e.fits(room) else None

    if cfg.batch_size > 1 and batch_fits(1) is not None:  # memory grows with the batch:
        good, bad = 1, cfg.batch_size  # bisect for the largest batch that fits
        while bad - good > 1:
            mid = (good + bad) // 2
            good, bad = (mid, bad) if batch_fits(mid) is not None else (good, mid)
        e = batch_fits(good)
        assert e is not None
        return f"--batch-size {good} fits ({e.describe().split(' (')[0]})"
    if not hasattr(cfg, "size"):
        return None
    step = _size_step(cfg)
    largest = max(cfg.size)

    def scaled(k: int) -> tuple[int, ...]:  # the size whose largest axis is k steps
        return tuple(max(step, n * k * step // largest // step * step) for n in cfg.size)

    def fitting(k: int) -> MemoryEstimate | None:
        e = est(cfg.model_copy(update={"batch_size": 1, "size": scaled(k)}))
        return e if e is not None and e.fits(room) else None

    low, high = 0, largest // step  # fitting(high) is known not to (the run itself)
    while high - low > 1:  # the estimate grows with the size: bisect
        mid = (low + high) // 2
        low, high = (mid, high) if fitting(mid) else (low, mid)
    if low == 0 or (e := fitting(low)) is None:
        return None
    size = scaled(low)
    shown = "x".join(map(str, size)) if len(set(size)) > 1 else str(size[0])
    return f"--batch-size 1 --size {shown} fits ({e.describe().split(' (')[0]})"


def _size_step(cfg: Any) -> int:
    from lpm.ldm.presets import UNET_DOWNSAMPLE

    if hasattr(cfg, "autoencoder_downsample"):
        downsample = cfg.autoencoder_downsample
        if cfg.autoencoder is not None:
            downsample = _autoencoder_settings(Path(cfg.autoencoder))["downsample"]
        return downsample * UNET_DOWNSAMPLE
    return int(cfg.downsample)


def check_fits(cfg: Any, device: str | None = None, *, available: int | None = None) -> Any:
    """Refuse (LpmError, one line that says what would fit) a run that cannot fit on DEVICE.

    DEVICE defaults to :func:`run_device`, AVAILABLE to :func:`available_bytes`. Returns
    the estimate (None when there is none).
    """
    if not getattr(cfg, "memory_check", True):
        return None
    device = device or run_device()
    e = estimate(cfg, device)
    if e is None:
        return None
    room = available_bytes(device) if available is None else available
    if e.fits(room):
        return e
    what = "RAM" if e.device == "cpu" else f"memory on {device}"
    tip = _smaller(cfg, lambda c: estimate(c, device), int(room * HEADROOM))
    fix = tip or "nothing smaller of this model fits; use a machine with more memory"
    raise LpmError(
        f"{STAGES[e.stage]} needs {e.describe()} but {gib(room)} of {what} is free; {fix}, "
        "or pass --no-memory-check to try anyway."
    )


__all__ = [
    "MemoryEstimate",
    "available_bytes",
    "check_fits",
    "estimate",
    "gib",
    "run_device",
]
