"""Image sizes checked against a model's downsampling (parsing and labels: :mod:`lpm.sizes`)."""

from __future__ import annotations

from collections.abc import Sequence

from lpm.errors import LpmError
from lpm.sizes import Size, format_size, parse_size

__all__ = ["Size", "check_divisible", "format_size", "parse_size"]


def check_divisible(size: Sequence[int], factor: int, *, what: str = "the model") -> Size:
    """Check every axis of `size` divides by `factor` (the model's total downsampling).

    Returns the size as a tuple; raises LpmError naming the axis and the nearest valid sizes.
    """
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    out = tuple(int(s) for s in size)
    for axis, s in enumerate(out):
        if s % factor:
            lower = max(factor, (s // factor) * factor)
            upper = (s // factor + 1) * factor
            raise LpmError(
                f"size {format_size(out)} does not divide by {factor} in axis {axis} ({s}), "
                f"which {what} needs; use a multiple of {factor} such as {lower} or {upper}."
            )
    return out
