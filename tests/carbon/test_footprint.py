"""Eq. 1: the paper's arithmetic, linearity, std propagation and bad inputs."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpm.carbon import (
    DEFAULT_PUE,
    DEFAULT_REGION,
    Intensity,
    footprint,
    footprint_from_power,
    j_to_kwh,
    kwh_to_j,
)
from lpm.errors import LpmError

PAPER = {"source": "paper2024"}


def _custom(g_per_kwh: float) -> Intensity:
    return Intensity("XX", "custom", g_per_kwh, "test", 2024, basis="direct")


def test_defaults_are_the_papers():
    assert DEFAULT_PUE == 1.55
    assert DEFAULT_REGION == "EU27"
    fp = footprint(100.0, **PAPER)
    assert fp.intensity.region == "EU27" and fp.intensity.g_per_kwh == 251
    assert fp.facility_energy_kwh == pytest.approx(155.0)
    assert fp.co2e_kg == pytest.approx(155.0 * 0.251)


def test_poland_405_kg_is_about_4_3_kg_in_sweden():
    # Fig. 3a: "4.3 kg CO2e in Sweden and up to 405 kg CO2e in Poland" with Table 1.
    it_energy_kwh = 405.0 / (DEFAULT_PUE * 0.666)
    assert footprint(it_energy_kwh, region="PL", **PAPER).co2e_kg == pytest.approx(405.0)
    sweden = footprint(it_energy_kwh, region="SE", **PAPER)
    assert round(sweden.co2e_kg, 1) == 4.3


def test_sweden_poland_ratio_is_about_94():
    se = footprint(10.0, region="Sweden", **PAPER).co2e_kg
    pl = footprint(10.0, region="Poland", **PAPER).co2e_kg
    assert pl / se == pytest.approx(94, rel=0.02)  # Table 1: 666 / 7 = 95.1; paper: 405 / 4.3


def test_3d_synthesis_equivalents():
    # 362.3 kg CO2e: "driving for up to 3345 km", "33.7 % of this budget", "a 1500 km flight".
    it_energy_kwh = 362.3 / (DEFAULT_PUE * 0.251)
    fp = footprint(it_energy_kwh, **PAPER)
    assert fp.co2e_kg == pytest.approx(362.3)
    assert fp.equivalents.car_km == pytest.approx(3345, rel=0.002)
    assert round(fp.equivalents.annual_budget_share, 3) == 0.337
    assert fp.equivalents.annual_budget_share == pytest.approx(1 / 3, abs=0.01)
    assert fp.equivalents.flight_km == pytest.approx(1500, abs=5)


def test_mean_and_std_propagate():
    fp = footprint(100.0, it_energy_kwh_std=2.0, pue=1.5, intensity=_custom(400.0))
    assert fp.facility_energy_kwh_std == pytest.approx(3.0)
    assert fp.co2e_kg == pytest.approx(60.0)
    assert fp.co2e_kg_std == pytest.approx(1.2)


def test_from_power_is_power_times_time_times_n():
    fp = footprint_from_power(300.0, 2.0, 150_000, intensity=_custom(251.0))
    assert fp.it_energy_kwh == pytest.approx(300 * 2 * 150_000 / 3.6e6)
    assert fp.co2e_kg == pytest.approx(fp.it_energy_kwh * 1.55 * 0.251)
    only_power = footprint_from_power(300.0, 2.0, 10, power_w_std=15.0, intensity=_custom(1.0))
    assert only_power.it_energy_kwh_std == pytest.approx(j_to_kwh(15.0 * 2.0 * 10))
    both = footprint_from_power(
        300.0, 2.0, 10, power_w_std=15.0, duration_s_std=0.1, intensity=_custom(1.0)
    )
    step_std_j = math.sqrt((2.0 * 15.0) ** 2 + (300.0 * 0.1) ** 2 + (15.0 * 0.1) ** 2)
    assert both.it_energy_kwh_std == pytest.approx(j_to_kwh(step_std_j * 10))


def test_from_power_passes_look_up_keywords():
    fp = footprint_from_power(1000.0, 3600.0, region="DE", year=2022, source="paper2024", pue=1.0)
    assert fp.co2e_kg == pytest.approx(0.366)


@settings(max_examples=80, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1e7),
    st.floats(min_value=0.0, max_value=1e3),
    st.floats(min_value=1.0, max_value=3.0),
    st.floats(min_value=0.0, max_value=2000.0),
)
def test_co2e_is_eq_1_and_linear_in_energy_pue_and_intensity(kwh, scale, pue, g_per_kwh):
    base = footprint(kwh, pue=pue, intensity=_custom(g_per_kwh))
    assert base.co2e_kg == pytest.approx(kwh * pue * g_per_kwh / 1000, rel=1e-12, abs=1e-12)
    more_energy = footprint(kwh * scale, pue=pue, intensity=_custom(g_per_kwh))
    assert more_energy.co2e_kg == pytest.approx(base.co2e_kg * scale, rel=1e-9, abs=1e-9)
    more_intensity = footprint(kwh, pue=pue, intensity=_custom(g_per_kwh * scale))
    assert more_intensity.co2e_kg == pytest.approx(base.co2e_kg * scale, rel=1e-9, abs=1e-9)
    unit_pue = footprint(kwh, pue=1.0, intensity=_custom(g_per_kwh))
    assert base.co2e_kg == pytest.approx(unit_pue.co2e_kg * pue, rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.0, max_value=1e6), st.floats(min_value=0.0, max_value=1e6))
def test_std_scales_like_the_mean(kwh, kwh_std):
    fp = footprint(kwh, it_energy_kwh_std=kwh_std, intensity=_custom(300.0))
    assert fp.co2e_kg_std == pytest.approx(kwh_std * 1.55 * 0.3, rel=1e-12, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(st.floats(min_value=0.0, max_value=1e12, allow_nan=False))
def test_units_round_trip(value):
    assert j_to_kwh(kwh_to_j(value)) == pytest.approx(value, rel=1e-12)
    assert kwh_to_j(j_to_kwh(value)) == pytest.approx(value, rel=1e-12)
    assert kwh_to_j(1.0) == 3.6e6


@settings(max_examples=40, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=5000.0),
    st.floats(min_value=0.0, max_value=1e5),
    st.integers(min_value=1, max_value=10**6),
)
def test_power_and_energy_routes_agree(power_w, duration_s, n):
    a = footprint_from_power(power_w, duration_s, n, intensity=_custom(200.0))
    b = footprint(j_to_kwh(power_w * duration_s * n), intensity=_custom(200.0))
    assert a.co2e_kg == pytest.approx(b.co2e_kg, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"it_energy_kwh": -1.0}, "energy must not be negative"),
        ({"it_energy_kwh": float("nan")}, "energy must be a finite number"),
        ({"it_energy_kwh": float("inf")}, "energy must be a finite number"),
        ({"it_energy_kwh": "lots"}, "energy must be a number in kWh"),
        ({"it_energy_kwh": 1.0, "it_energy_kwh_std": -1.0}, "standard deviation must not be"),
        ({"it_energy_kwh": 1.0, "pue": 0.9}, "PUE must be a finite number >= 1"),
        ({"it_energy_kwh": 1.0, "pue": float("nan")}, "PUE must be a finite number >= 1"),
        ({"it_energy_kwh": 1.0, "region": "Narnia"}, "unknown region 'Narnia'"),
    ],
)
def test_bad_inputs_raise_lpm_error(kwargs, message):
    with pytest.raises(LpmError, match=message):
        footprint(**kwargs)


def test_bad_power_inputs_raise_lpm_error():
    with pytest.raises(LpmError, match="power must not be negative"):
        footprint_from_power(-5.0, 1.0)
    with pytest.raises(LpmError, match="duration must be a finite number"):
        footprint_from_power(5.0, float("inf"))


def test_to_dict_has_the_contract_keys_and_is_json():
    fp = footprint(12.5, it_energy_kwh_std=0.5, region="DE", month="2022-12", hour=13)
    d = fp.to_dict()
    contract = {
        "it_energy_kwh",
        "it_energy_kwh_std",
        "pue",
        "facility_energy_kwh",
        "region",
        "carbon_intensity_g_per_kwh",
        "intensity_source",
        "intensity_year",
        "intensity_month",
        "intensity_hour",
        "basis",
        "co2e_kg",
        "co2e_kg_std",
        "equivalents",
    }
    assert contract <= set(d)
    assert (d["intensity_month"], d["intensity_hour"], d["intensity_year"]) == (12, 13, 2022)
    assert json.loads(json.dumps(d)) == d
    assert "kg CO2e" in fp.sentence() and "PUE 1.55" in fp.sentence()


def test_footprint_is_frozen():
    fp = footprint(1.0)
    with pytest.raises(AttributeError):
        fp.co2e_kg = 0.0  # type: ignore[misc]
