"""Live intensity against a local Electricity Maps stand-in (no real network)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.carbon.fake_electricitymaps import TOKEN, running_server

from lpm.carbon import IntensityDatabase, footprint
from lpm.carbon.live import (
    ENV_TOKEN,
    ENV_URL,
    LIVE_SOURCE,
    ElectricityMapsClient,
    LiveIntensityError,
    live_intensity,
)
from lpm.errors import LpmError


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


@pytest.fixture
def env(monkeypatch, tmp_path, server):
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    monkeypatch.setenv(ENV_URL, server.url)
    monkeypatch.setenv("LPM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_latest_sends_the_token_header_and_parses_the_answer(server, env):
    found = live_intensity("Germany")
    assert (found.region, found.g_per_kwh, found.source) == ("DE", 123.0, LIVE_SOURCE)
    assert (found.year, found.month, found.hour, found.basis) == (2026, 11, 18, "lifecycle")
    request = server.requests[-1]
    assert request["path"] == "/v3/carbon-intensity/latest"
    assert request["query"] == {"zone": "DE"}
    assert request["token"] == TOKEN


def test_past_and_basis(server, env):
    when = datetime(2024, 3, 5, 7, tzinfo=UTC)
    found = live_intensity("DE", when=when, basis="direct")
    assert (found.g_per_kwh, found.basis, found.year, found.month, found.hour) == (
        456.0,
        "direct",
        2024,
        3,
        7,
    )
    request = server.requests[-1]
    assert request["path"] == "/v3/carbon-intensity/past"
    assert request["query"] == {
        "zone": "DE",
        "datetime": "2024-03-05T07:00:00Z",
        "emissionFactorType": "direct",
    }


def test_answers_are_cached_on_disk(server, env):
    live_intensity("DE")
    live_intensity("DE")
    assert len(server.requests) == 1
    assert (env / "electricitymaps.json").is_file()
    assert TOKEN not in (env / "electricitymaps.json").read_text()
    when = datetime(2024, 3, 5, 7, tzinfo=UTC)
    live_intensity("DE", when=when)
    live_intensity("DE", when=when)
    assert len(server.requests) == 2


def test_latest_cache_expires(server, tmp_path):
    client = ElectricityMapsClient(
        token=TOKEN, base_url=server.url, cache_dir=tmp_path, latest_ttl_s=0.0
    )
    client.latest("DE")
    time.sleep(0.01)
    client.latest("DE")
    assert len(server.requests) == 2
    assert TOKEN not in repr(client)


@pytest.mark.parametrize("failure", ["http_500", "bad_token", "not_json", "no_value"])
def test_falls_back_to_the_tables_with_a_warning(server, env, monkeypatch, caplog, failure):
    if failure == "http_500":
        server.status = 500
    elif failure == "bad_token":
        monkeypatch.setenv(ENV_TOKEN, "wrong-" + TOKEN)
    elif failure == "not_json":
        server.body = b"<html>"
    else:
        server.body = b'{"zone": "DE", "datetime": "2026-11-25T18:00:00Z"}'
    with caplog.at_level(logging.WARNING, logger="lpm.carbon.live"):
        found = live_intensity("DE")
    assert found == IntensityDatabase.default().lookup("DE")
    assert "live carbon intensity unavailable" in caplog.text
    assert "offline tables" in caplog.text
    assert TOKEN not in caplog.text


def test_timeout_falls_back(server, env, caplog):
    server.delay_s = 1.0
    with caplog.at_level(logging.WARNING, logger="lpm.carbon.live"):
        found = live_intensity("DE", timeout_s=0.2)
    assert found.source != LIVE_SOURCE
    assert "could not be reached" in caplog.text


def test_no_token_falls_back_or_raises(server, env, monkeypatch, caplog):
    monkeypatch.delenv(ENV_TOKEN)
    with caplog.at_level(logging.WARNING, logger="lpm.carbon.live"):
        assert live_intensity("PL").source != LIVE_SOURCE
    assert ENV_TOKEN in caplog.text
    with pytest.raises(LiveIntensityError, match="no Electricity Maps token"):
        live_intensity("PL", fallback=False)
    assert server.requests == []


def test_errors_never_show_the_token(server, env):
    server.status = 503
    with pytest.raises(LiveIntensityError) as info:
        live_intensity("DE", fallback=False)
    assert "HTTP 503" in str(info.value)
    assert TOKEN not in str(info.value)


def test_fallback_with_a_time_uses_that_year(server, env, monkeypatch):
    monkeypatch.delenv(ENV_TOKEN)
    found = live_intensity("DE", when=datetime(2022, 6, 1, tzinfo=UTC))
    assert (found.year, found.source) == (2022, "electricitymaps")


def test_footprint_live_option_and_the_table_never_calls_live(server, env):
    fp = footprint(10.0, region="DE", live=True, pue=1.0)
    assert fp.intensity.source == LIVE_SOURCE
    assert fp.co2e_kg == pytest.approx(1.23)
    assert TOKEN not in json.dumps(fp.to_dict())
    with pytest.raises(LpmError, match="live intensity is the latest value"):
        footprint(10.0, region="DE", live=True, year=2022)
    # the table is the layer below the live provider: it has no live option
    with pytest.raises(TypeError):
        IntensityDatabase.default().lookup("DE", live=True)


def test_carbon_modules_do_not_import_each_other_in_a_circle():
    import ast
    import importlib.util

    src = Path(importlib.util.find_spec("lpm.carbon.intensity").origin).read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(src))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "lpm.carbon.live" not in imported


def test_a_negative_answer_falls_back_and_is_never_cached(server, env, caplog):
    # issue 13: a live -50 g/kWh used to be cached and then fail every later call
    server.body = json.dumps(
        {"zone": "DE", "carbonIntensity": -50, "datetime": "2026-11-25T18:00:00Z"}
    ).encode()
    with caplog.at_level(logging.WARNING):
        first = live_intensity("DE")
    assert first.source != LIVE_SOURCE and "negative" in caplog.text
    server.body = None  # the service answers properly again
    second = live_intensity("DE")
    assert second.source == LIVE_SOURCE and second.g_per_kwh == 123
    assert len(server.requests) == 2  # asked again: nothing bad was kept


def test_a_token_with_a_newline_is_named_as_such_and_never_sent(server, env, monkeypatch):
    monkeypatch.setenv(ENV_TOKEN, TOKEN + "\n")
    with pytest.raises(LiveIntensityError, match="control characters") as info:
        live_intensity("DE", fallback=False)
    assert TOKEN not in str(info.value)
    assert server.requests == []
