"""`lpm co2` and `lpm regions`: output for people and programs, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.carbon.fake_electricitymaps import TOKEN, running_server
from tests.cli_run import one_line_error
from tests.cli_run import run_cli as run

PAPER_REGIONS = "SE,DE,PL,CN,US,EU27"


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_co2_json_has_the_documented_fields(capsys):
    obj = run_json(["co2", "--kwh", "100", "--source", "paper2024"], capsys)
    assert obj["it_energy_kwh"] == 100.0
    assert obj["pue"] == 1.55
    assert obj["facility_energy_kwh"] == pytest.approx(155.0)
    assert obj["region"] == "EU27"
    assert obj["carbon_intensity_g_per_kwh"] == 251
    assert (obj["intensity_source"], obj["intensity_year"], obj["basis"]) == (
        "paper2024",
        2022,
        "direct",
    )
    assert obj["co2e_kg"] == pytest.approx(38.905)
    eq = obj["equivalents"]
    assert eq["car_km"] == pytest.approx(38.905e3 / 108.2)
    assert eq["smartphone_charges"] == pytest.approx(38.905e3 / 8.22)
    assert eq["tree_seedlings_10y"] == pytest.approx(38.905 / 60)
    assert eq["annual_budget_share"] == pytest.approx(38.905 / 1075)
    assert eq["flight_km"] == 0.0


def test_co2_options_reach_the_look_up(capsys):
    obj = run_json(
        ["co2", "--kwh", "10", "--pue", "1.2", "--region", "deu", "--month", "2022-12"], capsys
    )
    assert (obj["region"], obj["intensity_month"], obj["carbon_intensity_g_per_kwh"]) == (
        "DE",
        12,
        526.76,
    )
    assert obj["co2e_kg"] == pytest.approx(10 * 1.2 * 0.52676)
    argv = ["co2", "--kwh", "1", "--region", "DE", "--month", "2022-12", "--hour", "13"]
    hourly = run_json([*argv, "--basis", "direct"], capsys)
    assert (hourly["intensity_hour"], hourly["basis"]) == (13, "direct")
    by_year = run_json(["co2", "--kwh", "1", "--region", "Poland", "--year", "2023"], capsys)
    assert (by_year["intensity_year"], by_year["carbon_intensity_g_per_kwh"]) == (2023, 726)
    lamboll = run_json(
        ["co2", "--kwh", "1000", "--budget", "lamboll2023", "--flight-class", "economy"], capsys
    )
    assert lamboll["equivalents"]["annual_budget_kg"] == 1116
    assert lamboll["equivalents"]["flight_class"] == "economy"


def test_co2_negative_energy_after_the_option_is_an_error_not_an_option(capsys):
    code, _, err = run(["co2", "--kwh", "-5"], capsys)
    assert code == 2
    assert "negative" in err


def test_co2_human_output_has_a_table_and_a_sentence(capsys):
    code, out, _ = run(["co2", "--kwh", "931.4", "--source", "paper2024"], capsys)
    assert code == 0
    # 931.4 kWh × 1.55 × 0.251 = 362.4 kg: the paper's 3D synthesis scale.
    assert "362.4" in out
    assert "car (108.2 g/km)" in out
    assert "EU27 2022, paper2024, direct" in out
    assert "business-class flight" in out
    assert "33.7 % of one person's annual CO2 budget" in out


def test_compare_regions_reproduces_fig_3a(capsys):
    objs = run_json(
        ["co2", "--kwh", "100", "--compare-regions", PAPER_REGIONS, "--source", "paper2024"],
        capsys,
    )
    assert [o["region"] for o in objs] == PAPER_REGIONS.split(",")
    assert [o["carbon_intensity_g_per_kwh"] for o in objs] == [7, 366, 666, 582, 390, 251]
    code, out, _ = run(
        ["co2", "--kwh", "100", "--compare-regions", PAPER_REGIONS, "--source", "paper2024"],
        capsys,
    )
    assert code == 0
    assert "Max/min ratio: 95.1×" in out
    assert "Poland" in out and "Sweden" in out


def test_compare_regions_default_keeps_one_basis(capsys):
    objs = run_json(
        ["co2", "--kwh", "1", "--compare-regions", "SE, EU27", "--year", "2022"], capsys
    )
    assert {o["basis"] for o in objs} == {"direct"}


def test_months_reproduces_fig_3b(capsys):
    objs = run_json(["co2", "--kwh", "100", "--region", "DE", "--months", "2022"], capsys)
    assert [o["intensity_month"] for o in objs] == list(range(1, 13))
    assert {o["intensity_year"] for o in objs} == {2022}
    code, out, _ = run(["co2", "--kwh", "100", "--region", "DE", "--months", "2022"], capsys)
    assert code == 0
    assert "Best month 2022-02" in out
    assert "worst month 2022-03" in out
    assert "max/min ratio 1.4×" in out


def test_regions_json_and_search(capsys):
    listed = run_json(["regions"], capsys)
    assert len(listed) > 300
    eu = next(r for r in listed if r["region"] == "EU27")
    assert {"g_per_kwh", "year", "basis", "source", "name"} <= set(eu)
    found = run_json(["regions", "--search", "sweden"], capsys)
    assert {"SE", "SE-SE1", "SE-SE3"} <= {r["region"] for r in found}
    code, out, _ = run(["regions", "--search", "DEU"], capsys)
    assert code == 0
    assert "Germany" in out and "electricitymaps" in out


BAD_INPUTS = [
    (["co2", "--kwh", "1", "--region", "Germny"], "unknown region 'Germny'. Did you mean Germany"),
    (["co2", "--kwh", "1", "--region", "DE", "--month", "2022-13"], "out of range"),
    (["co2", "--kwh", "1", "--region", "DE", "--month", "Dec"], "YYYY-MM"),
    (["co2", "--kwh", "1", "--region", "DE", "--month", "2022-12", "--hour", "24"], "0 to 23"),
    (["co2", "--kwh", "1", "--region", "DE", "--hour", "3"], "an hour needs a month"),
    (["co2", "--kwh", "1", "--region", "DE", "--year", "1999"], "years available: 2021"),
    (["co2", "--kwh", "-1"], "energy must not be negative"),
    (["co2", "--kwh", "nan"], "energy must be a finite number"),
    (["co2", "--kwh", "inf"], "energy must be a finite number"),
    (["co2", "--kwh", "1", "--kwh-std", "-2"], "standard deviation must not be negative"),
    (["co2", "--kwh", "1", "--pue", "0.8"], "PUE must be a finite number >= 1"),
    (["co2", "--kwh", "1", "--source", "nope"], "unknown source 'nope'"),
    (["co2", "--kwh", "1", "--basis", "marginal"], "basis must be direct or lifecycle"),
    (["co2", "--kwh", "1", "--flight-class", "premium"], "--flight-class must be one of"),
    (["co2", "--kwh", "1", "--budget", "mine"], "--budget must be one of"),
    (["co2", "--kwh", "1", "--compare-regions", "SE,Narnia"], "unknown region 'Narnia'"),
    (["co2", "--kwh", "1", "--compare-regions", "SE", "--months", "2022"], "not both"),
    (["co2", "--kwh", "1", "--region", "SE", "--months", "2022"], "no monthly carbon"),
    (["co2", "--kwh", "1", "--region", "DE", "--months", "2020"], "years available: 2022, 2023"),
    (["co2", "--kwh", "1", "--months", "2022", "--month", "2022-01"], "--months takes the year"),
    (["co2", "--kwh", "1", "--live", "--year", "2022"], "live intensity is the latest value"),
    (["co2", "--kwh", "1", "--live", "--compare-regions", "SE,DE"], "--live gives one region"),
    (["co2", "--kwh", "lots"], "Invalid value for '--kwh'"),
    (["co2"], "Missing option '--kwh'"),
    (["co2", "--kwh", "1", "--months", "2022", "--region", "DE", "--source", "paper2024"], "only"),
    (["co2", "--kwh", "1", "--compare-regions", ","], "no regions to compare"),
    (["regions", "--search", "zzzz-none"], "no region matches 'zzzz-none'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(argv, capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in out + err


def test_co2_runs_as_a_console_command():
    done = subprocess.run(
        [sys.executable, "-m", "lpm.cli.main", "co2", "--kwh", "1", "--region", "SE", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["region"] == "SE"


def test_co2_live_uses_the_provider_and_hides_the_token(capsys, caplog, monkeypatch, tmp_path):
    with running_server() as server:
        monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)
        monkeypatch.setenv("LPM_ELECTRICITYMAPS_URL", server.url)
        monkeypatch.setenv("LPM_CACHE_DIR", str(tmp_path))
        code, out, err = run(["co2", "--kwh", "10", "--region", "DE", "--live", "--json"], capsys)
        assert code == 0, err
        obj = json.loads(out)
        assert (obj["intensity_source"], obj["carbon_intensity_g_per_kwh"]) == (
            "electricitymaps_live",
            123.0,
        )
        server.status = 500
        monkeypatch.setenv("LPM_CACHE_DIR", str(tmp_path / "empty"))
        code, out2, err2 = run(["co2", "--kwh", "10", "--region", "DE", "--live"], capsys)
        assert code == 0
        assert "live carbon intensity unavailable" in caplog.text
        _, out3, _ = run(["co2", "--kwh", "1", "--region", "DE", "--live", "--json"], capsys)
        assert json.loads(out3)["intensity_source"] == "electricitymaps"
    assert TOKEN not in out + err + out2 + err2 + caplog.text


@pytest.mark.parametrize("option", ["--months", "--year"])
def test_a_year_out_of_range_is_quoted_as_typed(option: str, capsys) -> None:
    line = one_line_error(["co2", "--kwh", "1", option, "99999999999999999999"], capsys)
    assert f"{option} 99999999999999999999 is not a year" in line
