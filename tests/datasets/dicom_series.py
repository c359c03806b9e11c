"""Write small CT DICOM series with pydicom, for reader tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def write_ct_series(
    volume_ras_hu: np.ndarray,
    folder: Path,
    *,
    spacing_mm: Sequence[float],
    origin_ras_mm: Sequence[float],
    slope: float = 0.5,
    intercept: float = -1024.0,
    shuffle_seed: int | None = 0,
    with_positions: bool = True,
    series_uid: str | None = None,
) -> list[Path]:
    """Write an (x, y, z) RAS+ HU volume as an axial DICOM series in `folder`.

    Standard axial orientation: ImageOrientationPatient (1,0,0,0,1,0) in LPS, so image
    columns run towards the patient's left and rows towards posterior, i.e. both RAS axes
    reversed. Files get scrambled names, and InstanceNumber runs opposite to position, so
    a reader must sort by ImagePositionPatient. Stored values are (HU - intercept) / slope.
    """
    folder.mkdir(parents=True, exist_ok=True)
    nx, ny, nz = volume_ras_hu.shape
    sx, sy, sz = (float(s) for s in spacing_mm)
    ox, oy, oz = (float(o) for o in origin_ras_mm)
    series_uid = series_uid or generate_uid()
    study_uid = generate_uid()
    order = np.arange(nz)
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(nz)
    paths = []
    for file_no, k in enumerate(order):
        # pixel (row r, column c) = voxel (x = nx-1-c, y = ny-1-r, z = k)
        plane = volume_ras_hu[::-1, ::-1, k].T
        stored = np.rint((plane - intercept) / slope).astype(np.uint16)
        # RAS position of pixel (0, 0) is voxel (nx-1, ny-1, k); DICOM wants LPS.
        ras = (ox + (nx - 1) * sx, oy + (ny - 1) * sy, oz + k * sz)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.Modality = "CT"
        ds.InstanceNumber = int(nz - k)
        if with_positions:
            ds.ImagePositionPatient = [-ras[0], -ras[1], ras[2]]
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceThickness = sz
        ds.PixelSpacing = [sy, sx]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
        ds.PixelData = np.ascontiguousarray(stored).tobytes()
        path = folder / f"IM{file_no:04d}_{int(k) * 7919 % 1000:03d}"
        ds.save_as(str(path), enforce_file_format=True)
        paths.append(path)
    return paths


def read_header(path: Path) -> Dataset:
    """The DICOM header of a file (for assertions)."""
    return pydicom.dcmread(str(path), stop_before_pixels=True)
