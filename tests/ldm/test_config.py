"""Configs: sizes, divisibility and bad values become one-line LpmErrors."""

from __future__ import annotations

import pytest

from lpm.errors import LpmError
from lpm.ldm import AutoencoderConfig, SampleConfig, TrainConfig
from lpm.ldm.config import validated


def test_size_one_number_or_shape() -> None:
    assert TrainConfig(dims=3, size="64x64x32").size == (64, 64, 32)
    assert TrainConfig(dims=2, size=32).size == (32, 32)
    assert AutoencoderConfig(dims=3, size=[16, 16, 16]).size == (16, 16, 16)


def test_size_not_divisible_names_the_axis_and_a_fix() -> None:
    with pytest.raises(LpmError, match=r"axis 2 \(40\).*multiple of 16"):
        TrainConfig(dims=3, size="64x64x40")
    with pytest.raises(LpmError, match="multiple of 32"):
        TrainConfig(dims=2, size=48, autoencoder_downsample=8)


def test_validated_turns_pydantic_errors_into_one_line() -> None:
    with pytest.raises(LpmError) as info:
        validated(TrainConfig, dims=2, size=32, iterations=0)
    assert "iterations" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(LpmError, match="invalid colour"):
        validated(SampleConfig, run="x", colour="red")
    with pytest.raises(LpmError, match="beta_start"):
        validated(TrainConfig, dims=2, size=32, beta_start=0.03, beta_end=0.02)
    with pytest.raises(LpmError, match="model"):
        validated(TrainConfig, dims=2, size=32, model="huge")


def test_tracking_defaults_come_from_carbon() -> None:
    from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION

    cfg = SampleConfig(run="x")
    assert (cfg.pue, cfg.region) == (DEFAULT_PUE, DEFAULT_REGION)
