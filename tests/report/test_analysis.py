"""Analysis: CO2e per scenario with Eq. 1, the comparisons and the paper's claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpm.errors import LpmError
from lpm.report.analysis import analyze
from lpm.report.claims import AGREES, DIFFERS, FROM_TABLES, NOT_MEASURED, compute_claims
from tests.report.synthetic import (
    failed_record,
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
    claims = {c.key: c for c in compute_claims(full)}
    # synthetic model: x1.35 per model step small->large for training, 1.35^2 for synthesis
    assert claims["model-training"].value == pytest.approx(35.0)
    assert claims["model-training"].verdict == AGREES
    assert claims["model-synthesis"].value == pytest.approx((1.35**2 - 1) * 100)
    # steps: two measured samples, each with a fixed part worth 50 steps: 250/1050 - 1
    assert claims["steps"].value == pytest.approx((250 / 1050 - 1) * 100)
    assert claims["steps"].verdict == AGREES
    # processes: 4**0.1 - 1 = +14.9 %: no reduction, as the paper found
    assert claims["processes"].value == pytest.approx((4**0.1 - 1) * 100)
    assert claims["processes"].verdict == AGREES
    # regions: Table 1, PL 666 / SE 7 = 95.1x (the paper says ~94x): tables, no verdict
    assert claims["regions"].value == pytest.approx(666 / 7)
    assert claims["regions"].verdict == FROM_TABLES
    # months: DE 2022 direct, March 460.25 vs February 313.5
    assert claims["months"].value == pytest.approx((460.25 / 313.5 - 1) * 100)
    assert claims["months"].verdict == FROM_TABLES
    # training grows as voxels^0.8 here: 2D paper exponent is 0.35 -> differs
    assert claims["size-training-2d"].value == pytest.approx(0.8)
    assert claims["size-training-2d"].verdict == DIFFERS
    assert claims["size-synthesis-3d"].value == pytest.approx(1.0)
    # absolute numbers at tiny sizes cannot match the paper's 256x256x192
    assert claims["absolute-synthesis-3d"].verdict == DIFFERS
    assert "256²×192" in claims["absolute-synthesis-3d"].paper
    for claim in compute_claims(full):
        assert claim.paper and claim.rule
        if claim.basis == "measured":
            assert claim.verdict in (AGREES, DIFFERS), claim.key
        else:
            assert not claim.judged, claim.key


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
    claims = {c.key: c for c in compute_claims(analysis)}
    for key in ("processes", "steps", "model-training", "size-training-3d", "dims-synthesis"):
        assert claims[key].verdict == NOT_MEASURED, key
        assert claims[key].run.startswith("not measured")
    assert claims["size-training-2d"].verdict in (AGREES, DIFFERS)
    assert claims["regions"].verdict == FROM_TABLES
    assert analysis.processes == () and analysis.steps == ()
    assert any("no spec.yaml" in n for n in analysis.notes)


def test_failed_records_are_kept_apart(tmp_path: Path) -> None:
    records = [record(2, (32, 32)), failed_record("x", "OOM")]
    write_results(tmp_path, records)
    analysis = analyze(tmp_path)
    assert [s.scenario_id for s in analysis.failed] == ["x"]
    assert len(analysis.scenarios) == 1


def test_stored_footprint_is_read_not_recomputed(tmp_path: Path) -> None:
    rec = record(2, (32, 32))
    rec["train"]["prediction"]["footprint"]["co2e_kg"] = 123.0  # what the study stored
    rec["train"]["prediction"]["footprint"]["co2e_kg_std"] = 4.0
    write_results(tmp_path, [rec])
    item = analyze(tmp_path).scenarios[0]
    assert item.training.co2e_kg == 123.0 and item.training.co2e_kg_std == 4.0
    assert item.training.stored
    assert item.scenario.training.it_energy_kwh == pytest.approx(train_kwh((32, 32), "small", 1))
    assert item.training.provenance == "estimated"


def test_footprint_at_another_intensity_is_left_out_of_comparisons(tmp_path: Path) -> None:
    from lpm.carbon import footprint

    a, b, c = record(2, (32, 32)), record(2, (48, 48)), record(2, (64, 64))
    pred = c["train"]["prediction"]
    pred["footprint"] = footprint(pred["energy_kwh_mean"], pue=1.55, region="SE").to_dict()
    write_results(tmp_path, [a, b, c])
    analysis = analyze(tmp_path)
    training = next(s for s in analysis.image_size if s.name == "training 2D")
    assert training.x == ("32²", "48²")  # 64² is at SE's intensity: not compared
    synthesis = next(s for s in analysis.image_size if s.name == "synthesis 2D")
    assert len(synthesis) == 3
    assert any(
        n.startswith(f"{c['scenario_id']} training: its CO2e is at SE") for n in analysis.notes
    )
    assert analysis.base.region == "EU27"


def test_record_without_footprint_is_computed_with_its_own_settings(tmp_path: Path) -> None:
    rec = record(2, (32, 32))
    rec["train"]["prediction"]["footprint"] = {}
    write_results(tmp_path, [rec])
    analysis = analyze(tmp_path)
    item = analysis.scenarios[0]
    assert not item.training.stored
    assert item.training.co2e_kg == pytest.approx(kg(train_kwh((32, 32), "small", 1)))
    assert any("stores no footprint" in n and "PUE 1.55" in n for n in analysis.notes)


def test_old_schema_is_refused_with_one_line(tmp_path: Path) -> None:
    rec = record(2, (32, 32))
    del rec["schema_version"]
    write_results(tmp_path, [rec])
    with pytest.raises(LpmError, match="version-1") as info:
        analyze(tmp_path)
    assert "\n" not in str(info.value)


def test_no_usable_result_is_a_user_error(tmp_path: Path) -> None:
    write_results(tmp_path, [failed_record("x", "boom")])
    with pytest.raises(LpmError, match="no finished scenario"):
        analyze(tmp_path)
    with pytest.raises(LpmError, match="not a directory"):
        analyze(tmp_path / "nope")


def test_hardware_text_names_cpu_and_gpu() -> None:
    from lpm.report.claims import hardware_text

    assert hardware_text({"cpu": "AMD EPYC", "gpus": [], "torch": "2"}) == "no GPU; cpu: AMD EPYC"
    assert hardware_text({"cpu": "X", "gpus": ["NVIDIA A100"]}) == "gpus: NVIDIA A100; cpu: X"
    context = {"cpu_model": "EPYC 7513", "gpu_names": ["A100 (simulated)"], "gpu_driver": "1"}
    assert hardware_text(context) == "gpus: A100 (simulated); cpu: EPYC 7513"
    assert hardware_text({"my_gpu_notes": "x"}) == "unknown hardware"  # no key searching
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
    assert {c.key: c for c in compute_claims(analysis)}["months"].verdict == NOT_MEASURED


def _steps_claim(tmp_path: Path, **kwargs):
    write_results(tmp_path, [record(3, (16, 16, 16), steps=n, **kwargs) for n in (200, 1000)])
    return {c.key: c for c in compute_claims(analyze(tmp_path))}["steps"]


def test_steps_claim_compares_two_measured_samples_and_can_differ(tmp_path: Path) -> None:
    claim = _steps_claim(tmp_path, fixed_steps=400)  # a fixed cost worth 400 steps
    assert claim.basis == "measured"
    assert claim.value == pytest.approx((600 / 1400 - 1) * 100)  # -57 %, not -80 %
    assert claim.verdict == DIFFERS
    assert "±" in claim.run and "fixed per-sample cost" in claim.run
    assert claim.provenance == "estimated"
    assert "2 measured sampling runs" in claim.rests_on


def test_steps_scaled_from_one_step_count_is_by_construction(tmp_path: Path) -> None:
    from lpm.report.claims import BY_CONSTRUCTION

    claim = _steps_claim(tmp_path, sample_steps=20)
    assert claim.basis == "model"
    assert claim.verdict == BY_CONSTRUCTION
    assert not claim.judged
    assert "measured at 20 steps and scaled" in claim.run


def test_a_claim_that_cannot_differ_cannot_say_agrees() -> None:
    from lpm.report.claims import Basis, Claim

    with pytest.raises(ValueError, match="rests on tables"):
        Claim("k", "t", "§", "p", "r", 1.0, AGREES, "rule", "why", basis=Basis.TABLES)
    with pytest.raises(ValueError, match="rests on model"):
        Claim("k", "t", "§", "p", "r", 1.0, DIFFERS, "rule", "why", basis=Basis.MODEL)


def test_region_without_the_requested_source_is_a_note_not_a_switch(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32))])
    write_spec(tmp_path, regions=["SE", "FR", "PL"])  # paper2024 has no FR
    analysis = analyze(tmp_path)
    synth = next(s for s in analysis.regions if s.phase == "synthesis")
    assert synth.x == ("SE", "PL")
    assert {i.source for i in analysis.intensities} == {"paper2024", "electricitymaps_hourly"}
    assert any(n.startswith("FR left out") and "paper2024" in n for n in analysis.notes)


class _FakeDb:
    """Annual values on two bases: A and B lifecycle by default, C direct only."""

    def __init__(self) -> None:
        from lpm.carbon.intensity import Intensity

        self.rows = {
            ("A", "lifecycle"): Intensity("A", "A", 100.0, "s", 2022, basis="lifecycle"),
            ("A", "direct"): Intensity("A", "A", 80.0, "s", 2022, basis="direct"),
            ("B", "lifecycle"): Intensity("B", "B", 200.0, "s", 2022, basis="lifecycle"),
            ("C", "direct"): Intensity("C", "C", 300.0, "s", 2022, basis="direct"),
        }

    def lookup(self, region, *, basis=None, **_):
        for (r, b), row in self.rows.items():
            if r == region and basis in (None, b):
                return row
        raise LpmError(f"no {basis} value for {region}")


def test_a_comparison_never_mixes_bases() -> None:
    from lpm.report.analysis import _Carbon, _places

    carbon = _Carbon()
    carbon.db = _FakeDb()
    notes: list[str] = []
    wanted = [(r, {}, r) for r in ("A", "B", "C")]
    places = _places(wanted, carbon, notes, basis=None, what="regions")
    assert [(name, i.basis) for name, i in places] == [("A", "lifecycle"), ("B", "lifecycle")]
    assert any("compared on the lifecycle basis" in n for n in notes)
    assert any(n.startswith("C left out: no lifecycle value") for n in notes)
    notes.clear()
    places = _places(wanted, carbon, notes, basis="direct", what="regions")
    assert [(name, i.g_per_kwh) for name, i in places] == [("A", 80.0), ("C", 300.0)]
    assert notes == ["B left out: no direct value for B"]


def test_backtest_ships_as_package_data() -> None:
    import tomllib

    from lpm.report.sources import read_backtest

    root = Path(__file__).resolve().parents[2]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert "data/*.json" in pyproject["tool"]["setuptools"]["package-data"]["lpm.report"]
    packaged = root / "src" / "lpm" / "report" / "data" / "prediction_backtest.json"
    if packaged.exists():  # written by bench/prediction_backtest.py: it must read
        backtest = read_backtest()
        assert backtest is not None and set(backtest.runs) == {"training", "synthesis"}
        for run in backtest.runs.values():
            assert [p.fraction for p in run.points] == sorted(p.fraction for p in run.points)
    else:
        assert read_backtest() is None


def test_a_comparison_says_which_synthesis_energies_were_scaled(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32)), record(2, (64, 64), sample_steps=10)])
    claims = {c.key: c for c in compute_claims(analyze(tmp_path))}
    size = claims["size-synthesis-2d"]
    assert size.rests_on.endswith("; 1 of 2 synthesis energies scaled from 10 measured steps")
    assert "scaled synthesis" in size.why
    assert "scaled" not in claims["size-training-2d"].rests_on


def test_one_machine_is_one_machine_whatever_its_pids(tmp_path: Path) -> None:
    base = {"host": "vm", "cpu_model": "Xeon", "gpu_names": [], "ram_total_gb": 25.3}
    records = [
        record(2, (32, 32), hardware={**base, "pid": 1, "meters": [{"pids": [1]}]}),
        record(2, (64, 64), hardware={**base, "pid": 2, "meters": [{"pids": [2]}]}),
        record(2, (48, 48), hardware={**base, "host": "other", "pid": 3}),
    ]
    write_results(tmp_path, records)
    machines = analyze(tmp_path).machines()
    assert [(hw["host"], len(ids)) for hw, ids in machines] == [("vm", 2), ("other", 1)]
