"""LDM throughput: lpm's training and sampling loops against a plain MONAI-tutorial loop.

Same networks (lpm's "small" preset and VQ-GAN autoencoder, same weights), same machine,
A/B interleaved in rounds. The plain loop is written the way the MONAI generative tutorials
write it (generation/3d_ldm/train_diffusion.py and the 2D/3D LDM notebooks):
``LatentDiffusionInferer`` for the training forward pass, Adam, CUDA-only autocast (a no-op
on CPU), and ``inferer.sample(...)`` under ``torch.no_grad`` with one sample at a time and
the UNet's default (non-SDPA) attention. lpm runs its own step functions (the bodies of
``train_ldm`` and ``generate``): AdamW + gradient clipping + EMA, SDPA attention, bf16
autocast for sampling where the hardware has it (training on CPUs stays fp32; ``lpm_bf16``
shows what bf16 training would give), ``torch.inference_mode``, and each item's latent
encoded once and cached (``lpm_no_cache`` encodes every iteration, like the tutorial).

    .venv/bin/python bench/ldm_throughput.py            # full run (several minutes on CPU)
    .venv/bin/python bench/ldm_throughput.py --quick    # smaller, for a smoke test

Prints one line per measurement and a JSON object last.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import torch
import torch.nn.functional as F
from monai.inferers import LatentDiffusionInferer
from monai.networks.nets import VQVAE, DiffusionModelUNet
from monai.networks.schedulers import DDPMScheduler

from lpm.ldm import TrainConfig, autoencoder_kwargs, preset
from lpm.ldm.diffusion import _build as build_stage2
from lpm.ldm.diffusion import stage2_step
from lpm.ldm.latents import encode
from lpm.ldm.networks import memory_format
from lpm.ldm.runtime import Runtime, amp_dtype_for
from lpm.ldm.sampling import Sampler
from lpm.ldm.schedulers import make_scheduler, schedule_args

SCHEDULE = schedule_args("scaled_linear_beta", 0.0015, 0.0195, 1000)


def _networks(dims: int, seed: int = 0) -> tuple[torch.nn.Module, dict, dict]:
    torch.manual_seed(seed)
    ae_kwargs = autoencoder_kwargs(dims, channels=32, num_embeddings=64)
    ae = VQVAE(**ae_kwargs).eval().requires_grad_(False)
    unet_kwargs = preset(dims, "small")
    plain_kwargs = {**unet_kwargs, "use_flash_attention": False}  # MONAI's default
    return ae, unet_kwargs, plain_kwargs


# ---------------------------------------------------------------- training


class PlainTrain:
    """The MONAI tutorial's diffusion training iteration."""

    def __init__(self, ae: torch.nn.Module, unet: torch.nn.Module, images: torch.Tensor) -> None:
        self.ae, self.unet, self.images = ae, unet, images
        self.scheduler = DDPMScheduler(**SCHEDULE)
        with torch.no_grad():
            z = ae.encode_stage_2_inputs(images)
        self.z_shape = z.shape
        self.inferer = LatentDiffusionInferer(self.scheduler, scale_factor=float(1 / z.std()))
        self.opt = torch.optim.Adam(unet.parameters(), lr=1e-4)
        self.scaler = torch.amp.GradScaler("cuda", enabled=torch.cuda.is_available())

    def step(self) -> None:
        images = self.images
        self.opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", enabled=torch.cuda.is_available()):
            noise = torch.randn([images.shape[0], *self.z_shape[1:]], dtype=images.dtype)
            timesteps = torch.randint(0, 1000, (images.shape[0],)).long()
            pred = self.inferer(
                inputs=images,
                autoencoder_model=self.ae,
                diffusion_model=self.unet,
                noise=noise,
                timesteps=timesteps,
            )
            loss = F.l1_loss(pred.float(), noise.float())
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        loss.item()


class LpmTrain:
    """lpm's training iteration (encode + stage2_step, as in train_ldm)."""

    def __init__(
        self,
        ae: torch.nn.Module,
        unet_state: dict,
        images: torch.Tensor,
        dims: int,
        channels_last: bool = False,
        cache: bool = True,
        bf16: bool = False,
    ) -> None:
        device = torch.device("cpu")
        # lpm trains in fp32 on CPUs (see lpm.ldm.runtime.amp_dtype_for); bf16 for comparison.
        amp_dtype = torch.bfloat16 if bf16 else amp_dtype_for(device, True, training=True)
        self.rt = Runtime(device=device, amp_dtype=amp_dtype)
        size = tuple(images.shape[2:])
        self.cfg = TrainConfig(dims=dims, size=size, channels_last=channels_last)
        self.s, _ = build_stage2(self.cfg, self.rt, latent_channels=3)
        self.s.unet.load_state_dict(unet_state)
        self.ae, self.images = ae, images
        if channels_last:
            self.images = images.contiguous(memory_format=memory_format(dims))
        z = encode(ae, images, 1.0, self.rt)
        self.s.scale_factor = float(1 / z.std())
        # Steady state of train_ldm's latent cache: every item's latent was encoded once.
        self.cached = None
        if cache:
            self.cached = torch.stack([encode(ae, im[None], 1.0, self.rt)[0] for im in images])

    def step(self) -> None:
        if self.cached is not None:
            latents = torch.stack(list(self.cached)) * self.s.scale_factor
        else:
            latents = encode(self.ae, self.images, 1.0, self.rt) * self.s.scale_factor
        float(stage2_step(self.s, latents, self.cfg, self.rt))


# ---------------------------------------------------------------- sampling


class PlainSample:
    """The MONAI tutorial's sampling: inferer.sample, one sample, torch.no_grad inside."""

    def __init__(self, ae: torch.nn.Module, unet: torch.nn.Module, latent: tuple, steps: int):
        self.ae, self.unet, self.latent, self.steps = ae, unet.eval(), latent, steps
        self.scheduler = DDPMScheduler(**SCHEDULE)
        self.inferer = LatentDiffusionInferer(self.scheduler, scale_factor=1.0)

    def sample(self, batch: int) -> None:
        self.scheduler.set_timesteps(num_inference_steps=self.steps)
        noise = torch.randn((batch, *self.latent))
        with torch.autocast("cuda", enabled=torch.cuda.is_available()):
            self.inferer.sample(
                input_noise=noise,
                autoencoder_model=self.ae,
                diffusion_model=self.unet,
                scheduler=self.scheduler,
                verbose=False,
            )


class LpmSample:
    """lpm's sampling loop (Sampler.denoise_step + decode, as in generate())."""

    def __init__(
        self,
        ae: torch.nn.Module,
        unet: torch.nn.Module,
        latent: tuple,
        steps: int,
        dims: int,
        channels_last: bool = False,
        amp: bool = True,
    ):
        device = torch.device("cpu")
        rt = Runtime(device=device, amp_dtype=amp_dtype_for(device, amp))
        unet = unet.eval().requires_grad_(False)
        if channels_last:
            unet = unet.to(memory_format=memory_format(dims))
        self.s = Sampler(
            unet=unet,
            autoencoder=ae,
            scheduler=make_scheduler("ddpm", SCHEDULE),
            scale_factor=1.0,
            latent_shape=latent,
            dims=dims,
            num_train_timesteps=1000,
            rt=rt,
            steps=steps,
            channels_last=channels_last,
            forward=unet,
            info={"sampler": "ddpm"},
        )
        self.gen = torch.Generator().manual_seed(0)

    def sample(self, batch: int) -> None:
        timesteps = self.s.reset()
        with torch.inference_mode():
            x = self.s.noise(batch, self.gen)
            for t in timesteps:
                x = self.s.denoise_step(x, t, self.gen)
            self.s.decode(x)


# ---------------------------------------------------------------- timing


def _rate(fn: Any, n: int) -> float:
    """Seconds per call of fn over n calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def interleave(variants: dict[str, Any], n: int, rounds: int) -> dict[str, float]:
    """Median seconds per call for each variant, measured A/B/... interleaved in rounds."""
    for fn in variants.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for k in order:
            times[k].append(_rate(variants[k], n))
    return {k: statistics.median(v) for k, v in times.items()}


def bench_case(
    dims: int,
    size: int,
    *,
    batch: int,
    steps: int,
    iters: int,
    rounds: int,
    compile_unet: bool = False,
) -> dict[str, Any]:
    ae, unet_kwargs, plain_kwargs = _networks(dims)
    torch.manual_seed(1)
    plain_unet = DiffusionModelUNet(**plain_kwargs)
    state = copy.deepcopy(plain_unet.state_dict())
    images = torch.rand((batch, 1) + (size,) * dims) * 2 - 1
    train = interleave(
        {
            "plain": PlainTrain(ae, plain_unet, images).step,
            "lpm": LpmTrain(ae, state, images, dims).step,
            "lpm_no_cache": LpmTrain(ae, state, images, dims, cache=False).step,
            "lpm_bf16": LpmTrain(ae, state, images, dims, bf16=True).step,
            "lpm_channels_last": LpmTrain(ae, state, images, dims, channels_last=True).step,
        },
        iters,
        rounds,
    )
    latent = (3,) + (size // 4,) * dims
    lpm_unet = DiffusionModelUNet(**unet_kwargs)
    lpm_unet.load_state_dict(state)
    lpm_unet_cl = copy.deepcopy(lpm_unet)
    plain_s = PlainSample(ae, copy.deepcopy(plain_unet), latent, steps)
    lpm_s = LpmSample(ae, lpm_unet, latent, steps, dims)
    lpm_cl = LpmSample(ae, lpm_unet_cl, latent, steps, dims, channels_last=True)
    lpm_fp32 = LpmSample(ae, copy.deepcopy(lpm_unet), latent, steps, dims, amp=False)
    no_sdpa_unet = copy.deepcopy(plain_unet)  # MONAI's default attention, lpm's loop
    lpm_no_sdpa = LpmSample(ae, no_sdpa_unet, latent, steps, dims)
    variants = {
        "plain": lambda: plain_s.sample(1),
        "lpm": lambda: lpm_s.sample(1),
        "lpm_channels_last": lambda: lpm_cl.sample(1),
        "lpm_fp32": lambda: lpm_fp32.sample(1),
        "lpm_no_sdpa": lambda: lpm_no_sdpa.sample(1),
        "lpm_batch4": lambda: lpm_s.sample(4),
    }
    compile_s = None
    if compile_unet:  # --compile: compiled once (timed apart), then measured like the rest
        lpm_c = LpmSample(ae, copy.deepcopy(lpm_unet), latent, steps, dims)
        lpm_c.s.forward = torch.compile(lpm_c.s.unet)
        t0 = time.perf_counter()
        lpm_c.sample(1)
        compile_s = time.perf_counter() - t0
        variants["lpm_compile"] = lambda: lpm_c.sample(1)
    sample = interleave(variants, 1, rounds)
    sample["lpm_batch4"] /= 4  # seconds per sample
    row = {
        "dims": dims,
        "size": size,
        "train_batch": batch,
        "sample_steps": steps,
        "train_it_per_s": {k: 1 / v for k, v in train.items()},
        "sample_s_per_sample": sample,
        "train_ratio": train["plain"] / train["lpm"],
        "train_ratio_no_cache": train["plain"] / train["lpm_no_cache"],
        "train_ratio_channels_last": train["plain"] / train["lpm_channels_last"],
        "train_ratio_bf16": train["plain"] / train["lpm_bf16"],
        "sample_ratio": sample["plain"] / sample["lpm"],
        "sample_ratio_channels_last": sample["plain"] / sample["lpm_channels_last"],
        "sample_ratio_fp32": sample["plain"] / sample["lpm_fp32"],
        "sample_ratio_no_sdpa": sample["plain"] / sample["lpm_no_sdpa"],
        "sample_ratio_batch4": sample["plain"] / sample["lpm_batch4"],
    }
    if compile_s is not None:
        row["compile_s"] = compile_s
        row["sample_ratio_compile"] = sample["plain"] / sample["lpm_compile"]
        print(
            f"{dims}D {size}: torch.compile {compile_s:.0f} s, "
            f"sample x{row['sample_ratio_compile']:.2f}"
        )
    print(
        f"{dims}D {size}: train {row['train_it_per_s']['plain']:.2f} -> "
        f"{row['train_it_per_s']['lpm']:.2f} it/s (x{row['train_ratio']:.2f}, no latent cache "
        f"x{row['train_ratio_no_cache']:.2f}, channels_last "
        f"x{row['train_ratio_channels_last']:.2f}, bf16 x{row['train_ratio_bf16']:.2f}); "
        f"sample {sample['plain']:.2f} -> "
        f"{sample['lpm']:.2f} s/sample at {steps} steps (x{row['sample_ratio']:.2f}, "
        f"channels_last x{row['sample_ratio_channels_last']:.2f}, "
        f"fp32 x{row['sample_ratio_fp32']:.2f}, no SDPA x{row['sample_ratio_no_sdpa']:.2f}, "
        f"batch 4 x{row['sample_ratio_batch4']:.2f})",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--only", default=None, help="one case, e.g. 2:192 or 3:64")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        cases = [(2, 32, 2, 5, 2), (3, 16, 1, 5, 2)]
    else:  # (dims, size, train batch, sampling steps, train iterations per round)
        # Enough denoising steps that the one-off decoding does not dominate a sample (the
        # paper samples with 200 or 1000 steps).
        cases = [(2, 192, 4, 100, 3), (2, 256, 2, 100, 3), (3, 32, 2, 100, 5), (3, 64, 1, 50, 2)]
    if args.only:
        cases = [c for c in cases if f"{c[0]}:{c[1]}" == args.only]
    rows = [
        bench_case(d, s, batch=b, steps=st, iters=it, rounds=args.rounds, compile_unet=args.compile)
        for d, s, b, st, it in cases
    ]
    device = torch.device("cpu")
    result = {
        "benchmark": "ldm_throughput",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "amp_dtype": str(amp_dtype_for(device, True)),
        "model": "small",
        "cases": rows,
        "train_ratio_min": min(r["train_ratio"] for r in rows),
        "sample_ratio_min": min(r["sample_ratio"] for r in rows),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
