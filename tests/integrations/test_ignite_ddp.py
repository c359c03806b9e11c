"""EnergyHandler under 2 DDP ranks (gloo, CPU): one record, the host once, the job's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("ignite")

from lpm.energy import read_run, read_windows
from tests.integrations.ddp_launch import launch

WORKER = Path(__file__).with_name("ddp_worker_ignite.py")


@pytest.mark.slow
def test_ddp_two_gloo_ranks_one_record_host_counted_once(tmp_path) -> None:
    r0, r1 = launch(WORKER, tmp_path / "energy", tmp_path / "result")

    records = sorted((tmp_path / "energy").glob("*.jsonl"))
    assert [p.name for p in records] == [Path(r0["record"]).name]  # one record, rank 0's
    assert r1["record"] is None
    run = read_run(records[0])
    assert run.status == "finished"
    assert sorted(c.kind for c in run.components) == ["cpu", "dram"]  # the host once
    assert run.context["distributed"]["world_size"] == 2
    assert [r["rank"] for r in run.context["distributed"]["ranks"]] == [0, 1]
    # 32 samples over 2 ranks, batches of 4: 4 iterations per rank per epoch, 2 epochs;
    # an evaluation of 2 batches after each epoch
    assert run.windows["train"]["count"] == 2 and run.windows["train"]["steps"] == 8
    assert run.windows["validate"]["count"] == 2 and run.windows["validate"]["steps"] == 4
    assert [w["name"] for w in read_windows(records[0])] == ["train", "validate"] * 2
    entry = run.context["integration"]
    assert entry["framework"] == "ignite" and entry["prediction"]["n"] == 8
    notes = [f for f in run.faults if "predicted whole run" in f]
    assert len(notes) == 1 and notes[0].startswith("predicted whole run (ignite): 8")
    # every rank ends with the job's numbers, in its engine's metrics too
    assert r1["it_energy_kwh"] == pytest.approx(r0["it_energy_kwh"])
    assert r1["prediction"]["energy_kwh_mean"] == pytest.approx(r0["prediction"]["energy_kwh_mean"])
    for key in ("energy_kwh", "power_w", "co2e_kg", "predicted_kwh"):
        assert r0["metrics"][key] > 0, key
        assert r1["metrics"][key] == pytest.approx(r0["metrics"][key]), key
