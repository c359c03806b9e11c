"""Stage-1 settings a run gets: the VQ codebook follows the image dimension unless given
(2D 256, 3D 2048); --adv-weight 0 leaves the discriminator out of every step."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpm.ldm import AutoencoderConfig, autoencoder_kwargs, train_autoencoder
from lpm.ldm.memory import autoencoder_estimate
from lpm.ldm.networks import load_autoencoder
from tests.ldm.helpers import sim_meters


@pytest.mark.parametrize(("dims", "codes"), [(2, 256), (3, 2048)])
def test_config_gets_the_codebook_of_its_dimension(dims: int, codes: int) -> None:
    assert AutoencoderConfig(dims=dims, size=32).num_embeddings == codes
    assert autoencoder_kwargs(dims)["num_embeddings"] == codes
    assert AutoencoderConfig(dims=dims, size=32, num_embeddings=64).num_embeddings == 64


def test_a_3d_run_trains_and_saves_a_2048_vector_codebook(tmp_path: Path) -> None:
    cfg = AutoencoderConfig(
        dims=3, size=16, iterations=1, channels=8, n_items=2, out=tmp_path / "ae",
        progress=False, interval_s=0.1,
    )  # fmt: skip
    train_autoencoder(cfg, meters=sim_meters())
    model, blob = load_autoencoder(tmp_path / "ae")
    assert blob["kwargs"]["num_embeddings"] == 2048
    assert blob["config"]["num_embeddings"] == 2048
    assert model.quantizer.quantizer.embedding.weight.shape == (2048, 3)


def test_the_memory_estimate_counts_the_larger_codebook() -> None:
    small = autoencoder_estimate(AutoencoderConfig(dims=3, size=32, num_embeddings=256))
    default = autoencoder_estimate(AutoencoderConfig(dims=3, size=32))
    assert default.parts["model"] - small.parts["model"] == (2048 - 256) * 3 * 4  # fp32


def test_adv_weight_zero_leaves_the_discriminator_out(tmp_path: Path) -> None:
    import torch

    from lpm.ldm.autoencoder import _build, _Stage1Loop
    from lpm.ldm.runtime import Runtime

    rt = Runtime(device=torch.device("cpu"))
    batch = torch.zeros(2, 1, 16, 16)
    for weight, trains in ((0.0, False), (0.01, True)):
        cfg = AutoencoderConfig(dims=2, size=16, channels=8, adv_weight=weight)
        stage = _Stage1Loop(_build(cfg, rt), cfg, rt, adv_warmup=0)
        before = [p.detach().clone() for p in stage.s.disc.parameters()]
        stage.step(0, batch)
        after = list(stage.s.disc.parameters())
        changed = any(not torch.equal(a, p) for a, p in zip(before, after, strict=True))
        assert changed is trains
        assert ("loss_d" in stage.losses[-1]) is trains
