"""Energy scalars in TensorBoard, MLflow (a file store in tmp) and W&B (offline), from real runs."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("ignite")

from ignite.engine import Engine

from lpm.errors import LpmError
from lpm.integrations.ignite import EnergyHandler
from lpm.integrations.loggers import resolve_sinks

KEYS = ("lpm/energy_kwh", "lpm/power_w", "lpm/co2e_kg", "lpm/predicted_kwh", "lpm/estimated")


def _train(handler: EnergyHandler, epochs: int = 2) -> None:
    engine = Engine(lambda e, b: time.sleep(0.003))
    handler.attach(engine)
    engine.run(range(4), max_epochs=epochs)


def test_tensorboard_summary_writer_gets_scalars_and_provenance(tmp_path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path / "tb"))
    handler = EnergyHandler(loggers=[writer], warmup_steps=1)
    _train(handler)
    writer.close()
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"tensors": 0})
    events.Reload()
    tags = events.Tags()
    for key in KEYS:
        assert key in tags["scalars"], key
    energy = events.Scalars("lpm/energy_kwh")
    assert len(energy) == 3  # after each epoch, and the end
    assert energy[-1].value > 0 and energy[-1].step == 8
    assert events.Scalars("lpm/predicted_kwh")[-1].value > 0
    assert "lpm/provenance/text_summary" in tags["tensors"]


def test_the_active_mlflow_run_gets_metrics_and_a_provenance_tag(tmp_path, monkeypatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # mlflow writes it: restored after
    mlflow.set_tracking_uri(f"file:{tmp_path / 'mlruns'}")
    try:
        with mlflow.start_run() as active:
            _train(EnergyHandler(warmup_steps=1))  # loggers=None finds the active run
        client = mlflow.tracking.MlflowClient()
        for key in KEYS:
            assert client.get_metric_history(active.info.run_id, key), key
        energy = client.get_metric_history(active.info.run_id, "lpm/energy_kwh")
        assert max(m.step for m in energy) == 8 and energy[-1].value > 0
        tags = client.get_run(active.info.run_id).data.tags
        assert tags["lpm.provenance"] in ("measured", "estimated", "simulated", "mixed")
    finally:
        mlflow.set_tracking_uri(None)  # back to the environment's (it sets the variable)


def test_a_wandb_offline_run_gets_scalars_on_its_own_axis(tmp_path, monkeypatch) -> None:
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache"))
    run = wandb.init(mode="offline", dir=str(tmp_path), project="lpm-test")
    try:
        run.log({"loss": 1.0})
        _train(EnergyHandler(loggers=["wandb"], warmup_steps=1))
        assert run.summary["lpm/energy_kwh"] > 0
        assert run.summary["lpm/predicted_kwh"] > 0
        assert run.summary["lpm/step"] == 8
        assert run.summary["lpm/provenance"] in ("measured", "estimated", "simulated", "mixed")
    finally:
        run.finish()
    assert list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))


def test_loggers_that_cannot_be_used_say_so_in_one_line() -> None:
    with pytest.raises(LpmError, match="SummaryWriter itself"):
        resolve_sinks(["tensorboard"])
    with pytest.raises(LpmError, match="cannot log energy to a int"):
        resolve_sinks([3])
    with pytest.raises(LpmError, match="unknown logger"):
        resolve_sinks("neptune")
    assert resolve_sinks(False) == []


def test_a_logger_that_fails_is_dropped_and_training_goes_on(tmp_path) -> None:
    class Broken:
        def add_scalar(self, *args):
            raise OSError("disk full")

        def add_text(self, *args):
            raise OSError("disk full")

        def flush(self):
            pass

    handler = EnergyHandler(log_dir=tmp_path, loggers=[Broken()])
    _train(handler)
    from lpm.energy import read_run

    run = read_run(tmp_path)
    assert run.status == "finished" and run.steps == 8
    assert any("stopped logging energy to TensorBoardSink" in f for f in run.faults)
