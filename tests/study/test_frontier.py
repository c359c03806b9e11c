"""lpm.study.frontier: Pareto fronts (against brute force), tolerance, recommend, break-even."""

from __future__ import annotations

import math
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.results import tradeoff_factory
from tests.results.tradeoff_factory import make_run

from lpm.results import TradeoffSummary
from lpm.study.frontier import (
    JUDGED_METRICS,
    break_even,
    break_even_pair,
    excess,
    pareto_front,
    recommend,
    summarize,
    within_tolerance,
)

# narrow intervals: these tests are about values; the CI rule has its own test below
make_point = partial(tradeoff_factory.make_point, ci=0.001)

HU = "hu_wasserstein"


def _pts(pairs, metric=HU):
    """Points of (co2e, metric value) pairs, one step count each so ids differ."""
    return [
        make_point(steps=i + 1, co2e_kg=c, values={metric: m}) for i, (c, m) in enumerate(pairs)
    ]


def _brute(points, metric=HU):
    def dominated(p):
        pc, pm = p.synthesis_co2e_kg, p.metric(metric)
        for q in points:
            qc, qm = q.synthesis_co2e_kg, q.metric(metric)
            if qc <= pc and qm <= pm and (qc < pc or qm < pm):
                return True
        return False

    return {p.point_id for p in points if not dominated(p)}


def test_known_front():
    # (co2e, hu): the front is A(1, 9), B(2, 5), D(4, 1); C(3, 6) is beaten by B,
    # E(5, 1) by D, F(1, 10) by A; G equal to B is on it too.
    pts = _pts([(1, 9), (2, 5), (3, 6), (4, 1), (5, 1), (1, 10), (2, 5)])
    front = pareto_front(pts, HU)
    assert [p.steps for p in front] == [1, 2, 7, 4]
    assert [p.synthesis_co2e_kg for p in front] == [1, 2, 2, 4]


def test_front_leaves_out_failed_and_missing():
    pts = _pts([(1, 5), (2, 1)])
    pts.append(make_point(steps=99, status="failed", error="CUDA out of memory"))
    pts.append(make_point(steps=98, co2e_kg=0.1, values={HU: math.nan}))
    assert [p.steps for p in pareto_front(pts, HU)] == [1, 2]
    assert pareto_front(pts, "no_such_metric") == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=0, max_size=14))
def test_front_matches_brute_force(pairs):
    pts = _pts([(float(c), float(m)) for c, m in pairs])
    front = pareto_front(pts, HU)
    assert {p.point_id for p in front} == _brute(pts)
    co2es = [p.synthesis_co2e_kg for p in front]
    assert co2es == sorted(co2es)
    values = [p.metric(HU) for p in front]
    assert values == sorted(values, reverse=True)  # along the front quality improves


def test_within_tolerance_by_value_boundary_and_missing():
    ref = make_point("r", "ddpm", 1000, values={HU: 100.0})
    assert within_tolerance(make_point(values={HU: 105.0}), ref, [HU], 0.05, "value")
    assert not within_tolerance(make_point(values={HU: 105.01}), ref, [HU], 0.05, "value")
    assert within_tolerance(make_point(values={HU: 50.0}), ref, [HU], 0.0, "value")
    assert not within_tolerance(make_point(values={HU: 100.0}), ref, ["nope"], 0.05, "value")
    assert not within_tolerance(make_point(status="failed"), ref, [HU], 0.05, "value")
    neg = make_point("r", "ddpm", 1000, values={HU: -10.0})  # |ref| for a negative value
    assert within_tolerance(make_point(values={HU: -9.5}), neg, [HU], 0.05, "value")
    assert not within_tolerance(make_point(values={HU: -9.4}), neg, [HU], 0.05, "value")
    assert excess(make_point(values={HU: 110.0}), ref, HU) == pytest.approx(0.10)
    tiny = make_point("r", "ddpm", 1000, values={HU: 2e-17})  # rounding noise around 0
    assert within_tolerance(make_point(values={HU: 3e-17}), tiny, [HU], 0.05, "value")
    assert not within_tolerance(make_point(values={HU: 1e-6}), tiny, [HU], 0.05, "value")


def test_within_tolerance_by_ci_fails_only_what_the_samples_show_worse():
    ref = make_point("r", "ddpm", 1000, values={HU: 100.0})

    def at(value: float, low: float, high: float):
        point = make_point(values={HU: value})
        record = point.quality[HU].model_copy(update={"ci_low": low, "ci_high": high})
        return point.model_copy(update={"quality": {HU: record}})

    # 20 % worse by value, but its CI reaches into the 5 % band: not shown worse
    assert within_tolerance(at(120.0, 95.0, 150.0), ref, [HU], 0.05)
    assert not within_tolerance(at(120.0, 95.0, 150.0), ref, [HU], 0.05, "value")
    # its whole CI above the band: shown worse
    assert not within_tolerance(at(120.0, 106.0, 150.0), ref, [HU], 0.05)
    # the same value with a narrow CI is judged by it as well
    assert within_tolerance(at(104.0, 103.0, 105.0), ref, [HU], 0.05)


def _sweep():
    ref = make_point("a", "ddpm", 1000, 1, co2e_kg=20.0)
    return ref, [
        ref,
        make_point("a", "ddpm", 1000, 16, co2e_kg=5.0),  # same quality, bigger batch
        make_point("a", "ddim", 50, 16, co2e_kg=0.4, values={HU: 10.4}),  # within (+4 %)
        make_point("a", "ddim", 10, 16, co2e_kg=0.1, values={HU: 12.0}),  # +20 %: out
        make_point("a", "ddim", 20, 16, status="failed"),
    ]


def test_recommend_lowest_within():
    ref, pts = _sweep()
    rec = recommend(pts, ref, JUDGED_METRICS, 0.05)
    assert rec.recommended.point_id == "a/ddim-50-b16" and rec.closest is None
    assert {p.point_id for p in rec.within} == {"a/ddpm-1000-b1", "a/ddpm-1000-b16",
                                                "a/ddim-50-b16"}  # fmt: skip
    assert rec.saving_fraction == pytest.approx(0.98) and rec.saving_co2e_kg == pytest.approx(19.6)
    assert "98.0 % less" in rec.why and "hu_wasserstein +4.0 %" in rec.why
    # a looser tolerance takes the 10-step recipe
    assert recommend(pts, ref, JUDGED_METRICS, 0.25).recommended.steps == 10


def test_recommend_reference_only_names_nearest_cheaper():
    ref = make_point("a", "ddpm", 1000, 1, co2e_kg=20.0)
    pts = [ref, make_point("a", "ddim", 10, 1, co2e_kg=1.0, values={HU: 20.0})]
    rec = recommend(pts, ref)
    assert rec.recommended is ref and rec.saving_fraction == 0.0
    assert "nearest cheaper: a/ddim-10-b1 (hu_wasserstein +100.0 %)" in rec.why


def test_recommend_closest_when_none_within():
    ref, pts = _sweep()
    others = [p for p in pts if p.sampler == "ddim"]
    rec = recommend(others, ref, [HU], 0.01)
    assert rec.recommended is None and rec.closest.point_id == "a/ddim-50-b16"
    assert "closest: a/ddim-50-b16 (hu_wasserstein +4.0 %)" in rec.why


def test_recommend_without_a_reference_or_with_a_failed_one():
    _, pts = _sweep()
    assert "not in the sweep" in recommend(pts, None).why
    failed = make_point("a", "ddpm", 1000, 1, status="failed", error="boom")
    rec = recommend(pts, failed)
    assert rec.recommended is None and "failed (boom)" in rec.why


def test_metric_the_reference_lacks_is_not_judged():
    ref = make_point("a", "ddpm", 1000, 1, co2e_kg=20.0, values={"frechet_distance": math.nan})
    pts = [ref, make_point("a", "ddim", 50, 1, co2e_kg=1.0, values={"frechet_distance": 99.0})]
    rec = recommend(pts, ref)
    assert rec.recommended.steps == 50 and "frechet_distance not judged" in rec.why
    assert rec.judged == ("hu_wasserstein", "tissue_fraction_l1")


def test_break_even_pays_back():
    # A: 1 kWh training, 0.01 kWh per sample; B: 3 kWh training, 0.002 kWh per sample
    a = make_run("ddpm", co2e_kg=0.5)  # 1 kWh
    b = make_run("rflow", objective="rflow", co2e_kg=1.5)  # 3 kWh
    pa = make_point("ddpm", "ddim", 50, 1, co2e_kg=50.0)  # 100 kWh / 10 000 = 0.01
    pb = make_point("rflow", "rflow", 10, 1, co2e_kg=10.0, objective="rflow")  # 0.002
    item = break_even_pair(b, pb, a, pa)  # order of arguments does not matter
    assert item.cheaper_training == "ddpm" and item.costlier_training == "rflow"
    assert item.samples == pytest.approx(2 / 0.008)
    assert "pays back after 250 samples" in item.note


def test_break_even_never_when_costlier_samples_no_cheaper():
    a, b = make_run("a", co2e_kg=0.5), make_run("b", co2e_kg=1.5)
    pa = make_point("a", co2e_kg=1.0)
    pb = make_point("b", co2e_kg=2.0)
    item = break_even_pair(a, pa, b, pb)
    assert item.samples is None and "never pays back" in item.note
    assert break_even_pair(a, pa, b, None).note == "b has no ok point"


def test_break_even_uses_each_runs_best_within():
    a, b = make_run("a", co2e_kg=0.5), make_run("b", co2e_kg=1.5)
    pts = [
        make_point("a", "ddim", 50, co2e_kg=50.0),
        make_point("a", "ddim", 10, co2e_kg=1.0),  # cheap but not within
        make_point("b", "ddim", 10, co2e_kg=10.0),
    ]
    [item] = break_even([a, b], pts, ["a/ddim-50-b1", "b/ddim-10-b1"])
    assert "a/ddim-50-b1 vs b/ddim-10-b1" in item.note and item.samples is not None
    [item] = break_even([a, b], pts, ["a/ddim-50-b1"])
    assert "b: none within tolerance, its cheapest point" in item.note


def test_summarize():
    ref, pts = _sweep()
    s = summarize(pts, [make_run("a")], ref.point_id, region="DE", pue=1.0,
                  finished_at="2026-12-01T12:00:00Z")  # fmt: skip
    assert isinstance(s, TradeoffSummary)
    assert s.recommended == "a/ddim-50-b16" and s.closest is None
    assert s.fronts[HU] == ["a/ddim-10-b16", "a/ddim-50-b16", "a/ddpm-1000-b16"]
    assert s.metrics == list(JUDGED_METRICS) and s.break_even == []
    assert "a/ddim-20-b16" not in s.within


def test_break_even_calls_trainings_within_one_percent_the_same():
    a = make_run("a", co2e_kg=0.5)  # 1 kWh
    b = make_run("b", co2e_kg=0.5002)  # 1.0004 kWh
    pa = make_point("a", "ddpm", 1000, co2e_kg=2.0)
    pb = make_point("b", "rflow", 10, co2e_kg=0.01)
    result = break_even_pair(a, pa, b, pb)
    assert result.samples is None and "the same within 1%" in result.note
