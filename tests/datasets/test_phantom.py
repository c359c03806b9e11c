"""Synthetic CT phantoms."""

from __future__ import annotations

import numpy as np
import pytest

from lpm.datasets import TISSUE_HU, make_phantom
from lpm.errors import LpmError


@pytest.mark.parametrize("shape", [(64, 64, 64), (32, 24, 16), (48, 48), (40, 56)])
def test_any_size_in_2d_and_3d(shape: tuple[int, ...]) -> None:
    image = make_phantom(shape, seed=1)
    assert image.shape == shape
    assert image.dtype == np.float32
    assert np.isfinite(image).all()
    assert image.min() >= -1024.0 and image.max() <= 3071.0


def test_same_seed_same_volume_other_seed_other_volume() -> None:
    a = make_phantom((32, 32, 32), seed=5)
    np.testing.assert_array_equal(a, make_phantom((32, 32, 32), seed=5))
    b = make_phantom((32, 32, 32), seed=6)
    assert np.abs(a - b).mean() > 20.0
    assert not np.array_equal(make_phantom((32, 32), seed=5), make_phantom((32, 32), seed=6))


def test_tissues_are_where_ct_has_them() -> None:
    vol = make_phantom((64, 64, 64), seed=3, noise_hu=0.0)
    corners = vol[[0, 0, -1, -1], [0, -1, 0, -1], :]
    assert (corners == TISSUE_HU["air"]).all()  # air outside the body

    # Each tissue class of a CT trunk occupies part of the volume.
    def fraction(lo: float, hi: float) -> float:
        return float(((vol >= lo) & (vol <= hi)).mean())

    assert 0.2 < fraction(-1000, -1000) < 0.7  # air around the body
    assert fraction(-900, -820) > 0.02  # lungs
    assert fraction(-115, -85) > 0.02  # subcutaneous fat
    assert fraction(20, 70) > 0.1  # soft tissue and organs
    assert fraction(650, 1100) > 0.001  # cortical bone and ribs
    assert fraction(55, 70) > 0.005  # liver
    # The spine is posterior (low y) and central in x: bone voxels sit there.
    bone = np.argwhere(vol >= 650)
    assert abs(bone[:, 0].mean() - 31.5) < 6
    assert bone[:, 1].mean() < 32


def test_noise_is_added_by_default() -> None:
    noisy = make_phantom((32, 32, 8), seed=2)
    clean = make_phantom((32, 32, 8), seed=2, noise_hu=0.0)
    diff = (noisy - clean)[clean > -1000]
    assert 5.0 < diff.std() < 25.0


@pytest.mark.parametrize("shape", [(64,), (2, 64), (8, 8, 8, 8), ("a", 3), (4096, 4096, 4096)])
def test_bad_shapes_are_errors(shape: tuple) -> None:
    with pytest.raises(LpmError, match="phantom shape"):
        make_phantom(shape, seed=0)
