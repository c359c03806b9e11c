"""Rectified flow: objectives and the samplers that fit them; an rflow model trains, samples
and resumes exactly; a sampler that cannot run a model's objective is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lpm.errors import LpmError
from lpm.ldm import (
    OBJECTIVES,
    SAMPLERS_BY_OBJECTIVE,
    SampleConfig,
    TrainConfig,
    check_sampler,
    diffusion_loss,
    load_sampler,
    run_objective,
    sample_ldm,
    samplers_for,
)
from lpm.ldm import checkpoint as ckpt
from lpm.ldm.diffusion import _build
from lpm.ldm.networks import LDM_FILE
from lpm.ldm.objectives import REGISTRY
from lpm.ldm.runtime import Runtime
from tests.cli_run import one_line_error, run_cli
from tests.ldm.helpers import sim_meters, tiny_ldm


def _sample(run: Path, out: Path, **kw) -> object:
    values = {"run": run, "n": 1, "steps": 2, "sampler": "rflow", "out": out}
    values.update({"progress": False, "interval_s": 0.1, "png": False, **kw})
    return sample_ldm(SampleConfig(**values), meters=sim_meters())


def test_samplers_by_objective() -> None:
    assert OBJECTIVES == ("ddpm", "rflow")
    assert SAMPLERS_BY_OBJECTIVE == {"ddpm": ("ddpm", "ddim", "pndm"), "rflow": ("rflow",)}
    assert samplers_for("RFLOW") == ("rflow",)
    assert check_sampler("DDIMScheduler", "ddpm") == "ddim"
    assert check_sampler("rflow", "rflow") == "rflow"
    with pytest.raises(LpmError, match=r"objective rflow\); use --sampler rflow\.$"):
        check_sampler("ddim", "rflow")
    with pytest.raises(LpmError, match=r"objective ddpm\); use --sampler ddpm, ddim or pndm"):
        check_sampler("rflow", "ddpm")
    with pytest.raises(LpmError, match="unknown objective 'edm'"):
        samplers_for("edm")
    with pytest.raises(LpmError, match="unknown sampler"):
        check_sampler("heun", "ddpm")


def test_run_objective_of_new_and_old_runs(tmp_path: Path, ldm2d: Path) -> None:
    assert run_objective(ldm2d) == "ddpm"
    blob = torch.load(ldm2d / LDM_FILE, weights_only=False)
    assert blob["schedule"]["objective"] == "ddpm"
    del blob["schedule"]["objective"]  # an ldm.pt written before objectives existed
    old = tmp_path / "old"
    old.mkdir()
    torch.save(blob, old / LDM_FILE)
    assert run_objective(old) == "ddpm"
    with pytest.raises(LpmError, match="does not exist"):
        run_objective(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LpmError, match="holds no trained model"):
        run_objective(tmp_path / "empty")


@pytest.fixture(scope="module")
def rflow2d(tmp_path_factory: pytest.TempPathFactory, ae2d: Path) -> Path:
    out = tmp_path_factory.mktemp("rflow2d")
    return tiny_ldm(out, ae2d, objective="rflow", validation_samples=1, validation_steps=2)


def test_rflow_model_trains_and_samples(tmp_path: Path, rflow2d: Path) -> None:
    blob = torch.load(rflow2d / LDM_FILE, weights_only=False)
    assert blob["schedule"]["objective"] == "rflow" and run_objective(rflow2d) == "rflow"
    assert "prediction_type" not in blob["schedule"]  # rflow predicts the velocity x0 - noise
    summary = json.loads((rflow2d / "summary.json").read_text())
    assert summary["schedule"]["objective"] == "rflow"
    assert summary["flops_per_iteration"] > 0 and np.isfinite(summary["loss_last"])
    assert (rflow2d / "validation" / "sample_00000.nii.gz").exists()  # sampled with rflow
    for steps in (1, 3):
        result = _sample(rflow2d, tmp_path / f"s{steps}", n=3, batch_size=2, steps=steps)
        assert len(list((tmp_path / f"s{steps}").glob("sample_*.nii.gz"))) == 3
        assert result.extra["sampler"] == "rflow" and result.extra["objective"] == "rflow"
        assert result.extra["denoising_steps_done"] == 2 * steps
        assert result.extra["latent_std"] > 0 and np.isfinite(result.extra["latent_mean"])
        assert result.flops_per_step > 0


def test_rflow_steps_end_at_zero_and_cover_the_flow(rflow2d: Path) -> None:
    s = load_sampler(rflow2d, sampler="rflow", steps=4, device=torch.device("cpu"))
    ts = s.reset()
    assert ts == [1000, 750, 500, 250]
    assert [s.next_timestep[t] for t in ts] == [750, 500, 250, 0]
    with pytest.raises(LpmError, match="use 1 to 1000"):
        load_sampler(rflow2d, sampler="rflow", steps=1001, device=torch.device("cpu"))


def test_mismatched_sampler_is_refused_before_anything_is_written(
    tmp_path: Path, rflow2d: Path, ldm2d: Path
) -> None:
    with pytest.raises(LpmError, match=r"objective rflow\); use --sampler rflow"):
        _sample(rflow2d, tmp_path / "a", sampler="ddim")
    with pytest.raises(LpmError, match=r"objective ddpm\); use --sampler ddpm, ddim or pndm"):
        _sample(ldm2d, tmp_path / "b", sampler="rflow")
    with pytest.raises(LpmError, match="objective rflow"):
        load_sampler(rflow2d, sampler="pndm", steps=2, device=torch.device("cpu"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_refuses_a_mismatch_with_one_line(
    tmp_path: Path, rflow2d: Path, ldm2d: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x"
    line = one_line_error(
        ["sample", "--run", str(rflow2d), "--sampler", "ddim", "--out", str(out)], capsys
    )
    assert "objective rflow" in line and "--sampler rflow" in line
    line = one_line_error(
        ["sample", "--run", str(ldm2d), "--sampler", "rflow", "--out", str(out)], capsys
    )
    assert "objective ddpm" in line and "ddpm, ddim or pndm" in line
    assert not out.exists()


def test_an_old_model_without_objective_samples_as_ddpm(tmp_path: Path, ldm2d: Path) -> None:
    blob = torch.load(ldm2d / LDM_FILE, weights_only=False)
    del blob["schedule"]["objective"]
    (tmp_path / "old").mkdir()
    torch.save(blob, tmp_path / "old" / LDM_FILE)
    result = _sample(tmp_path / "old", tmp_path / "s", sampler="ddim", steps=2)
    assert result.extra["objective"] == "ddpm"
    with pytest.raises(LpmError, match="objective ddpm"):
        _sample(tmp_path / "old", tmp_path / "t", sampler="rflow")


def test_rflow_loss_targets_the_velocity() -> None:
    rt = Runtime(device=torch.device("cpu"))

    class Zero(torch.nn.Module):
        def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
            return torch.zeros_like(x)

    s, _ = _build(TrainConfig(dims=2, size=32, objective="rflow"), rt, latent_channels=3)
    latents, noise = torch.full((1, 3, 4, 4), 1.0), torch.full((1, 3, 4, 4), -2.0)
    loss = diffusion_loss(Zero(), s.scheduler, latents, noise, torch.tensor([500]), rt, "mse")
    assert float(loss) == pytest.approx(9.0)  # (x0 - noise)^2 = 3^2


@pytest.mark.parametrize("method", ["uniform", "logit-normal"])
def test_rflow_timesteps_come_from_the_run_generator(method: str) -> None:
    from monai.networks.schedulers import RFlowScheduler

    scheduler = RFlowScheduler(1000, use_discrete_timesteps=True, sample_method=method)
    latents = torch.zeros((4000, 1, 2, 2))
    draws = [
        REGISTRY["rflow"].timesteps(scheduler, latents, torch.Generator().manual_seed(7))
        for _ in range(2)
    ]
    assert torch.equal(draws[0], draws[1])
    t = draws[0]
    assert t.dtype == torch.long and int(t.min()) >= 0 and int(t.max()) <= 999
    reference = scheduler.sample_timesteps(latents).float()  # MONAI's own draw, global RNG
    assert float(t.float().mean()) == pytest.approx(float(reference.mean()), abs=25)
    assert float(t.float().std()) == pytest.approx(float(reference.std()), rel=0.1)


def test_rflow_resume_is_exact_and_another_objective_is_refused(tmp_path: Path, ae2d: Path) -> None:
    tiny_ldm(tmp_path / "resumed", ae2d, objective="rflow", iterations=2, checkpoint_every=2)
    tiny_ldm(tmp_path / "resumed", ae2d, objective="rflow", iterations=3, checkpoint_every=2)
    tiny_ldm(tmp_path / "ref", ae2d, objective="rflow", iterations=3, checkpoint_every=2)
    losses = [
        [json.loads(line)["loss"] for line in (tmp_path / d / "losses.jsonl").open()]
        for d in ("resumed", "ref")
    ]
    assert losses[0] == losses[1] and len(losses[0]) == 3
    with pytest.raises(LpmError, match="objective=rflow, not ddpm"):
        tiny_ldm(tmp_path / "resumed", ae2d, objective="ddpm", iterations=4)


def test_cli_trains_rflow_and_refuses_an_unknown_objective(
    tmp_path: Path, ae2d: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rf"
    code, stdout, err = run_cli(
        ["train", "--dims", "2", "--size", "32", "--autoencoder", str(ae2d),
         "--objective", "rflow", "--iterations", "1", "--n-items", "4", "--no-progress",
         "--interval-s", "0.1", "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "MSE loss (rflow velocity)" in stdout
    assert run_objective(out) == "rflow"
    line = one_line_error(["train", "--dims", "2", "--objective", "edm"], capsys)
    assert "objective" in line and "rflow" in line


def test_a_checkpoint_without_objective_resumes_as_ddpm(tmp_path: Path, ae2d: Path) -> None:
    run = tmp_path / "old"
    tiny_ldm(run, ae2d, iterations=2, checkpoint_every=2)
    last = run / "checkpoints" / ckpt.LAST
    state = ckpt.load(last)
    del state["config"]["objective"]  # written before objectives existed
    ckpt.save_atomic(state, last)
    with pytest.raises(LpmError, match="objective=ddpm, not rflow"):
        tiny_ldm(run, ae2d, objective="rflow", iterations=3, checkpoint_every=2)
    tiny_ldm(run, ae2d, iterations=3, checkpoint_every=2)
    assert json.loads((run / "summary.json").read_text())["resumed_from"] == 2
