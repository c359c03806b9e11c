"""`lpm plan`: a start time, a CO2e and a saving; regions ranked; one-line errors (issue 12)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_run import one_line_error
from tests.cli_run import run_cli as run

DATA = Path(__file__).parents[1] / "plan" / "data"
DE = str(DATA / "DE_2020-03-02_to_09.csv")


def _json(argv: list[str], capsys) -> dict:
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_plan_answers_with_a_start_a_co2e_and_a_saving(capsys):
    obj = _json(
        [
            "plan", "--kwh", "100", "--hours", "8", "--region", "DE", "--within", "48h",
            "--earliest", "2026-12-02T08:00Z",
        ],
        capsys,
    )  # fmt: skip
    best, base = obj["options"][0], obj["baseline"]
    assert base["start_utc"] == "2026-12-02T08:00:00Z"
    assert best["co2e_kg"] <= base["co2e_kg"]
    assert obj["saving_kg"] == pytest.approx(base["co2e_kg"] - best["co2e_kg"])
    assert obj["job"]["it_energy_kwh"] == 100
    assert "2026-12-0" in best["start_utc"]
    # 100 kWh × PUE 1.55 × a German December intensity of a few hundred g/kWh
    assert 20 < base["co2e_kg"] < 100


def test_people_get_a_table_and_a_recommendation_on_stderr(capsys):
    code, out, err = run(
        ["plan", "--kwh", "5", "--hours", "2", "--region", "DE", "--within", "24h", "--tz",
         "Europe/Berlin"],
        capsys,
    )  # fmt: skip
    assert code == 0 and out == ""
    assert ("Options" in err and "less than starting now" in err) or "Start now" in err


def test_regions_all_ranks_every_region_against_the_home_region(capsys):
    obj = _json(
        ["plan", "--kwh", "10", "--hours", "4", "--region", "PL", "--regions", "all"], capsys
    )
    options = obj["options"]
    assert len(options) > 100
    assert [o["co2e_kg"] for o in options] == sorted(o["co2e_kg"] for o in options)
    assert obj["baseline"]["region"] == "PL"
    assert options[0]["co2e_kg"] < obj["baseline"]["co2e_kg"] / 10  # Poland vs the cleanest


def test_a_users_series_and_an_interruptible_job(capsys):
    whole = _json(
        ["plan", "--kwh", "10", "--hours", "6", "--intensity-csv", DE, "--region", "DE",
         "--earliest", "2020-03-03T09:00Z", "--within", "36h"],
        capsys,
    )  # fmt: skip
    parts = _json(
        ["plan", "--kwh", "10", "--hours", "6", "--intensity-csv", DE, "--region", "DE",
         "--earliest", "2020-03-03T09:00Z", "--within", "36h", "--interruptible",
         "--chunk", "1h"],
        capsys,
    )  # fmt: skip
    assert whole["saving"] > 0
    assert parts["options"][0]["co2e_kg"] <= whole["options"][0]["co2e_kg"] + 1e-9


def test_plan_from_a_run_predicts_the_full_job(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    stats = {
        "count": 100, "duration_s_mean": 0.5, "duration_s_std": 0.01, "power_w_mean": 200.0,
        "power_w_std": 5.0, "energy_j_mean": 100.0, "energy_j_std": 3.0,
        "provenance": "estimated", "window": "train", "warmup_steps": 0, "power_samples": 50,
    }  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps({"iterations": 100, "step_stats": stats}))
    obj = _json(["plan", "--run", str(run_dir), "--region", "DE"], capsys)
    job = obj["job"]
    assert job["it_energy_kwh"] == pytest.approx(150_000 * 100 / 3.6e6)
    assert job["duration_s"] == pytest.approx(150_000 * 0.5)
    # a 21-hour job in a 24-hour window: the planner still finds the best start
    assert obj["options"][0]["co2e_kg"] <= obj["baseline"]["co2e_kg"]


def test_figure_is_written(tmp_path, capsys):
    figure = tmp_path / "plan.png"
    code, _, err = run(
        ["plan", "--kwh", "10", "--hours", "4", "--region", "DE,FR,SE", "--figure", str(figure)],
        capsys,
    )
    assert code == 0, err
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_backtest_replays_the_scenario(tmp_path, capsys):
    code, _out, err = run(["plan", "--backtest", DE, "--region", "DE", "--json"], capsys)
    # eight days hold no job with four weeks of past: one line, exit 2
    assert code == 2 and "enough past" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kwh", "1", "--hours", "8", "--within", "4h"], "shorter than the job"),
        (
            ["--kwh", "1", "--hours", "1", "--earliest", "2026-12-02T10:00Z",
             "--deadline", "2026-12-02T09:00Z"],
            "not after the earliest",
        ),
        (["--kwh", "1", "--hours", "1", "--region", "Atlantis"], "Atlantis"),
        (["--kwh", "1", "--hours", "1", "--tz", "Mars/Olympus"], "time zone"),
        (["--kwh", "1"], "--hours"),
        (["--hours", "1"], "one of --kwh"),
        (["--kwh", "-3", "--hours", "1"], "positive"),
        (["--kwh", "1", "--hours", "soon"], "90min"),
        (["--kwh", "1", "--hours", "1", "--intensity-csv", "/nonexistent.csv"], "cannot read"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    line = one_line_error(["plan", *argv], capsys)
    assert message in line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,g\nyesterday,100\n", "no parsable rows"),
        ("timestamp,g\n2026-12-02T00:00,100\n2026-12-02T00:00,120\n", "same time"),
    ],
)
def test_unusable_csvs_are_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "series.csv"
    path.write_text(text)
    line = one_line_error(
        ["plan", "--kwh", "1", "--hours", "1", "--intensity-csv", str(path)], capsys
    )
    assert message in line


def test_negative_intensities_in_a_csv_are_refused(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,g\n2026-12-02T00:00,100\n2026-12-02T01:00,-50\n")
    line = one_line_error(
        ["plan", "--kwh", "1", "--hours", "1", "--intensity-csv", str(path)], capsys
    )
    assert "line 3" in line and os.path.basename(path) in line


def test_power_profile_follows_the_records_running_totals(tmp_path):
    from lpm.cli.plan_jobs import power_profile

    path = tmp_path / "run.jsonl"
    lines = [{"type": "header"}]
    lines += [{"type": "checkpoint", "elapsed_s": t, "totals_j": {"gpu:0": e}} for t, e in
              [(10, 100), (20, 200), (30, 1200), (40, 2200)]]  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    shares = power_profile(path, 40.0, parts=4)
    assert shares == pytest.approx((100, 100, 1000, 1000))


def test_plan_from_a_tracked_record(tmp_path, capsys):
    import time

    from lpm.energy import SimulatedMeter, Tracker

    with Tracker(meters=[SimulatedMeter(watts=300.0)], log_dir=tmp_path, interval_s=0.05):
        time.sleep(0.3)
    record = next(tmp_path.glob("*.jsonl"))
    obj = _json(["plan", "--record", str(record), "--region", "DE"], capsys)
    assert obj["job"]["it_energy_kwh"] > 0
    assert obj["options"][0]["co2e_kg"] <= obj["baseline"]["co2e_kg"]
