"""EnergyHandler under 2 DDP ranks (gloo, CPU): one record, the host once, the job's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("ignite")

from lpm.energy import read_windows
from tests.integrations.ddp_launch import (
    launch,
    one_job_record,
    one_prediction_note,
    same_numbers_on_every_rank,
)

WORKER = Path(__file__).with_name("ddp_worker_ignite.py")


@pytest.mark.slow
def test_ddp_two_gloo_ranks_one_record_host_counted_once(tmp_path) -> None:
    r0, r1 = launch(WORKER, tmp_path / "energy", tmp_path / "result")

    run = one_job_record(tmp_path / "energy", r0, r1)
    assert [r["rank"] for r in run.context["distributed"]["ranks"]] == [0, 1]
    # 32 samples over 2 ranks, batches of 4: 4 iterations per rank per epoch, 2 epochs;
    # an evaluation of 2 batches after each epoch
    assert run.windows["train"]["count"] == 2 and run.windows["train"]["steps"] == 8
    assert run.windows["validate"]["count"] == 2 and run.windows["validate"]["steps"] == 4
    assert [w["name"] for w in read_windows(r0["record"])] == ["train", "validate"] * 2
    entry = run.context["integration"]
    assert entry["framework"] == "ignite" and entry["prediction"]["n"] == 8
    one_prediction_note(run, "ignite", 8)
    same_numbers_on_every_rank(r0, r1)  # in its engine's metrics too
