"""Result records: built from the real result types, measured per step count, round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpm.energy import StepStats
from lpm.errors import LpmError
from lpm.ldm.results import SampleResult, TrainResult
from lpm.provenance import Provenance
from lpm.report.results import read_results
from lpm.results import ScenarioRecord, record_to_dict
from lpm.study.grid import Job
from lpm.study.records import build_records, flop_per_j, synthesis_steps
from lpm.study.spec import spec_from_dict
from lpm.study.store import ResultsStore

J_PER_KWH = 3.6e6
SPEC = {
    "dims": [3],
    "image_sizes": {"3d": [16]},
    "steps": [1000, 200],
    "sampler": "ddim",
    "regions": ["SE", "EU27"],
    "intensity_source": "paper2024",
    "measure": {"train_iterations": 8, "samples": 2, "warmup_samples": 1},
}


def _stats(energy_j: float, count: int, provenance: Provenance, window: str) -> StepStats:
    return StepStats(
        count=count,
        duration_s_mean=0.5,
        duration_s_std=0.05,
        power_w_mean=2 * energy_j,
        power_w_std=1.0,
        energy_j_mean=energy_j,
        energy_j_std=energy_j / 10,
        provenance=provenance,
        window=window,
        warmup_steps=3,
        power_samples=count,
    )


def _train(provenance: Provenance = Provenance.ESTIMATED, flops: int | None = 2_000_000_000):
    return TrainResult(
        out=Path("train"),
        iterations=11,
        duration_s=6.0,
        it_energy_kwh=1100 / J_PER_KWH,
        co2e_kg=0.0,
        energy_per_iteration_j=100.0,
        flops_per_iteration=flops,
        parameters=1234,
        step_stats=_stats(100.0, 8, provenance, "train"),
        world_size=1,
        estimated=provenance.is_estimated,
        provenance=provenance,
    ).to_dict()


def _sample(
    steps: int,
    step_j: float,
    fixed_j: float,
    provenance: Provenance = Provenance.ESTIMATED,
    flops: int | None = 500_000_000,
) -> dict:
    per_sample = fixed_j + steps * step_j
    return SampleResult(
        out=Path(f"samples-{steps}"),
        samples=3,
        steps=steps,
        duration_s=3 * steps * 0.5,
        it_energy_kwh=3 * per_sample / J_PER_KWH,
        co2e_kg=0.0,
        energy_per_sample_j=per_sample,
        energy_per_step_j=step_j,
        flops_per_step=flops,
        step_stats=_stats(step_j, 2 * steps, provenance, "sample"),
        estimated=provenance.is_estimated,
        provenance=provenance,
        samples_measured=2,
        fixed_per_sample_j_mean=fixed_j,
        fixed_per_sample_j_std=fixed_j / 20,
        fixed_per_sample_s_mean=0.25,
        fixed_per_sample_s_std=0.01,
        energy_per_sample_j_mean=per_sample,
        energy_per_sample_j_std=per_sample / 50,
    ).to_dict()


JOB = Job(3, (16, 16, 16), "small", 1, "ddim", (1000, 200))


def _records(**kw) -> list[ScenarioRecord]:
    spec = spec_from_dict(kw.pop("spec", SPEC))
    return build_records(
        kw.pop("job", JOB),
        spec,
        train=kw.pop("train", _train()),
        samples=kw.pop(
            "samples", {1000: _sample(1000, 10.0, 500.0), 200: _sample(200, 11.0, 480.0)}
        ),
        hardware={"cpu": "x"},
        duration_s=3.0,
    )


def test_each_step_count_is_its_own_measurement() -> None:
    records = _records()
    assert [r.scenario_id for r in records] == [
        "3d-16-small-p1-ddim-1000",
        "3d-16-small-p1-ddim-200",
    ]
    by_steps = {r.steps: r for r in records}
    r1000, r200 = by_steps[1000].sample, by_steps[200].sample
    assert r1000 is not None and r200 is not None
    assert (r1000.steps, r200.steps) == (1000, 200)
    assert not r1000.steps_override and not r200.steps_override
    assert all(r.synthesis_measured_directly for r in records)
    assert r1000.step_stats.energy_j_mean == 10.0 and r200.step_stats.energy_j_mean == 11.0
    assert r1000.samples == 2 and r1000.fixed_per_sample_j_mean == 500.0
    assert r200.energy_per_sample_j_mean == pytest.approx(480 + 200 * 11)
    # 10 000 samples × (fixed + steps × per step), each from its own run
    p1000, p200 = r1000.prediction, r200.prediction
    assert p1000.n == p200.n == 10_000
    assert p1000.energy_j_mean == pytest.approx(10_000 * (500 + 1000 * 10))
    assert p200.energy_j_mean == pytest.approx(10_000 * (480 + 200 * 11))
    assert p1000.fixed_energy_j_mean == pytest.approx(10_000 * 500)
    assert p200.energy_kwh_mean / p1000.energy_kwh_mean != pytest.approx(0.2)
    assert p1000.co2e_kg_mean == pytest.approx(p1000.energy_kwh_mean * 1.55 * 0.251)
    assert r1000.fixed_share == pytest.approx(500 / 10_500)
    assert r1000.flop_per_j == pytest.approx(5e8 / 10)


def test_training_part_and_the_record_fields() -> None:
    rec = _records()[0]
    assert rec.schema_version == 2 and rec.status == "ok" and rec.error is None
    assert rec.size == (16, 16, 16) and rec.dims == 3 and rec.model == "small"
    assert rec.targets.model_dump() == {
        "train_iterations": 150_000,
        "samples": 10_000,
        "steps": 1000,
    }
    assert rec.measured.model_dump() == {
        "train_iterations": 8,
        "warmup_iterations": 0,
        "samples": 2,
        "warmup_samples": 1,
        "sample_steps": None,
    }
    assert rec.intensity_source == "paper2024" and rec.region == "EU27" and rec.pue == 1.55
    train = rec.train
    assert train is not None
    assert train.prediction.n == 150_000
    assert train.prediction.energy_kwh_mean == pytest.approx(150_000 * 100 / J_PER_KWH)
    assert train.prediction.fixed_energy_j_mean == 0.0
    assert train.flop_per_j == pytest.approx(2e9 / 100)
    assert train.parameters == 1234 and train.world_size == 1


def test_provenance_of_each_part_and_combined() -> None:
    records = _records(
        train=_train(Provenance.MEASURED),
        samples={
            1000: _sample(1000, 10.0, 500.0, Provenance.ESTIMATED),
            200: _sample(200, 11.0, 480.0, Provenance.MEASURED),
        },
    )
    by_steps = {r.steps: r for r in records}
    assert by_steps[1000].provenance is Provenance.MIXED
    assert by_steps[1000].provenance_parts() == {
        "train": Provenance.MEASURED,
        "sample": Provenance.ESTIMATED,
    }
    assert by_steps[1000].sample.prediction.provenance is Provenance.ESTIMATED
    assert by_steps[200].provenance is Provenance.MEASURED
    data = record_to_dict(by_steps[200])
    assert data["provenance"] == "measured" and data["estimated"] is False
    assert data["train"]["step_stats"]["provenance"] == "measured"


def test_sample_steps_override_only_for_a_job_with_one_step_count() -> None:
    spec = spec_from_dict({**SPEC, "measure": {**SPEC["measure"], "sample_steps": 5}})
    single = Job(3, (32, 32, 32), "small", 1, "ddim", (1000,))
    assert synthesis_steps(single, spec) == {1000: 5}
    assert synthesis_steps(JOB, spec) == {1000: 1000, 200: 200}
    (rec,) = _records(
        spec={**SPEC, "measure": {**SPEC["measure"], "sample_steps": 5}},
        job=single,
        samples={5: _sample(5, 10.0, 500.0)},
    )
    assert rec.sample is not None and rec.sample.steps == 5 and rec.sample.steps_override
    assert rec.measured.sample_steps == 5 and not rec.synthesis_measured_directly
    # scaled to the scenario's 1000 steps with the fixed cost measured at 5
    assert rec.sample.prediction.energy_j_mean == pytest.approx(10_000 * (500 + 1000 * 10))
    # the job that compares step counts is measured directly and says so
    both = _records(spec={**SPEC, "measure": {**SPEC["measure"], "sample_steps": 5}})
    assert [(r.sample.steps, r.sample.steps_override, r.measured.sample_steps) for r in both] == [
        (1000, False, None),
        (200, False, None),
    ]


def test_a_step_count_without_its_run_is_an_error() -> None:
    with pytest.raises(LpmError, match=r"no sampling run at \[200\] steps"):
        _records(samples={1000: _sample(1000, 10.0, 500.0)})


def test_no_measured_step_is_an_error() -> None:
    bad = _sample(200, 11.0, 480.0)
    bad["step_stats"]["count"] = 0
    with pytest.raises(LpmError, match=r"200-step sampling run .* measured no step"):
        _records(samples={1000: _sample(1000, 10.0, 500.0), 200: bad})


def test_unknown_flops_stay_unknown() -> None:
    records = _records(
        train=_train(flops=None),
        samples={1000: _sample(1000, 10.0, 500.0, flops=None), 200: _sample(200, 11.0, 480.0)},
    )
    rec = records[0]
    assert rec.train.flops_per_iteration is None and rec.train.flop_per_j is None
    assert rec.sample.flops_per_step is None and rec.sample.flop_per_j is None
    assert flop_per_j(None, 1.0) is None
    assert flop_per_j(1e9, 0.0) is None
    assert flop_per_j(0, 1.0) is None
    assert flop_per_j(1e9, 2.0) == 5e8


def test_round_trip_from_build_records_to_the_reports_reader(tmp_path: Path) -> None:
    records = _records(train=_train(Provenance.MEASURED))
    store = ResultsStore(tmp_path)
    store.init(spec_from_dict(SPEC))
    assert store.append(records) == [r.scenario_id for r in records]
    res = read_results(tmp_path)
    assert res.records == tuple(records)
    assert res.skipped_lines == () and res.duplicates == 0
    assert store.records() == records
