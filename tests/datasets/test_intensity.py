"""HU window <-> [-1, 1]."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lpm.datasets import hu_to_unit, to_hu
from lpm.errors import LpmError


def test_window_edges_map_to_minus_one_and_one() -> None:
    hu = np.array([-3000.0, -1000.0, 0.0, 1000.0, 2500.0], dtype=np.float32)
    np.testing.assert_allclose(hu_to_unit(hu), [-1.0, -1.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(hu_to_unit(hu, (-200, 200)), [-1.0, -1.0, 0.0, 1.0, 1.0])
    assert hu_to_unit(hu).dtype == np.float32


@given(st.floats(-1000, 1000), st.floats(-2000, -100), st.floats(10, 3000))
def test_to_hu_inverts_windowing_inside_the_window(hu: float, low: float, high: float) -> None:
    clipped = min(max(hu, low), high)
    back = to_hu(hu_to_unit(np.array([hu]), (low, high)), (low, high))
    assert back[0] == pytest.approx(clipped, abs=1e-3 * (high - low))


def test_to_hu_works_on_tensors_and_clips() -> None:
    x = torch.tensor([-1.5, -1.0, 0.0, 0.5, 1.2])
    out = to_hu(x)
    assert isinstance(out, torch.Tensor)
    assert out.tolist() == [-1000.0, -1000.0, 0.0, 500.0, 1000.0]
    assert to_hu(x, clip=False)[0].item() == pytest.approx(-1500.0)


@pytest.mark.parametrize("window", [(100, -100), (0, 0), (float("nan"), 1), ("a", "b"), (1,)])
def test_bad_window_is_an_error(window: tuple) -> None:
    with pytest.raises(LpmError, match="HU window"):
        hu_to_unit(np.zeros(3), window)
