"""Read CT in HU: NIfTI files, DICOM series folders, folders of volumes, list files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lpm.datasets.orientation import spacing_from_affine, to_closest_ras
from lpm.datasets.volume import Volume
from lpm.errors import LpmError

NIFTI_SUFFIXES = (".nii", ".nii.gz")
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_nifti(path: Path) -> bool:
    """True for a file name ending in .nii or .nii.gz."""
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def is_dicom_file(path: Path) -> bool:
    """True for a .dcm file or a file with the DICOM preamble ("DICM" at byte 128)."""
    if path.suffix.lower() == ".dcm":
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_dicom_file(p))


def _read_list_file(path: Path) -> list[Path]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LpmError(f"{path}: cannot read the list file ({exc}).") from None
    out: list[Path] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        entry = Path(line).expanduser()
        if not entry.is_absolute():
            entry = path.parent / entry
        if not entry.exists():
            raise LpmError(
                f"{path}, line {number}: {line} does not exist; fix the path (relative paths "
                "are relative to the list file)."
            )
        if entry.is_dir() and not _dicom_files(entry):
            raise LpmError(
                f"{path}, line {number}: folder {line} holds no DICOM files; list NIfTI files "
                "or DICOM series folders."
            )
        if entry.is_file() and is_dicom_file(entry):
            entry = entry.parent
        elif entry.is_file() and not is_nifti(entry):
            raise LpmError(
                f"{path}, line {number}: {line} is not a .nii/.nii.gz file; list NIfTI files "
                "or DICOM series folders."
            )
        out.append(entry)
    if not out:
        raise LpmError(f"{path}: the list file names no volumes; put one path per line.")
    return out


def list_volumes(path: str | Path) -> list[Path]:
    """The volumes at `path`: a NIfTI file, a DICOM series folder, a folder holding NIfTI
    files and/or DICOM series folders (searched recursively), or a list file with one
    path per line (# starts a comment). Raises LpmError when nothing is found."""
    root = Path(path).expanduser()
    if not root.exists():
        raise LpmError(f"{root} does not exist; give a NIfTI file, a folder or a list file.")
    if root.is_file():
        if is_nifti(root):
            return [root]
        if is_dicom_file(root):
            return [root.parent]
        return _read_list_file(root)
    if _dicom_files(root):
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        folder = Path(dirpath)
        if folder != root and any(is_dicom_file(folder / f) for f in filenames):
            found.append(folder)
            dirnames.clear()
            continue
        found.extend(folder / f for f in sorted(filenames) if is_nifti(folder / f))
    if not found:
        raise LpmError(
            f"{root}: folder holds no NIfTI files (.nii, .nii.gz) or DICOM series; point "
            "--data at your CT or use 'phantom'."
        )
    return sorted(found)


def _squeeze_extra_axes(data: np.ndarray, path: Path) -> np.ndarray:
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim not in (2, 3):
        raise LpmError(
            f"{path}: image has {data.ndim} dimensions (shape {data.shape}); lpm reads 2D "
            "slices and 3D volumes, so split 4D series into 3D files first."
        )
    return data


def _orient(data: np.ndarray, affine: np.ndarray, path: Path) -> Volume:
    """Reorient to closest RAS+ (2D images as one-slice volumes) and build the Volume."""
    two_d = data.ndim == 2
    if two_d:
        data = data[:, :, None]
    array, new_affine = to_closest_ras(data, affine)
    spacing = spacing_from_affine(new_affine)
    if two_d:
        from nibabel import orientations

        slice_axis = int(orientations.io_orientation(affine)[2, 0])
        array = np.take(array, 0, axis=slice_axis)
        spacing = tuple(s for i, s in enumerate(spacing) if i != slice_axis)
    return Volume(
        array_hu=np.ascontiguousarray(array, dtype=np.float32),
        spacing_mm=spacing,
        path=path,
        affine=new_affine,
    )


def read_nifti(path: Path) -> Volume:
    """A NIfTI file as a Volume in HU (scaling from the header applied, RAS+ axes)."""
    import nibabel as nib

    try:
        image = nib.load(str(path))
        data = np.asarray(image.get_fdata(dtype=np.float32))
    except Exception as exc:  # nibabel raises many types for broken files
        raise LpmError(
            f"{path}: cannot read as NIfTI ({type(exc).__name__}: {exc}); check the file is a "
            "complete .nii or .nii.gz."
        ) from None
    data = _squeeze_extra_axes(data, path)
    affine = np.asarray(image.affine, dtype=np.float64)
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        # No usable orientation: keep the stored order with the header's voxel sizes.
        affine = np.diag([*(zooms + (1.0,) * 3)[:3], 1.0])
    return _orient(data, affine, path)


def _float_list(ds: object, keyword: str) -> list[float] | None:
    value = getattr(ds, keyword, None)
    if value is None:
        return None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return None


def read_dicom_series(folder: Path) -> Volume:
    """A folder holding one DICOM CT series as a Volume in HU (RAS+ axes).

    Slices are sorted by ImagePositionPatient projected on the slice normal, or by
    InstanceNumber when positions are missing; RescaleSlope/RescaleIntercept give HU.
    """
    import pydicom

    files = _dicom_files(folder)
    if not files:
        raise LpmError(f"{folder}: folder holds no DICOM files; give a DICOM series folder.")
    slices = []
    for f in files:
        try:
            ds = pydicom.dcmread(str(f))
        except Exception as exc:
            raise LpmError(
                f"{f}: cannot read as DICOM ({type(exc).__name__}: {exc}); remove or replace "
                "the file."
            ) from None
        if "PixelData" not in ds:
            continue  # e.g. a DICOMDIR or a structured report next to the images
        slices.append((f, ds))
    if not slices:
        raise LpmError(f"{folder}: none of its DICOM files holds an image.")
    series = {str(getattr(ds, "SeriesInstanceUID", "")) for _, ds in slices}
    if len(series) > 1:
        raise LpmError(
            f"{folder}: folder mixes {len(series)} DICOM series; put each series in its own folder."
        )
    first = slices[0][1]
    if int(getattr(first, "NumberOfFrames", 1) or 1) > 1:
        raise LpmError(
            f"{slices[0][0]}: multi-frame DICOM is not supported; convert the series to NIfTI "
            "(e.g. with dcm2niix)."
        )
    orientation = _float_list(first, "ImageOrientationPatient") or [1, 0, 0, 0, 1, 0]
    row_dir = np.asarray(orientation[:3], dtype=np.float64)
    col_dir = np.asarray(orientation[3:6], dtype=np.float64)
    normal = np.cross(row_dir, col_dir)
    if np.linalg.norm(normal) < 1e-6:
        raise LpmError(f"{slices[0][0]}: ImageOrientationPatient {orientation} is degenerate.")
    positions = [_float_list(ds, "ImagePositionPatient") for _, ds in slices]
    if all(p is not None and len(p) == 3 for p in positions):
        keys = [float(np.dot(p, normal)) for p in positions]
    else:
        keys = [float(getattr(ds, "InstanceNumber", 0) or 0) for _, ds in slices]
        positions = None
    order = np.argsort(keys, kind="stable")
    slices = [slices[i] for i in order]
    keys_sorted = np.asarray([keys[i] for i in order])
    if len(slices) > 1 and np.any(np.diff(keys_sorted) == 0):
        dup = int(np.flatnonzero(np.diff(keys_sorted) == 0)[0])
        raise LpmError(
            f"{folder}: slices {slices[dup][0].name} and {slices[dup + 1][0].name} are at the "
            "same position; remove duplicate slices."
        )
    pixel_spacing = _float_list(first, "PixelSpacing") or [1.0, 1.0]
    if positions is not None and len(slices) > 1:
        gaps = np.diff(keys_sorted)
        slice_mm = float(np.median(gaps))
        worst = int(np.argmax(np.abs(gaps - slice_mm)))
        if abs(gaps[worst] - slice_mm) > 0.1 * slice_mm + 1e-3:
            raise LpmError(
                f"{folder}: slices are unevenly spaced ({gaps[worst]:.3g} mm between "
                f"{slices[worst][0].name} and {slices[worst + 1][0].name}, {slice_mm:.3g} mm "
                "elsewhere), so slices are missing or the folder mixes scans; fix the series."
            )
    else:
        slice_mm = float(
            getattr(first, "SpacingBetweenSlices", None) or getattr(first, "SliceThickness", 1)
        )
    planes = []
    shape = (int(first.Rows), int(first.Columns))
    for f, ds in slices:
        if (int(ds.Rows), int(ds.Columns)) != shape:
            raise LpmError(
                f"{f}: slice is {ds.Rows}x{ds.Columns} but the series is {shape[0]}x{shape[1]}; "
                "a series must have slices of one size."
            )
        try:
            pixels = ds.pixel_array.astype(np.float32)
        except Exception as exc:
            raise LpmError(
                f"{f}: cannot decode the pixel data ({type(exc).__name__}: {exc}); convert the "
                "series to NIfTI or install a decoder for its transfer syntax."
            ) from None
        slope = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
        intercept = float(getattr(ds, "RescaleIntercept", 0.0) or 0.0)
        planes.append(pixels * np.float32(slope) + np.float32(intercept))
    # Array index (i, j, k) = (column, row, slice); world (LPS) = origin + i*dc*row_dir +
    # j*dr*col_dir + k*dz*normal, with PixelSpacing = (dr, dc).
    data = np.stack(planes, axis=0).transpose(2, 1, 0)
    origin = np.asarray(positions[order[0]] if positions else [0.0, 0.0, 0.0])
    affine_lps = np.eye(4)
    affine_lps[:3, 0] = row_dir * pixel_spacing[1]
    affine_lps[:3, 1] = col_dir * pixel_spacing[0]
    affine_lps[:3, 2] = normal * abs(slice_mm)
    affine_lps[:3, 3] = origin
    return _orient(data, _LPS_TO_RAS @ affine_lps, folder)


def load_volume(path: str | Path) -> Volume:
    """Read one volume in HU: a NIfTI file (.nii/.nii.gz) or a DICOM series folder.

    The array is float32 in the closest RAS+ axis order (x, y, z), the same for both
    formats, with `spacing_mm` per axis. Raises LpmError naming the file on any problem.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise LpmError(f"{p} does not exist; give a NIfTI file or a DICOM series folder.")
    if p.is_dir():
        return read_dicom_series(p)
    if is_nifti(p):
        return read_nifti(p)
    if is_dicom_file(p):
        return read_dicom_series(p.parent)
    raise LpmError(
        f"{p}: not a NIfTI file (.nii, .nii.gz) or a DICOM series folder; convert it or list "
        "supported files."
    )
