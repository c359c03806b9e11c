"""Sampling writes valid NIfTI in HU (and PNG previews) with any sampler and step count."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from lpm.energy import read_windows
from lpm.errors import LpmError
from lpm.ldm import SampleConfig, sample_ldm
from lpm.provenance import Provenance
from tests.ldm.helpers import sim_meters, tiny_autoencoder, tiny_ldm


def _sample(run: Path, out: Path, **kw) -> object:
    values = {"run": run, "n": 1, "steps": 4, "out": out, "progress": False, "interval_s": 0.1}
    values.update(kw)
    return sample_ldm(SampleConfig(**values), meters=sim_meters())


def _check_nifti(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    image = nib.load(str(path))
    data = np.asarray(image.dataobj)
    assert data.shape == shape
    assert data.dtype == np.float32
    assert np.isfinite(data).all()
    assert data.min() >= -1000.0 and data.max() <= 1000.0  # HU within the training window
    assert data.max() - data.min() > 0
    return data


def test_sampling_writes_hu_nifti_png_and_summary(tmp_path: Path, ldm2d: Path) -> None:
    result = _sample(ldm2d, tmp_path / "s", n=3, batch_size=2, sampler="ddpm", steps=5)
    niftis = sorted((tmp_path / "s").glob("sample_*.nii.gz"))
    pngs = sorted((tmp_path / "s").glob("sample_*.png"))
    assert len(niftis) == 3 and len(pngs) == 3
    for path in niftis:
        _check_nifti(path, (32, 32))
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["samples"] == 3
    assert summary["steps"] == 5
    assert summary["denoising_steps_done"] == 10  # 2 batches x 5 steps
    assert summary["step_stats"]["count"] == 10
    assert summary["energy_per_sample_j"] > 0
    assert summary["energy_per_step_j"] > 0
    assert summary["flops_per_step"] > 0
    assert summary["latent_std"] > 0 and abs(summary["latent_mean"]) < 10
    assert result.energy_per_sample_j * 3 <= result.it_energy_kwh * 3.6e6 * 1.001
    assert list((tmp_path / "s").glob("sample-*.jsonl")), "no energy run record"


@pytest.mark.parametrize("sampler", ["ddim", "pndm"])
def test_other_samplers(tmp_path: Path, ldm2d: Path, sampler: str) -> None:
    _sample(ldm2d, tmp_path / sampler, sampler=sampler, steps=3, png=False)
    (path,) = (tmp_path / sampler).glob("*.nii.gz")
    _check_nifti(path, (32, 32))


def test_same_seed_same_sample(tmp_path: Path, ldm2d: Path) -> None:
    _sample(ldm2d, tmp_path / "a", sampler="ddpm", seed=3, png=False)
    _sample(ldm2d, tmp_path / "b", sampler="ddpm", seed=3, png=False)
    a = nib.load(str(tmp_path / "a" / "sample_00000.nii.gz")).get_fdata()
    b = nib.load(str(tmp_path / "b" / "sample_00000.nii.gz")).get_fdata()
    assert np.array_equal(a, b)


def test_3d_sample_volume(tmp_path: Path) -> None:
    ae = tiny_autoencoder(tmp_path / "ae", dims=3, iterations=1)
    run = tiny_ldm(tmp_path / "ldm", ae, dims=3, iterations=1)
    _sample(run, tmp_path / "s", sampler="ddim", steps=2)
    _check_nifti(tmp_path / "s" / "sample_00000.nii.gz", (16, 16, 16))
    assert (tmp_path / "s" / "sample_00000.png").exists()


def test_bad_sampling_requests(tmp_path: Path, ldm2d: Path) -> None:
    with pytest.raises(LpmError, match="does not exist"):
        _sample(tmp_path / "missing", tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LpmError, match=r"ldm\.pt missing"):
        _sample(tmp_path / "empty", tmp_path / "x")
    with pytest.raises(LpmError, match="unknown sampler"):
        _sample(ldm2d, tmp_path / "x", sampler="heun")
    with pytest.raises(LpmError, match="use 1 to 1000"):
        _sample(ldm2d, tmp_path / "x", steps=5000)


def test_fixed_per_sample_cost_is_measured_after_warmup(tmp_path: Path, ldm2d: Path) -> None:
    result = _sample(ldm2d, tmp_path / "s", n=4, batch_size=1, steps=3, warmup_steps=3, png=False)
    assert result.samples_measured == 3  # the first sample (3 steps) is warm-up
    assert result.step_stats.count == 9
    assert result.fixed_per_sample_j_mean > 0 and result.fixed_per_sample_s_mean > 0
    assert result.fixed_per_sample_j_std >= 0 and result.fixed_per_sample_s_std >= 0
    assert result.energy_per_sample_j_mean > result.fixed_per_sample_j_mean
    # a sample = its fixed cost + its denoising steps (+ the little between the windows)
    parts = result.fixed_per_sample_j_mean + 3 * result.step_stats.energy_j_mean
    assert parts == pytest.approx(result.energy_per_sample_j_mean, rel=0.5)
    assert 0 < result.fixed_per_sample_share < 1
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    for key in (
        "fixed_per_sample_j_mean",
        "fixed_per_sample_j_std",
        "fixed_per_sample_s_mean",
        "fixed_per_sample_s_std",
        "energy_per_sample_j_mean",
        "energy_per_sample_j_std",
    ):
        assert summary[key] == getattr(result, key)
    assert summary["samples_measured"] == 3 and summary["warmup_samples"] == 1
    assert summary["fixed_per_sample_share"] == pytest.approx(result.fixed_per_sample_share)
    assert result.provenance is Provenance.SIMULATED  # helpers.sim_meters()
    assert summary["provenance"] == "simulated" and summary["estimated"] is False
    assert summary["provenance_by_kind"] == {"cpu": "simulated"}
    assert summary["window_stats"]["decode"]["count"] == 3
    assert set(summary["window_stats"]) == {"noise", "decode", "sample_batch"}
    windows = {w["name"] for w in read_windows(result.extra["run_record"])}
    assert {"sample_batch", "noise", "sample", "decode"} <= windows


def test_warmup_that_leaves_no_batch_is_refused(tmp_path: Path, ldm2d: Path) -> None:
    with pytest.raises(LpmError, match="leaving nothing to measure"):
        _sample(ldm2d, tmp_path / "x", n=2, batch_size=1, steps=3, warmup_steps=6)


def test_unknown_flops_are_none_in_the_summary(
    tmp_path: Path, ldm2d: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lpm.ldm.sampling.count_flops", lambda fn: None)
    result = _sample(ldm2d, tmp_path / "s", steps=2, png=False)
    assert result.flops_per_step is None
    assert json.loads((tmp_path / "s" / "summary.json").read_text())["flops_per_step"] is None


def test_latent_stats_from_moments() -> None:
    from lpm.ldm.sampling import latent_stats

    x = torch.tensor([1.0, 3.0, 5.0, 7.0], dtype=torch.float64)
    stats = latent_stats(
        torch.stack([torch.tensor(4.0, dtype=torch.float64), x.sum(), (x * x).sum()])
    )
    assert stats["latent_mean"] == pytest.approx(4.0)
    assert stats["latent_std"] == pytest.approx(float(x.std(unbiased=False)))
    assert latent_stats(torch.zeros(3, dtype=torch.float64)) == {}
