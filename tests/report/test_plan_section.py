"""The report's "When and where": the study's largest job placed in time and space (issue 12)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lpm.carbon import IntensityDatabase
from lpm.report.plan_section import when_where, when_where_section


def _record(sid: str, train_kwh: float, train_s: float, sample_kwh: float | None = None):
    def part(kwh: float, seconds: float, n: int):
        p = SimpleNamespace(energy_kwh_mean=kwh, duration_s_mean=seconds, n=n)
        return SimpleNamespace(prediction=p)

    sample = None if sample_kwh is None else part(sample_kwh, 3600.0, 10_000)
    return SimpleNamespace(scenario_id=sid, train=part(train_kwh, train_s, 150_000), sample=sample)


def test_the_largest_job_gets_a_month_hours_and_a_region():
    records = [_record("a", 5.0, 6 * 3600), _record("b", 50.0, 8 * 3600, sample_kwh=20.0)]
    ww = when_where(records, "DE", ["SE", "PL", "DE"], 1.55)
    assert ww is not None
    assert ww.job.startswith("b training")
    assert ww.energy_kwh == 50.0
    de = IntensityDatabase.default().lookup("DE")
    assert ww.baseline_kg == pytest.approx(50.0 * 1.55 * de.g_per_kwh / 1000)
    assert ww.month is not None and ww.month_kg < ww.baseline_kg  # some month is cleaner
    assert ww.hour_start_utc is not None and 0 <= ww.hour_start_utc < 24
    assert ww.best_region == "SE"
    assert ww.region_kg < ww.baseline_kg / 5
    page = when_where_section(ww)
    assert "When and where" in page and "SE (of 3 in the spec)" in page
    assert "km by car" in page


def test_a_job_of_days_has_no_start_hour_and_says_why():
    ww = when_where([_record("long", 100.0, 3 * 86400)], "DE", ["DE"], 1.55)
    assert ww.hour_start_utc is None
    assert any("a day or more" in n for n in ww.notes)
    assert "best hours" not in when_where_section(ww)


def test_a_study_without_predictions_has_no_section():
    assert when_where([], "DE", ["DE"], 1.55) is None
    assert when_where_section(None) == ""
