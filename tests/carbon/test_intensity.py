"""Intensity tables: Table 1, precedence, aliases, months, hours and errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lpm.carbon import Intensity, IntensityDatabase
from lpm.carbon.intensity import SOURCE_PRECEDENCE
from lpm.errors import LpmError

TABLE_1 = {"EU27": 251, "SE": 7, "DE": 366, "PL": 666, "CN": 582, "US": 390}


@pytest.fixture(scope="module")
def db() -> IntensityDatabase:
    return IntensityDatabase.default()


@pytest.mark.parametrize(("region", "value"), sorted(TABLE_1.items()))
def test_table_1_is_reachable_exactly(db, region, value):
    found = db.lookup(region, source="paper2024")
    assert found.g_per_kwh == value
    assert (found.source, found.year, found.basis) == ("paper2024", 2022, "direct")
    assert found.month is None and found.hour is None


def test_default_is_shared_and_package_data_is_read(db):
    assert IntensityDatabase.default() is db
    assert len(db.known_regions()) > 300


def test_most_recent_year_wins_without_year(db):
    found = db.lookup("DE")
    assert found.year == max(db.years("DE"))
    assert (found.source, found.basis, found.g_per_kwh) == ("electricitymaps", "lifecycle", 342)


def test_same_year_follows_the_documented_source_order(db):
    # DE 2022 has electricitymaps (475), eea (368) and paper2024 (366).
    assert db.lookup("DE", year=2022).source == SOURCE_PRECEDENCE[0]
    assert db.lookup("DE", year=2022).g_per_kwh == 475
    direct = db.lookup("DE", year=2022, basis="direct")
    assert (direct.source, direct.g_per_kwh) == ("eea", 368)
    assert db.lookup("DE", year=2022, source="paper2024").g_per_kwh == 366


def test_eu27_default_is_the_latest_annual_value(db):
    found = db.lookup("EU27")
    assert (found.year, found.source, found.basis) == (2024, "ember", "lifecycle")


@pytest.mark.parametrize("text", ["DE", "de", "DEU", "deu", "Germany", "  GERMANY ", "germany"])
def test_country_aliases_resolve(db, text):
    assert db.resolve_region(text) == "DE"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SWE", "SE"),
        ("Sweden", "SE"),
        ("POL", "PL"),
        ("United States", "US"),
        ("USA", "US"),
        ("UK", "GB"),
        ("eu", "EU27"),
        ("European Union", "EU27"),
        ("us-cal-ciso", "US-CAL-CISO"),
        ("South Central Sweden", "SE-SE3"),
        ("Cayman Islands", "KY"),
        ("CYM", "KY"),
    ],
)
def test_more_aliases(db, text, code):
    assert db.resolve_region(text) == code


def test_unknown_region_suggests_closest_names(db):
    with pytest.raises(LpmError, match=r"unknown region 'Germny'.*Germany \(DE\)"):
        db.lookup("Germny")
    with pytest.raises(LpmError, match="lpm regions --search"):
        db.lookup("Atlantis-xyz")


def test_mislabelled_row_is_not_used(db):
    # equivalents of Cayman Islands were filed under CY for ember 2023 in the source data.
    assert db.lookup("CY", source="ember").name == "Cyprus"
    with pytest.raises(LpmError, match="years available: 2024"):
        db.lookup("CY", source="ember", year=2023)


def test_year_without_data_names_available_years(db):
    with pytest.raises(LpmError, match=r"in 1990; years available: 2021, 2022, .*2025"):
        db.lookup("DE", year=1990)
    with pytest.raises(LpmError, match=r"years available: 2022\.$"):
        db.lookup("SE", source="paper2024", year=2023)


def test_source_and_basis_errors(db):
    with pytest.raises(LpmError, match="unknown source 'nope'; known sources: electricitymaps"):
        db.lookup("DE", source="nope")
    with pytest.raises(LpmError, match="source paper2024 has no annual value for AT"):
        db.lookup("AT", source="paper2024")
    with pytest.raises(LpmError, match="basis must be direct or lifecycle"):
        db.lookup("DE", basis="marginal")
    with pytest.raises(LpmError, match="no lifecycle values for EU27 from paper2024"):
        db.lookup("EU27", source="paper2024", basis="lifecycle")


def test_month_lookup_uses_the_monthly_table(db):
    dec = db.lookup("DE", month="2022-12")
    assert (dec.g_per_kwh, dec.basis, dec.source) == (526.76, "lifecycle", "electricitymaps_hourly")
    assert (dec.year, dec.month, dec.hour) == (2022, 12, None)
    assert db.lookup("Germany", month="2022-02", basis="direct").g_per_kwh == 313.5
    assert db.lookup("DE", month="2023-6", basis="direct").g_per_kwh == 291.28


def test_hour_profile_averages_to_the_month(db):
    for basis in ("direct", "lifecycle"):
        month = db.lookup("US-CAL-CISO", month="2023-07", basis=basis)
        hours = [db.lookup("US-CAL-CISO", month="2023-07", hour=h, basis=basis) for h in range(24)]
        assert all(h.hour == i and h.month == 7 for i, h in enumerate(hours))
        mean = sum(h.g_per_kwh for h in hours) / 24
        assert mean == pytest.approx(month.g_per_kwh, abs=0.01)


def test_months_of_a_year(db):
    months = db.months("DE", 2022)
    assert [m.month for m in months] == list(range(1, 13))
    assert {m.basis for m in months} == {"lifecycle"}
    values = {m.month: m.g_per_kwh for m in months}
    assert values[2] == 370.73 and values[12] == 526.76


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"month": "2022-13"}, "month '2022-13' is out of range"),
        ({"month": "2022-00"}, "out of range"),
        ({"month": "2022/01"}, "month must look like YYYY-MM"),
        ({"month": "2022-12", "hour": 24}, "hour must be a whole UTC hour from 0 to 23"),
        ({"month": "2022-12", "hour": -1}, "hour must be a whole UTC hour"),
        ({"hour": 5}, "an hour needs a month"),
        ({"month": "2022-12", "year": 2023}, "year 2023 and month 2022-12 disagree"),
        ({"month": "2021-05"}, r"in 2021; years available: 2022, 2023"),
        ({"month": "2022-05", "source": "paper2024"}, "monthly values come only from"),
    ],
)
def test_month_and_hour_errors(db, kwargs, message):
    with pytest.raises(LpmError, match=message):
        db.lookup("DE", **kwargs)


def test_region_without_monthly_data(db):
    with pytest.raises(LpmError, match="monthly data exist for DE, US-CAL-CISO, US-TEX-ERCO"):
        db.lookup("SE", month="2022-01")


def test_regions_lists_latest_value_once_per_region(db):
    listed = db.regions()
    codes = [i.region for i in listed]
    assert len(codes) == len(set(codes)) == len(db.known_regions())
    by_code = {i.region: i for i in listed}
    assert by_code["DE"] == db.lookup("DE")
    assert by_code["EU27"].year == 2024
    paper = db.regions(source="paper2024")
    assert {i.region: i.g_per_kwh for i in paper} == TABLE_1


def test_search_matches_codes_names_and_aliases(db):
    codes = [i.region for i in db.search("swe")]
    assert "SE" in codes and "SE-SE3" in codes
    assert [i.region for i in db.search("DEU")] == ["DE"]
    assert db.search("zzzz-nothing") == []


def test_lookup_many_never_mixes_bases(db):
    # Without a common default basis, SE 2022 (lifecycle) and EU27 2022 (direct only)
    # are both looked up on the direct basis.
    found = db.lookup_many(["SE", "EU27"], year=2022)
    assert {i.basis for i in found} == {"direct"}
    assert [i.g_per_kwh for i in found] == [8, 251]
    same = db.lookup_many(["SE", "PL"], source="paper2024")
    assert [i.g_per_kwh for i in same] == [7, 666]
    with pytest.raises(LpmError, match="no regions to compare"):
        db.lookup_many([])


def test_intensity_validates_and_describes_itself():
    with pytest.raises(LpmError, match="basis must be one of"):
        Intensity("X", "X", 1.0, "custom", 2024, basis="marginal")
    with pytest.raises(LpmError, match="finite number >= 0"):
        Intensity("X", "X", -1.0, "custom", 2024)
    i = Intensity("DE", "Germany", 300.0, "custom", 2022, month=12, hour=7, basis="direct")
    assert i.describe() == "DE 2022-12 07:00 UTC (custom, direct)"
    assert i.to_dict()["g_per_kwh"] == 300.0


def test_carbon_imports_neither_numpy_nor_torch():
    code = "import sys, lpm.carbon; print('numpy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
