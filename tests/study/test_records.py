"""Result records: the contract with lpm.report, predictions per step count, FLOP/J."""

from __future__ import annotations

import json

import pytest

from lpm.study.grid import Job
from lpm.study.records import build_records, flop_per_j
from lpm.study.spec import spec_from_dict


def _stats(energy_j: float, count: int) -> dict:
    return {
        "count": count,
        "duration_s_mean": 0.5,
        "duration_s_std": 0.05,
        "power_w_mean": 2 * energy_j,
        "power_w_std": 1.0,
        "energy_j_mean": energy_j,
        "energy_j_std": energy_j / 10,
        "estimated": True,
    }


def test_records_follow_the_results_contract() -> None:
    spec = spec_from_dict(
        {
            "dims": [3],
            "image_sizes": {"3d": [16]},
            "steps": [1000, 200],
            "sampler": "ddim",
            "regions": ["SE", "EU27"],
            "intensity_source": "paper2024",
            "measure": {"train_iterations": 8, "samples": 2, "sample_steps": 5},
        }
    )
    job = Job(3, (16, 16, 16), "small", 1, "ddim", (1000, 200))
    train = {
        "step_stats": _stats(100.0, 8),
        "flops_per_iteration": 2e9,
        "parameters": 1234,
        "world_size": 1,
        "estimated": True,
    }
    sample = {"step_stats": _stats(10.0, 10), "flops_per_step": 5e8, "estimated": True}
    measured = {"train_iterations": 8, "warmup": 0, "sample_steps": 10}
    records = build_records(
        job,
        spec,
        train=train,
        sample=sample,
        measured=measured,
        hardware={"cpu": "x"},
        duration_s=3.0,
    )
    by_steps = {r["steps"]: r for r in records}
    assert [r["scenario_id"] for r in records] == [
        "3d-16-small-p1-ddim-1000",
        "3d-16-small-p1-ddim-200",
    ]
    rec = by_steps[1000]
    for key in (
        "status",
        "dims",
        "size",
        "model",
        "processes",
        "sampler",
        "measured",
        "train",
        "sample",
        "targets",
        "pue",
        "region",
        "hardware",
        "estimated",
        "finished_at",
    ):
        assert key in rec
    assert rec["size"] == [16, 16, 16] and rec["status"] == "ok"
    json.dumps(rec)  # plain JSON
    # training: 150 000 iterations × 100 J; EU27 from Table 1 is 251 g/kWh, PUE 1.55
    tp = rec["train"]["prediction"]
    assert tp["n"] == 150_000
    assert tp["energy_kwh_mean"] == pytest.approx(150_000 * 100 / 3.6e6)
    assert tp["footprint"]["co2e_kg"] == pytest.approx(tp["energy_kwh_mean"] * 1.55 * 0.251)
    assert rec["train"]["flop_per_j"] == pytest.approx(2e9 / 100)
    # synthesis: 10 000 samples × steps × 10 J per step; 200 steps cost 20 % of 1000
    s1000 = by_steps[1000]["sample"]["prediction"]["energy_kwh_mean"]
    s200 = by_steps[200]["sample"]["prediction"]["energy_kwh_mean"]
    assert s1000 == pytest.approx(10_000 * 1000 * 10 / 3.6e6)
    assert s200 / s1000 == pytest.approx(0.2)
    assert by_steps[200]["targets"] == {
        "train_iterations": 150_000,
        "samples": 10_000,
        "steps": 200,
    }
    assert rec["sample"]["flop_per_j"] == pytest.approx(5e8 / 10)
    assert rec["estimated"] is True


def test_flop_per_j_unknowns() -> None:
    assert flop_per_j(None, 1.0) is None
    assert flop_per_j(1e9, 0.0) is None
    assert flop_per_j(1e9, 2.0) == 5e8
