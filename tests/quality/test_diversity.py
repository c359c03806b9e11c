"""MS-SSIM diversity: mode collapse (one image repeated) shows; scales fit small images."""

from __future__ import annotations

import numpy as np
import pytest

from lpm.errors import LpmError
from lpm.quality.diversity import ms_ssim_diversity, pairs, scale_weights


def test_mode_collapse_shows_in_ms_ssim(real: np.ndarray, other: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    collapsed = np.repeat(other[:1], len(other), axis=0) + rng.normal(0, 5, other.shape)
    ref = ms_ssim_diversity(real, "real", n_boot=50)
    same = ms_ssim_diversity(other, "generated", n_boot=50)
    bad = ms_ssim_diversity(collapsed.astype(np.float32), "generated", n_boot=50)
    assert abs(same.value - ref.value) < 0.05
    assert bad.value > 0.97 > ref.value + 0.15
    assert bad.ci_low > same.ci_high
    assert same.n == {"generated": 24, "pairs": 100}


@pytest.mark.parametrize(("shape", "scales"), [((32, 32), 4), ((64, 64), 5), ((16, 16, 16), 3)])
def test_scales_fit_the_image_size(shape: tuple[int, ...], scales: int) -> None:
    w = scale_weights(shape)
    assert len(w) == scales and sum(w) == pytest.approx(1.0)
    images = np.random.default_rng(1).uniform(-1000, 1000, (3, *shape)).astype(np.float32)
    assert 0.0 <= ms_ssim_diversity(images, "generated", n_boot=10).value < 0.5


def test_pairs_are_distinct_and_seeded() -> None:
    p = pairs(30, 50, seed=3)
    assert len(p) == 50 and (p[:, 0] < p[:, 1]).all()
    assert len({tuple(x) for x in p}) == 50
    assert np.array_equal(p, pairs(30, 50, seed=3))
    assert len(pairs(4, 50, seed=0)) == 6


def test_too_few_images_for_ms_ssim(real: np.ndarray) -> None:
    with pytest.raises(LpmError, match=r"ms_ssim \(generated\) needs at least 3"):
        ms_ssim_diversity(real[:2], "generated")
