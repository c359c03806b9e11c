"""Image sizes: parse "256" / "256x256x192" and check them against a model's downsampling."""

from __future__ import annotations

from collections.abc import Sequence

from lpm.errors import LpmError

Size = tuple[int, ...]


def _check_dims(dims: int) -> None:
    if dims not in (2, 3):
        raise LpmError(f"dims must be 2 or 3, got {dims!r}; pass --dims 2 or --dims 3.")


def parse_size(text: str | int | Sequence[int], dims: int) -> Size:
    """Parse an image size for `dims` spatial dimensions.

    One number means a square (2D) or a cube (3D): ``parse_size("256", 2) == (256, 256)``.
    A shape gives each axis: ``parse_size("256x256x192", 3) == (256, 256, 192)``.
    Tuples and ints are accepted too. Raises LpmError for anything else.
    """
    _check_dims(dims)
    if isinstance(text, bool):
        raise LpmError(f"size {text!r} is not a size; give one number like 256 or a shape.")
    if isinstance(text, int):
        parts: list[str] = [str(text)]
    elif isinstance(text, str):
        cleaned = text.strip().lower().replace("×", "x").replace("*", "x").replace(",", "x")
        parts = [p.strip() for p in cleaned.split("x")] if cleaned else []
    else:
        parts = [str(p) for p in text]
    if not parts or any(p == "" for p in parts):
        raise LpmError(
            f"size {text!r} is empty or malformed; give one number like 256 or a shape "
            "like 256x256x192."
        )
    values: list[int] = []
    for p in parts:
        try:
            v = int(p)
        except ValueError:
            raise LpmError(
                f"size {text!r} has a part {p!r} that is not a whole number; give one number "
                "like 256 or a shape like 256x256x192."
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
    """Format a size as "256x256x192"."""
    return "x".join(str(int(s)) for s in size)


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
