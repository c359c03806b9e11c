"""lpm.study.tradeoff on tiny trained runs (2D 32², a few iterations, simulated meters):
the points, the summary, resume, failed points, and the checks before anything runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.ldm.helpers import set_threads, sim_meters, tiny_autoencoder, tiny_ldm

import lpm.ldm
from lpm.errors import LpmError
from lpm.results import read_tradeoff, tradeoff_points_path
from lpm.study.tradeoff import TradeoffSweep, plan_sweep, run_tradeoff, sweep_from

set_threads()

SWEEP = {
    "samplers": ["ddim"], "steps": [2, 4], "batches": [1, 2], "quality_samples": 4,
    "energy_steps": 2, "reference": ("ddim", 4, 1), "bootstrap": 20,
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tradeoff_runs")
    ae = tiny_autoencoder(root / "ae", dims=2)
    return {
        "ddpm": tiny_ldm(root / "ddpm", ae, dims=2),
        "rflow": tiny_ldm(root / "rflow", ae, dims=2, objective="rflow", iterations=6),
    }


@pytest.fixture(scope="module")
def swept(runs, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("sweep") / "out"
    summary = run_tradeoff([runs["ddpm"]], out, TradeoffSweep(**SWEEP), progress=False,
                           meters=sim_meters())  # fmt: skip
    return out, summary


def _count_sampling(monkeypatch) -> list:
    calls: list = []
    real = lpm.ldm.sample_ldm

    def counting(cfg, **kw):
        calls.append(cfg)
        return real(cfg, **kw)

    monkeypatch.setattr(lpm.ldm, "sample_ldm", counting)
    return calls


def test_points_and_summary(swept):
    out, summary = swept
    lines = tradeoff_points_path(out).read_text().splitlines()
    assert len(lines) == 4
    points, stored = read_tradeoff(out)
    assert stored == summary
    assert [p.point_id for p in points] == ["ddpm/ddim-2-b1", "ddpm/ddim-2-b2",
                                            "ddpm/ddim-4-b1", "ddpm/ddim-4-b2"]  # fmt: skip
    assert all(p.ok and p.provenance == "simulated" for p in points)
    by = {p.point_id: p for p in points}
    for p in points:  # energy = fixed + steps × per step, CO2e for 10 000 samples
        assert p.energy_per_sample_j_mean == pytest.approx(
            p.fixed_per_sample_j_mean + p.steps * p.step_per_sample_j_mean
        )
        assert p.synthesis_it_energy_kwh == pytest.approx(
            p.energy_per_sample_j_mean * 10_000 / 3.6e6
        )
        assert p.synthesis_co2e_kg > 0 and p.quality_samples == 4
        assert {"hu_wasserstein", "tissue_fraction_l1", "ms_ssim", "copy_rate"} <= set(p.quality)
        assert p.energy_samples_measured == 2 * p.batch_size  # the warm-up batch left out
    # quality is measured once per (sampler, steps): the same for every batch
    assert by["ddpm/ddim-2-b1"].quality == by["ddpm/ddim-2-b2"].quality
    # the 4-step recipe costs more per sample than the 2-step one at the same batch
    assert by["ddpm/ddim-4-b1"].synthesis_co2e_kg > by["ddpm/ddim-2-b1"].synthesis_co2e_kg
    assert summary.reference == "ddpm/ddim-4-b1"
    assert summary.reference in summary.within
    assert summary.recommended in summary.within and summary.closest is None
    rec = by[summary.recommended]
    assert rec.synthesis_co2e_kg == min(by[i].synthesis_co2e_kg for i in summary.within)
    assert summary.saving_fraction == pytest.approx(
        1 - rec.synthesis_co2e_kg / by[summary.reference].synthesis_co2e_kg
    )
    assert summary.runs[0].label == "ddpm" and summary.runs[0].train_iterations == 3
    assert set(summary.fronts) == set(summary.metrics)
    # the energy runs keep their summary, not their images; the quality runs keep both
    assert not list((out / "energy").rglob("*.nii.gz"))
    assert len(list((out / "quality" / "ddpm-ddim-2").glob("sample_*.nii.gz"))) == 4
    assert json.loads((out / "sweep.json").read_text())["quality_samples"] == 4


def test_resume_skips_done_points_and_reuses_sub_runs(swept, tmp_path, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(swept[0], out)
    calls = _count_sampling(monkeypatch)
    before = tradeoff_points_path(out).read_text()
    run_tradeoff(_run_of(swept), out,
                 TradeoffSweep(**SWEEP), progress=False, meters=sim_meters())  # fmt: skip
    assert calls == [] and tradeoff_points_path(out).read_text() == before
    # a kill -9 after two points: the rest is appended, nothing measured again
    path = tradeoff_points_path(out)
    lines = before.splitlines()
    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][:50])
    run_tradeoff(_run_of(swept), out, TradeoffSweep(**SWEEP), progress=False,
                 meters=sim_meters())  # fmt: skip
    assert calls == []
    assert [p.point_id for p in read_tradeoff(out)[0]] == [json.loads(x)["point_id"]
                                                           for x in lines]  # fmt: skip
    # a quality sub-run without its summary is sampled again (and only it)
    (out / "quality" / "ddpm-ddim-4" / "summary.json").unlink()
    path.write_text("\n".join(lines[:2]) + "\n")
    run_tradeoff(_run_of(swept), out, TradeoffSweep(**SWEEP), progress=False,
                 meters=sim_meters())  # fmt: skip
    assert [(c.steps, c.n, c.batch_size) for c in calls] == [(4, 4, 2)]


def _run_of(swept) -> list[Path]:
    return [Path(read_tradeoff(swept[0])[1].runs[0].path)]


def test_failed_point_recorded_and_sweep_goes_on(runs, tmp_path, monkeypatch):
    real = lpm.ldm.sample_ldm

    def oom_at_batch_2(cfg, **kw):
        if cfg.batch_size == 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\n(more)")
        return real(cfg, **kw)

    monkeypatch.setattr(lpm.ldm, "sample_ldm", oom_at_batch_2)
    out = tmp_path / "out"
    summary = run_tradeoff([runs["ddpm"]], out, TradeoffSweep(**SWEEP), progress=False,
                           meters=sim_meters())  # fmt: skip
    points = {p.point_id: p for p in read_tradeoff(out)[0]}
    failed = [p for p in points.values() if not p.ok]
    assert sorted(p.point_id for p in failed) == ["ddpm/ddim-2-b2", "ddpm/ddim-4-b2"]
    assert failed[0].error == "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (more)"
    assert points["ddpm/ddim-2-b1"].ok and points["ddpm/ddim-4-b1"].ok
    # quality fell back to the largest batch that ran
    q = json.loads((out / "quality" / "ddpm-ddim-2" / "summary.json").read_text())
    assert q["batch_size"] == 1
    assert summary.recommended == "ddpm/ddim-2-b1"
    # a resume retries the failed points only
    monkeypatch.setattr(lpm.ldm, "sample_ldm", real)
    calls = _count_sampling(monkeypatch)
    run_tradeoff([runs["ddpm"]], out, TradeoffSweep(**SWEEP), progress=False,
                 meters=sim_meters())  # fmt: skip
    assert [c.batch_size for c in calls] == [2]  # the energy run at batch 2; quality reused
    assert all(p.ok for p in read_tradeoff(out)[0])


def test_two_objectives_break_even(runs, tmp_path):
    sweep = TradeoffSweep(**{**SWEEP, "samplers": ["ddim", "rflow"], "batches": [2]})
    summary = run_tradeoff([runs["ddpm"], runs["rflow"]], tmp_path / "out", sweep,
                           progress=False, meters=sim_meters())  # fmt: skip
    ids = [p.point_id for p in read_tradeoff(tmp_path / "out")[0]]
    assert "rflow/rflow-2-b2" in ids and "ddpm/ddim-2-b2" in ids and "ddpm/ddim-4-b1" in ids
    assert not any(i.startswith("rflow/ddim") or i.startswith("ddpm/rflow") for i in ids)
    assert [r.objective for r in summary.runs] == ["ddpm", "rflow"]
    [item] = summary.break_even
    # tiny runs' estimated training energies are close (6 vs 4 iterations): either order
    assert {item.cheaper_training, item.costlier_training} == {"ddpm", "rflow"}
    assert item.note


def test_checks_before_anything_runs(runs, tmp_path):
    out = tmp_path / "never"
    bad = [
        ({"samplers": ["euler"]}, "unknown sampler"),
        ({"samplers": ["rflow"]}, "cannot run a model trained for a DDPM"),
        ({"steps": [2, 5000]}, "steps=5000 is out of range for ddpm"),
        ({"metrics": ["fid"]}, "unknown quality metric 'fid'"),
        ({"reference": ("rflow", 10, 1)}, "the reference sampler rflow fits none"),
    ]
    for change, message in bad:
        with pytest.raises(LpmError, match=message):
            run_tradeoff([runs["ddpm"]], out, TradeoffSweep(**{**SWEEP, **change}),
                         progress=False)  # fmt: skip
        assert not out.exists()
    with pytest.raises(LpmError, match="not a trained diffusion run"):
        run_tradeoff([tmp_path], out, TradeoffSweep(**SWEEP), progress=False)
    with pytest.raises(LpmError, match="invalid quality_samples"):
        sweep_from(quality_samples=2)
    assert not out.exists()


def test_plan_adds_the_reference_and_makes_labels_unique(runs):
    plans, ref = plan_sweep([runs["ddpm"], runs["ddpm"]], TradeoffSweep(**{
        **SWEEP, "reference": ("ddim", 3, 4)}))  # fmt: skip
    assert [p.label for p in plans] == ["ddpm", "ddpm-2"]
    assert ref == "ddpm/ddim-3-b4"
    first = set(plans[0].recipes)
    assert {("ddim", 3, 1), ("ddim", 3, 2), ("ddim", 3, 4)} <= first
    assert ("ddim", 3, 4) not in set(plans[1].recipes) and len(plans[1].recipes) == 4


def test_resume_with_other_measuring_settings_is_refused(swept, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(swept[0], out)
    with pytest.raises(LpmError, match="quality_samples=4, not 8"):
        run_tradeoff(_run_of(swept), out, TradeoffSweep(**{**SWEEP, "quality_samples": 8}),
                     progress=False)  # fmt: skip


def test_training_cost_from_summary_scales_a_resumed_run(tmp_path):
    from lpm.study.tradeoff_measure import training_cost

    summary = {"it_energy_kwh": 0.5, "co2e_kg": 0.1, "iterations": 100, "total_iterations": 400,
               "resumed_from": 300, "provenance": "estimated"}  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    run = training_cost("r", tmp_path, "ddpm")
    assert run.train_it_energy_kwh == pytest.approx(2.0) and run.train_co2e_kg == pytest.approx(0.4)
    assert run.train_iterations == 400 and run.train_provenance == "estimated"
    assert training_cost("none", tmp_path / "missing", "ddpm").train_it_energy_kwh is None
