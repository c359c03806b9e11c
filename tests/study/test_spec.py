"""Study specs: what a user writes, and the one-line errors for what they get wrong."""

from __future__ import annotations

import pytest
import yaml

from lpm.errors import LpmError
from lpm.study.presets import PRESETS, preset_spec
from lpm.study.spec import load_spec, parse_size, spec_from_dict

MINIMAL = {"dims": [2], "image_sizes": {"2d": [32]}}


def _error(data: dict) -> str:
    with pytest.raises(LpmError) as info:
        spec_from_dict(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_minimal_spec_gets_the_paper_defaults() -> None:
    spec = spec_from_dict(MINIMAL)
    assert spec.targets.train_iterations == 150_000
    assert spec.targets.samples == 10_000
    assert spec.targets.steps == 1000
    assert spec.pue == 1.55
    assert spec.data == "phantom"
    assert spec.sizes_for(2) == [(32, 32)]


def test_unknown_dimension_names_the_field() -> None:
    message = _error({**MINIMAL, "colour_depth": [8, 16]})
    assert "unknown field 'colour_depth'" in message
    assert "image_sizes" in message  # lists the known ones


def test_unknown_nested_field_names_its_path() -> None:
    message = _error({**MINIMAL, "measure": {"iterations": 5}})
    assert "unknown field 'measure.iterations'" in message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"dims": [], "image_sizes": {}}, "dims"),
        ({"dims": [2], "image_sizes": {"2d": []}}, "image_sizes.2d"),
        ({"dims": [3], "image_sizes": {"2d": [32]}}, "image_sizes.3d"),
        ({**MINIMAL, "model_sizes": []}, "model_sizes"),
        ({**MINIMAL, "steps": []}, "steps"),
        ({**MINIMAL, "processes": []}, "processes"),
    ],
)
def test_empty_grid_is_an_error(data: dict, field: str) -> None:
    message = _error(data)
    assert field in message
    assert "empty" in message


@pytest.mark.parametrize(
    "measure",
    [
        {"train_iterations": -5},
        {"samples": -1},
        {"warmup_iterations": -2},
        {"sample_steps": 0},
        {"interval_s": -0.5},
    ],
)
def test_negative_budgets_are_errors(measure: dict) -> None:
    ((field, value),) = measure.items()
    message = _error({**MINIMAL, "measure": measure})
    assert f"measure.{field}" in message
    assert str(value) in message


def test_negative_targets_and_pue_below_one_are_errors() -> None:
    assert "targets.samples" in _error({**MINIMAL, "targets": {"samples": -10}})
    assert "pue" in _error({**MINIMAL, "pue": 0.9})
    assert "steps" in _error({**MINIMAL, "steps": [1000, -200]})
    assert "threads" in _error({**MINIMAL, "threads": 0})


def test_bad_sizes_name_the_entry() -> None:
    assert "has 2 axes but dims is 3" in _error({"dims": [3], "image_sizes": {"3d": ["64x64"]}})
    assert "not a whole number" in _error({**MINIMAL, "image_sizes": {"2d": ["big"]}})


def test_base_must_be_on_the_grid() -> None:
    message = _error({**MINIMAL, "model_sizes": ["small"], "base": {"model": "large"}})
    assert "base.model" in message


def test_parse_size_forms() -> None:
    assert parse_size(64, 3) == (64, 64, 64)
    assert parse_size("256x256x192", 3) == (256, 256, 192)
    assert parse_size([32, 48], 2) == (32, 48)
    with pytest.raises(LpmError, match="must be positive"):
        parse_size(0, 2)


def test_load_spec_from_yaml(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**MINIMAL, "regions": ["DE", "SE"]}))
    assert load_spec(path).regions == ["DE", "SE"]
    path.write_text("dims: [2\n")
    with pytest.raises(LpmError, match="not valid YAML"):
        load_spec(path)
    with pytest.raises(LpmError, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_yaml(name: str) -> None:
    spec = preset_spec(name)
    assert spec_from_dict(yaml.safe_load(spec.to_yaml())) == spec


def test_paper_preset_is_the_papers_grid() -> None:
    spec = preset_spec("paper")
    assert spec.sizes_for(2) == [(192, 192), (256, 256), (320, 320), (512, 512)]
    assert spec.sizes_for(3)[-1] == (256, 256, 192)
    assert spec.model_size_at(2) == (256, 256) and spec.model_size_at(3) == (192, 192, 192)
    assert spec.processes == [1, 4] and spec.steps == [1000, 200]
    assert spec.regions == ["SE", "DE", "PL", "CN", "US", "EU27"]
    assert spec.intensity_source == "paper2024"
    assert (spec.measure.train_iterations, spec.measure.samples) == (6000, 50)
    assert (spec.targets.train_iterations, spec.targets.samples) == (150_000, 10_000)


def test_unknown_preset() -> None:
    with pytest.raises(LpmError, match="unknown preset 'fast'"):
        preset_spec("fast")
