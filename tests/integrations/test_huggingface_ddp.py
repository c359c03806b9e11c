"""EnergyCallback in a transformers.Trainer run on 2 processes (gloo, CPU): counted once."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from lpm.energy import read_windows
from tests.integrations.ddp_launch import (
    launch,
    one_job_record,
    one_prediction_note,
    same_numbers_on_every_rank,
)

WORKER = Path(__file__).with_name("ddp_worker_huggingface.py")


@pytest.mark.slow
def test_ddp_two_gloo_ranks_one_record_host_counted_once(tmp_path) -> None:
    r0, r1 = launch(WORKER, tmp_path / "energy", tmp_path / "result", env={"HF_HUB_OFFLINE": "1"})
    assert (r0["rank"], r1["rank"]) == (0, 1) and r0["world_size"] == 2  # a real 2-process job

    run = one_job_record(tmp_path / "energy", r0, r1)
    assert run.context["distributed"]["backend"] == "gloo"
    # 16 samples over 2 ranks, batches of 2: 4 optimizer steps per epoch; 6 steps with an
    # evaluation (8 samples: one batch of 4 per rank) after steps 3 and 6
    assert run.windows["train"]["steps"] == 6
    assert run.windows["validate"]["count"] == 2 and run.windows["validate"]["steps"] == 2
    names = [w["name"] for w in read_windows(r0["record"])]
    assert names == ["train", "validate", "train", "train", "validate"]
    entry = run.context["integration"]
    assert entry["framework"] == "huggingface" and entry["prediction"]["n"] == 6
    one_prediction_note(run, "huggingface", 6)
    same_numbers_on_every_rank(r0, r1)
