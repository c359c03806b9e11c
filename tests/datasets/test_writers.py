"""write_nifti and write_png_preview."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import nibabel as nib
import numpy as np
import pytest
import torch

from lpm.datasets import load_volume, make_phantom, preview_image, write_nifti, write_png_preview
from lpm.errors import LpmError


def test_write_nifti_3d_round_trips_with_spacing(tmp_path: Path) -> None:
    vol = make_phantom((16, 12, 8), seed=0)
    path = write_nifti(vol, tmp_path / "out" / "s.nii.gz", spacing=(0.5, 0.7, 3.0))
    back = load_volume(path)
    np.testing.assert_array_equal(back.array_hu, vol)
    assert back.spacing_mm == pytest.approx((0.5, 0.7, 3.0))
    assert nib.load(str(path)).get_data_dtype() == np.float32


def test_write_nifti_2d_and_model_output_with_batch_axes(tmp_path: Path) -> None:
    image = make_phantom((20, 24), seed=1)
    back = load_volume(write_nifti(image, tmp_path / "s.nii", spacing=(0.8, 0.8)))
    assert back.shape == (20, 24)
    np.testing.assert_array_equal(back.array_hu, image)
    batch = torch.from_numpy(make_phantom((8, 8, 8), seed=2))[None, None]
    assert load_volume(write_nifti(batch, tmp_path / "b.nii.gz")).shape == (8, 8, 8)


def test_write_nifti_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(LpmError, match=r"must end in \.nii or \.nii\.gz"):
        write_nifti(np.zeros((4, 4, 4)), tmp_path / "x.png")
    with pytest.raises(LpmError, match="has shape"):
        write_nifti(np.zeros((2, 4, 4, 4)), tmp_path / "x.nii")
    with pytest.raises(LpmError, match="spacing"):
        write_nifti(np.zeros((4, 4, 4)), tmp_path / "x.nii", spacing=(1, 1))


def test_png_preview_of_3d_shows_three_middle_slices(tmp_path: Path) -> None:
    vol = make_phantom((32, 24, 16), seed=0)
    path = write_png_preview(vol, tmp_path / "p.png")
    pixels = mpimg.imread(str(path))
    # axial 24 rows x 32 cols, coronal 16x32, sagittal 16x24, with 2-pixel gaps
    assert pixels.shape[:2] == (24, 32 + 2 + 32 + 2 + 24)
    grey = preview_image(vol)
    assert grey.min() >= 0.0 and grey.max() <= 1.0


def test_png_preview_orients_axial_slices_radiologically() -> None:
    image = np.full((10, 6), -1000.0, dtype=np.float32)
    image[9, 5] = 1000.0  # patient's far right (x max), far anterior (y max)
    grey = preview_image(image)
    assert grey.shape == (6, 10)
    assert grey[0, 0] == 1.0  # anterior is up, the patient's right is on the left
    assert grey.sum() == 1.0


def test_png_preview_of_2d(tmp_path: Path) -> None:
    path = write_png_preview(make_phantom((40, 30), seed=0), tmp_path / "a" / "p.png")
    assert mpimg.imread(str(path)).shape[:2] == (30, 40)
    with pytest.raises(LpmError, match="cannot preview"):
        write_png_preview(np.zeros((2, 2, 2, 2)), tmp_path / "x.png")
