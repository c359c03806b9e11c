"""Images for the quality metrics as HU arrays (N, *spatial): a samples folder, and real or
training data from a data spec (phantoms, NIfTI, DICOM, a folder) at the samples' shape."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lpm.datasets import DEFAULT_HU_WINDOW, CTDataset, format_size, to_hu
from lpm.errors import LpmError

SAMPLE_GLOB = "*.nii.gz"


@dataclass(frozen=True)
class DataSpec:
    """Where reference images come from: `source` ('phantom' or a path), how many (None:
    all the source has; 64 phantoms) and the seed that draws them (phantoms, 2D slices)."""

    source: str
    n: int | None = None
    seed: int = 0

    def describe(self) -> str:
        n = "all" if self.n is None else str(self.n)
        return f"{self.source} (n={n}, seed={self.seed})"


def _read_nifti(path: Path) -> np.ndarray:
    import nibabel as nib

    try:
        array = np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)
    except Exception as exc:  # damaged or foreign file
        raise LpmError(f"{path} cannot be read as NIfTI ({type(exc).__name__}).") from None
    while array.ndim > 2 and array.shape[-1] == 1:
        array = array[..., 0]
    return array


def load_samples(folder: str | Path) -> tuple[np.ndarray, list[str]]:
    """All *.nii.gz files of `folder` (sorted by name) stacked as (N, *spatial) HU, and their
    names. LpmError if the folder is missing, empty or its images differ in shape."""
    root = Path(folder)
    if not root.is_dir():
        raise LpmError(f"samples folder {root} does not exist; pass the --out of `lpm sample`.")
    paths = sorted(root.glob(SAMPLE_GLOB))
    if not paths:
        raise LpmError(f"samples folder {root} holds no {SAMPLE_GLOB} files; sample first.")
    arrays = [_read_nifti(p) for p in paths]
    first = arrays[0].shape
    if len(first) not in (2, 3):
        raise LpmError(f"{paths[0]} has shape {first}; samples must be 2D or 3D images.")
    for path, array in zip(paths, arrays, strict=True):
        if array.shape != first:
            raise LpmError(
                f"samples differ in shape: {paths[0].name} is {format_size(first)} but "
                f"{path.name} is {format_size(array.shape)}; keep one run's samples per folder."
            )
    return np.stack(arrays), [p.name for p in paths]


def _image_folder_shape(path: Path) -> tuple[int, ...] | None:
    """Shape of the first top-level NIfTI image of a folder (None: not such a folder)."""
    if not path.is_dir():
        return None
    files = sorted(path.glob(SAMPLE_GLOB)) + sorted(path.glob("*.nii"))
    return _read_nifti(files[0]).shape if files else None


def load_reference(
    spec: DataSpec, shape: tuple[int, ...], hu_window: tuple[float, float] = DEFAULT_HU_WINDOW
) -> np.ndarray:
    """Reference images (N, *shape) in HU for samples of `shape`.

    A folder of images with the samples' number of axes is taken as it is (first `n` files)
    and must have their shape; otherwise the source goes through CTDataset as training data
    does (3D: volumes cropped/padded to `shape`; 2D: axial slices of volumes drawn with the
    seed). Images with fewer axes than the samples are refused.
    """
    dims = len(shape)
    path = None if spec.source.strip().lower() == "phantom" else Path(spec.source)
    if path is not None and not path.exists():
        raise LpmError(f"data {path} does not exist; give 'phantom' or a path to CT.")
    found = _image_folder_shape(path) if path is not None else None
    if found is not None and len(found) < dims:
        raise LpmError(
            f"{path} holds {len(found)}D images but the samples are {dims}D; compare images of "
            "one dimension."
        )
    if found is not None and len(found) == dims and (dims == 2 or found == tuple(shape)):
        if found != tuple(shape):
            raise LpmError(
                f"{path} holds {format_size(found)} images but the samples are "
                f"{format_size(shape)}; compare images of one size."
            )
        arrays, _ = load_samples(path)
        return arrays[: spec.n] if spec.n is not None else arrays
    dataset = CTDataset(
        spec.source, dims=dims, size=shape, n=spec.n, seed=spec.seed, hu_window=hu_window
    )
    units = np.stack([dataset[i][0].numpy() for i in range(len(dataset))])
    return np.asarray(to_hu(units, hu_window), dtype=np.float32)


def check_same_shape(samples: np.ndarray, other: np.ndarray, what: str) -> None:
    """LpmError unless `other` images have the samples' shape."""
    if samples.shape[1:] != other.shape[1:]:
        raise LpmError(
            f"{what} images are {format_size(other.shape[1:])} but the samples are "
            f"{format_size(samples.shape[1:])}; compare images of one size and dimension."
        )
