"""Analysis: CO2e per scenario with Eq. 1, the comparisons and the paper's claims."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.report.analysis import analyze
from lpm.report.claims import AGREES, DIFFERS, NOT_MEASURED
from tests.report.synthetic import (
    one_factor_records,
    record,
    synth_kwh,
    train_kwh,
    write_results,
    write_spec,
)

EU27 = 251.0  # g/kWh, Table 1 (paper2024)
PUE = 1.55


def kg(kwh: float, g_per_kwh: float = EU27) -> float:
    return kwh * PUE * g_per_kwh / 1000


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory):
    study = tmp_path_factory.mktemp("full")
    write_results(study, one_factor_records())
    write_spec(study)
    return analyze(study)


def test_each_scenario_gets_eq1_co2e_with_std(full) -> None:
    item = next(i for i in full.scenarios if i.scenario.scenario_id.startswith("3d-24x24x24"))
    expected = kg(train_kwh((24, 24, 24), "small", 1))
    assert item.training.co2e_kg == pytest.approx(expected)
    assert item.training.co2e_kg_std == pytest.approx(0.1 * expected)
    assert item.training.intensity_source == "paper2024"
    synth = kg(synth_kwh((24, 24, 24), "small", 1000))
    assert item.synthesis.co2e_kg == pytest.approx(synth)
    assert item.synthesis.it_energy_kwh == pytest.approx(synth_kwh((24, 24, 24), "small", 1000))


def test_claims_are_computed_from_this_runs_data(full) -> None:
    claims = {c.key: c for c in full.claims}
    # synthetic model: x1.35 per model step small->large for training, 1.35^2 for synthesis
    assert claims["model-training"].value == pytest.approx(35.0)
    assert claims["model-training"].verdict == AGREES
    assert claims["model-synthesis"].value == pytest.approx((1.35**2 - 1) * 100)
    # steps: energy is per denoising step, so 200 vs 1000 is exactly -80 %
    assert claims["steps"].value == pytest.approx(-80.0)
    assert claims["steps"].verdict == AGREES
    # processes: 4**0.1 - 1 = +14.9 %: no reduction, as the paper found
    assert claims["processes"].value == pytest.approx((4**0.1 - 1) * 100)
    assert claims["processes"].verdict == AGREES
    # regions: Table 1, PL 666 / SE 7 = 95.1x (the paper says ~94x)
    assert claims["regions"].value == pytest.approx(666 / 7)
    assert claims["regions"].verdict == AGREES
    # months: DE 2022 direct, March 460.25 vs February 313.5
    assert claims["months"].value == pytest.approx((460.25 / 313.5 - 1) * 100)
    # training grows as voxels^0.8 here: 2D paper exponent is 0.35 -> differs
    assert claims["size-training-2d"].value == pytest.approx(0.8)
    assert claims["size-training-2d"].verdict == DIFFERS
    assert claims["size-synthesis-3d"].value == pytest.approx(1.0)
    # absolute numbers at tiny sizes cannot match the paper's 256x256x192
    assert claims["absolute-synthesis-3d"].verdict == DIFFERS
    assert "256²×192" in claims["absolute-synthesis-3d"].paper
    for claim in full.claims:
        assert claim.paper and claim.rule
        assert claim.verdict in (AGREES, DIFFERS)


def test_region_and_month_series_reuse_one_scenarios_energy(full) -> None:
    synth = next(s for s in full.regions if s.phase == "synthesis")
    assert synth.x == ("SE", "DE", "PL", "CN", "US", "EU27")
    assert synth.values == (7, 366, 666, 582, 390, 251)
    loc = full.location_scenario.scenario
    assert loc.dims == 3  # the paper's Fig. 3 is a 3D LDM
    kwh = loc.synthesis.it_energy_kwh
    assert synth.y == pytest.approx([kg(kwh, g) for g in synth.values])
    months = next(s for s in full.months if s.phase == "synthesis")
    assert months.x[0] == "2022-01" and len(months) == 12
    assert months.values[1] == pytest.approx(313.5)


def test_partial_results_say_not_measured(tmp_path: Path) -> None:
    records = [record(2, (32, 32)), record(2, (64, 64))]
    write_results(tmp_path, records)
    analysis = analyze(tmp_path)  # no spec.yaml: the paper's regions and months
    claims = {c.key: c for c in analysis.claims}
    for key in ("processes", "steps", "model-training", "size-training-3d", "dims-synthesis"):
        assert claims[key].verdict == NOT_MEASURED, key
        assert claims[key].run.startswith("not measured")
    assert claims["size-training-2d"].verdict in (AGREES, DIFFERS)
    assert claims["regions"].verdict == AGREES
    assert analysis.processes == () and analysis.steps == ()
    assert any("no spec.yaml" in n for n in analysis.notes)


def test_failed_records_are_kept_apart(tmp_path: Path) -> None:
    records = [record(2, (32, 32)), {"scenario_id": "x", "status": "failed", "error": "OOM"}]
    write_results(tmp_path, records)
    analysis = analyze(tmp_path)
    assert [s.scenario_id for s in analysis.failed] == ["x"]
    assert len(analysis.scenarios) == 1


def test_prediction_missing_falls_back_to_step_stats(tmp_path: Path) -> None:
    rec = record(2, (32, 32))
    del rec["train"]["prediction"]
    write_results(tmp_path, [rec])
    item = analyze(tmp_path).scenarios[0]
    assert item.scenario.training.it_energy_kwh == pytest.approx(train_kwh((32, 32), "small", 1))
    assert math.isclose(item.scenario.training.n, 150_000)


def test_no_usable_result_is_a_user_error(tmp_path: Path) -> None:
    write_results(tmp_path, [{"scenario_id": "x", "status": "failed", "error": "boom"}])
    with pytest.raises(LpmError, match="no finished scenario"):
        analyze(tmp_path)
    with pytest.raises(LpmError, match="not a directory"):
        analyze(tmp_path / "nope")


def test_hardware_text_names_cpu_and_gpu() -> None:
    from lpm.report.claims import hardware_text

    assert hardware_text({"cpu": "AMD EPYC", "gpus": [], "torch": "2"}) == "cpu: AMD EPYC; no GPU"
    assert hardware_text({"cpu": "X", "gpus": ["NVIDIA A100"]}) == "gpus: NVIDIA A100; cpu: X"
    assert hardware_text({}) == "unknown hardware"


def test_regions_or_months_without_data_become_notes(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32))])
    write_spec(tmp_path, regions=["SE", "ZZ-NOWHERE", "PL"], months={"region": "SE", "year": 2022})
    analysis = analyze(tmp_path)
    synth = next(s for s in analysis.regions if s.phase == "synthesis")
    assert synth.x == ("SE", "PL")
    assert any(n.startswith("ZZ-NOWHERE left out") for n in analysis.notes)
    assert any(n.startswith("SE 2022-01 left out") for n in analysis.notes)
    assert all(len(s) == 0 for s in analysis.months)
    assert {c.key: c for c in analysis.claims}["months"].verdict == NOT_MEASURED
