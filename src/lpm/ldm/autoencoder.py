"""Stage 1: train the VQ-GAN (MONAI VQVAE + PatchDiscriminator) in one process.

Loss of the generator: L1 reconstruction + the VQ codebook (commitment) loss + an
adversarial loss (least squares, after a warm-up; none with adv_weight 0) + a perceptual
loss only when its weights are already on disk. The discriminator learns from real vs
reconstructed images (not at all with adv_weight 0).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from lpm.errors import LpmError
from lpm.ldm import checkpoint as ckpt
from lpm.ldm import segments
from lpm.ldm import stage as loop
from lpm.ldm.config import AutoencoderConfig
from lpm.ldm.data import make_dataset, make_loader
from lpm.ldm.flops import count_flops
from lpm.ldm.memory import check_fits
from lpm.ldm.networks import (
    AUTOENCODER_FILE,
    build_autoencoder,
    build_discriminator,
    count_parameters,
)
from lpm.ldm.outputs import AUTOENCODER, check_output
from lpm.ldm.patches import random_patches
from lpm.ldm.presets import config_autoencoder_kwargs, discriminator_kwargs
from lpm.ldm.results import AutoencoderResult
from lpm.ldm.runtime import Runtime, amp_dtype_for
from lpm.ldm.tracking import training_measurements
from lpm.units import J_PER_KWH

log = logging.getLogger(__name__)


@dataclass
class _Stage1:
    """Everything the stage-1 loop updates (and a checkpoint saves)."""

    vqvae: torch.nn.Module
    disc: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler_g: torch.amp.GradScaler
    scaler_d: torch.amp.GradScaler
    perceptual: torch.nn.Module | None


def _perceptual_loss(cfg: AutoencoderConfig, device: torch.device) -> torch.nn.Module | None:
    if cfg.perceptual_weights is None or cfg.perceptual_weight == 0:
        return None
    path = Path(cfg.perceptual_weights)
    if not path.is_file():
        raise LpmError(
            f"perceptual weights {path} not found; lpm never downloads weights, so put a "
            "torchvision ResNet-50 state dict there or leave --perceptual-weights out."
        )
    try:
        from monai.losses import PerceptualLoss

        loss = PerceptualLoss(
            spatial_dims=cfg.dims, network_type="resnet50", pretrained_path=str(path)
        )
    except ImportError as exc:  # MONAI's message carries the original traceback: not shown
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LpmError(
            f"--perceptual-weights needs torchvision ({first.rstrip('.')}); install it "
            "(pip install torchvision) or leave --perceptual-weights out."
        ) from None
    except (RuntimeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LpmError(f"cannot use perceptual weights {path}: {first}") from None
    return loss.to(device).eval()


def _build(cfg: AutoencoderConfig, rt: Runtime) -> _Stage1:
    torch.manual_seed(cfg.seed)
    vqvae = build_autoencoder(_kwargs_of(cfg)).to(rt.device)
    disc = build_discriminator(discriminator_kwargs(cfg.dims, cfg.train_shape)).to(rt.device)
    use_scaler = rt.needs_grad_scaler
    return _Stage1(
        vqvae=vqvae,
        disc=disc,
        opt_g=torch.optim.AdamW(vqvae.parameters(), lr=cfg.lr),
        opt_d=torch.optim.AdamW(disc.parameters(), lr=cfg.lr_discriminator),
        scaler_g=torch.amp.GradScaler(rt.device.type, enabled=use_scaler),
        scaler_d=torch.amp.GradScaler(rt.device.type, enabled=use_scaler),
        perceptual=_perceptual_loss(cfg, rt.device),
    )


def _adv(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss on the last PatchDiscriminator output (as PatchAdversarialLoss)."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.mse_loss(logits.float(), target)


def stage1_step(
    s: _Stage1, images: torch.Tensor, cfg: AutoencoderConfig, rt: Runtime, adversarial: bool
) -> dict[str, float]:
    """One generator (+ discriminator, once adversarial) update; returns the losses."""
    s.vqvae.train()
    s.opt_g.zero_grad(set_to_none=True)
    with rt.autocast():
        recon, q_loss = s.vqvae(images)
        recon_l1 = F.l1_loss(recon.float(), images.float())
        loss_g = recon_l1 + q_loss.float().mean()
        if s.perceptual is not None:
            loss_g = loss_g + cfg.perceptual_weight * s.perceptual(recon.float(), images.float())
        if adversarial:
            logits_fake = s.disc(recon.contiguous())[-1]
            loss_g = loss_g + cfg.adv_weight * _adv(logits_fake, real=True)
    s.scaler_g.scale(loss_g).backward()
    s.scaler_g.step(s.opt_g)
    s.scaler_g.update()
    out = {"recon_l1": float(recon_l1.detach()), "loss_g": float(loss_g.detach())}
    if adversarial:
        s.opt_d.zero_grad(set_to_none=True)
        with rt.autocast():
            fake = s.disc(recon.detach().contiguous())[-1]
            real = s.disc(images.contiguous())[-1]
            loss_d = cfg.adv_weight * 0.5 * (_adv(fake, real=False) + _adv(real, real=True))
        s.scaler_d.scale(loss_d).backward()
        s.scaler_d.step(s.opt_d)
        s.scaler_d.update()
        out["loss_d"] = float(loss_d.detach())
    return out


def _state(s: _Stage1, iteration: int, cfg: AutoencoderConfig) -> dict[str, Any]:
    return {
        "iteration": iteration,
        "config": cfg.model_dump(mode="json"),
        "vqvae": s.vqvae.state_dict(),
        "disc": s.disc.state_dict(),
        "opt_g": s.opt_g.state_dict(),
        "opt_d": s.opt_d.state_dict(),
        "scaler_g": s.scaler_g.state_dict(),
        "scaler_d": s.scaler_d.state_dict(),
        "rng": ckpt.rng_state(),
    }


def _restore(s: _Stage1, state: dict[str, Any]) -> int:
    s.vqvae.load_state_dict(state["vqvae"])
    s.disc.load_state_dict(state["disc"])
    s.opt_g.load_state_dict(state["opt_g"])
    s.opt_d.load_state_dict(state["opt_d"])
    s.scaler_g.load_state_dict(state["scaler_g"])
    s.scaler_d.load_state_dict(state["scaler_d"])
    ckpt.set_rng_state(state["rng"])
    return int(state["iteration"])


_RESUME_KEYS = ("dims", "size", "downsample", "latent_channels", "num_embeddings", "channels")


@dataclass
class _Stage1Loop:
    """Stage 1 as the training-stage loop drives it (lpm.ldm.stage.TrainingStage)."""

    s: _Stage1
    cfg: AutoencoderConfig
    rt: Runtime
    adv_warmup: int
    loader: Any = None
    losses: list[dict[str, float]] = field(default_factory=list)

    def restore(self, state: dict[str, Any]) -> int:
        return _restore(self.s, state)

    def next_batch(self) -> torch.Tensor:
        return next(self.loader).to(self.rt.device, non_blocking=True)

    def step(self, iteration: int, batch: torch.Tensor) -> dict[str, float]:
        # --adv-weight 0: no discriminator work at all (in 3D on a CPU it is ~80 % of a step)
        adversarial = iteration >= self.adv_warmup and self.cfg.adv_weight > 0
        batch = _patches(batch, self.cfg, iteration)
        self.losses.append(stage1_step(self.s, batch, self.cfg, self.rt, adversarial))
        return {"recon_l1": self.losses[-1]["recon_l1"]}

    def state(self, iteration: int) -> dict[str, Any]:
        return _state(self.s, iteration, self.cfg)

    def before_checkpoint(self) -> None:
        return None


def _patches(batch: torch.Tensor, cfg: AutoencoderConfig, iteration: int) -> torch.Tensor:
    """The batch as the step trains on it: random crops under --patch-size, else as is."""
    return random_patches(
        batch, cfg.train_shape, step=cfg.downsample, seed=cfg.seed, iteration=iteration
    )


def _count_flops(
    s: _Stage1, images: torch.Tensor, cfg: AutoencoderConfig, rt: Runtime
) -> int | None:
    """FLOPs of one full iteration (generator and discriminator), leaving no trace."""
    images = _patches(images, cfg, 0)
    saved = copy.deepcopy(_state(s, 0, cfg))  # state_dict() holds live tensors
    adversarial = cfg.adv_weight > 0
    flops = count_flops(lambda: stage1_step(s, images, cfg, rt, adversarial=adversarial))
    _restore(s, saved)
    return flops


def train_autoencoder(cfg: AutoencoderConfig, *, meters: Any = None) -> AutoencoderResult:
    """Train the VQ-GAN; writes autoencoder.pt, checkpoints, the energy record, summary.json.

    A run whose out dir holds a checkpoint resumes from it. Always one process: under
    torchrun, call it on rank 0 only.
    """
    out = check_output(cfg.out, AUTOENCODER)
    check_fits(cfg)
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    rt = Runtime(device=device, amp_dtype=amp_dtype_for(device, cfg.amp, training=True))
    out.mkdir(parents=True, exist_ok=True)
    state = loop.resume_state(cfg, _RESUME_KEYS, "an autoencoder run")
    ckpt.seed_everything(cfg.seed)
    warmup = cfg.adv_warmup_iterations if cfg.adv_warmup_iterations >= 0 else cfg.iterations // 4
    stage = _Stage1Loop(_build(cfg, rt), cfg, rt, adv_warmup=warmup)
    dataset = make_dataset(
        cfg.data, cfg.dims, cfg.size, seed=cfg.seed, n=cfg.n_items, skip_bad=cfg.skip_bad
    )
    start = loop.resume(stage, state)
    stage.loader = make_loader(
        dataset, cfg.batch_size, seed=cfg.seed, start_batch=start, num_workers=cfg.num_workers
    )
    first_batch = next(stage.loader).to(rt.device)
    s = stage.s
    flops = _count_flops(s, first_batch, cfg, rt)
    params = count_parameters(s.vqvae) + count_parameters(s.disc)
    tracker = loop.stage_tracker(cfg, meters=meters, run_name="train-autoencoder", rt=rt)
    with tracker:
        loop.run_iterations(
            stage,
            cfg,
            tracker,
            start=start,
            first_batch=first_batch,
            label="autoencoder",
            earlier_segments=segments.earlier(state),
        )
        ckpt.save_atomic(
            {
                "kind": "lpm-autoencoder",
                "kwargs": _kwargs_of(cfg),
                "state": s.vqvae.state_dict(),
                "dims": cfg.dims,
                "size": list(cfg.size),
                "downsample": cfg.downsample,
                "config": cfg.model_dump(mode="json"),
            },
            out / AUTOENCODER_FILE,
        )
    summary, measured = training_measurements(tracker, max(cfg.iterations - start, 0))
    rows = segments.pool_measured(
        measured, segments.earlier(state), start=start, end=max(cfg.iterations, start)
    )
    losses = stage.losses
    result = AutoencoderResult(
        out=out,
        **measured,
        flops_per_iteration=flops,
        parameters=params,
        world_size=1,
        recon_l1_first=losses[0]["recon_l1"] if losses else float("nan"),
        recon_l1_last=losses[-1]["recon_l1"] if losses else float("nan"),
        extra={
            "stage": "autoencoder",
            "dims": cfg.dims,
            "size": list(cfg.size),
            "downsample": cfg.downsample,
            **loop.common_extra(summary, rt, start=start, cfg=cfg, segment_rows=rows),
            "it_energy_j": float(summary.it_energy_kwh) * J_PER_KWH,
        },
    )
    loop.write_outputs(result, cfg)
    return result


def _kwargs_of(cfg: AutoencoderConfig) -> dict[str, Any]:
    """The VQVAE's constructor arguments (also saved in autoencoder.pt)."""
    kwargs = config_autoencoder_kwargs(cfg)
    kwargs["ddp_sync"] = False  # stage 1 always trains in one process
    return kwargs
