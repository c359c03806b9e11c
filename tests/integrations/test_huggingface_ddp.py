"""EnergyCallback in a transformers.Trainer run on 2 processes (gloo, CPU): counted once."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from lpm.energy import read_run, read_windows
from tests.integrations.ddp_launch import launch

WORKER = Path(__file__).with_name("ddp_worker_huggingface.py")


@pytest.mark.slow
def test_ddp_two_gloo_ranks_one_record_host_counted_once(tmp_path) -> None:
    r0, r1 = launch(WORKER, tmp_path / "energy", tmp_path / "result", env={"HF_HUB_OFFLINE": "1"})
    assert (r0["rank"], r1["rank"]) == (0, 1) and r0["world_size"] == 2  # a real 2-process job

    records = sorted((tmp_path / "energy").glob("*.jsonl"))
    assert [p.name for p in records] == [Path(r0["record"]).name]  # one record, rank 0's
    assert r1["record"] is None
    run = read_run(records[0])
    assert run.status == "finished"
    assert sorted(c.kind for c in run.components) == ["cpu", "dram"]  # the host once
    assert run.context["distributed"]["world_size"] == 2
    assert run.context["distributed"]["backend"] == "gloo"
    # 16 samples over 2 ranks, batches of 2: 4 optimizer steps per epoch; 6 steps with an
    # evaluation (8 samples: one batch of 4 per rank) after steps 3 and 6
    assert run.windows["train"]["steps"] == 6
    assert run.windows["validate"]["count"] == 2 and run.windows["validate"]["steps"] == 2
    names = [w["name"] for w in read_windows(records[0])]
    assert names == ["train", "validate", "train", "train", "validate"]
    entry = run.context["integration"]
    assert entry["framework"] == "huggingface" and entry["prediction"]["n"] == 6
    notes = [f for f in run.faults if "predicted whole run" in f]
    assert len(notes) == 1 and notes[0].startswith("predicted whole run (huggingface): 6")
    # every rank ends with the job's numbers
    assert r1["it_energy_kwh"] == pytest.approx(r0["it_energy_kwh"])
    assert r1["prediction"]["energy_kwh_mean"] == pytest.approx(r0["prediction"]["energy_kwh_mean"])
    for key in ("energy_kwh", "power_w", "co2e_kg", "predicted_kwh"):
        assert r0["metrics"][key] > 0, key
        assert r1["metrics"][key] == pytest.approx(r0["metrics"][key]), key
