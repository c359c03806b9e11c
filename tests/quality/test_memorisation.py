"""Memorisation: training images (+ tiny noise) are flagged as copies, other phantoms not."""

from __future__ import annotations

import numpy as np
import pytest

from lpm.errors import LpmError
from lpm.quality.evaluate import evaluate
from lpm.quality.memorisation import copy_check, cosine_matrix, ncc_matrix
from tests.quality.conftest import conv_features


def test_copies_of_training_images_are_flagged(train: np.ndarray, real: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    copies = train[rng.permutation(len(train))] + rng.normal(0, 5, train.shape)
    check = copy_check(ncc_matrix(copies, train), ncc_matrix(real, train), n_boot=50)
    assert check.copy_rate.value >= 0.9
    assert check.copy_rate.n == {"generated": 24, "heldout": 24, "train": 24}
    assert check.closest[0][2] > check.threshold


def test_other_phantoms_are_not_copies(
    train: np.ndarray, real: np.ndarray, other: np.ndarray
) -> None:
    check = copy_check(ncc_matrix(other, train), ncc_matrix(real, train), n_boot=50)
    assert check.copy_rate.value <= 0.1
    assert check.threshold == pytest.approx(ncc_matrix(real, train).max(1).max())


def test_nearest_index_is_the_source_image(train: np.ndarray, real: np.ndarray) -> None:
    perm = np.random.default_rng(5).permutation(len(train))
    copies = train[perm] + np.random.default_rng(6).normal(0, 5, train.shape)
    check = copy_check(ncc_matrix(copies, train), ncc_matrix(real, train), n_boot=10)
    assert np.array_equal(check.nearest_index, perm)


def test_report_copy_rate_in_image_and_feature_space(train: np.ndarray, real: np.ndarray) -> None:
    copies = (train + np.random.default_rng(1).normal(0, 5, train.shape)).astype(np.float32)
    report = evaluate(copies, real, train, conv_features(), n_boot=20)
    assert report.metrics["copy_rate"].value >= 0.9
    assert report.metrics["copy_rate_features"].value >= 0.5
    assert report.memorisation is not None and report.memorisation.copies >= 22
    assert len(report.memorisation.closest) == 4


def test_similarity_matrices() -> None:
    a = np.random.default_rng(2).normal(size=(3, 8, 8))
    s = ncc_matrix(a, np.concatenate([a, 2 * a + 7, np.zeros((1, 8, 8))]))
    assert np.allclose(np.diag(s[:, :3]), 1.0, atol=1e-5)
    assert np.allclose(np.diag(s[:, 3:6]), 1.0, atol=1e-5)  # NCC ignores gain and offset
    assert np.allclose(s[:, 6], 0.0)  # a constant image correlates with nothing
    assert cosine_matrix(np.eye(2), np.eye(2))[0, 1] == 0.0


def test_too_few_heldout_images(train: np.ndarray, real: np.ndarray) -> None:
    with pytest.raises(LpmError, match=r"copy_rate \(ncc\) needs at least 4 held-out"):
        copy_check(ncc_matrix(real, train), ncc_matrix(real[:3], train))


def test_energy_per_useful_sample() -> None:
    from lpm.quality.energy import useful_energy

    e = useful_energy({"samples": 10, "it_energy_kwh": 0.01, "co2e_kg": 0.004}, 0.5)
    assert e is not None and e.useful_samples == 5
    assert e.it_energy_kwh_per_useful_sample == pytest.approx(0.002)
    assert e.co2e_kg_per_useful_sample == pytest.approx(0.0008)
    every = useful_energy({"samples": 10, "it_energy_kwh": 0.01}, None)
    assert every is not None and every.it_energy_kwh_per_useful_sample == pytest.approx(0.001)
    none = useful_energy({"samples": 4, "it_energy_kwh": 0.01}, 1.0)
    assert none is not None and none.it_energy_kwh_per_useful_sample is None
    assert useful_energy({"files": []}, 0.0) is None
