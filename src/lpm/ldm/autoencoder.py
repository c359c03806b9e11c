"""Stage 1: train the VQ-GAN (MONAI VQVAE + PatchDiscriminator) in one process.

Loss of the generator: L1 reconstruction + the VQ codebook (commitment) loss + an
adversarial loss (least squares, after a warm-up) + a perceptual loss only when its
weights are already on disk. The discriminator learns from real vs reconstructed images.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from lpm.errors import LpmError
from lpm.ldm import checkpoint as ckpt
from lpm.ldm.config import AutoencoderConfig
from lpm.ldm.data import make_dataset, make_loader
from lpm.ldm.flops import count_flops
from lpm.ldm.networks import (
    AUTOENCODER_FILE,
    build_autoencoder,
    build_discriminator,
    count_parameters,
)
from lpm.ldm.presets import autoencoder_kwargs, discriminator_kwargs
from lpm.ldm.progress import LiveProgress
from lpm.ldm.results import AutoencoderResult, write_summary
from lpm.ldm.runtime import Runtime, amp_dtype_for
from lpm.ldm.tracking import J_PER_KWH, open_tracker, provenance_by_kind, training_measurements

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
    except (ImportError, RuntimeError, OSError) as exc:
        raise LpmError(f"cannot use perceptual weights {path}: {exc}") from None
    return loss.to(device).eval()


def _build(cfg: AutoencoderConfig, rt: Runtime) -> _Stage1:
    torch.manual_seed(cfg.seed)
    kwargs = autoencoder_kwargs(
        cfg.dims,
        downsample=cfg.downsample,
        latent_channels=cfg.latent_channels,
        num_embeddings=cfg.num_embeddings,
        channels=cfg.channels,
    )
    kwargs["ddp_sync"] = False  # stage 1 always trains in one process
    vqvae = build_autoencoder(kwargs).to(rt.device)
    disc = build_discriminator(discriminator_kwargs(cfg.dims, cfg.size)).to(rt.device)
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


def _resume_state(cfg: AutoencoderConfig, path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    state = ckpt.load(path)
    saved = state.get("config", {})
    mine = cfg.model_dump(mode="json")
    for key in _RESUME_KEYS:
        if saved.get(key) != mine.get(key):
            raise LpmError(
                f"{cfg.out} holds an autoencoder run with {key}={saved.get(key)}, not "
                f"{mine.get(key)}; use another --out or delete that directory."
            )
    return state


def _count_flops(
    s: _Stage1, images: torch.Tensor, cfg: AutoencoderConfig, rt: Runtime
) -> int | None:
    """FLOPs of one full iteration (generator and discriminator), leaving no trace."""
    saved = copy.deepcopy(_state(s, 0, cfg))  # state_dict() holds live tensors
    flops = count_flops(lambda: stage1_step(s, images, cfg, rt, adversarial=True))
    _restore(s, saved)
    return flops


def train_autoencoder(cfg: AutoencoderConfig, *, meters: Any = None) -> AutoencoderResult:
    """Train the VQ-GAN; writes autoencoder.pt, checkpoints, the energy record, summary.json.

    A run whose out dir holds a checkpoint resumes from it. Always one process: under
    torchrun, call it on rank 0 only.
    """
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    rt = Runtime(device=device, amp_dtype=amp_dtype_for(device, cfg.amp, training=True))
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoints" / ckpt.LAST
    state = _resume_state(cfg, ckpt_path)
    ckpt.seed_everything(cfg.seed)
    s = _build(cfg, rt)
    dataset = make_dataset(
        cfg.data, cfg.dims, cfg.size, seed=cfg.seed, n=cfg.n_items, skip_bad=cfg.skip_bad
    )
    start = _restore(s, state) if state is not None else 0
    loader = make_loader(
        dataset, cfg.batch_size, seed=cfg.seed, start_batch=start, num_workers=cfg.num_workers
    )
    warmup = cfg.adv_warmup_iterations
    if warmup < 0:
        warmup = cfg.iterations // 4
    first_batch = next(loader).to(rt.device)
    flops = _count_flops(s, first_batch, cfg, rt)
    params = count_parameters(s.vqvae) + count_parameters(s.disc)
    losses: list[dict[str, float]] = []
    tracker = open_tracker(
        meters=meters,
        interval_s=cfg.interval_s,
        log_dir=out,
        run_name="train-autoencoder",
        pue=cfg.pue,
        region=cfg.region,
        warmup_steps=cfg.warmup_iterations,
        cuda=rt.device.type == "cuda",
    )
    images = first_batch
    with tracker:
        with LiveProgress(
            "autoencoder",
            cfg.iterations,
            tracker=tracker,
            enabled=cfg.progress,
            completed=start,
        ) as bar:
            it = start
            while it < cfg.iterations:
                with tracker.window("train"):
                    while it < cfg.iterations:
                        if it > start:
                            images = next(loader).to(rt.device, non_blocking=True)
                        losses.append(stage1_step(s, images, cfg, rt, adversarial=it >= warmup))
                        it += 1
                        tracker.step()
                        bar.advance(recon_l1=losses[-1]["recon_l1"])
                        if it % cfg.checkpoint_every == 0 or it == cfg.iterations:
                            break
                with tracker.window("checkpoint"):
                    ckpt.save_atomic(_state(s, it, cfg), ckpt_path)
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
            "resumed_from": start,
            "total_iterations": cfg.iterations,
            "provenance_by_kind": provenance_by_kind(summary),
            "facility_energy_kwh": float(summary.facility_energy_kwh),
            "it_energy_j": float(summary.it_energy_kwh) * J_PER_KWH,
            "amp_dtype": str(rt.amp_dtype).removeprefix("torch.") if rt.amp_dtype else None,
            "device": str(rt.device),
            "run_record": getattr(summary, "path", None),
        },
    )
    write_summary(result, out / "summary.json")
    (out / "config.json").write_text(
        json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
    )
    return result


def _kwargs_of(cfg: AutoencoderConfig) -> dict[str, Any]:
    kwargs = autoencoder_kwargs(
        cfg.dims,
        downsample=cfg.downsample,
        latent_channels=cfg.latent_channels,
        num_embeddings=cfg.num_embeddings,
        channels=cfg.channels,
    )
    kwargs["ddp_sync"] = False
    return kwargs
