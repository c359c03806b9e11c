"""Live forecasts for planning against local fake servers; bad answers fall back (issue 12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lpm.plan import Job, plan_job, to_epoch
from lpm.plan.live import live_series
from tests.cli_run import run_cli
from tests.plan.fake_forecasts import TOKEN, running_forecasts


@pytest.fixture
def servers(monkeypatch):
    with running_forecasts() as srv:
        monkeypatch.setenv("LPM_CARBONINTENSITY_URL", srv.url)
        monkeypatch.setenv("LPM_ELECTRICITYMAPS_URL", srv.url)
        monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)
        yield srv


def _now() -> float:
    return to_epoch(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))


def test_gb_uses_the_eso_forecast_and_finds_its_clean_hours(servers):
    start = _now()
    series = live_series("GB", start, start + 24 * 3600)
    assert series.source == "nationalgrideso_forecast" and series.basis == "direct"
    assert servers.requests[0].startswith("/intensity/") and "fw48h" in servers.requests[0]
    plan = plan_job(Job(1.0, 3 * 3600), start, start + 24 * 3600, series=[series])
    assert plan.best.start == pytest.approx(start + 10 * 3600)  # the 4 clean hours from 10 h
    assert plan.best.placement.intensity_g_per_kwh == pytest.approx(100.0)


def test_other_zones_use_electricity_maps_with_the_token(servers):
    start = _now()
    series = live_series("DE", start, start + 24 * 3600)
    assert series.source == "electricitymaps_forecast" and series.basis == "lifecycle"
    assert any("forecast?zone=DE" in r for r in servers.requests)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda s: setattr(s, "status", 503),
        lambda s: setattr(s, "body", b"not json"),
        lambda s: setattr(s, "values", [-50.0] * 96),
        lambda s: setattr(s, "body", json.dumps({"data": [{"from": "x"}]}).encode()),
    ],
)
def test_a_bad_answer_falls_back_to_the_profile_with_a_note(servers, break_it):
    break_it(servers)
    start = _now()
    series = live_series("DE", start, start + 24 * 3600)
    assert series.source != "electricitymaps_forecast"
    assert "live forecast unavailable" in series.notes[0]
    # and it is asked again next time: nothing bad was kept
    live_series("DE", start, start + 24 * 3600)
    assert len(servers.requests) == 2


def test_no_token_falls_back(monkeypatch):
    monkeypatch.delenv("ELECTRICITYMAPS_API_TOKEN", raising=False)
    start = _now()
    series = live_series("DE", start, start + 24 * 3600)
    assert "no Electricity Maps token" in series.notes[0]


def test_cli_live_plan(servers, capsys):
    code, out, err = run_cli(
        ["plan", "--kwh", "2", "--hours", "3", "--region", "GB", "--live", "--within", "72h",
         "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    obj = json.loads(out)
    assert obj["options"][0]["source"] == "nationalgrideso_forecast"
    # the 48-hour forecast cuts the 72-hour window, and says so
    assert any("forecast ends" in n for n in obj["notes"])
