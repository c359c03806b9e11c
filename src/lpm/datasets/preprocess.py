"""Preprocessing: check, resample, window to [-1, 1], centre crop or pad."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lpm.datasets.intensity import DEFAULT_HU_WINDOW, check_window, hu_to_unit
from lpm.datasets.volume import Volume
from lpm.errors import LpmError


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(int(s)) for s in shape)


def validate_array(array: np.ndarray, name: str, *, ndim: int | None = None) -> np.ndarray:
    """Return `array` as float32 after checking it is usable CT data.

    Raises LpmError naming `name` when it has the wrong number of dimensions (`ndim`, or
    not 2/3 when None), is empty, has NaN or infinite values, or is constant.
    """
    array = np.asarray(array, dtype=np.float32)
    wanted = (2, 3) if ndim is None else (ndim,)
    if array.ndim not in wanted:
        need = " or ".join(str(w) for w in wanted)
        raise LpmError(
            f"{name}: image has {array.ndim} dimensions (shape {array.shape}) but {need} are "
            "needed; give a 2D slice or a 3D volume matching --dims."
        )
    if array.size == 0 or min(array.shape) == 0:
        raise LpmError(f"{name}: image is empty (shape {array.shape}); remove or replace it.")
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(array.size - np.count_nonzero(finite))
        raise LpmError(
            f"{name}: image has {bad} NaN or infinite values; fix or remove the file "
            "(or pass skip_bad / --skip-bad to skip it)."
        )
    low, high = float(array.min()), float(array.max())
    if low == high:
        raise LpmError(
            f"{name}: image is constant ({low:g} everywhere), which is not a usable CT; "
            "fix or remove the file (or pass skip_bad / --skip-bad to skip it)."
        )
    return array


def check_spacing(spacing: Sequence[float], ndim: int, what: str) -> tuple[float, ...]:
    """Spacing in mm as floats, one positive value per axis (LpmError otherwise)."""
    try:
        values = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise LpmError(f"{what} {spacing!r} is not a list of numbers in mm.") from None
    if len(values) != ndim or any(not np.isfinite(v) or v <= 0 for v in values):
        raise LpmError(
            f"{what} {spacing!r} must give {ndim} positive voxel sizes in mm, one per axis."
        )
    return values


def resample(
    array: np.ndarray,
    spacing_mm: Sequence[float],
    target_spacing_mm: Sequence[float],
) -> np.ndarray:
    """Linearly resample a 2D or 3D array from `spacing_mm` to `target_spacing_mm`."""
    import torch
    import torch.nn.functional as F

    src = check_spacing(spacing_mm, array.ndim, "source spacing")
    dst = check_spacing(target_spacing_mm, array.ndim, "target spacing")
    new_shape = tuple(
        max(1, round(n * s / t)) for n, s, t in zip(array.shape, src, dst, strict=True)
    )
    if new_shape == tuple(array.shape):
        return np.asarray(array, dtype=np.float32)
    mode = "bilinear" if array.ndim == 2 else "trilinear"
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None, None]
    with torch.no_grad():
        out = F.interpolate(tensor, size=new_shape, mode=mode, align_corners=False)
    return out[0, 0].numpy()


def crop_or_pad(
    array: np.ndarray,
    size: Sequence[int],
    *,
    fill: float,
    pad: bool = True,
    name: str = "image",
) -> np.ndarray:
    """Centre crop each axis longer than `size` and centre pad each shorter one with `fill`.

    With `pad=False` an image smaller than `size` in any axis raises LpmError.
    """
    size = tuple(int(s) for s in size)
    if len(size) != array.ndim:
        raise LpmError(
            f"{name}: image has {array.ndim} dimensions but the size {_shape_text(size)} has "
            f"{len(size)}; use a size with one value per image axis."
        )
    if not pad and any(n < s for n, s in zip(array.shape, size, strict=True)):
        raise LpmError(
            f"{name}: image is {_shape_text(array.shape)}, smaller than the size "
            f"{_shape_text(size)} and padding is off; use a smaller size or allow padding."
        )
    slices = []
    pads = []
    for n, s in zip(array.shape, size, strict=True):
        if n >= s:
            start = (n - s) // 2
            slices.append(slice(start, start + s))
            pads.append((0, 0))
        else:
            slices.append(slice(None))
            before = (s - n) // 2
            pads.append((before, s - n - before))
    out = array[tuple(slices)]
    if any(p != (0, 0) for p in pads):
        out = np.pad(out, pads, mode="constant", constant_values=fill)
    return np.ascontiguousarray(out, dtype=np.float32)


def preprocess(
    volume_hu: Volume | np.ndarray,
    *,
    size: Sequence[int],
    hu_window: Sequence[float] = DEFAULT_HU_WINDOW,
    spacing: Sequence[float] | None = None,
    source_spacing_mm: Sequence[float] | None = None,
    pad: bool = True,
    name: str | None = None,
) -> np.ndarray:
    """HU image -> float32 array of shape `size` in [-1, 1], ready for the model.

    Steps: check the data (dimensions match `size`, finite, not constant), resample to
    `spacing` mm when given (needs the Volume's spacing or `source_spacing_mm`), clip to
    `hu_window` and scale linearly to [-1, 1], centre crop, and centre pad with the window's
    low value (air, -1 after scaling) unless `pad=False`, which raises LpmError instead.
    """
    if isinstance(volume_hu, Volume):
        array = volume_hu.array_hu
        name = name or volume_hu.name
        source_spacing_mm = source_spacing_mm or volume_hu.spacing_mm
    else:
        array = volume_hu
        name = name or "image"
    size = tuple(int(s) for s in size)
    check_window(hu_window)
    array = validate_array(array, name, ndim=len(size))
    if spacing is not None:
        if source_spacing_mm is None:
            raise LpmError(
                f"{name}: cannot resample to spacing {tuple(spacing)} without the image's own "
                "spacing; pass a Volume or source_spacing_mm."
            )
        array = resample(array, source_spacing_mm, spacing)
    unit = hu_to_unit(array, hu_window)
    return crop_or_pad(unit, size, fill=-1.0, pad=pad, name=name)
