"""preprocess: checks, resampling, windowing, centre crop/pad."""

from __future__ import annotations

import numpy as np
import pytest

from lpm.datasets import Volume, crop_or_pad, make_phantom, preprocess
from lpm.errors import LpmError


def test_window_scale_and_centre_crop() -> None:
    hu = np.full((10, 12, 8), -1000.0, dtype=np.float32)
    hu[3:7, 4:8, 2:6] = 1000.0
    hu[5, 6, 4] = 0.0
    out = preprocess(hu, size=(4, 4, 4))
    assert out.shape == (4, 4, 4) and out.dtype == np.float32
    # the centre 4x4x4 is exactly the bright block, with the water voxel at 0
    expected = np.ones((4, 4, 4), dtype=np.float32)
    expected[2, 2, 2] = 0.0
    np.testing.assert_array_equal(out, expected)


def test_pad_uses_air_which_is_minus_one() -> None:
    hu = np.full((3, 4), 200.0, dtype=np.float32)
    hu[0, 0] = 400.0
    out = preprocess(hu, size=(7, 6), hu_window=(-200, 400))
    assert out.shape == (7, 6)
    # 2 rows before, 2 after; 1 column before, 1 after
    np.testing.assert_array_equal(out[2:5, 1:5][0, 0], 1.0)
    np.testing.assert_allclose(out[2:5, 1:5][1:, 1:], 1.0 / 3.0, rtol=1e-6)
    assert (out[:2] == -1).all() and (out[5:] == -1).all()
    assert (out[:, 0] == -1).all() and (out[:, 5] == -1).all()


def test_image_smaller_than_crop_with_padding_off_is_an_error() -> None:
    hu = make_phantom((16, 16, 8), seed=0)
    with pytest.raises(LpmError, match=r"scan\.nii: image is 16x16x8, smaller than the size "):
        preprocess(hu, size=(16, 16, 16), pad=False, name="scan.nii")
    assert preprocess(hu, size=(8, 8, 8), pad=False).shape == (8, 8, 8)


def test_resampling_to_a_spacing_changes_the_grid() -> None:
    vol = Volume(make_phantom((32, 32, 16), seed=1), spacing_mm=(1.0, 1.0, 2.0))
    out = preprocess(vol, size=(16, 16, 16), spacing=(2.0, 2.0, 2.0), pad=False)
    assert out.shape == (16, 16, 16)
    # resampled to 16x16x16 then no crop: the body fills the same fraction of the grid
    ref = preprocess(vol, size=(32, 32, 16))
    assert abs((out > -1).mean() - (ref > -1).mean()) < 0.05
    with pytest.raises(LpmError, match="without the image's own spacing"):
        preprocess(vol.array_hu, size=(16, 16, 16), spacing=(2.0, 2.0, 2.0))
    with pytest.raises(LpmError, match="must give 3 positive voxel sizes"):
        preprocess(vol, size=(16, 16, 16), spacing=(2.0, 0.0, 2.0))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: np.full((8, 8, 8), 40.0), "image is constant"),
        (lambda: np.where(np.eye(8)[:, :, None] > 0, np.nan, 0.0) * np.ones((8, 8, 8)), "NaN"),
        (lambda: np.ones((8, 8)), "image has 2 dimensions"),
        (lambda: np.zeros((8, 0, 8)), "image is empty"),
    ],
)
def test_bad_arrays_are_errors_naming_the_source(make: object, message: str) -> None:
    with pytest.raises(LpmError, match=rf"^ct42\.nii\.gz: .*{message}"):
        preprocess(make(), size=(8, 8, 8), name="ct42.nii.gz")


def test_crop_or_pad_mixes_per_axis() -> None:
    a = np.arange(5 * 2, dtype=np.float32).reshape(5, 2)
    out = crop_or_pad(a, (3, 4), fill=-1.0)
    np.testing.assert_array_equal(out, [[-1, 2, 3, -1], [-1, 4, 5, -1], [-1, 6, 7, -1]])
