"""The backtest's pure functions: error, interval coverage, prefix sizes, spread, table."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

PATH = Path(__file__).resolve().parents[2] / "bench" / "prediction_backtest.py"


@pytest.fixture(scope="module")
def bt():
    spec = importlib.util.spec_from_file_location("prediction_backtest", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _prediction(kwh: float, std: float, lo: float, hi: float) -> SimpleNamespace:
    return SimpleNamespace(
        energy_kwh_mean=kwh, energy_kwh_std=std, ci95_kwh=(lo, hi), duration_s_mean=10.0
    )


def test_error_pct_signs_and_zero_actual(bt):
    assert bt.error_pct(1.1, 1.0) == pytest.approx(10.0)
    assert bt.error_pct(0.75, 1.0) == pytest.approx(-25.0)
    assert math.isnan(bt.error_pct(1.0, 0.0))


def test_inside_is_closed_interval(bt):
    assert bt.inside((1.0, 2.0), 1.0)
    assert bt.inside((1.0, 2.0), 2.0)
    assert not bt.inside((1.0, 2.0), 2.0000001)
    assert not bt.inside((1.0, 2.0), 0.5)


def test_prefix_count_rounds_and_never_zero(bt):
    assert [bt.prefix_count(f, 3000) for f in (0.01, 0.02, 0.05, 0.1)] == [30, 60, 150, 300]
    assert [bt.prefix_count(f, 60) for f in (0.01, 0.02, 0.05, 0.1)] == [1, 1, 3, 6]
    with pytest.raises(ValueError):
        bt.prefix_count(0.0, 100)


def test_point_reports_miss_and_hit(bt):
    miss = bt.point(0.01, 30, 10, _prediction(1.2, 0.3, 1.1, 1.3), actual_kwh=1.0)
    assert miss["error_pct"] == pytest.approx(20.0)
    assert miss["inside_ci95"] is False
    assert miss["inside_std"] is True  # |1.2 - 1.0| <= 0.3
    assert miss["ci95_kwh"] == [1.1, 1.3]
    assert miss["ci95_half_pct"] == pytest.approx(100 * 0.1 / 1.2)
    hit = bt.point(0.1, 300, 10, _prediction(0.95, 0.3, 0.9, 1.05), actual_kwh=1.0)
    assert hit["inside_ci95"] is True
    assert hit["error_pct"] == pytest.approx(-5.0)
    for key in ("fraction", "measured", "predicted_kwh", "predicted_kwh_std", "error_pct"):
        assert key in hit


def test_block_spread_zero_for_steady_rate_and_positive_for_drift(bt):
    steady = [(10.0 * i, 100 * i, 50.0 * i) for i in range(11)]  # 0.5 J per step throughout
    assert bt.block_spread_pct(steady, 0.1) == pytest.approx(0.0, abs=1e-9)
    setup = [(-5.0, 0, -20.0), *steady]  # energy before the first step belongs to no block
    assert bt.block_spread_pct(setup, 0.1) == pytest.approx(0.0, abs=1e-9)
    # per-step energy alternates 0.4 / 0.6 J between 10-s slices: spread ~ 20 % of 0.5 J
    rows, e = [(0.0, 0, 0.0)], 0.0
    for i in range(1, 11):
        e += 100 * (0.4 if i % 2 else 0.6)
        rows.append((10.0 * i, 100 * i, e))
    spread = bt.block_spread_pct(rows, 0.1)
    assert spread == pytest.approx(100 * 0.1054 / 0.5, rel=0.01)
    assert bt.block_spread_pct(rows, 0.5) is None  # two blocks only: no spread


def test_markdown_table_flags_misses(bt):
    data = {
        "runs": {
            "training": {
                "unit": "iterations",
                "actual_kwh": 1.0,
                "from": [
                    bt.point(0.01, 30, 10, _prediction(1.2, 0.3, 1.1, 1.3), 1.0),
                    bt.point(0.1, 300, 10, _prediction(0.95, 0.3, 0.9, 1.05), 1.0),
                ],
            }
        }
    }
    table = bt.markdown_table(data).splitlines()
    assert len(table) == 4
    assert "+20.00 %" in table[2] and "**no**" in table[2]
    assert "-5.00 %" in table[3] and "| yes | yes |" in table[3]
    assert "n/a" in table[2]


def test_batch_means_interval(bt):
    # 0.4 / 0.6 J per step alternating over 10 blocks of 100 steps, after 50 warm-up steps
    rows, e = [(0.0, 0, 0.0), (1.0, 50, 99.0)], 99.0
    for i in range(1, 11):
        e += 100 * (0.4 if i % 2 else 0.6)
        rows.append((1.0 + i, 50 + 100 * i, e))
    half = bt.batch_means_half_pct(rows, skip_steps=50)
    assert half == pytest.approx(100 * 2.262 * 0.1054 / math.sqrt(10) / 0.5, rel=0.01)
    assert bt.batch_means_half_pct(rows[:4], skip_steps=50) is None  # two blocks
    p = {"predicted_kwh": 1.1}
    bt.add_batch_means(p, half, 1.0)  # half ~15 % of 1.1 covers 0.1
    assert p["inside_batch_means_ci95"] is True
    bt.add_batch_means(p, 5.0, 1.0)
    assert p["inside_batch_means_ci95"] is False
    bt.add_batch_means(p, None, 1.0)
    assert p["inside_batch_means_ci95"] is None


def test_data_file_shape_is_what_the_report_reads(bt):
    from lpm.report.sources import backtest_from_mapping

    run = {
        "setup": "2D small 32², batch 2",
        "unit": "iterations",
        "target": 3000,
        "actual_kwh": 1.0,
        "provenance": "estimated",
        "from": [bt.point(0.01, 30, 10, _prediction(1.2, 0.3, 1.1, 1.3), 1.0)],
    }
    data = {"schema": bt.SCHEMA, "machine": "m", "date": "2026-12-01", "command": "c"}
    parsed = backtest_from_mapping({**data, "runs": {"training": run}})
    p = parsed.run("training").points[0]
    assert (p.measured, p.inside_ci95, p.ci95_kwh) == (30, False, (1.1, 1.3))
    assert str(parsed.run("training").provenance) == "estimated"
