"""Samplers by name, schedules, step counts."""

from __future__ import annotations

import pytest
import torch
from monai.networks.schedulers import DDIMScheduler, DDPMScheduler, PNDMScheduler

from lpm.errors import LpmError
from lpm.ldm.schedulers import make_scheduler, sampler_name, schedule_args, set_steps


def test_sampler_names_accept_monai_class_names() -> None:
    args = schedule_args("scaled_linear_beta", 0.0015, 0.0195, 1000)
    assert isinstance(make_scheduler("ddpm", args), DDPMScheduler)
    assert isinstance(make_scheduler("DDIMScheduler", args), DDIMScheduler)
    assert isinstance(make_scheduler("PNDM", args), PNDMScheduler)
    with pytest.raises(LpmError, match="unknown sampler 'euler'"):
        sampler_name("euler")
    assert sampler_name("RFlowScheduler") == "rflow"
    with pytest.raises(LpmError, match="objective ddpm"):
        make_scheduler("rflow", args)  # a DDPM schedule: rflow cannot run it


@pytest.mark.parametrize("schedule", ["linear_beta", "scaled_linear_beta", "cosine"])
def test_schedules_give_increasing_noise(schedule: str) -> None:
    s = make_scheduler("ddpm", schedule_args(schedule, 0.0015, 0.0195, 1000))
    a = s.alphas_cumprod
    assert torch.all(a[1:] <= a[:-1])
    assert 0.98 < float(a[0]) <= 1.0
    assert float(a[-1]) < 0.1


@pytest.mark.parametrize(("sampler", "steps"), [("ddpm", 1000), ("ddim", 200), ("ddim", 7)])
def test_any_step_count(sampler: str, steps: int) -> None:
    s = make_scheduler(sampler, schedule_args("linear_beta", 1e-4, 0.02, 1000))
    set_steps(s, steps, 1000)
    assert len(s.timesteps) == steps
    with pytest.raises(LpmError, match="use 1 to 1000"):
        set_steps(s, 1001, 1000)
