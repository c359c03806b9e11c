"""--patch-size: the autoencoder trains on random crops (aligned to its downsampling, the
same ones again after a resume) and still encodes and decodes whole images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lpm.ldm import AutoencoderConfig, train_autoencoder
from lpm.ldm.memory import autoencoder_estimate
from lpm.ldm.networks import load_autoencoder
from lpm.ldm.patches import random_patches
from tests.cli_run import one_line_error
from tests.ldm.helpers import sim_meters


def _where(volume: torch.Tensor, crop: torch.Tensor) -> list[tuple[int, ...]]:
    """Every offset at which `crop` (C, *p) sits in `volume` (C, *n)."""
    n, p = volume.shape[1:], crop.shape[1:]
    found = []
    for o in torch.cartesian_prod(*[torch.arange(a - b + 1) for a, b in zip(n, p, strict=True)]):
        index = tuple(slice(int(i), int(i) + s) for i, s in zip(o, p, strict=True))
        if torch.equal(volume[(slice(None), *index)], crop):
            found.append(tuple(int(i) for i in o))
    return found


def test_each_image_gets_its_own_aligned_crop_drawn_from_seed_and_iteration() -> None:
    images = torch.randn(3, 1, 12, 12, 12)  # random voxels: a crop matches one offset only
    crops = random_patches(images, (4, 4, 4), step=4, seed=1, iteration=7)
    assert crops.shape == (3, 1, 4, 4, 4)
    offsets = [_where(images[i], crops[i]) for i in range(3)]
    assert all(len(o) == 1 and all(v % 4 == 0 for v in o[0]) for o in offsets)
    again = random_patches(images, (4, 4, 4), step=4, seed=1, iteration=7)
    assert torch.equal(crops, again)  # a resumed run crops as the uninterrupted one did
    first = [random_patches(images, (4, 4, 4), step=4, seed=1, iteration=k)[0] for k in range(40)]
    draws = {_where(images[0], crop)[0] for crop in first}
    assert len(draws) > 10  # 27 aligned offsets; the iteration moves the crop
    assert random_patches(images, (12, 12, 12), step=4, seed=1, iteration=7) is images


def test_a_patch_trained_autoencoder_encodes_whole_volumes(tmp_path: Path) -> None:
    from lpm.ldm.autoencoder import _build, _count_flops
    from lpm.ldm.runtime import Runtime

    settings = {"dims": 3, "size": 16, "channels": 8, "adv_weight": 0.01}
    cfg = AutoencoderConfig(
        **settings, iterations=1, n_items=2, patch_size=8, adv_warmup_iterations=0,
        out=tmp_path / "ae", progress=False, interval_s=0.1,
    )  # fmt: skip
    patched = train_autoencoder(cfg, meters=sim_meters())
    rt = Runtime(device=torch.device("cpu"))
    whole_cfg = AutoencoderConfig(**settings)
    whole = _count_flops(_build(whole_cfg, rt), torch.zeros(2, 1, 16, 16, 16), whole_cfg, rt)
    # a step on 8³ crops of 16³ volumes costs about an eighth of one on the volumes
    assert patched.flops_per_iteration is not None and whole is not None
    assert patched.flops_per_iteration < whole / 6
    model, blob = load_autoencoder(tmp_path / "ae")
    assert blob["config"]["patch_size"] == 8
    with torch.no_grad():
        z = model.encode_stage_2_inputs(torch.zeros(1, 1, 16, 16, 16))
        assert tuple(z.shape) == (1, 3, 4, 4, 4)
        assert tuple(model.decode_stage_2_outputs(z).shape) == (1, 1, 16, 16, 16)


def test_the_memory_estimate_counts_the_patch_not_the_image() -> None:
    whole = autoencoder_estimate(AutoencoderConfig(dims=3, size=64))
    patched = autoencoder_estimate(AutoencoderConfig(dims=3, size=64, patch_size=32))
    assert patched.parts["activations"] * 8 == pytest.approx(whole.parts["activations"], rel=0.01)
    assert patched.parts["data"] == whole.parts["data"]  # whole volumes are still read


def test_a_patch_size_off_the_downsampling_grid_is_one_line(tmp_path: Path, capsys) -> None:
    args = ["train-autoencoder", "--dims", "3", "--size", "32", "--patch-size", "10"]
    line = one_line_error([*args, "--out", str(tmp_path / "x")], capsys)
    assert "patch_size 10 is not a multiple of the autoencoder's downsampling 4" in line
    assert not (tmp_path / "x").exists()
