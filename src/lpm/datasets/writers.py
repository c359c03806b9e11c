"""Write CT images in HU: NIfTI files and PNG previews."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lpm.datasets.intensity import DEFAULT_HU_WINDOW, check_window
from lpm.errors import LpmError


def _as_numpy(array_hu: object) -> np.ndarray:
    if hasattr(array_hu, "detach"):  # a torch tensor
        array_hu = array_hu.detach().cpu().float().numpy()
    return np.asarray(array_hu, dtype=np.float32)


def write_nifti(
    array_hu: np.ndarray,
    path: str | Path,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
) -> Path:
    """Write a 2D (x, y) or 3D (x, y, z) HU array as NIfTI (float32, RAS+ affine from spacing).

    Leading singleton axes (batch, channel) are dropped, so a model output shaped
    (1, 1, D, H, W) can be written directly. The suffix .nii or .nii.gz picks compression.
    Returns the path written.
    """
    import nibabel as nib

    array = _as_numpy(array_hu)
    while array.ndim > 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim not in (2, 3):
        raise LpmError(
            f"cannot write {path}: the image has shape {array.shape}; write_nifti takes a 2D "
            "or 3D array."
        )
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) < array.ndim or any(not np.isfinite(s) or s <= 0 for s in spacing):
        raise LpmError(
            f"cannot write {path}: spacing {spacing} must give a positive size in mm for each "
            f"of the {array.ndim} axes."
        )
    affine = np.eye(4)
    for axis in range(array.ndim):
        affine[axis, axis] = spacing[axis]
    if array.ndim == 2 and len(spacing) > 2:
        affine[2, 2] = spacing[2]
    out = Path(path)
    if not (out.name.endswith(".nii") or out.name.endswith(".nii.gz")):
        raise LpmError(f"cannot write {out}: a NIfTI file name must end in .nii or .nii.gz.")
    out.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(np.ascontiguousarray(array, dtype=np.float32), affine)
    image.header.set_xyzt_units("mm", "sec")
    image.header.set_zooms(spacing[: array.ndim])
    nib.save(image, str(out))
    return out


def display_slice(slice_xy: np.ndarray) -> np.ndarray:
    """Orient an (a, b) slice of a RAS+ volume for display: rows top-down, patient right left.

    Axial (x, y): anterior up, patient's right on the image's left (radiological view);
    coronal (x, z) and sagittal (y, z): superior up.
    """
    return np.ascontiguousarray(slice_xy.T[::-1, ::-1])


def preview_image(
    array_hu: np.ndarray, hu_window: Sequence[float] = DEFAULT_HU_WINDOW
) -> np.ndarray:
    """A 2D display image (rows, cols) in [0, 1]: the image itself (2D) or the middle axial,
    coronal and sagittal slices side by side (3D)."""
    low, high = check_window(hu_window)
    array = _as_numpy(array_hu)
    while array.ndim > 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 2:
        panels = [display_slice(array)]
    elif array.ndim == 3:
        nx, ny, nz = array.shape
        panels = [
            display_slice(array[:, :, nz // 2]),
            display_slice(array[:, ny // 2, :]),
            display_slice(array[nx // 2, :, :]),
        ]
    else:
        raise LpmError(f"cannot preview an image of shape {array.shape}; give a 2D or 3D array.")
    height = max(p.shape[0] for p in panels)
    gap = np.full((height, 2), low, dtype=np.float32)
    padded = []
    for i, panel in enumerate(panels):
        top = (height - panel.shape[0]) // 2
        bottom = height - panel.shape[0] - top
        padded.append(np.pad(panel, ((top, bottom), (0, 0)), constant_values=low))
        if i < len(panels) - 1:
            padded.append(gap)
    image = np.concatenate(padded, axis=1)
    image = np.nan_to_num(image, nan=low)
    return np.clip((image - low) / (high - low), 0.0, 1.0)


def write_png_preview(
    array_hu: np.ndarray,
    path: str | Path,
    hu_window: Sequence[float] = DEFAULT_HU_WINDOW,
) -> Path:
    """Write a grey-scale PNG of a 2D image, or of the three middle slices of a 3D volume
    side by side (axial, coronal, sagittal), windowed to `hu_window`. Returns the path."""
    from matplotlib import image as mpl_image

    out = Path(path)
    pixels = preview_image(array_hu, hu_window)
    out.parent.mkdir(parents=True, exist_ok=True)
    mpl_image.imsave(str(out), pixels, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return out
