"""Equivalents, each against its constant in equivalents.csv (read here independently)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lpm.carbon
from lpm.carbon import equivalents
from lpm.carbon.equivalents import flight_kg, flight_km_for
from lpm.errors import LpmError

CSV = Path(lpm.carbon.__file__).parent / "data" / "equivalents.csv"
CONST = {row["key"]: float(row["value"]) for row in csv.DictReader(CSV.open(encoding="utf-8"))}


def test_car_km_uses_the_eea_constant():
    assert CONST["car_g_per_km"] == 108.2
    assert equivalents(108.2).car_km == pytest.approx(1000.0)
    assert equivalents(10.0).car_km == pytest.approx(10_000 / CONST["car_g_per_km"])


def test_smartphone_charges_use_the_epa_constant():
    assert equivalents(8.22).smartphone_charges == pytest.approx(1000.0)
    assert equivalents(1.0).smartphone_charges == pytest.approx(1000 / CONST["smartphone_charge_g"])


def test_tree_seedlings_use_the_epa_constant():
    assert equivalents(120.0).tree_seedlings_10y == pytest.approx(
        120 / CONST["tree_seedling_10y_kg"]
    )
    assert equivalents(60.0).tree_seedlings_10y == pytest.approx(1.0)


def test_budget_share_paper_default_and_lamboll():
    paper = equivalents(362.3)
    assert paper.annual_budget_kg == CONST["annual_budget_per_capita_kg_paper"] == 1075
    assert paper.annual_budget_share == pytest.approx(362.3 / 1075)
    lamboll = equivalents(362.3, budget="lamboll2023")
    assert lamboll.annual_budget_kg == CONST["annual_budget_per_capita_kg"]
    assert round(100 * lamboll.annual_budget_share, 1) == 32.5
    # The Lamboll value is the equal per-capita share of the budget over the years.
    derived = CONST["budget_remaining_gt_co2"] * 1e12
    derived /= CONST["world_population"] * CONST["budget_years"]
    assert lamboll.annual_budget_kg == pytest.approx(derived, abs=0.5)


@pytest.mark.parametrize(
    ("distance_km", "economy_kg", "business_kg"),
    [(500, 146.8, 189.0), (1500, 278.9, 362.2), (2500, 438.3, 832.0), (6000, 931.4, 1780.1)],
)
def test_flight_formula_matches_worked_values(distance_km, economy_kg, business_kg):
    # The worked values in docs/SOURCES.md (myclimate).
    assert flight_kg(distance_km, "economy") == pytest.approx(economy_kg, abs=0.05)
    assert flight_kg(distance_km, "business") == pytest.approx(business_kg, abs=0.05)


def test_flight_formula_from_the_csv_parameters():
    p = {k.removeprefix("flight_short_"): v for k, v in CONST.items() if "flight_short_" in k}
    x = 1000 + p["DC"]
    fuel = p["a"] * x * x + p["b"] * x + p["c"]
    expected = fuel / (p["S"] * p["PLF"]) * (1 - p["CF"]) * p["CW_first"]
    expected = expected * (p["EF"] * p["M"] + p["P"]) + p["AF"] * x + p["A"]
    assert flight_kg(1000, "first") == pytest.approx(expected)


def test_flight_blend_is_linear_between_short_and_long_haul():
    lo, hi = CONST["flight_interp_min_km"], CONST["flight_interp_max_km"]
    mid = (lo + hi) / 2
    from lpm.carbon.equivalents import _haul_kg

    expected = 0.5 * _haul_kg("short", mid, "economy") + 0.5 * _haul_kg("long", mid, "economy")
    assert flight_kg(mid, "economy") == pytest.approx(expected)


def test_paper_flight_scale_is_business_class_by_default():
    eq = equivalents(362.3)
    assert eq.flight_class == "business"
    assert eq.flight_km == pytest.approx(1500, abs=5)
    assert equivalents(362.3, flight_class="economy").flight_km > 1800


def test_footprint_below_the_zero_distance_value_gives_zero_km():
    zero_km_kg = flight_kg(0.0, "business")
    assert 100 < zero_km_kg < 105
    assert equivalents(zero_km_kg * 0.99).flight_km == 0.0
    assert equivalents(zero_km_kg * 1.01).flight_km > 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=20_000.0),
    st.sampled_from(["economy", "business", "first"]),
)
def test_flight_km_inverts_the_formula(distance_km, flight_class):
    kg = flight_kg(distance_km, flight_class)
    assert flight_km_for(kg, flight_class) == pytest.approx(distance_km, abs=1e-3)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.0, max_value=1e5), st.floats(min_value=0.0, max_value=1e5))
def test_equivalents_are_monotone(a_kg, b_kg):
    lo, hi = sorted((a_kg, b_kg))
    e_lo, e_hi = equivalents(lo), equivalents(hi)
    assert e_lo.flight_km <= e_hi.flight_km
    assert e_lo.car_km <= e_hi.car_km
    assert e_lo.annual_budget_share <= e_hi.annual_budget_share


def test_bad_arguments():
    with pytest.raises(LpmError, match="flight class must be one of economy, business, first"):
        equivalents(1.0, flight_class="premium")
    with pytest.raises(LpmError, match="budget must be one of paper, lamboll2023"):
        equivalents(1.0, budget="mine")
    with pytest.raises(LpmError, match="CO2e must be a finite number >= 0"):
        equivalents(float("nan"))
    with pytest.raises(LpmError, match="CO2e must be a finite number >= 0"):
        equivalents(-1.0)


def test_sentence_and_dict_for_people_and_programs():
    eq = equivalents(362.3)
    text = eq.sentence()
    for part in ("362.3 kg CO2e", "3,348 km", "44,075 smartphone charges", "1,500 km business"):
        assert part in text
    assert "33.7 %" in text
    assert "less than any" in equivalents(5.0).sentence()
    d = eq.to_dict()
    assert set(d) >= {
        "car_km",
        "smartphone_charges",
        "flight_km",
        "flight_class",
        "tree_seedlings_10y",
        "annual_budget_share",
        "annual_budget_kg",
    }


def test_sentence_keeps_tiny_footprints_readable() -> None:
    # A short tracked command emits micrograms; the sentence must not round them to zero.
    assert equivalents(8.8e-7).sentence().startswith("0.00088 g CO2e")
    assert equivalents(0.0123).sentence().startswith("12.3 g CO2e")
    assert equivalents(0.0).sentence().startswith("0 g CO2e")
