"""Hounsfield units <-> the model's [-1, 1] range, through an HU window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from lpm.errors import LpmError

DEFAULT_HU_WINDOW: tuple[float, float] = (-1000.0, 1000.0)

ArrayLike = TypeVar("ArrayLike")  # numpy array or torch tensor


def check_window(hu_window: Sequence[float]) -> tuple[float, float]:
    """Return the window as (low, high) floats; LpmError unless low < high and both finite."""
    try:
        low, high = (float(v) for v in hu_window)
    except (TypeError, ValueError):
        raise LpmError(
            f"HU window {hu_window!r} is not two numbers; give it as (low, high), "
            "e.g. (-1000, 1000)."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
        raise LpmError(
            f"HU window ({low}, {high}) is invalid; the low value must be below the high "
            "value, e.g. (-1000, 1000)."
        )
    return low, high


def hu_to_unit(array_hu: np.ndarray, hu_window: Sequence[float] = DEFAULT_HU_WINDOW) -> np.ndarray:
    """Clip HU to the window and scale linearly to [-1, 1] (float32)."""
    low, high = check_window(hu_window)
    clipped = np.clip(np.asarray(array_hu, dtype=np.float32), low, high)
    return ((clipped - low) * (2.0 / (high - low)) - 1.0).astype(np.float32, copy=False)


def to_hu(
    array_unit: ArrayLike,
    hu_window: Sequence[float] = DEFAULT_HU_WINDOW,
    *,
    clip: bool = True,
) -> ArrayLike:
    """Map model values in [-1, 1] back to HU (numpy array or torch tensor, same type back).

    With `clip` (default) values are first clipped to [-1, 1], i.e. to the HU window the
    data was clipped to for training.
    """
    low, high = check_window(hu_window)
    x = array_unit
    if clip:
        x = x.clip(-1.0, 1.0) if hasattr(x, "clip") else np.clip(x, -1.0, 1.0)
    return (x + 1.0) * ((high - low) / 2.0) + low
