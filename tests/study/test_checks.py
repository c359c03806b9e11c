"""Spec checks against the world: model sizes, regions, data paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.study.checks import check_data, check_regions, check_sizes
from lpm.study.spec import spec_from_dict


def test_a_size_the_model_cannot_take_is_named_with_a_fix() -> None:
    spec = spec_from_dict({"dims": [3], "image_sizes": {"3d": [32, "48x48x40"]}})
    with pytest.raises(LpmError) as info:
        check_sizes(spec, multiple=lambda dims, model: 16)
    message = str(info.value)
    assert "48x48x40" in message and "multiple of 16" in message
    assert "use e.g. 48" in message


def test_sizes_that_divide_pass() -> None:
    spec = spec_from_dict({"dims": [2], "image_sizes": {"2d": [32, 64]}})
    check_sizes(spec, multiple=lambda dims, model: 16)


def test_regions_and_months_must_have_an_intensity() -> None:
    ok = spec_from_dict(
        {
            "dims": [2],
            "image_sizes": {"2d": [32]},
            "regions": ["SE", "DE", "PL", "CN", "US", "EU27"],
            "intensity_source": "paper2024",
            "months": {"region": "DE", "year": 2022},
        }
    )
    check_regions(ok)
    bad = ok.model_copy(update={"regions": ["DE", "Mordor"]})
    with pytest.raises(LpmError, match=r"spec regions: .*Mordor"):
        check_regions(bad)
    no_months = ok.model_copy(update={"months": ok.months.model_copy(update={"year": 1850})})
    with pytest.raises(LpmError, match="spec months"):
        check_regions(no_months)


def test_data_path_must_exist(tmp_path) -> None:
    spec = spec_from_dict({"dims": [2], "image_sizes": {"2d": [32]}, "data": str(tmp_path)})
    check_data(spec)
    with pytest.raises(LpmError, match="does not exist"):
        check_data(spec.model_copy(update={"data": str(tmp_path / "missing")}))


@pytest.mark.parametrize("name", ["quick", "paper"])
def test_presets_pass_every_check_with_the_real_models(name: str) -> None:
    from lpm.study.checks import check_spec
    from lpm.study.presets import preset_spec

    check_spec(preset_spec(name))  # sizes divide lpm.ldm's downsampling, regions exist


def test_a_scenario_too_large_for_this_machine_is_refused_before_the_study() -> None:
    from lpm.study.checks import check_memory

    spec = spec_from_dict({"dims": [2, 3], "image_sizes": {"2d": [32], "3d": [32, 64]}})
    check_memory(spec, device="cpu", available=64 * 2**30)  # fits in 64 GiB
    with pytest.raises(LpmError) as info:
        check_memory(spec, device="cpu", available=300 * 2**20)  # 300 MiB
    message = str(info.value)
    assert "needs about" in message and "0.3 GiB of RAM is free" in message
    assert "--executor slurm" in message


def test_processes_of_one_run_share_the_hosts_ram() -> None:
    from lpm.ldm import TrainConfig
    from lpm.ldm.memory import estimate
    from lpm.study.checks import check_memory
    from lpm.study.grid import jobs
    from lpm.study.measure import train_settings

    spec = spec_from_dict(
        {"dims": [2], "image_sizes": {"2d": [64]}, "model_sizes": ["small"], "processes": [1, 2]}
    )
    need = max(
        estimate(TrainConfig(**train_settings(j, spec, Path("/x"))), "cpu").bytes
        for j in jobs(spec)
        if j.processes == 1
    )
    check_memory(spec, device="cpu", available=2 * need + 1)
    with pytest.raises(LpmError, match="p2"):
        check_memory(spec, device="cpu", available=int(1.5 * need))
