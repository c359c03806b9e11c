"""Image sizes: parse "256" / "256x256x192" and write them as ids or for people.

A leaf module (the standard library and lpm.errors only), so datasets, study and report
all use this one parser and these labels:

- :func:`format_size` every axis: ``256x256x192``, ``64x64`` (messages, files);
- :func:`size_id` one number when all axes are equal: ``64``, ``256x256x192`` (scenario ids);
- :func:`size_label` for people: ``256²``, ``64³``, ``256²×192`` (the report);
- :func:`check_divisible` every axis against a model's total downsampling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lpm.errors import LpmError

Size = tuple[int, ...]

_HINT = "give one number like 256 or a shape like 256x256x192."


def check_dims(dims: int) -> int:
    """`dims` if it is 2 or 3; LpmError otherwise."""
    if dims not in (2, 3):
        raise LpmError(f"dims must be 2 or 3, got {dims!r}; pass --dims 2 or --dims 3.")
    return dims


def parse_size(text: str | int | Sequence[int] | Any, dims: int) -> Size:
    """Parse an image size for `dims` spatial dimensions.

    One number means a square (2D) or a cube (3D): ``parse_size("256", 2) == (256, 256)``.
    A shape gives each axis: ``parse_size("256x256x192", 3) == (256, 256, 192)`` (``×``,
    ``*`` and ``,`` separate axes too). Ints, lists and tuples of ints are accepted.
    Raises LpmError for anything else.
    """
    check_dims(dims)
    if isinstance(text, bool) or not isinstance(text, int | str | list | tuple):
        raise LpmError(f"size {text!r} is not a size; {_HINT}")
    if isinstance(text, int):
        parts: list[str] = [str(text)]
    elif isinstance(text, str):
        cleaned = text.strip().lower().replace("×", "x").replace("*", "x").replace(",", "x")
        parts = [p.strip() for p in cleaned.split("x")] if cleaned else []
    else:
        if any(isinstance(p, bool) or not isinstance(p, int | str) for p in text):
            raise LpmError(f"size {text!r} is not a size; {_HINT}")
        parts = [str(p) for p in text]
    if not parts or any(p == "" for p in parts):
        raise LpmError(f"size {text!r} is empty or malformed; {_HINT}")
    values: list[int] = []
    for p in parts:
        try:
            v = int(p)
        except ValueError:
            raise LpmError(
                f"size {text!r} has a part {p!r} that is not a whole number; {_HINT}"
            ) from None
        if v <= 0:
            raise LpmError(f"size {text!r} must be positive in every axis; got {v}.")
        values.append(v)
    if len(values) == 1:
        return (values[0],) * dims
    if len(values) != dims:
        raise LpmError(
            f"size {text!r} has {len(values)} axes but dims is {dims}; give one number or "
            f"{dims} numbers joined by 'x'."
        )
    return tuple(values)


def format_size(size: Sequence[int]) -> str:
    """Every axis: ``256x256x192``, ``64x64``."""
    return "x".join(str(int(s)) for s in size)


def size_id(size: Sequence[int]) -> str:
    """One number for a square or cube (``64``), every axis otherwise (``256x256x192``)."""
    return str(int(size[0])) if len(set(size)) == 1 else format_size(size)


def size_label(size: Sequence[int]) -> str:
    """For people: 256² for a square, 64³ for a cube, 256²×192 for a stack of squares."""
    if not size:
        return "?"
    if len(set(size)) == 1:
        return f"{size[0]}{'²' if len(size) == 2 else '³' if len(size) == 3 else ''}"
    if len(size) == 3 and size[0] == size[1]:
        return f"{size[0]}²×{size[2]}"
    return "×".join(str(s) for s in size)


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
