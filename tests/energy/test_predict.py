"""Prediction from K steps to N (paper §2.2) and the running statistics behind it."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpm.carbon import footprint
from lpm.energy import StepStats, predict, predict_synthesis
from lpm.energy._stats import RunningStats, t_quantile_975
from lpm.errors import LpmError
from lpm.provenance import Provenance


def stats(p=100.0, p_std=10.0, t=2.0, t_std=0.1, count=10, estimated=False) -> StepStats:
    return StepStats.from_parts(
        count=count,
        duration_s_mean=t,
        duration_s_std=t_std,
        power_w_mean=p,
        power_w_std=p_std,
        estimated=estimated,
    )


def test_prediction_is_power_times_duration_times_n_with_pue() -> None:
    s = stats()
    pred = predict(s, 1000, pue=1.55, region="DE")
    assert pred.energy_j_mean == pytest.approx(100.0 * 2.0 * 1000)
    step_std = math.sqrt((2.0 * 10.0) ** 2 + (100.0 * 0.1) ** 2 + (10.0 * 0.1) ** 2)
    assert pred.energy_j_std == pytest.approx(step_std * 1000)
    assert pred.energy_kwh_mean == pytest.approx(200_000 / 3.6e6)
    fp = footprint(pred.energy_kwh_mean, pue=1.55, region="DE")
    assert pred.footprint.facility_energy_kwh == pytest.approx(pred.energy_kwh_mean * 1.55)
    assert pred.co2e_kg_mean == pytest.approx(fp.co2e_kg)
    half = 2.262 * step_std / math.sqrt(10) * 1000 / 3.6e6  # t(0.975, 9 dof)
    lo, hi = pred.ci95_kwh
    assert lo == pytest.approx(pred.energy_kwh_mean - half, rel=1e-3)
    assert hi == pytest.approx(pred.energy_kwh_mean + half, rel=1e-3)
    assert pred.duration_s_mean == pytest.approx(2000.0)
    d = pred.to_dict()
    assert d["facility_energy_kwh_mean"] == pytest.approx(pred.energy_kwh_mean * 1.55)
    assert d["ci95_kwh"] == [lo, hi]


def test_estimated_flag_carries_through() -> None:
    assert predict(stats(estimated=True), 10).estimated
    assert not predict(stats(), 10).estimated


@pytest.mark.parametrize("n", [0, -5, 1.5, True])
def test_bad_n_is_a_user_error(n: object) -> None:
    with pytest.raises(LpmError, match="n must be"):
        predict(stats(), n)  # type: ignore[arg-type]


def test_no_steps_is_a_user_error() -> None:
    with pytest.raises(LpmError, match="no measured steps"):
        predict(stats(count=0), 10)


@given(
    p=st.floats(1, 1000),
    t=st.floats(0.001, 100),
    k=st.integers(2, 500),
    n=st.integers(1, 10**6),
)
def test_prediction_scales_with_n_and_the_interval_holds_the_mean(p, t, k, n) -> None:
    s = stats(p=p, p_std=p / 10, t=t, t_std=t / 10, count=k)
    one = predict(s, 1)
    many = predict(s, n)
    assert many.energy_j_mean == pytest.approx(one.energy_j_mean * n)
    lo, hi = many.ci95_kwh
    assert lo <= many.energy_kwh_mean <= hi


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60), st.integers(0, 10))
def test_running_stats_match_statistics_and_removal(values, drop) -> None:
    rs = RunningStats()
    for v in values:
        rs.add(v)
    assert rs.mean == pytest.approx(statistics.fmean(values), abs=1e-6)
    assert rs.std == pytest.approx(statistics.stdev(values), rel=1e-6, abs=1e-6)
    drop = min(drop, len(values) - 2)
    for v in values[:drop]:
        rs.remove(v)
    rest = values[drop:]
    assert rs.count == len(rest)
    # removal subtracts sums: exact up to rounding at the scale of the removed values
    scale = 1e-6 * max(abs(v) for v in values) + 1e-9
    assert rs.mean == pytest.approx(statistics.fmean(rest), abs=scale)
    assert rs.std == pytest.approx(statistics.stdev(rest), rel=1e-5, abs=scale)


def test_weighted_mean_is_time_weighted() -> None:
    rs = RunningStats()
    rs.add(400.0, 4.0)
    rs.add(100.0, 8.0)
    assert rs.mean == pytest.approx(200.0)


def test_t_quantiles() -> None:
    assert t_quantile_975(1) == pytest.approx(12.706)
    assert t_quantile_975(9) == pytest.approx(2.262)
    assert 2.0 < t_quantile_975(50) < 2.021
    assert t_quantile_975(10**6) == pytest.approx(1.96, abs=1e-3)


def test_predict_states_provenance_and_no_fixed_part() -> None:
    pred = predict(stats(), 10)
    assert pred.provenance is Provenance.MEASURED and pred.fixed_energy_j_mean == 0.0
    d = pred.to_dict()
    assert d["provenance"] == "measured" and d["estimated"] is False
    assert d["fixed_energy_j_mean"] == 0.0
    sim = StepStats.from_parts(
        count=3,
        duration_s_mean=1.0,
        duration_s_std=0.0,
        power_w_mean=300.0,
        power_w_std=0.0,
        provenance=Provenance.SIMULATED,
    )
    assert predict(sim, 5).provenance is Provenance.SIMULATED
    assert not predict(sim, 5).estimated


def test_predict_synthesis_is_fixed_plus_steps_times_step_per_sample() -> None:
    per_step = stats(p=100.0, p_std=10.0, t=0.5, t_std=0.05, count=40)
    pred = predict_synthesis(
        per_step,
        steps=200,
        samples=10,
        fixed_j_mean=500.0,
        fixed_j_std=50.0,
        fixed_s_mean=4.0,
        fixed_s_std=0.5,
        pue=1.2,
        region="DE",
        fixed_count=8,
    )
    one_j = 500.0 + 200 * per_step.energy_j_mean
    assert pred.n == 10 and pred.measured_steps == 40
    assert pred.energy_j_mean == pytest.approx(10 * one_j)
    assert pred.fixed_energy_j_mean == pytest.approx(10 * 500.0)
    assert pred.energy_j_std == pytest.approx(10 * math.hypot(50.0, 200 * per_step.energy_j_std))
    assert pred.duration_s_mean == pytest.approx(10 * (4.0 + 200 * 0.5))
    assert pred.duration_s_std == pytest.approx(10 * math.hypot(0.5, 200 * 0.05))
    half_step = t_quantile_975(39) * per_step.energy_j_std / math.sqrt(40)
    half_fixed = t_quantile_975(7) * 50.0 / math.sqrt(8)
    half = math.hypot(half_fixed, 200 * half_step)
    lo, hi = pred.ci95_kwh
    assert lo == pytest.approx(10 * (one_j - half) / 3.6e6)
    assert hi == pytest.approx(10 * (one_j + half) / 3.6e6)
    assert pred.footprint.pue == 1.2 and pred.footprint.intensity.region == "DE"
    assert pred.co2e_kg_mean == pytest.approx(
        footprint(pred.energy_kwh_mean, pue=1.2, region="DE").co2e_kg
    )
    assert pred.to_dict()["fixed_energy_j_mean"] == pytest.approx(5000.0)


def test_predict_synthesis_with_no_fixed_cost_equals_predict_of_all_steps() -> None:
    per_step = stats(count=12)
    syn = predict_synthesis(per_step, steps=50, samples=4, fixed_j_mean=0.0, fixed_j_std=0.0)
    plain = predict(per_step, 200)
    assert syn.energy_j_mean == pytest.approx(plain.energy_j_mean)
    assert syn.energy_j_std == pytest.approx(plain.energy_j_std)
    assert syn.ci95_kwh == pytest.approx(plain.ci95_kwh)
    assert syn.duration_s_mean == pytest.approx(plain.duration_s_mean)
    assert syn.n == 4 and plain.n == 200


def test_predict_synthesis_provenance_combines_fixed_and_steps() -> None:
    per_step = stats()
    kw = {"steps": 10, "samples": 2, "fixed_j_mean": 1.0, "fixed_j_std": 0.1}
    assert predict_synthesis(per_step, **kw).provenance is Provenance.MEASURED
    mixed = predict_synthesis(per_step, **kw, fixed_provenance="estimated")
    assert mixed.provenance is Provenance.MIXED and mixed.estimated


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"steps": 0}, "steps"),
        ({"samples": 1.5}, "samples"),
        ({"fixed_j_mean": -1.0}, "fixed_j_mean"),
        ({"fixed_j_std": float("nan")}, "fixed_j_std"),
        ({"fixed_count": 0}, "fixed_count"),
    ],
)
def test_predict_synthesis_bad_input_is_a_user_error(kw: dict, words: str) -> None:
    args = {"steps": 10, "samples": 2, "fixed_j_mean": 1.0, "fixed_j_std": 0.1, **kw}
    with pytest.raises(LpmError, match=words):
        predict_synthesis(stats(), **args)
    with pytest.raises(LpmError, match="no measured denoising steps"):
        predict_synthesis(stats(count=0), steps=1, samples=1, fixed_j_mean=0.0, fixed_j_std=0.0)
