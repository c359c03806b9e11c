"""The memory estimate: exact parameter counts, activations near what autograd keeps and a
training step's peak, and a one-line refusal (with what fits) of what the device cannot hold."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lpm.errors import LpmError
from lpm.ldm import memory
from lpm.ldm.config import AutoencoderConfig, SampleConfig, TrainConfig
from lpm.ldm.networks import build_autoencoder, build_discriminator, build_unet, count_parameters
from lpm.ldm.parameters import discriminator_parameters, unet_parameters, vqvae_parameters
from lpm.ldm.presets import autoencoder_kwargs, discriminator_kwargs, preset

GiB = 1024**3


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("model", ["small", "medium", "large"])
def test_unet_parameters_are_exact(dims: int, model: str) -> None:
    for lc in (3, 5):
        with torch.device("meta"):
            unet = build_unet(preset(dims, model, latent_channels=lc))
        assert unet_parameters(dims, model, lc) == count_parameters(unet)


@pytest.mark.parametrize("dims", [2, 3])
def test_autoencoder_and_discriminator_parameters_are_exact(dims: int) -> None:
    for downsample, channels, lc, codes in ((4, 16, 3, 256), (8, 32, 4, 32)):
        kwargs = autoencoder_kwargs(
            dims, downsample=downsample, latent_channels=lc, num_embeddings=codes,
            channels=channels,
        )  # fmt: skip
        with torch.device("meta"):
            vq = build_autoencoder(kwargs)
        assert vqvae_parameters(kwargs) == (
            sum(p.numel() for p in vq.parameters()),
            count_parameters(vq),
        )
    for size in (16, 64):
        kwargs = discriminator_kwargs(dims, (size,) * dims)
        with torch.device("meta"):
            disc = build_discriminator(kwargs)
        assert discriminator_parameters(kwargs) == count_parameters(disc)


def _saved_bytes(fn) -> int:
    """Bytes of the storages autograd saves for the backward pass of FN (each once)."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def test_the_activation_term_is_what_autograd_keeps() -> None:
    """Two batch sizes: the difference is one sample's activations (weights cancel out)."""
    torch.manual_seed(0)
    unet = build_unet(preset(2, "small"))
    saved = []
    for batch in (1, 2):
        x = torch.randn(batch, 3, 16, 16)
        t = torch.zeros(batch, dtype=torch.long)
        saved.append(_saved_bytes(lambda x=x, t=t: unet(x, timesteps=t).sum()))
    cfg = TrainConfig(dims=2, size=64, batch_size=1, autoencoder=Path("none"), out=Path("x"))
    term = memory.diffusion_estimate(cfg).parts["activations"] / memory.TRAINING_OVERHEAD
    assert 0.8 < term / (saved[1] - saved[0]) < 1.25


def test_a_training_step_peaks_within_2x_of_the_estimate(tmp_path: Path) -> None:
    """Peak RSS of two AdamW steps of the 2D small UNet at latent 64² (batch 4), measured
    in a fresh process, against the estimate's model state and activations."""
    script = tmp_path / "peak.py"
    script.write_text(
        "import resource, torch, psutil\n"
        "from lpm.ldm.networks import build_unet\n"
        "from lpm.ldm.presets import preset\n"
        "torch.set_num_threads(1)\n"
        "u = build_unet(preset(2, 'small'))\n"
        "x = torch.randn(4, 3, 64, 64); t = torch.zeros(4, dtype=torch.long)\n"
        "base = psutil.Process().memory_info().rss\n"
        "opt = torch.optim.AdamW(u.parameters())\n"
        "for _ in range(2):\n"
        "    opt.zero_grad(); torch.nn.functional.mse_loss(u(x, timesteps=t), x).backward()\n"
        "    opt.step()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base)\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=120
    )
    peak = int(out.stdout.split()[-1])
    cfg = TrainConfig(dims=2, size=256, batch_size=4, autoencoder=Path("none"), out=Path("x"))
    parts = memory.diffusion_estimate(cfg).parts
    estimate = parts["activations"] + parts["gradients"] + parts["optimizer"]
    assert 0.5 < estimate / peak < 2.0, (estimate, peak)


def test_the_estimate_grows_with_batch_size_and_model() -> None:
    def of(**kw) -> memory.MemoryEstimate:
        values = {"dims": 3, "size": 64, "autoencoder": Path("none"), "out": Path("x")}
        return memory.estimate(TrainConfig(**{**values, **kw}))

    def total(**kw) -> int:
        return of(**kw).bytes

    assert total(batch_size=4) > total(batch_size=2) > total(batch_size=1)
    big, small = of(size=128).parts["activations"], of(size=64).parts["activations"]
    assert big == pytest.approx(8 * small, rel=1e-6)  # activations go with the voxels
    assert total(model="large") > total(model="medium") > total(model="small")
    e = memory.estimate(TrainConfig(dims=2, size=64, out=Path("x")))
    assert e.stage in ("autoencoder", "diffusion") and e.fits(e.bytes) and not e.fits(e.bytes - 1)
    assert set(e.to_dict()) == {"bytes", "parts", "device", "stage"}


def test_what_cannot_fit_is_refused_with_what_would(monkeypatch) -> None:
    cfg = TrainConfig(dims=2, size=10000, out=Path("never"))
    started = time.perf_counter()
    with pytest.raises(LpmError) as err:
        memory.check_fits(cfg, "cpu", available=16 * GiB)
    assert time.perf_counter() - started < 0.5
    line = str(err.value)
    assert "\n" not in line and "training the autoencoder needs about" in line
    assert "16.0 GiB of RAM is free" in line and "--batch-size 1 --size " in line
    size = int(line.split("--size ")[1].split()[0])
    smaller = cfg.model_copy(update={"batch_size": 1, "size": (size, size)})
    assert memory.estimate(smaller).fits(16 * GiB) and size % 16 == 0
    fits_with_batch_1 = TrainConfig(dims=3, size=256, model="large", batch_size=2, out=Path("x"))
    need = memory.estimate(fits_with_batch_1).bytes
    with pytest.raises(LpmError, match="--batch-size 1 fits"):
        memory.check_fits(fits_with_batch_1, "cpu", available=int(need * 0.8))
    assert memory.check_fits(fits_with_batch_1, "cpu", available=need) is not None
    off = fits_with_batch_1.model_copy(update={"memory_check": False})
    assert memory.check_fits(off, "cpu", available=1) is None


def test_autoencoder_and_sampling_estimates(ldm2d: Path, tmp_path: Path) -> None:
    ae = memory.estimate(AutoencoderConfig(dims=2, size=512, batch_size=4))
    assert ae.stage == "autoencoder" and ae.parts["activations"] > ae.parts["model"]
    sample = memory.estimate(SampleConfig(run=ldm2d, n=8, batch_size=4))
    assert sample is not None and sample.stage == "sampling"
    saved = json.loads((ldm2d / "config.json").read_text())
    assert sample.parts["model"] == 4 * (
        unet_parameters(2, saved["model"], 3) + vqvae_parameters(
            autoencoder_kwargs(2, channels=16, num_embeddings=32))[0]
    )  # fmt: skip
    assert memory.estimate(SampleConfig(run=tmp_path)) is None  # no config.json: no estimate
    with pytest.raises(LpmError, match=r"sampling needs about .* of RAM is free"):
        memory.check_fits(SampleConfig(run=ldm2d, n=8), "cpu", available=sample.bytes // 2)
