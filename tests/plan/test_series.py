"""Intensity series: reading a user's CSV, the packaged profiles as a forecast, backtests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.plan import Job, plan_job, read_series_csv, table_series, to_epoch
from lpm.plan.backtest import BacktestJob, backtest, lwa_ml_jobs, next_workday_deadline

DATA = Path(__file__).parent / "data"
DE = DATA / "DE_2020-03-02_to_09.csv"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text)
    return path


def test_real_slice_reads_with_its_15_minute_steps():
    s = read_series_csv(DE, region="DE")
    assert len(s.starts) == 768
    assert s.end - s.starts[-1] == 900  # the last value holds for the median step
    assert 100 < min(s.values) < max(s.values) < 600
    assert s.basis == "lifecycle"


def test_irregular_csv_is_weighted_by_time(tmp_path):
    path = _csv(
        tmp_path,
        "timestamp,g_co2e_per_kwh\n2020-01-01T00:00,100\n2020-01-01T00:10,400\n"
        "2020-01-01T01:00,400\n",
    )
    s = read_series_csv(path)
    a = to_epoch(datetime(2020, 1, 1, tzinfo=UTC))
    assert s.mean(a, a + 3600) == pytest.approx((10 * 100 + 50 * 400) / 60)


def test_unsorted_rows_are_sorted_with_a_warning(tmp_path, caplog):
    path = _csv(tmp_path, "timestamp,g\n2020-01-01T01:00,2\n2020-01-01T00:00,1\n")
    s = read_series_csv(path)
    assert s.values == (1.0, 2.0)
    assert "sorted" in caplog.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,g\nnot a time,1\n", "no parsable rows"),
        ("", "empty"),
        ("timestamp,g\n2020-01-01T00:00,-50\n", "not a non-negative"),
        ("timestamp,g\n2020-01-01T00:00,1\n2020-01-01T00:00,2\n", "same time"),
    ],
)
def test_bad_csv_is_one_line(tmp_path, text, message):
    with pytest.raises(LpmError, match=message):
        read_series_csv(_csv(tmp_path, text))


def test_packaged_profile_is_a_forecast_with_its_source():
    a = to_epoch(datetime(2026, 12, 2, tzinfo=UTC))
    s = table_series("DE", a, a + 48 * 3600)
    assert len(s.starts) == 48
    assert len(set(s.values)) > 5  # a real within-day profile, not one number
    assert "hour-of-day profile" in s.notes[0]
    flat = table_series("SE", a, a + 48 * 3600)
    assert len(set(flat.values)) == 1
    assert "only the region" in flat.notes[0]


def test_plan_on_the_real_slice_waits_for_the_night():
    s = read_series_csv(DE, region="DE")
    start = to_epoch(datetime(2020, 3, 3, 9, tzinfo=UTC))
    plan = plan_job(Job(10.0, 4 * 3600), start, start + 24 * 3600, series=[s])
    assert plan.best.co2e_kg < plan.baseline.co2e_kg
    assert plan.saving_fraction > 0.05
    assert plan.best.start != start


def test_next_workday_rule_of_the_scenario():
    wed = datetime(2020, 3, 4, 10, tzinfo=UTC)
    assert next_workday_deadline(wed, timedelta(hours=4)) == wed + timedelta(hours=4)
    assert next_workday_deadline(wed, timedelta(hours=8)) == datetime(2020, 3, 5, 9, tzinfo=UTC)
    fri = datetime(2020, 3, 6, 10, tzinfo=UTC)
    assert next_workday_deadline(fri, timedelta(hours=24)) == datetime(2020, 3, 9, 9, tzinfo=UTC)


def test_lwa_jobs_follow_the_scenario():
    jobs = lwa_ml_jobs(2020, n=500)
    assert len(jobs) == 500
    for job in jobs:
        when = datetime.fromtimestamp(job.arrival, tz=UTC)
        assert when.weekday() < 5 and 9 <= when.hour < 17 and when.minute in (0, 30)
        assert 4 * 3600 <= job.duration_s < 90 * 3600
        assert job.deadline >= job.arrival + job.duration_s


def test_backtest_perfect_foresight_bounds_the_forecasts():
    s = read_series_csv(DE, region="DE")
    a = to_epoch(datetime(2020, 3, 9, 9, tzinfo=UTC))
    jobs = [BacktestJob(a + k * 1800, 2 * 3600, a + 14 * 3600) for k in range(4)]
    perfect = backtest(s, jobs, forecast="perfect")
    week = backtest(s, jobs, forecast="last_week")
    assert perfect.jobs == week.jobs == 4
    assert perfect.saving >= week.saving - 1e-12
    assert perfect.saving > 0
    inter = backtest(s, jobs, forecast="perfect", interruptible=True)
    assert inter.saving >= perfect.saving - 1e-12
    with pytest.raises(LpmError, match="enough past"):
        backtest(s, jobs, forecast="profile")  # 28 days of past are not in an 8-day slice
