"""parse_size and check_divisible."""

from __future__ import annotations

import pytest

from lpm.datasets import check_divisible, format_size, parse_size
from lpm.errors import LpmError


@pytest.mark.parametrize(
    ("text", "dims", "expected"),
    [
        ("256", 2, (256, 256)),
        ("64", 3, (64, 64, 64)),
        ("256x256x192", 3, (256, 256, 192)),
        ("320X320", 2, (320, 320)),
        (" 192 ", 3, (192, 192, 192)),
        (128, 3, (128, 128, 128)),
        ((16, 32), 2, (16, 32)),
    ],
)
def test_parse_size_accepts_squares_cubes_and_shapes(
    text: object, dims: int, expected: tuple[int, ...]
) -> None:
    assert parse_size(text, dims) == expected


@pytest.mark.parametrize(
    ("text", "dims", "message"),
    [
        ("0", 2, "must be positive"),
        ("-64", 3, "must be positive"),
        ("64x64", 3, "has 2 axes but dims is 3"),
        ("64x64x64", 2, "has 3 axes but dims is 2"),
        ("abc", 2, "not a whole number"),
        ("64.5", 3, "not a whole number"),
        ("", 2, "empty or malformed"),
        ("64xx64", 2, "empty or malformed"),
        ("64", 4, "dims must be 2 or 3"),
        (True, 2, "is not a size"),
    ],
)
def test_parse_size_rejects_bad_sizes(text: object, dims: int, message: str) -> None:
    with pytest.raises(LpmError, match=message):
        parse_size(text, dims)


def test_check_divisible_names_axis_and_suggests_sizes() -> None:
    assert check_divisible((64, 64, 32), 8) == (64, 64, 32)
    with pytest.raises(LpmError) as info:
        check_divisible((64, 64, 60), 8)
    text = str(info.value)
    assert "axis 2 (60)" in text and "56 or 64" in text and "64x64x60" in text


def test_format_size() -> None:
    assert format_size((256, 256, 192)) == "256x256x192"


def test_one_parser_and_three_labels() -> None:
    from lpm import sizes
    from lpm.study import spec

    assert spec.parse_size is sizes.parse_size is parse_size
    assert sizes.size_id((64, 64, 64)) == "64" and sizes.size_id((256, 256, 192)) == "256x256x192"
    assert sizes.size_label((256, 256)) == "256²" and sizes.size_label((64,) * 3) == "64³"
    assert sizes.size_label((256, 256, 192)) == "256²×192"
    with pytest.raises(LpmError, match="is not a size"):
        parse_size(None, 2)
    with pytest.raises(LpmError, match="is not a size"):
        parse_size([32, True], 2)
