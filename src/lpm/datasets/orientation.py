"""Bring voxel arrays to lpm's axis order: the closest RAS+ orientation (as nibabel does)."""

from __future__ import annotations

import numpy as np


def to_closest_ras(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip/permute a 3D array so its axes point closest to +x (R), +y (A), +z (S).

    `affine` maps voxel indices to RAS+ world mm. Returns (array, new affine); the
    world position of every voxel is unchanged.
    """
    from nibabel import orientations

    ornt = orientations.io_orientation(affine)
    if np.array_equal(ornt, [[0, 1], [1, 1], [2, 1]]):
        return data, affine
    out = orientations.apply_orientation(data, ornt)
    new_affine = affine @ orientations.inv_ornt_aff(ornt, data.shape)
    return np.ascontiguousarray(out), new_affine


def spacing_from_affine(affine: np.ndarray, ndim: int = 3) -> tuple[float, ...]:
    """Voxel size in mm along each array axis (the lengths of the affine's columns)."""
    return tuple(float(v) for v in np.sqrt(np.square(affine[:3, :3]).sum(axis=0))[:ndim])
