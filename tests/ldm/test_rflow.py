"""Rectified flow: objectives and the samplers that fit them; an rflow model trains, samples
and resumes exactly; a sampler that cannot run a model's objective is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lpm.errors import LpmError
from lpm.ldm import OBJECTIVES, SAMPLERS_BY_OBJECTIVE, check_sampler, run_objective, samplers_for
from lpm.ldm.networks import LDM_FILE


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
