"""Fidelity metrics: real vs other real images sit near the real-vs-real floor; noise,
blurred and constant images are clearly worse on every metric."""

from __future__ import annotations

import numpy as np
import pytest

from lpm.errors import LpmError
from lpm.quality import fidelity, tissue
from lpm.quality.evaluate import evaluate
from tests.quality.conftest import blurred, conv_features

FIDELITY = ("hu_wasserstein", "tissue_fraction_l1", "frechet_distance", "mmd")


@pytest.fixture(scope="module")
def reports(real: np.ndarray, other: np.ndarray) -> dict:
    rng = np.random.default_rng(0)
    fakes = {
        "real": other,
        "noise": rng.uniform(-1000, 1000, other.shape).astype(np.float32),
        "blurred": blurred(other),
        "constant": np.zeros_like(other),
    }
    feats = conv_features()
    return {k: evaluate(v, real, features=feats, n_boot=30) for k, v in fakes.items()}


def test_real_vs_real_is_near_the_floor(reports: dict) -> None:
    for name in FIDELITY:
        m = reports["real"].metrics[name]
        assert m.floor is not None
        assert m.value <= 3 * abs(m.floor) + 0.02 * _scale(reports, name), (name, m)
        assert m.ci[0] <= m.value <= m.ci[1] or np.isclose(m.value, m.ci[0])
        assert m.n == {"generated": 24, "real": 24}


def _scale(reports: dict, name: str) -> float:
    return max(reports[k].metrics[name].value for k in ("noise", "blurred", "constant"))


@pytest.mark.parametrize("fake", ["noise", "blurred", "constant"])
def test_bad_images_are_clearly_worse_on_every_metric(reports: dict, fake: str) -> None:
    for name in FIDELITY:
        good = reports["real"].metrics[name]
        bad = reports[fake].metrics[name]
        assert bad.value > 2 * good.value + 1e-9, (name, fake, good.value, bad.value)
        assert bad.ci[0] > good.value, (name, fake)


def test_frechet_matches_the_closed_form_in_one_dimension() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(2.0, 3.0, (4000, 1))
    b = rng.normal(-1.0, 0.5, (4000, 1))
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert fidelity.frechet(a, b) == pytest.approx(expected, rel=1e-6)
    assert fidelity.frechet(a, a) == pytest.approx(0.0, abs=1e-8)


def test_mmd_linear_kernel_is_the_squared_mean_difference() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 1.0, (3000, 3))
    b = rng.normal(1.0, 1.0, (3000, 3))
    assert fidelity.mmd(a, b) == pytest.approx(3.0, rel=0.1)


def test_body_mask_keeps_lungs_and_drops_outside_air(real: np.ndarray) -> None:
    mask = tissue.body_mask(real)
    assert not mask[:, 0, :].any() and not mask[:, :, 0].any()  # image border is air
    lung = (real > -950) & (real < -500)
    assert mask[lung].mean() > 0.8  # lungs are enclosed by the body
    frac = tissue.fractions(tissue.class_counts(real, mask))
    assert frac[list(tissue.TISSUE_CLASSES).index("soft_tissue")] > 0.3


def test_too_few_images_is_an_error_naming_the_metric(real: np.ndarray) -> None:
    with pytest.raises(LpmError, match=r"hu_wasserstein needs at least 4 generated"):
        evaluate(real[:3], real, n_boot=10)
