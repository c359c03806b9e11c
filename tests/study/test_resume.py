"""A job's measurement killed mid-way goes on where it stopped when measured again.

Real (tiny) lpm.ldm runs: training is cut by a Ctrl-C at a chosen iteration, sampling by a
Ctrl-C in its second run; the rerun resumes training from its checkpoint and keeps what
had finished.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import lpm.ldm
from lpm.ldm import checkpoint as ckpt
from lpm.study.grid import jobs
from lpm.study.measure import measure_job
from lpm.study.resume import PROGRESS
from lpm.study.spec import spec_from_dict

TINY = {
    "name": "tiny-resume",
    "design": "one_factor",
    "dims": [2],
    "image_sizes": {"2d": [16]},
    "model_sizes": ["small"],
    "processes": [1],
    "steps": [4, 2],
    "batch_size": 1,
    "threads": 1,
    "measure": {
        "train_iterations": 6, "warmup_iterations": 1, "checkpoint_every": 2,
        "samples": 1, "interval_s": 0.05, "autoencoder_iterations": 1,
    },
}  # fmt: skip


@pytest.fixture
def job_and_spec():
    torch.set_num_threads(1)
    spec = spec_from_dict(TINY)
    (job,) = jobs(spec)
    return job, spec


def _ctrl_c_at(monkeypatch: pytest.MonkeyPatch, iteration: int) -> None:
    """Training raises KeyboardInterrupt at ITERATION (0-based), as a Ctrl-C would."""
    import lpm.ldm.diffusion as diffusion

    real = diffusion.stage2_step
    calls = {"n": 0}

    def step(*args, **kw):
        calls["n"] += 1
        if calls["n"] == iteration + 1:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(diffusion, "stage2_step", step)


def _killed_in_training(job, spec, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Measure JOB into WORK, cut by a Ctrl-C at iteration 5 of 7 (the last checkpoint: 4)."""
    with monkeypatch.context() as m:
        _ctrl_c_at(m, 5)
        with pytest.raises(KeyboardInterrupt):
            measure_job(job, spec, work)


def test_a_job_killed_in_training_resumes_from_its_checkpoint(
    job_and_spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, spec = job_and_spec
    work = tmp_path / "work"
    _killed_in_training(job, spec, work, monkeypatch)
    assert int(ckpt.load(work / "train" / "checkpoints" / ckpt.LAST)["iteration"]) == 4

    records = measure_job(job, spec, work)
    assert sorted(r.steps for r in records) == [2, 4]
    train = records[0].train
    assert train.resumed_at == [4]
    # 4 iterations before the kill (1 warm-up) + 3 after it (its own warm-up of 1)
    assert train.step_stats.count == 3 + 2
    summary = json.loads((work / "train" / "summary.json").read_text())
    assert summary["resumed_from"] == 4
    losses = [json.loads(x)["iteration"] for x in (work / "train" / "losses.jsonl").open()]
    assert losses == list(range(1, 8))  # each iteration once, those after the checkpoint too
    assert not (work / PROGRESS).exists()  # finished: nothing left to resume
    assert not list(work.rglob("*.pt"))


def test_a_job_killed_in_sampling_keeps_its_training_and_finished_sampling(
    job_and_spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, spec = job_and_spec
    work = tmp_path / "work"
    real_sample = lpm.ldm.sample_ldm
    seen: list[int] = []

    def cut_at_two(cfg):
        seen.append(cfg.steps)
        if cfg.steps == 2:
            raise KeyboardInterrupt
        return real_sample(cfg)

    with monkeypatch.context() as m:
        m.setattr(lpm.ldm, "sample_ldm", cut_at_two)
        with pytest.raises(KeyboardInterrupt):
            measure_job(job, spec, work)
    assert seen == [4, 2]
    four = json.loads((work / PROGRESS / "sample-4.json").read_text())

    def no_training(cfg):
        raise AssertionError("the finished training ran again")

    again: list[int] = []

    def sample(cfg):
        again.append(cfg.steps)
        return real_sample(cfg)

    monkeypatch.setattr(lpm.ldm, "train_ldm", no_training)
    monkeypatch.setattr(lpm.ldm, "sample_ldm", sample)
    records = measure_job(job, spec, work)
    assert again == [2]  # only the sampling run the kill cut short
    by_steps = {r.steps: r for r in records}
    assert by_steps[4].sample.energy_per_sample_j_mean == pytest.approx(
        four["energy_per_sample_j_mean"]
    )
    assert by_steps[4].train.resumed_at == []  # the training itself ran in one process


def test_other_settings_start_the_job_over(
    job_and_spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, spec = job_and_spec
    work = tmp_path / "work"
    _killed_in_training(job, spec, work, monkeypatch)
    other = spec_from_dict({**TINY, "measure": {**TINY["measure"], "samples": 2}})
    (job2,) = jobs(other)
    records = measure_job(job2, other, work)
    assert records[0].train.resumed_at == []
    assert records[0].train.step_stats.count == 6
    assert records[0].sample.samples == 2
