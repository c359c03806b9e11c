"""The study's tradeoff stage: its spec section, its checks, its presets, its runs."""

from __future__ import annotations

import pytest

from lpm.errors import LpmError
from lpm.study.checks import check_spec, check_tradeoff
from lpm.study.spec import spec_from_dict

GRID = {
    "dims": [2],
    "image_sizes": {"2d": [16]},
    "model_sizes": ["small"],
    "steps": [10],
    "measure": {"train_iterations": 2, "samples": 1, "interval_s": 0.05},
    "threads": 1,
}
TINY_QUALITY = {
    "size": 16, "autoencoder_iterations": 2, "train_iterations": 2, "batch_size": 2,
    "samples": 4, "steps": 2, "n_items": 4, "bootstrap": 10,
}  # fmt: skip
TINY_TRADEOFF = {
    "steps": [4, 2], "batches": [1, 2], "quality_samples": 4, "energy_steps": 2,
    "energy_batches": 1, "reference": {"sampler": "ddpm", "steps": 4, "batch": 1},
}  # fmt: skip


def _spec(**tradeoff) -> dict:
    return {**GRID, "quality": TINY_QUALITY, "tradeoff": {**TINY_TRADEOFF, **tradeoff}}


def _error(data: dict, *, check: bool = False) -> str:
    with pytest.raises(LpmError) as info:
        spec = spec_from_dict(data)
        if check:
            check_spec(spec, multiple=lambda dims, model: 4)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_section_reads_with_its_defaults() -> None:
    spec = spec_from_dict({**GRID, "quality": {}, "tradeoff": {}})
    stage = spec.tradeoff
    assert stage is not None and stage.setting is None and stage.objectives == ["ddpm"]
    assert stage.steps == [1000, 500, 200, 100, 50, 20, 10] and stage.batches == [1, 4, 16]
    assert (stage.reference.sampler, stage.reference.steps, stage.reference.batch) == (
        "ddpm", 1000, 1,
    )  # fmt: skip
    assert stage.tolerance == 0.05 and stage.samplers is None
    assert spec_from_dict(GRID).tradeoff is None


def test_a_stage_on_the_quality_model_needs_a_quality_stage() -> None:
    message = _error({**GRID, "tradeoff": {}})
    assert "tradeoff" in message and "quality is null" in message
    own = {"dims": 2, "size": 16, "train_iterations": 2}
    assert spec_from_dict({**GRID, "tradeoff": {"setting": own}}).quality is None


@pytest.mark.parametrize(
    ("tradeoff", "words"),
    [
        ({"batches": [0, 4]}, "tradeoff.batches: must be at least 1"),
        ({"steps": []}, "tradeoff.steps: the list is empty"),
        ({"steps": [10, 10]}, "tradeoff.steps: lists a value twice"),
        ({"tolerance": 0}, "tradeoff.tolerance"),
        ({"tolerance": 1.0}, "tradeoff.tolerance"),
        ({"objectives": ["ddpm", "gan"]}, "tradeoff.objectives"),
        ({"quality_samples": 2}, "tradeoff.quality_samples"),
        ({"setting": {"dims": 3, "size": "32x32"}}, "tradeoff.setting.size"),
        ({"sweeps": 3}, "unknown field 'tradeoff.sweeps'"),
    ],
)
def test_bad_settings_are_one_line_naming_the_field(tradeoff: dict, words: str) -> None:
    assert words in _error(_spec(**tradeoff))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_spec(samplers=["ddim", "bogus"]), "tradeoff.samplers: unknown sampler 'bogus'"),
        (_spec(samplers=["rflow"]), "tradeoff.samplers: 'rflow' fits none of the objectives"),
        (_spec(reference={"sampler": "rflow"}), "tradeoff.reference.sampler: 'rflow' fits"),
        (_spec(steps=[1000, 2000]), "tradeoff.steps: 2000 steps is more than the 1000"),
        (_spec(reference={"steps": 1001}), "tradeoff.reference.steps: 1001 steps"),
        ({**_spec(), "data": "/no/such/scans"}, "does not exist"),
        ({**GRID, "sampler": "bogus"}, "spec sampler: unknown sampler 'bogus'"),
        ({**GRID, "sampler": "rflow"}, "spec sampler: 'rflow' cannot run the study's models"),
        ({**GRID, "steps": [5000]}, "spec steps: 5000 steps is more than"),
        ({**_spec(), "quality": {**TINY_QUALITY, "sampler": "nope"}}, "quality.sampler"),
    ],
)
def test_checks_refuse_what_cannot_run_before_anything_runs(data: dict, words: str) -> None:
    assert words in _error(data, check=True)


def test_the_tradeoff_checks_want_held_out_phantoms_and_a_size_the_model_takes(
    tmp_path,
) -> None:
    with pytest.raises(LpmError, match="held-out phantoms"):
        check_tradeoff(spec_from_dict({**_spec(), "data": str(tmp_path)}))
    own = spec_from_dict({**GRID, "tradeoff": {"setting": {"size": 24}}})
    with pytest.raises(LpmError, match=r"tradeoff\.setting\.size 24 .* use e\.g\. 32$"):
        check_tradeoff(own, multiple=lambda dims, model: 16)


def test_a_sweep_whose_samplers_leave_an_objective_out_is_refused() -> None:
    from lpm.study.checks import samplers_by_objective

    if "rflow" not in samplers_by_objective():
        pytest.skip("this lpm trains no rflow objective yet")
    message = _error(_spec(objectives=["ddpm", "rflow"], samplers=["ddim"]), check=True)
    assert "none runs the model of objective rflow" in message
    check_spec(spec_from_dict(_spec(objectives=["ddpm", "rflow"])))
