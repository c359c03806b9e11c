"""The scenario grid: one factor at a time around a base, or the full product."""

from __future__ import annotations

from lpm.study.grid import jobs, scenarios
from lpm.study.presets import preset_spec
from lpm.study.spec import spec_from_dict


def _ids(spec) -> list[str]:
    return [s.scenario_id for s in scenarios(spec)]


def test_one_factor_design_varies_each_dimension_around_the_base() -> None:
    spec = spec_from_dict(
        {
            "dims": [3],
            "image_sizes": {"3d": [16, "32x32x24"]},
            "model_sizes": ["small", "medium", "large"],
            "processes": [1, 2],
            "steps": [1000, 200],
            "sampler": "ddim",
            "base": {"model": "medium"},
        }
    )
    assert _ids(spec) == [
        "3d-16-medium-p1-ddim-1000",
        "3d-32x32x24-medium-p1-ddim-1000",
        "3d-16-small-p1-ddim-1000",
        "3d-16-large-p1-ddim-1000",
        "3d-16-medium-p2-ddim-1000",
        "3d-16-medium-p1-ddim-200",
    ]
    # step counts share one measurement
    grouped = {j.job_id: j.steps for j in jobs(spec)}
    assert grouped["3d-16-medium-p1-ddim"] == (1000, 200)
    assert len(grouped) == 5


def test_full_design_is_the_cartesian_product() -> None:
    spec = spec_from_dict(
        {
            "design": "full",
            "dims": [2],
            "image_sizes": {"2d": [32, 64]},
            "model_sizes": ["small", "large"],
            "processes": [1, 2],
            "steps": [10, 20],
        }
    )
    ids = _ids(spec)
    assert len(ids) == len(set(ids)) == 16
    assert len(jobs(spec)) == 8


def test_model_sizes_compared_at_their_own_image_size() -> None:
    spec = preset_spec("paper")
    ids = _ids(spec)
    assert "2d-256-small-p1-ddpm-1000" in ids and "3d-192-large-p1-ddpm-1000" in ids
    assert "2d-512-small-p1-ddpm-1000" not in ids
    assert "3d-192-medium-p4-ddpm-1000" in ids and "3d-192-medium-p1-ddpm-200" in ids


def test_quick_preset_covers_every_dimension_and_stays_small() -> None:
    spec = preset_spec("quick")
    scs = scenarios(spec)
    for dims in (2, 3):
        mine = [s for s in scs if s.dims == dims]
        assert len({s.size for s in mine}) >= 2
        assert {s.model for s in mine} == {"small", "medium", "large"}
        assert {s.processes for s in mine} == {1, 2}
        assert len({s.steps for s in mine}) == 2
    assert len(jobs(spec)) <= 10
