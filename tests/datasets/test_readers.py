"""Readers: NIfTI and DICOM give the same volume; folders, list files and bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lpm.datasets import list_volumes, load_volume, make_phantom
from lpm.errors import LpmError
from tests.datasets.dicom_series import write_ct_series

SPACING = (0.8, 0.7, 2.5)
ORIGIN = (-20.0, -15.0, 100.0)


@pytest.fixture(scope="module")
def volume_hu() -> np.ndarray:
    """An (x, y, z) phantom with integer HU, asymmetric enough to catch any flip."""
    vol = np.rint(make_phantom((20, 16, 7), seed=11)).astype(np.float32)
    vol[2, 3, 1] = 2000.0  # a marker voxel near one corner
    return vol


def _write_ras_nifti(vol: np.ndarray, path: Path) -> Path:
    affine = np.diag([*SPACING, 1.0])
    affine[:3, 3] = ORIGIN
    nib.save(nib.Nifti1Image(vol, affine), str(path))
    return path


def test_dicom_and_nifti_readers_give_the_same_volume(
    volume_hu: np.ndarray, tmp_path: Path
) -> None:
    nifti = load_volume(_write_ras_nifti(volume_hu, tmp_path / "ct.nii.gz"))
    write_ct_series(volume_hu, tmp_path / "series", spacing_mm=SPACING, origin_ras_mm=ORIGIN)
    dicom = load_volume(tmp_path / "series")

    assert dicom.array_hu.dtype == np.float32
    assert dicom.shape == nifti.shape == volume_hu.shape
    np.testing.assert_array_equal(dicom.array_hu, nifti.array_hu)
    np.testing.assert_array_equal(nifti.array_hu, volume_hu)
    np.testing.assert_allclose(dicom.spacing_mm, SPACING, rtol=1e-6)
    np.testing.assert_allclose(nifti.spacing_mm, SPACING, rtol=1e-6)
    np.testing.assert_allclose(dicom.affine, nifti.affine, atol=1e-4)
    assert dicom.array_hu[2, 3, 1] == 2000.0


def test_dicom_rescale_slope_and_intercept_give_hu(volume_hu: np.ndarray, tmp_path: Path) -> None:
    write_ct_series(
        volume_hu,
        tmp_path / "s",
        spacing_mm=SPACING,
        origin_ras_mm=ORIGIN,
        slope=1.0,
        intercept=-1024.0,
    )
    np.testing.assert_array_equal(load_volume(tmp_path / "s").array_hu, volume_hu)


def test_dicom_without_positions_sorts_by_instance_number(
    volume_hu: np.ndarray, tmp_path: Path
) -> None:
    write_ct_series(
        volume_hu,
        tmp_path / "s",
        spacing_mm=SPACING,
        origin_ras_mm=ORIGIN,
        with_positions=False,
    )
    vol = load_volume(tmp_path / "s")
    # InstanceNumber runs from the top slice down; without orientation tags the reader keeps
    # DICOM's default axial orientation, so the slice order follows InstanceNumber.
    np.testing.assert_array_equal(vol.array_hu, volume_hu[:, :, ::-1])
    assert vol.spacing_mm[2] == pytest.approx(SPACING[2])


def test_nifti_with_flipped_axes_is_reoriented_to_ras(
    volume_hu: np.ndarray, tmp_path: Path
) -> None:
    # Store x and z reversed with an affine that says so: same world image.
    flipped = np.ascontiguousarray(volume_hu[::-1, :, ::-1])
    nx, _, nz = volume_hu.shape
    affine = np.diag([-SPACING[0], SPACING[1], -SPACING[2], 1.0])
    affine[:3, 3] = (
        ORIGIN[0] + (nx - 1) * SPACING[0],
        ORIGIN[1],
        ORIGIN[2] + (nz - 1) * SPACING[2],
    )
    nib.save(nib.Nifti1Image(flipped, affine), str(tmp_path / "flipped.nii"))
    vol = load_volume(tmp_path / "flipped.nii")
    np.testing.assert_array_equal(vol.array_hu, volume_hu)
    np.testing.assert_allclose(vol.spacing_mm, SPACING, rtol=1e-6)


def test_nifti_scaling_from_header_is_applied(tmp_path: Path) -> None:
    stored = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    image = nib.Nifti1Image(stored, np.eye(4))
    image.header.set_slope_inter(2.0, -1024.0)
    nib.save(image, str(tmp_path / "scaled.nii.gz"))
    vol = load_volume(tmp_path / "scaled.nii.gz")
    np.testing.assert_array_equal(vol.array_hu, stored * 2.0 - 1024.0)


def test_list_volumes_finds_nifti_and_dicom_series_in_a_folder(
    volume_hu: np.ndarray, tmp_path: Path
) -> None:
    _write_ras_nifti(volume_hu, tmp_path / "a.nii.gz")
    (tmp_path / "sub").mkdir()
    _write_ras_nifti(volume_hu, tmp_path / "sub" / "b.nii")
    write_ct_series(
        volume_hu, tmp_path / "patient1" / "ct", spacing_mm=SPACING, origin_ras_mm=ORIGIN
    )
    (tmp_path / "notes.txt").write_text("not an image")
    found = list_volumes(tmp_path)
    assert found == sorted(
        [tmp_path / "a.nii.gz", tmp_path / "sub" / "b.nii", tmp_path / "patient1" / "ct"]
    )
    assert list_volumes(tmp_path / "patient1" / "ct") == [tmp_path / "patient1" / "ct"]
    assert list_volumes(tmp_path / "a.nii.gz") == [tmp_path / "a.nii.gz"]


def test_list_file_with_comments_and_relative_paths(volume_hu: np.ndarray, tmp_path: Path) -> None:
    _write_ras_nifti(volume_hu, tmp_path / "a.nii.gz")
    write_ct_series(volume_hu, tmp_path / "ct", spacing_mm=SPACING, origin_ras_mm=ORIGIN)
    listing = tmp_path / "train.txt"
    listing.write_text(f"# training scans\na.nii.gz\n\n{tmp_path / 'ct'}  # a DICOM series\n")
    assert list_volumes(listing) == [tmp_path / "a.nii.gz", tmp_path / "ct"]


def test_list_file_naming_a_missing_file_says_which_line(tmp_path: Path) -> None:
    listing = tmp_path / "train.txt"
    listing.write_text("# header\nmissing.nii.gz\n")
    with pytest.raises(LpmError, match=r"train\.txt, line 2: missing\.nii\.gz does not exist"):
        list_volumes(listing)


def test_empty_list_file_and_empty_folder_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("# nothing here\n")
    with pytest.raises(LpmError, match="names no volumes"):
        list_volumes(tmp_path / "empty.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LpmError, match=r"empty: folder holds no NIfTI files"):
        list_volumes(tmp_path / "empty")
    with pytest.raises(LpmError, match="does not exist"):
        list_volumes(tmp_path / "nowhere")


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(gzip.compress(b"this is not a nifti header" * 20))
    with pytest.raises(LpmError, match=r"broken\.nii\.gz: cannot read as NIfTI"):
        load_volume(broken)
    truncated = tmp_path / "cut.nii"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8), np.float32), np.eye(4)), str(truncated))
    truncated.write_bytes(truncated.read_bytes()[:600])
    with pytest.raises(LpmError, match=r"cut\.nii: cannot read as NIfTI"):
        load_volume(truncated)
    series = tmp_path / "series"
    series.mkdir()
    (series / "slice1.dcm").write_bytes(b"garbage")
    with pytest.raises(LpmError, match=r"slice1\.dcm: cannot read as DICOM"):
        load_volume(series)
    with pytest.raises(LpmError, match=r"notes\.txt: not a NIfTI file"):
        (tmp_path / "notes.txt").write_text("x")
        load_volume(tmp_path / "notes.txt")


def test_four_dimensional_image_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "fmri.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4, 3), np.float32), np.eye(4)), str(path))
    with pytest.raises(LpmError, match=r"fmri\.nii\.gz: image has 4 dimensions"):
        load_volume(path)
    # a trailing singleton axis is just a 3D volume
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4, 1), np.float32), np.eye(4)), str(path))
    assert load_volume(path).shape == (4, 4, 4)


def test_folder_mixing_two_dicom_series_is_an_error(volume_hu: np.ndarray, tmp_path: Path) -> None:
    write_ct_series(
        volume_hu[:, :, :3],
        tmp_path / "s",
        spacing_mm=SPACING,
        origin_ras_mm=ORIGIN,
        shuffle_seed=None,
    )
    for p in write_ct_series(
        volume_hu[:, :, :3],
        tmp_path / "other",
        spacing_mm=SPACING,
        origin_ras_mm=ORIGIN,
        shuffle_seed=None,
    ):
        p.rename(tmp_path / "s" / f"other_{p.name}")
    with pytest.raises(LpmError, match="mixes 2 DICOM series"):
        load_volume(tmp_path / "s")


def test_dicom_series_with_a_missing_or_duplicate_slice_is_an_error(
    volume_hu: np.ndarray, tmp_path: Path
) -> None:
    paths = write_ct_series(
        volume_hu, tmp_path / "gap", spacing_mm=SPACING, origin_ras_mm=ORIGIN, shuffle_seed=None
    )
    paths[3].unlink()  # slice k=3 missing: a 5 mm gap among 2.5 mm steps
    with pytest.raises(LpmError, match=r"gap: slices are unevenly spaced \(5 mm between"):
        load_volume(tmp_path / "gap")
    paths = write_ct_series(
        volume_hu, tmp_path / "dup", spacing_mm=SPACING, origin_ras_mm=ORIGIN, shuffle_seed=None
    )
    (tmp_path / "dup" / "copy.dcm").write_bytes(paths[2].read_bytes())
    with pytest.raises(LpmError, match="are at the same position; remove duplicate slices"):
        load_volume(tmp_path / "dup")


def test_list_file_entries_dicom_file_and_unsupported_file(
    volume_hu: np.ndarray, tmp_path: Path
) -> None:
    paths = write_ct_series(volume_hu, tmp_path / "ct", spacing_mm=SPACING, origin_ras_mm=ORIGIN)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{paths[0]}\n")
    assert list_volumes(listing) == [tmp_path / "ct"]
    (tmp_path / "scan.mha").write_bytes(b"x")
    listing.write_text("scan.mha\n")
    with pytest.raises(LpmError, match=r"list\.txt, line 1: scan\.mha is not a \.nii/\.nii\.gz"):
        list_volumes(listing)
