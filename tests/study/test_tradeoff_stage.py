"""The study's tradeoff stage: its spec section, its checks, its presets, its runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

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


# -- the stage in the runner (the sweep faked) ------------------------------------------


def _run(spec, out, **kw):
    from tests.study.fake_measure import fake_measure
    from tests.study.fake_quality import fake_quality
    from tests.study.fake_tradeoff import fake_sweep

    from lpm.study.runner import run_study

    kw = {"quality_fn": fake_quality, "tradeoff_fn": fake_sweep, "progress": False, **kw}
    return run_study(spec, out, measure=fake_measure, **kw)


def test_the_stage_runs_after_the_quality_stage_on_its_model(tmp_path) -> None:
    from tests.study.fake_tradeoff import sweep_calls

    outcome = _run(spec_from_dict(_spec()), tmp_path)
    assert not outcome.failed and outcome.tradeoff is not None
    assert outcome.tradeoff.recommended == "ddpm/ddim-50-b16"
    (call,) = sweep_calls(tmp_path)
    assert call["quality_done"] and call["progress"] is False  # the study's bar is the bar
    assert call["runs"] == [str(tmp_path / "quality" / "work" / "ddpm")]
    sweep = call["sweep"]
    assert sweep["steps"] == [4, 2] and sweep["batches"] == [1, 2]
    assert sweep["reference"] == ["ddpm", 4, 1] and sweep["quality_samples"] == 4
    assert (sweep["energy_steps"], sweep["energy_batches"]) == (2, 1)
    assert (sweep["target_samples"], sweep["pue"], sweep["interval_s"]) == (10_000, 1.55, 0.05)
    assert (tmp_path / "tradeoff" / "tradeoff.json").is_file()


def test_a_finished_sweep_is_not_run_again_and_a_failed_one_is_retried(
    tmp_path, monkeypatch
) -> None:
    from tests.study.fake_tradeoff import FAIL_ENV, sweep_calls

    spec = spec_from_dict(_spec())
    monkeypatch.setenv(FAIL_ENV, "1")
    first = _run(spec, tmp_path)
    assert "simulated failure of the sweep" in first.failed["tradeoff"]
    assert first.tradeoff is None and first.quality is not None and first.records
    failure = json.loads((tmp_path / "failures.jsonl").read_text().splitlines()[-1])
    assert failure["job_id"] == "tradeoff"
    monkeypatch.delenv(FAIL_ENV)
    second = _run(spec, tmp_path)
    assert not second.failed and second.tradeoff is not None
    third = _run(spec, tmp_path)
    assert third.tradeoff == second.tradeoff and len(sweep_calls(tmp_path)) == 2


def test_no_tradeoff_runs_no_sweep(tmp_path) -> None:
    from tests.study.fake_tradeoff import sweep_calls

    outcome = _run(spec_from_dict(_spec()), tmp_path, tradeoff=False)
    assert outcome.tradeoff is None and not outcome.failed and outcome.quality is not None
    assert sweep_calls(tmp_path) == []
    plain = _run(spec_from_dict({**GRID, "quality": TINY_QUALITY}), tmp_path / "b")
    assert plain.tradeoff is None and sweep_calls(tmp_path / "b") == []


def test_without_the_quality_stage_s_model_the_stage_fails_in_one_line(tmp_path) -> None:
    outcome = _run(spec_from_dict(_spec()), tmp_path, quality=False)
    error = outcome.failed["tradeoff"]
    assert "needs the quality stage's model" in error and "--no-tradeoff" in error
    assert "\n" not in error


def test_a_quality_stage_run_again_starts_the_sweep_over(tmp_path) -> None:
    from tests.study.fake_tradeoff import sweep_calls

    spec = spec_from_dict(_spec())
    _run(spec, tmp_path)
    (tmp_path / "tradeoff" / "tradeoff.jsonl").write_text("old points\n")
    (tmp_path / "quality" / "record.json").unlink()  # the quality stage runs again
    again = _run(spec, tmp_path)
    assert again.tradeoff is not None and len(sweep_calls(tmp_path)) == 2
    assert not (tmp_path / "tradeoff" / "tradeoff.jsonl").exists()  # swept from scratch


def test_twins_train_on_the_quality_stage_s_autoencoder_with_its_settings(
    tmp_path, monkeypatch
) -> None:
    from tests.study.fake_tradeoff import sweep_calls

    from lpm.study import tradeoff_stage

    trained = []

    def fake_train(config) -> None:
        trained.append(config)
        config.out.mkdir(parents=True)
        for name in ("ldm.pt", "summary.json", "checkpoints/last.pt"):
            (config.out / name).parent.mkdir(exist_ok=True)
            (config.out / name).write_bytes(b"{}")

    monkeypatch.setattr(tradeoff_stage, "train_twin", fake_train)
    spec = spec_from_dict(_spec(objectives=["ddpm", "rflow"]))
    outcome = _run(spec, tmp_path)
    assert not outcome.failed, outcome.failed
    (twin,) = trained
    assert twin.objective == "rflow" and twin.out == tmp_path / "tradeoff" / "work" / "rflow"
    assert twin.autoencoder == tmp_path / "quality" / "work" / "autoencoder"
    assert (twin.iterations, twin.batch_size, twin.size) == (2, 2, (16, 16))
    assert (twin.model, twin.data, twin.n_items, twin.seed) == ("small", "phantom", 4, 0)
    assert [r.split("/")[-1] for r in sweep_calls(tmp_path)[0]["runs"]] == ["ddpm", "rflow"]
    assert not (twin.out / "checkpoints" / "last.pt").exists()  # checkpoints dropped
    assert (twin.out / "ldm.pt").exists()
    (tmp_path / "tradeoff" / "tradeoff.json").unlink()  # a sweep killed half-way
    _run(spec, tmp_path)
    assert len(trained) == 1 and len(sweep_calls(tmp_path)) == 2  # the twin is not retrained


def test_the_quality_stage_keeps_its_model_when_a_sweep_follows(tmp_path) -> None:
    from lpm.study.quality import drop_checkpoints

    files = [
        "ae/autoencoder.pt",
        "ae/checkpoints/last.pt",
        "ddpm/ldm.pt",
        "ddpm/checkpoints/last.pt",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    drop_checkpoints(tmp_path, keep_models=True)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.pt")) == [
        "ae/autoencoder.pt", "ddpm/ldm.pt",
    ]  # fmt: skip
    drop_checkpoints(tmp_path)
    assert not list(tmp_path.rglob("*.pt"))


def test_the_stage_runs_as_a_slurm_job_after_the_quality_job(tmp_path, monkeypatch) -> None:
    from tests.study.fake_tradeoff import sweep_calls

    from lpm.study.executors import SlurmExecutor

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    ex = SlurmExecutor(tmp_path / "slurm", cluster="local", poll_s=0.1)
    outcome = _run(spec_from_dict(_spec()), tmp_path / "out", executor=ex)
    assert not outcome.failed, outcome.failed
    (call,) = sweep_calls(tmp_path / "out")
    assert call["quality_done"] and call["pid"] != os.getpid()


def test_the_quick_preset_sweeps_its_quality_model_briefly() -> None:
    from lpm.study.presets import preset_spec

    spec = preset_spec("quick")
    stage = spec.tradeoff
    assert stage is not None and stage.setting is None and spec.quality is not None
    assert stage.objectives == ["ddpm"] and stage.samplers == ["ddpm", "ddim"]
    assert stage.steps == [200, 50, 10] and stage.batches == [1, 16]
    ref = stage.reference
    assert (ref.sampler, ref.steps, ref.batch) == ("ddpm", 1000, 1)
    assert stage.quality_samples >= 32 and stage.energy_steps <= 10


def test_the_paper_preset_sweeps_its_own_3d_model_with_both_objectives() -> None:
    from lpm.study.presets import preset_spec

    spec = preset_spec("paper")
    stage = spec.tradeoff
    assert stage is not None and stage.setting is not None
    assert stage.setting.dims == 3 and stage.setting.size_tuple() == (256, 256, 192)
    assert stage.setting.size_tuple() in spec.sizes_for(3)
    assert stage.setting.model == spec.base_model()
    assert stage.objectives == ["ddpm", "rflow"] and stage.samplers is None
    assert stage.steps == [1000, 500, 200, 100, 50, 20, 10] and stage.batches == [1, 4, 16]
    assert stage.tolerance == 0.05


def test_an_own_setting_trains_its_autoencoder_and_a_model_per_objective(
    tmp_path, monkeypatch
) -> None:
    from tests.study.fake_tradeoff import sweep_calls

    from lpm.study import tradeoff_stage

    trained: list = []
    monkeypatch.setattr(
        tradeoff_stage, "train_twin", lambda cfg: trained.append(cfg) or _fake_run(cfg.out)
    )
    monkeypatch.setattr(
        tradeoff_stage,
        "train_stage_autoencoder",
        lambda cfg: trained.append(cfg) or _fake_ae(cfg.out),
    )
    own = {"dims": 2, "size": 16, "autoencoder_iterations": 3, "train_iterations": 2}
    spec = spec_from_dict(
        {**GRID, "tradeoff": {**TINY_TRADEOFF, "setting": own, "objectives": ["ddpm", "rflow"]}}
    )
    outcome = _run(spec, tmp_path)
    assert not outcome.failed, outcome.failed
    work = tmp_path / "tradeoff" / "work"
    assert [c.out for c in trained] == [work / "autoencoder", work / "ddpm", work / "rflow"]
    assert trained[0].iterations == 3 and [c.objective for c in trained[1:]] == ["ddpm", "rflow"]
    assert sweep_calls(tmp_path)[0]["runs"] == [str(work / "ddpm"), str(work / "rflow")]


def _fake_run(out: Path) -> None:
    out.mkdir(parents=True)
    (out / "ldm.pt").write_bytes(b"x")
    (out / "summary.json").write_text("{}")


def _fake_ae(out: Path) -> None:
    out.mkdir(parents=True)
    (out / "autoencoder.pt").write_bytes(b"x")


@pytest.mark.slow
def test_the_real_stage_sweeps_the_quality_model_and_an_rflow_twin(tmp_path) -> None:
    from tests.study.fake_measure import fake_measure

    from lpm.results import read_tradeoff
    from lpm.study.runner import run_study

    spec = spec_from_dict(_spec(objectives=["ddpm", "rflow"], samplers=["ddim", "rflow"]))
    outcome = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    assert not outcome.failed, outcome.failed
    summary = outcome.tradeoff
    assert summary is not None and summary.reference == "ddpm/ddpm-4-b1"
    assert [(r.label, r.objective) for r in summary.runs] == [("ddpm", "ddpm"), ("rflow", "rflow")]
    points, _ = read_tradeoff(tmp_path / "tradeoff")
    ids = {p.point_id for p in points}
    assert {"ddpm/ddim-2-b2", "ddpm/ddpm-4-b1", "rflow/rflow-4-b2"} <= ids
    assert all(p.ok for p in points), [p.error for p in points if not p.ok]
    assert (tmp_path / "quality" / "work" / "ddpm" / "ldm.pt").is_file()  # kept for the sweep
    assert not list((tmp_path / "quality").rglob("checkpoints/*.pt"))
    again = run_study(spec, tmp_path, measure=fake_measure, progress=False)
    assert again.tradeoff == summary  # finished: not run again
