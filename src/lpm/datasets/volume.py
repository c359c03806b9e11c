"""The Volume value: a CT image in HU with its voxel spacing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True, eq=False)
class Volume:
    """A CT image in Hounsfield units.

    `array_hu` is float32 in lpm's axis order: (x, y, z) for volumes, i.e. the closest
    RAS+ orientation (x towards the patient's right, y anterior, z superior), and (x, y)
    for single slices. `spacing_mm` gives the voxel size along each of those axes.
    """

    array_hu: np.ndarray
    spacing_mm: tuple[float, ...]
    path: Path | None = None
    affine: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array_hu.shape)

    @property
    def ndim(self) -> int:
        return self.array_hu.ndim

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else "image"
