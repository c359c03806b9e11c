"""Sampling: denoise latents with a MONAI scheduler, decode, write HU NIfTI + PNG previews."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lpm.errors import LpmError
from lpm.ldm.config import SampleConfig
from lpm.ldm.flops import count_flops
from lpm.ldm.interrupted import Interrupted, sampling_interrupted
from lpm.ldm.memory import check_fits
from lpm.ldm.networks import build_autoencoder, build_unet, load_ldm, memory_format
from lpm.ldm.outputs import SAMPLES, check_output, clear_samples
from lpm.ldm.progress import LiveProgress
from lpm.ldm.results import SampleResult, write_summary
from lpm.ldm.runtime import Runtime, amp_dtype_for
from lpm.ldm.schedulers import check_sampler, make_scheduler, schedule_objective, set_steps
from lpm.ldm.tracking import (
    open_tracker,
    provenance_by_kind,
    synthesis_measurements,
    window_energy_j,
    window_steps,
)
from lpm.provenance import Provenance
from lpm.units import J_PER_KWH


@dataclass
class Sampler:
    """A trained LDM ready to sample: UNet, autoencoder, scheduler, scale factor."""

    unet: torch.nn.Module
    autoencoder: torch.nn.Module
    scheduler: Any
    scale_factor: float
    latent_shape: tuple[int, ...]
    dims: int
    num_train_timesteps: int
    rt: Runtime
    steps: int
    channels_last: bool = False
    forward: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    next_timestep: dict[int, int] = field(default_factory=dict)

    def reset(self) -> list[int]:
        """Fresh timesteps (stateful samplers such as PNDM need this per batch)."""
        numel = math.prod(self.latent_shape[1:])
        set_steps(self.scheduler, self.steps, self.num_train_timesteps, self.rt.device, numel)
        timesteps = [int(t) for t in self.scheduler.timesteps]
        # rectified flow integrates from each timestep to the next (the last one to 0)
        self.next_timestep = dict(zip(timesteps, [*timesteps[1:], 0], strict=True))
        return timesteps

    def noise(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        x = torch.randn((batch, *self.latent_shape), generator=generator, device=self.rt.device)
        if self.channels_last:
            x = x.contiguous(memory_format=memory_format(self.dims))
        return x

    def denoise_step(
        self, x: torch.Tensor, t: int, generator: torch.Generator | None
    ) -> torch.Tensor:
        """One denoising step x_t -> x_{t-1} (call inside torch.inference_mode)."""
        timesteps = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        with self.rt.autocast():
            eps = self.forward(x, timesteps=timesteps)
        x, _ = self.scheduler.step(eps.float(), t, x, **self._step_kwargs(t, generator))
        return x

    def _step_kwargs(self, t: int, generator: torch.Generator | None) -> dict[str, Any]:
        """What the sampler's step takes besides (output, t, x)."""
        key = self.info["sampler"]
        if key == "rflow":
            return {"next_timestep": self.next_timestep[t]}
        return {"generator": generator} if key in ("ddpm", "ddim") else {}

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] (float32) from latents (call inside torch.inference_mode)."""
        return self.autoencoder.decode_stage_2_outputs(latents / self.scale_factor).float()


def load_sampler(
    run: str | Path,
    *,
    sampler: str,
    steps: int,
    device: torch.device,
    amp: bool = True,
    ema: bool = True,
    compile: bool = False,
    channels_last: bool = False,
    blob: dict[str, Any] | None = None,
) -> Sampler:
    """Load a trained run for sampling (`blob`: its already loaded ldm.pt contents)."""
    blob = load_ldm(run) if blob is None else blob
    key = check_sampler(sampler, schedule_objective(blob["schedule"]))
    rt = Runtime(device=device, amp_dtype=amp_dtype_for(device, amp))
    unet = build_unet(blob["unet_kwargs"])
    weights = blob["ema"] if ema and blob.get("ema") is not None else blob["unet"]
    unet.load_state_dict(weights)
    unet = unet.to(device).eval().requires_grad_(False)
    dims = int(blob["dims"])
    if channels_last:
        unet = unet.to(memory_format=memory_format(dims))
    autoencoder = build_autoencoder(blob["autoencoder"]["kwargs"])
    autoencoder.load_state_dict(blob["autoencoder"]["state"])
    autoencoder = autoencoder.to(device).eval().requires_grad_(False)
    schedule = dict(blob["schedule"])
    s = Sampler(
        unet=unet,
        autoencoder=autoencoder,
        scheduler=make_scheduler(key, schedule),
        scale_factor=float(blob["scale_factor"]),
        latent_shape=tuple(int(v) for v in blob["latent_shape"]),
        dims=dims,
        num_train_timesteps=int(schedule["num_train_timesteps"]),
        rt=rt,
        steps=int(steps),
        channels_last=channels_last,
        forward=torch.compile(unet) if compile else unet,
        info={
            "sampler": key,
            "objective": schedule_objective(schedule),
            "size": list(blob["size"]),
            "model": blob.get("model"),
        },
    )
    s.reset()  # validates the step count early
    return s


def _batches(n: int, batch_size: int) -> Iterator[int]:
    done = 0
    while done < n:
        b = min(batch_size, n - done)
        yield b
        done += b


def batch_sizes(n: int, batch_size: int) -> list[int]:
    """Samples in each batch of a run of n samples (the last one may be smaller)."""
    return list(_batches(n, batch_size))


def write_sample(image_unit: torch.Tensor, path_stem: Path, *, png: bool) -> list[Path]:
    """Write one decoded image (1, *size) in [-1, 1] as HU NIfTI (+ PNG preview)."""
    from lpm.datasets import to_hu, write_nifti, write_png_preview

    hu = to_hu(image_unit[0].detach().cpu().numpy())
    files = [write_nifti(hu, path_stem.with_name(path_stem.name + ".nii.gz"))]
    if png:
        files.append(write_png_preview(hu, path_stem.with_name(path_stem.name + ".png")))
    return files


def _flops_per_step(s: Sampler, batch: int) -> int | None:
    x = torch.zeros((batch, *s.latent_shape), device=s.rt.device)
    ts = s.reset()
    gen = torch.Generator(device=s.rt.device).manual_seed(0)
    with torch.inference_mode():
        flops = count_flops(lambda: s.denoise_step(x, ts[0], gen))
    s.reset()
    return flops


def generate(
    run: str | Path,
    out: str | Path,
    *,
    n: int,
    steps: int,
    sampler: str = "ddim",
    batch_size: int = 1,
    seed: int = 0,
    device: torch.device | None = None,
    amp: bool = True,
    png: bool = True,
    tracker: Any = None,
    progress: bool = False,
    ema: bool = True,
    compile: bool = False,
    channels_last: bool = False,
    blob: dict[str, Any] | None = None,
) -> tuple[list[Path], Sampler]:
    """Sample n images from a trained run into `out`. Returns the files and the sampler.

    With a tracker, each batch is one window "sample_batch" holding, in turn, the windows
    "noise" (drawing the batch's initial noise), "sample" (its denoising steps, one
    ``tracker.step()`` per step) and "decode" (decoding the batch and writing its files).
    """
    if device is None:
        device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    s = load_sampler(
        run,
        sampler=sampler,
        steps=steps,
        device=device,
        amp=amp,
        ema=ema,
        compile=compile,
        channels_last=channels_last,
        blob=blob,
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator(device=device).manual_seed(seed)
    files: list[Path] = []
    index = 0
    sizes = batch_sizes(n, batch_size)
    total_steps = len(s.reset()) * len(sizes)

    def window(name: str) -> Any:
        return tracker.window(name) if tracker is not None else contextlib.nullcontext()

    moments = torch.zeros(3, dtype=torch.float64)  # count, sum, sum of squares of latents
    with LiveProgress("sample", total_steps, tracker=tracker, enabled=progress) as bar:
        for b in sizes:
            timesteps = s.reset()
            with window("sample_batch"), torch.inference_mode():
                with window("noise"):
                    x = s.noise(b, generator)
                with window("sample"):
                    for t in timesteps:
                        x = s.denoise_step(x, t, generator)
                        if tracker is not None:
                            tracker.step()
                        bar.advance()
                    moments += _moments(x)
                with window("decode"):
                    for i in range(b):  # one at a time: full-size 3D decoding is memory-hungry
                        image = s.decode(x[i : i + 1])[0]
                        files += write_sample(image, out / f"sample_{index:05d}", png=png)
                        index += 1
    s.info.update(latent_stats(moments))
    return files, s


def _moments(x: torch.Tensor) -> torch.Tensor:
    x = x.detach().double().cpu()
    return torch.stack(
        [torch.tensor(float(x.numel()), dtype=torch.float64), x.sum(), (x * x).sum()]
    )


def latent_stats(moments: torch.Tensor) -> dict[str, float]:
    """Mean and std of the sampled (scaled) latents from (count, sum, sum of squares).

    The training latents are scaled to std ~1, so a sampled std far from 1 (3 or 7, say)
    means sampling left the data distribution, whatever the decoded images look like.
    """
    n, total, squares = (float(v) for v in moments)
    if n <= 0:
        return {}
    mean = total / n
    return {"latent_mean": mean, "latent_std": max(squares / n - mean * mean, 0.0) ** 0.5}


def warmup_batches(cfg: SampleConfig) -> int:
    """Whole batches inside the warm-up: ``warmup_steps // steps``.

    The study passes ``warmup_steps = warmup_samples × steps`` with batch size 1, so this is
    its warm-up samples; these batches are left out of the per-sample statistics as their
    steps are left out of the per-step ones.
    """
    return cfg.warmup_steps // cfg.steps


def sample_ldm(cfg: SampleConfig, *, meters: Any = None) -> SampleResult:
    """Sample cfg.n images from a trained run; writes NIfTI (+PNG) files and summary.json."""
    out = check_output(cfg.out, SAMPLES, replace=cfg.replace)
    check_fits(cfg)
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    blob = load_ldm(cfg.run)  # fail early on bad input, before the tracker starts
    check_sampler(cfg.sampler, schedule_objective(blob["schedule"]))
    num_train = int(blob["schedule"]["num_train_timesteps"])
    if cfg.steps > num_train:
        raise LpmError(
            f"steps={cfg.steps} is out of range; the model was trained with {num_train} "
            f"timesteps, so use 1 to {num_train}."
        )
    sizes = batch_sizes(cfg.n, cfg.batch_size)
    warm = warmup_batches(cfg)
    if warm >= len(sizes):
        raise LpmError(
            f"warmup_steps={cfg.warmup_steps} covers all {len(sizes)} batch(es) of "
            f"{cfg.steps} steps, leaving nothing to measure; use fewer warm-up steps or more "
            "samples."
        )
    if cfg.replace:
        clear_samples(out)
    out.mkdir(parents=True, exist_ok=True)
    tracker = open_tracker(
        meters=meters,
        interval_s=cfg.interval_s,
        log_dir=out,
        run_name="sample",
        pue=cfg.pue,
        region=cfg.region,
        warmup_steps=cfg.warmup_steps,
        cuda=device.type == "cuda",
    )
    try:
        with tracker:
            files, s = generate(
                cfg.run,
                out,
                n=cfg.n,
                steps=cfg.steps,
                sampler=cfg.sampler,
                batch_size=cfg.batch_size,
                seed=cfg.seed,
                device=device,
                amp=cfg.amp,
                png=cfg.png,
                tracker=tracker,
                progress=cfg.progress,
                ema=cfg.ema,
                compile=cfg.compile,
                channels_last=cfg.channels_last,
                blob=blob,
            )
    except Interrupted:
        raise
    except KeyboardInterrupt:
        written = len(list(out.glob("sample_*.nii.gz")))
        raise sampling_interrupted(out, written, cfg.n) from None
    flops = _flops_per_step(s, min(cfg.batch_size, cfg.n))
    summary = tracker.summary()
    stats = tracker.step_stats(window="sample")
    steps_done = window_steps(summary, "sample")
    costs = synthesis_measurements(tracker, sizes, warm)
    window_stats = costs.pop("window_stats")
    provenance = Provenance.parse(summary.provenance)
    result = SampleResult(
        out=out,
        samples=cfg.n,
        steps=cfg.steps,
        duration_s=float(summary.duration_s),
        it_energy_kwh=float(summary.it_energy_kwh),
        co2e_kg=float(summary.co2e_kg),
        energy_per_sample_j=window_energy_j(summary, "sample_batch") / cfg.n,
        energy_per_step_j=window_energy_j(summary, "sample") / steps_done if steps_done else 0.0,
        flops_per_step=flops,
        step_stats=stats,
        estimated=provenance.is_estimated,
        provenance=provenance,
        **costs,
        files=tuple(str(f) for f in files),
        extra={
            "sampler": s.info["sampler"],
            "objective": s.info["objective"],
            "batch_size": cfg.batch_size,
            "warmup_batches": warm,
            "warmup_samples": sum(sizes[:warm]),
            "batches_measured": len(sizes) - warm,
            "denoising_steps_done": steps_done,
            "window_stats": window_stats,
            "size": s.info["size"],
            "run": str(cfg.run),
            "provenance_by_kind": provenance_by_kind(summary),
            "facility_energy_kwh": float(summary.facility_energy_kwh),
            "it_energy_j": float(summary.it_energy_kwh) * J_PER_KWH,
            "footprint": summary.footprint.to_dict(),
            "latent_mean": s.info.get("latent_mean"),
            "latent_std": s.info.get("latent_std"),
            "amp_dtype": str(s.rt.amp_dtype).removeprefix("torch.") if s.rt.amp_dtype else None,
            "device": str(device),
            "run_record": getattr(summary, "path", None),
        },
    )
    write_summary(result, out / "summary.json")
    return result
