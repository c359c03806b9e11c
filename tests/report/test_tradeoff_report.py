"""The report's side of the energy–quality sweep: Fig. 5, "How to cut it" and the paper's
200-step claim with quality beside it, from a synthetic DIR/tradeoff/ (real records, the
summary from lpm.study.frontier)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lpm.carbon import equivalents
from lpm.report import build_report
from lpm.report.analysis import analyze
from lpm.report.claim import AGREES, DIFFERS, NOT_MEASURED, Basis
from lpm.report.claims import compute_claims
from lpm.report.claims_tradeoff import ENERGY_KEY, QUALITY_KEY
from lpm.report.tradeoff_figure import fig5_tradeoff
from lpm.report.tradeoff_section import tradeoff_section
from lpm.report.tradeoff_steps import steps_check
from lpm.results import TRADEOFF_DIR
from tests.report.conftest import EVIL, FAILED_POINT, write_quality
from tests.report.synthetic import record, write_results, write_spec
from tests.report.test_page import tables
from tests.report.tradeoff_synthetic import REFERENCE, co2e, write_tradeoff


def _study(tmp_path: Path, **kw) -> Path:
    write_results(tmp_path, [record(2, (32, 32)), record(2, (64, 64))])
    write_spec(tmp_path)
    write_quality(tmp_path)
    write_tradeoff(tmp_path, **kw)
    return tmp_path


def _section(html: str) -> str:
    start = html.index("<h2 id='tradeoff'>")
    return html[start : html.index("<h2", start + 1)]


def _claims(study: Path) -> dict:
    return {c.key: c for c in compute_claims(analyze(study))}


def test_no_tradeoff_folder_no_section_no_figure_no_claim(tmp_path: Path) -> None:
    write_results(tmp_path, [record(2, (32, 32)), record(2, (64, 64))])
    write_spec(tmp_path)
    out = build_report(tmp_path)
    assert out.analysis.tradeoff is None
    html = out.html.read_text(encoding="utf-8")
    assert "How to cut it" not in html and "id='tradeoff'" not in html
    assert [f.name for f in out.figures][-1] == "fig4b_steps" and len(out.figures) == 6
    assert not {ENERGY_KEY, QUALITY_KEY} & {c.key for c in out.claims}
    assert tradeoff_section(out.analysis, out.claims) == ""
    # an empty folder is no sweep either
    (tmp_path / TRADEOFF_DIR).mkdir()
    assert analyze(tmp_path).tradeoff is None


def test_the_section_states_recipe_saving_equivalents_and_quality(built) -> None:
    html = built.html.read_text(encoding="utf-8")
    section = _section(html)
    tr = built.analysis.tradeoff
    assert tr.summary.recommended == "rflow/rflow-20-b16"
    assert "<b>Recommended: rflow, 20 steps, batch 16 (run rflow, objective rflow)</b>" in section
    ref_kg, rec_kg = co2e(1000, 1, 0.16), co2e(20, 16, 0.16)
    saving = ref_kg - rec_kg
    assert tr.summary.saving_co2e_kg == pytest.approx(saving)
    assert f"{saving:.3g} kg CO2e less per 10,000 samples (99.7 %)" in section
    eq = equivalents(saving)
    assert f"≈ {eq.car_km:,.3g} km by car, {eq.smartphone_charges:,.3g} phone charges" in section
    assert "Reference (the paper's way): ddpm, 1000 steps, batch 1" in section
    # the quality it keeps: reference vs recipe, CIs, the tolerance limit
    kept = next(t for t in tables(section) if t["headers"][1] == "reference (95 % CI)")
    rows = {r[0]: r for r in kept["rows"]}
    assert rows["hu_wasserstein"][1:6] == ["20<br>[18 – 22]", "20.8<br>[18.7 – 22.9]", "+4.0 %",
                                           "21", "<b>kept"]  # fmt: skip
    assert rows["ms_ssim"][5] == "not judged" and rows["copy_rate"][5] == "not judged"
    # training counted: the ddpm run's ddim-50-b16 emits least within tolerance
    assert "Counting training too, ddim, 50 steps, batch 16 (run ddpm" in section
    assert "rflow pays back its costlier training against ddpm after" in section
    # provenance, machine and model
    assert "estimated (no energy counter" in section and "Test CPU" in section
    assert "2D 32² small model" in section and "not the paper&#x27;s 3D 256²×192 model" in section


def test_fig5_draws_every_ok_point_front_reference_and_recipe(built) -> None:
    fig = next(f for f in built.figures if f.name == "fig5_tradeoff")
    assert fig.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and fig.pdf.is_file()
    tr = built.analysis.tradeoff
    assert len(tr.points) == 24 and len(tr.ok) == 23
    by_view: dict[str, list] = {}
    for s in fig.series:
        by_view.setdefault(f"{s.phase} {s.axis}", []).extend(zip(s.x, s.y, s.values, strict=True))
    assert set(by_view) == {
        "training + synthesis hu_wasserstein",
        "synthesis hu_wasserstein",
        "training + synthesis tissue_fraction_l1",
        "training + synthesis frechet_distance",
    }
    for points in by_view.values():
        assert len(points) == 23
        assert FAILED_POINT not in {pid for pid, _, _ in points}
    synth = {pid: (x, y) for pid, x, y in by_view["synthesis hu_wasserstein"]}
    assert synth[REFERENCE] == (pytest.approx(co2e(1000, 1, 0.16)), 20.0)
    total = {pid: x for pid, x, _ in by_view["training + synthesis hu_wasserstein"]}
    assert total["rflow/rflow-20-b16"] == pytest.approx(0.05 + co2e(20, 16, 0.16))
    assert "1 failed recipe(s) are not drawn" in fig.caption
    assert fig.measured


def test_fig5_axes_hold_the_points_and_the_marks(tmp_path: Path) -> None:
    study = _study(tmp_path)
    fig = fig5_tradeoff(analyze(study).tradeoff, tmp_path / "figures")
    assert sum(len(s) for s in fig.series) == 4 * 24
    assert fig.png.stat().st_size > 20_000


def test_200_step_claim_agrees_and_quality_kept(built) -> None:
    claims = {c.key: c for c in built.claims}
    energy, quality = claims[ENERGY_KEY], claims[QUALITY_KEY]
    assert energy.basis is Basis.MEASURED and quality.basis is Basis.MEASURED
    expected = 100 * (1 - co2e(200, 1, 0.16) / co2e(1000, 1, 0.16))
    assert energy.value == pytest.approx(expected) and energy.verdict == AGREES
    assert energy.run.startswith("ddpm 1000 vs 200 steps, batch 1: 0.278 kg at 1000 steps")
    assert "79.9 ± 0.6 % less" in energy.run
    assert quality.verdict == DIFFERS  # kept: the paper's caution did not come true here
    assert quality.run.startswith(
        "ddpm 1000 vs 200 steps, batch 1, quality kept: every judged metric (3) within 5 %"
    )
    section = _section(built.html.read_text(encoding="utf-8"))
    assert "The paper's 200-step claim, with quality beside it" in section
    steps = next(t for t in tables(section) if t["headers"][1] == "ddpm 1000 steps (95 % CI)")
    assert {r[0]: r[5] for r in steps["rows"]}["hu_wasserstein"] == "<b>kept"


def test_200_step_claim_differs_and_quality_lost(tmp_path: Path) -> None:
    # a large fixed part per sample: 200 steps save far less than 80 %; 20 % worse HU
    study = _study(tmp_path, fixed_j=100.0, worse={("ddpm", 200): 1.2})
    claims = _claims(study)
    energy, quality = claims[ENERGY_KEY], claims[QUALITY_KEY]
    expected = 100 * (1 - co2e(200, 1, 100.0) / co2e(1000, 1, 100.0))
    assert expected < 60
    assert energy.value == pytest.approx(expected) and energy.verdict == DIFFERS
    assert quality.verdict == AGREES
    assert "batch 1, quality compromised on 3 of 3 judged metrics" in quality.run
    assert "hu_wasserstein 20 HU" not in quality.run  # the synthetic metric has no unit
    assert "hu_wasserstein 20 [18–22] → 24.5 [22–26.9] (+22.4 %, lost: beyond 5 %)" in quality.run


def test_the_pair_falls_back_to_another_batch_then_sampler_then_not_measured(
    tmp_path: Path,
) -> None:
    study = _study(tmp_path, failed=("ddpm/ddpm-200-b1",))
    check, _ = steps_check(analyze(study).tradeoff)
    assert (check.low.point_id, check.high.point_id) == ("ddpm/ddpm-200-b4", "ddpm/ddpm-1000-b4")
    assert check.same_sampler and "batch 4" in check.choice
    # like the quick preset: DDPM only at 1000 steps, DDIM at 200
    quick = tmp_path / "quick"
    quick.mkdir()
    _study(quick, runs=("ddpm",), failed=tuple(f"ddpm/ddpm-200-b{b}" for b in (1, 4, 16)))
    claims = _claims(quick)
    check, _ = steps_check(analyze(quick).tradeoff)
    assert (check.low.point_id, check.high.point_id) == ("ddpm/ddim-200-b1", REFERENCE)
    assert not check.same_sampler and "the sweep has no 200-step ddpm" in check.choice
    assert claims[ENERGY_KEY].run.startswith("ddpm 1000 vs ddim 200 steps, batch 1")
    assert claims[ENERGY_KEY].verdict == AGREES and claims[QUALITY_KEY].verdict == DIFFERS
    # no 200-step point at all: not measured, with the failures named
    none = tmp_path / "none"
    none.mkdir()
    gone = [f"ddpm/{s}-200-b{b}" for s in ("ddpm", "ddim") for b in (1, 4, 16)]
    _study(none, failed=tuple(gone))
    claims = _claims(none)
    assert claims[ENERGY_KEY].verdict == NOT_MEASURED
    assert "ddpm/ddpm-200-b1 failed (out of memory)" in claims[ENERGY_KEY].run
    assert claims[QUALITY_KEY].verdict == NOT_MEASURED
    section = tradeoff_section(analyze(none), compute_claims(analyze(none)))
    assert "not measured" in section


def test_nothing_within_tolerance_names_the_closest_and_why(tmp_path: Path) -> None:
    why = "no recipe keeps every judged metric within 5 %; closest: rflow/rflow-50-b16"
    study = _study(tmp_path, recommended=None, closest="rflow/rflow-50-b16", within=[],
                   why=why, saving_fraction=0.99, saving_co2e_kg=0.27)  # fmt: skip
    section = _section(build_report(study).html.read_text(encoding="utf-8"))
    assert "No recipe is within tolerance of the reference on every judged metric." in section
    assert "<b>Closest: rflow, 50 steps, batch 16 (run rflow, objective rflow)</b>" in section
    assert f"Why: {why}" in section
    assert "Recommended:" not in section
    closest = next(t for t in tables(section) if t["headers"][2] == "closest (95 % CI)")
    assert {r[0] for r in closest["rows"]} >= {"hu_wasserstein", "frechet_distance"}


def test_no_cheaper_recipe_within_keeps_the_reference_and_names_the_nearest(
    tmp_path: Path,
) -> None:
    worse = {k: 1.2 for k in [("ddpm", 200), ("ddim", 200), ("ddim", 50), ("ddim", 20),
                              ("rflow", 50), ("rflow", 20), ("rflow", 10)]}  # fmt: skip
    worse[("rflow", 50)] = 1.17  # nearest: 17 % worse, shown worse through its ±10 % CI
    # DDPM 1000 at a larger batch has the reference's quality at less CO2e: not swept here
    study = _study(tmp_path, worse=worse, failed=("ddpm/ddpm-1000-b4", "ddpm/ddpm-1000-b16"))
    tr = analyze(study).tradeoff
    assert tr.summary.recommended == REFERENCE
    section = tradeoff_section(analyze(study), ())
    assert "No recipe that emits less than the reference keeps every judged metric" in section
    assert "<b>Closest: rflow, 50 steps, batch 16" in section  # the cheapest of the nearest
    saving = co2e(1000, 1, 0.16) - co2e(50, 16, 0.16)
    assert f"{saving:.3g} kg CO2e less per 10,000 samples (99.4 %)" in section


def test_failed_points_show_as_failed_never_as_numbers(built) -> None:
    section = _section(built.html.read_text(encoding="utf-8"))
    points = next(t for t in tables(section) if t["headers"][:4] == [
        "run", "sampler", "steps", "batch"])  # fmt: skip
    assert len(points["rows"]) == 24
    row = next(r for r in points["rows"] if r[1:4] == ["ddim", "20", "16"])
    assert row[4:-1] == ["failed"] * (len(row) - 5)
    assert row[-1].startswith("<b>failed: ") and "out of memory" in row[-1]
    assert EVIL not in section and "&lt;script&gt;" in section
    assert "All 24 recipes of the sweep (1 failed)" in section


def test_a_sweep_without_summary_shows_its_points(tmp_path: Path) -> None:
    study = _study(tmp_path, summary=False)
    out = build_report(study)
    section = _section(out.html.read_text(encoding="utf-8"))
    assert "The sweep has not finished" in section
    assert "All 24 recipes" in section
    assert "fig5_tradeoff" in [f.name for f in out.figures]
    assert any("no summary (tradeoff.json) yet" in n for n in out.analysis.notes)
    assert {c.key: c for c in out.claims}[ENERGY_KEY].verdict == AGREES


def test_an_unreadable_sweep_is_a_note_not_a_crash(tmp_path: Path) -> None:
    study = _study(tmp_path)
    path = study / TRADEOFF_DIR / "tradeoff.json"
    data = json.loads(path.read_text())
    data["schema_version"] = 9
    path.write_text(json.dumps(data))
    analysis = analyze(study)
    assert analysis.tradeoff is None
    assert any("energy–quality sweep could not be read" in n for n in analysis.notes)


def test_the_swept_model_is_named_and_the_papers_size_said(tmp_path: Path) -> None:
    import dataclasses

    from lpm.report.tradeoff import analyze_tradeoff

    study = _study(tmp_path)
    analysis = analyze(study)
    assert analysis.tradeoff.model == "2D 32² small"  # the quality stage's model
    assert not analysis.tradeoff.paper_model
    own = {"setting": {"dims": 3, "size": "256x256x192", "model": "medium"}}
    tr = analyze_tradeoff(study, quality=analysis.quality, stage=own)
    assert tr.model == "3D 256²×192 medium" and tr.paper_model
    assert tr.model_text.endswith("the paper's largest 3D size")
    section = tradeoff_section(dataclasses.replace(analysis, tradeoff=tr), ())
    assert "These numbers are for the paper's 3D size" in section
    assert analyze_tradeoff(study, stage={"setting": {"dims": 3, "size": "7x7"}}).model == ""


def test_a_recipe_saving_less_than_95_percent_names_the_nearest_deeper_cut(
    tmp_path: Path,
) -> None:
    worse = {k: 1.2 for k in [("ddpm", 200), ("ddim", 200), ("ddim", 50), ("ddim", 20),
                              ("rflow", 50), ("rflow", 20), ("rflow", 10)]}  # fmt: skip
    worse[("rflow", 50)] = 1.17  # shown worse than the 5 % band through its ±10 % CI
    study = _study(tmp_path, worse=worse)
    analysis = analyze(study)
    assert analysis.tradeoff.summary.recommended == "ddpm/ddpm-1000-b16"  # batching only
    section = tradeoff_section(analysis, ())
    saving = 100 * (1 - co2e(50, 16, 0.16) / co2e(1000, 1, 0.16))
    assert (
        "A cut of 95 % or more: the recipe that comes closest to keeping the quality is rflow, "
        f"50 steps, batch 16 (run rflow, objective rflow) ({saving:.1f} % less)" in section
    )
    assert "not recommended because of hu_wasserstein 20 [18–22] → 23.8" in section
    # a recipe that saves 95 % or more says nothing of the kind
    assert "A cut of 95 %" not in _section(build_report(_study(tmp_path / "b")).html.read_text())
