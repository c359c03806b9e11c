"""CTDataset and collate: phantoms, files, seeded slices, bad data."""

from __future__ import annotations

import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from lpm.datasets import CTDataset, collate, load_volume, make_phantom, preprocess, write_nifti
from lpm.errors import LpmError
from tests.datasets.dicom_series import write_ct_series


def _save(array: np.ndarray, path: Path) -> Path:
    nib.save(nib.Nifti1Image(np.asarray(array, dtype=np.float32), np.eye(4)), str(path))
    return path


@pytest.fixture
def good_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "good"
    folder.mkdir()
    write_nifti(make_phantom((24, 20, 12), seed=1), folder / "a.nii.gz")
    write_nifti(make_phantom((14, 18, 20), seed=2), folder / "b.nii.gz")
    return folder


def test_phantom_items_are_model_ready_and_deterministic() -> None:
    data = CTDataset("phantom", dims=3, size=(16, 16, 8), seed=3)
    assert len(data) == 64
    item = data[5]
    assert item.shape == (1, 16, 16, 8) and item.dtype == torch.float32
    assert item.min() >= -1.0 and item.max() <= 1.0 and item.min() < -0.99
    assert torch.equal(item, CTDataset("phantom", dims=3, size="16x16x8", seed=3)[5])
    assert not torch.equal(item, data[6])
    assert not torch.equal(item, CTDataset("phantom", dims=3, size=(16, 16, 8), seed=4)[5])
    assert torch.equal(data[-1], data[63])
    with pytest.raises(IndexError):
        data[64]


def test_phantom_2d_and_hu_window() -> None:
    data = CTDataset("phantom", dims=2, size=32, n=3, seed=0)
    assert len(data) == 3 and data[0].shape == (1, 32, 32)
    narrow = CTDataset("phantom", dims=2, size=32, n=3, seed=0, hu_window=(-100, 100))
    # the same image, windowed narrower: everything below -100 HU (air, lungs) is -1
    wide_hu = data[0] * 1000.0
    assert torch.equal(narrow[0] == -1.0, wide_hu <= -100.0)


def test_3d_items_from_files_equal_preprocess_of_each_volume(good_folder: Path) -> None:
    data = CTDataset(good_folder, dims=3, size=(16, 16, 16))
    assert len(data) == 2
    for i, name in enumerate(["a.nii.gz", "b.nii.gz"]):
        expected = preprocess(load_volume(good_folder / name), size=(16, 16, 16))
        np.testing.assert_array_equal(data[i][0].numpy(), expected)
    batch = next(iter(DataLoader(data, batch_size=2, collate_fn=collate)))
    assert batch.shape == (2, 1, 16, 16, 16)


def test_2d_slices_are_drawn_seeded_from_the_volumes(good_folder: Path) -> None:
    data = CTDataset(good_folder, dims=2, size=(16, 16), seed=7, slices_per_volume=5)
    assert len(data) == 10
    again = CTDataset(good_folder, dims=2, size=(16, 16), seed=7, slices_per_volume=5)
    other = CTDataset(good_folder, dims=2, size=(16, 16), seed=8, slices_per_volume=5)
    items = [data[i] for i in range(len(data))]
    assert all(torch.equal(a, again[i]) for i, a in enumerate(items))
    assert any(not torch.equal(a, other[i]) for i, a in enumerate(items))
    # every item is one axial slice of its volume, windowed and centre cropped/padded
    vol_a = load_volume(good_folder / "a.nii.gz").array_hu
    slices = [preprocess(vol_a[:, :, k], size=(16, 16)) for k in range(vol_a.shape[2])]
    assert any(np.array_equal(items[0][0].numpy(), s) for s in slices)
    assert len({items[i].numpy().tobytes() for i in range(0, 10, 2)}) > 1


def test_dicom_series_as_a_source(tmp_path: Path) -> None:
    vol = np.rint(make_phantom((16, 16, 6), seed=0))
    write_ct_series(vol, tmp_path / "ct", spacing_mm=(1, 1, 1), origin_ras_mm=(0, 0, 0))
    data = CTDataset(tmp_path / "ct", dims=3, size=(16, 16, 8))
    np.testing.assert_array_equal(data[0][0].numpy(), preprocess(vol, size=(16, 16, 8)))


def test_spacing_resamples_volumes(tmp_path: Path) -> None:
    write_nifti(make_phantom((32, 32, 8), seed=0), tmp_path / "a.nii", spacing=(1, 1, 4))
    data = CTDataset(tmp_path, dims=3, size=(16, 16, 16), spacing=(2, 2, 2), pad=False)
    assert data[0].shape == (1, 16, 16, 16)
    with pytest.raises(LpmError, match="spacing"):
        CTDataset(tmp_path, dims=3, size=16, spacing=(1, -1, 1))


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """One good volume and one of each kind of bad file."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_nifti(make_phantom((16, 16, 16), seed=1), folder / "a_good.nii.gz")
    nan = make_phantom((16, 16, 16), seed=2)
    nan[3, 3, 3] = np.nan
    _save(nan, folder / "b_nan.nii.gz")
    _save(np.full((16, 16, 16), -1000.0), folder / "c_constant.nii.gz")
    (folder / "d_broken.nii.gz").write_bytes(b"\x1f\x8b not really gzip")
    _save(make_phantom((16, 16), seed=3), folder / "e_flat.nii.gz")
    _save(make_phantom((8, 8, 8), seed=4), folder / "f_small.nii.gz")
    return folder


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (1, r"b_nan\.nii\.gz: image has 1 NaN or infinite values"),
        (2, r"c_constant\.nii\.gz: image is constant \(-1000 everywhere\)"),
        (3, r"d_broken\.nii\.gz: cannot read as NIfTI"),
        (4, r"e_flat\.nii\.gz: image has 2 dimensions .* but 3 are needed"),
        (5, r"f_small\.nii\.gz: image is 8x8x8, smaller than the size 16x16x16 and padding"),
    ],
)
def test_each_bad_file_is_an_error_naming_it(mixed_folder: Path, index: int, message: str) -> None:
    data = CTDataset(mixed_folder, dims=3, size=16, pad=False)
    assert data[0].shape == (1, 16, 16, 16)
    with pytest.raises(LpmError, match=message):
        data[index]


def test_skip_bad_skips_with_a_warning_and_never_returns_bad_tensors(
    mixed_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = CTDataset(mixed_folder, dims=3, size=16)[0]
    data = CTDataset(mixed_folder, dims=3, size=16, pad=False, skip_bad=True)
    with caplog.at_level(logging.WARNING, logger="lpm.datasets"):
        items = [data[i] for i in range(len(data))]
    assert all(torch.equal(item, good) for item in items)
    assert sorted(Path(p).name for p in data.bad_files) == [
        "b_nan.nii.gz",
        "c_constant.nii.gz",
        "d_broken.nii.gz",
        "e_flat.nii.gz",
        "f_small.nii.gz",
    ]
    warned = " ".join(r.getMessage() for r in caplog.records)
    for name in ("b_nan", "c_constant", "d_broken", "e_flat", "f_small"):
        assert f"{name}.nii.gz" in warned
    assert warned.count("skipping bad volume") == 5  # once per file


def test_2d_from_a_2d_file_and_pad_off_for_slices(mixed_folder: Path, tmp_path: Path) -> None:
    flat = CTDataset(mixed_folder / "e_flat.nii.gz", dims=2, size=16, n=2)
    assert flat[0].shape == (1, 16, 16)
    with pytest.raises(LpmError, match=r"f_small\.nii\.gz: slices are 8x8, smaller than"):
        CTDataset(mixed_folder / "f_small.nii.gz", dims=2, size=16, pad=False)[0]


def test_all_bad_with_skip_is_still_an_error(tmp_path: Path) -> None:
    _save(np.zeros((8, 8, 8)), tmp_path / "zero.nii")
    with pytest.raises(LpmError, match="all 1 volumes are bad"):
        CTDataset(tmp_path, dims=3, size=8, skip_bad=True)[0]


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LpmError, match="folder holds no NIfTI files"):
        CTDataset(tmp_path, dims=3, size=16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": "16x16", "dims": 3}, "has 2 axes but dims is 3"),
        ({"size": 16, "dims": 4}, "dims must be 2 or 3"),
        ({"size": 16, "dims": 2, "n": 0}, "positive number of items"),
        ({"size": 16, "dims": 2, "hu_window": (5, -5)}, "HU window"),
    ],
)
def test_bad_arguments_are_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(LpmError, match=message):
        CTDataset("phantom", **kwargs)


def test_collate_refuses_mixed_shapes_and_names_files() -> None:
    a, b = torch.zeros(1, 8, 8), torch.zeros(1, 8, 6)
    assert collate([a, a]).shape == (2, 1, 8, 8)
    with pytest.raises(LpmError, match=r"mixed shapes: item 0 is 1x8x8 but item 1 is 1x8x6"):
        collate([a, b])
    with pytest.raises(LpmError, match=r"x\.nii is 1x8x8 but y\.nii is 1x8x6"):
        collate([{"image": a, "path": "x.nii"}, {"image": b, "path": "y.nii"}])
    with pytest.raises(LpmError, match=r"NaN or infinite values in item 1"):
        collate([a, torch.full((1, 8, 8), float("nan"))])
    with pytest.raises(LpmError, match="no items"):
        collate([])
