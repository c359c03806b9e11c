"""Stage 1: the VQ-GAN trains, learns on a fixed batch, and writes its run files."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lpm.ldm import AutoencoderConfig
from lpm.ldm.autoencoder import _build, stage1_step
from lpm.ldm.networks import load_autoencoder
from lpm.ldm.runtime import Runtime
from tests.ldm.helpers import tiny_autoencoder


def test_reconstruction_loss_falls_on_a_fixed_batch() -> None:
    cfg = AutoencoderConfig(dims=2, size=32, channels=16, num_embeddings=32, lr=1e-3)
    rt = Runtime(device=torch.device("cpu"))
    s = _build(cfg, rt)
    from lpm.datasets import CTDataset

    images = torch.stack([CTDataset("phantom", dims=2, size=32, n=2)[i] for i in range(2)])
    first = stage1_step(s, images, cfg, rt, adversarial=False)["recon_l1"]
    for _ in range(25):
        last = stage1_step(s, images, cfg, rt, adversarial=True)["recon_l1"]
    assert last < 0.6 * first


def test_autoencoder_run_files(ae2d: Path) -> None:
    summary = json.loads((ae2d / "summary.json").read_text())
    assert summary["iterations"] == 3
    assert summary["parameters"] > 0
    assert summary["flops_per_iteration"] > 0
    assert summary["it_energy_kwh"] > 0
    assert summary["step_stats"]["count"] == 3
    assert list(ae2d.glob("train-autoencoder-*.jsonl")), "no energy run record"
    model, blob = load_autoencoder(ae2d)
    z = model.encode_stage_2_inputs(torch.zeros(1, 1, 32, 32))
    assert tuple(z.shape) == (1, 3, 8, 8)
    assert blob["downsample"] == 4


def test_3d_autoencoder_trains(tmp_path: Path) -> None:
    out = tiny_autoencoder(tmp_path / "ae3d", dims=3, iterations=2)
    model, _ = load_autoencoder(out)
    recon = model.decode_stage_2_outputs(model.encode_stage_2_inputs(torch.zeros(1, 1, 16, 16, 16)))
    assert tuple(recon.shape) == (1, 1, 16, 16, 16)


def test_cpu_training_is_deterministic_and_finite() -> None:
    """Training on a CPU runs in fp32 (bf16 backward of 3D convs was not reproducible)."""
    from lpm.datasets import CTDataset
    from lpm.ldm.runtime import amp_dtype_for

    device = torch.device("cpu")
    assert amp_dtype_for(device, True, training=True) is None
    rt = Runtime(device=device, amp_dtype=amp_dtype_for(device, True, training=True))
    cfg = AutoencoderConfig(dims=3, size=16, channels=16, num_embeddings=32)
    images = torch.stack([CTDataset("phantom", dims=3, size=16, n=2)[i] for i in range(2)])
    weights = []
    for _ in range(2):
        s = _build(cfg, rt)
        for _ in range(2):
            stage1_step(s, images, cfg, rt, adversarial=True)
        weights.append(torch.cat([p.detach().flatten() for p in s.vqvae.parameters()]))
    assert torch.isfinite(weights[0]).all()
    assert torch.equal(weights[0], weights[1])


def test_trains_on_nifti_files(tmp_path: Path) -> None:
    """A folder of the user's NIfTI volumes feeds both dims (2D: slices drawn from them)."""
    import nibabel as nib
    import numpy as np

    from lpm.datasets import make_phantom

    data = tmp_path / "ct"
    data.mkdir()
    for i in range(2):
        hu = make_phantom((40, 40, 20), seed=i)
        nib.save(nib.Nifti1Image(hu.astype(np.float32), np.eye(4)), str(data / f"ct{i}.nii.gz"))
    out = tiny_autoencoder(tmp_path / "ae", dims=2, iterations=1, data=str(data))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["iterations"] == 1 and summary["recon_l1_first"] > 0
