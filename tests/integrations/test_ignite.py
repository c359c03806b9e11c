"""EnergyHandler on real Ignite engines and a MONAI trainer built from a bundle-style config."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("ignite")

import torch
from ignite.engine import Engine, Events

from lpm.energy import read_run, read_windows
from lpm.errors import LpmError
from lpm.integrations.ignite import EnergyHandler


def _sleepy(engine, batch):
    time.sleep(0.003)  # long enough for a power sample per window
    x = torch.randn(32, 32)
    return float((x @ x).sum())


def test_trainer_and_evaluator_windows_steps_metrics_and_prediction(tmp_path) -> None:
    handler = EnergyHandler(log_dir=tmp_path, run_name="ignite", warmup_steps=2, interval_s=0.05)
    trainer, evaluator = Engine(_sleepy), Engine(_sleepy)
    handler.attach(trainer)
    handler.attach(evaluator)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run(range(2)))
    trainer.run(range(4), max_epochs=3)

    metrics = trainer.state.metrics
    for key in ("energy_kwh", "power_w", "co2e_kg", "predicted_kwh"):
        assert metrics[key] > 0, key
    assert evaluator.state.metrics["energy_kwh"] > 0

    run = read_run(handler.record_path)
    assert run.status == "finished"
    assert run.steps == 3 * 4 + 3 * 2
    assert run.windows["train"]["count"] == 3 and run.windows["train"]["steps"] == 12
    assert run.windows["validate"]["count"] == 3 and run.windows["validate"]["steps"] == 6
    names = [w["name"] for w in read_windows(handler.record_path)]
    assert names == ["train", "validate"] * 3  # the evaluation is not inside "train"
    entry = run.context["integration"]
    assert entry["framework"] == "ignite" and entry["predicted_steps"] == 12
    assert entry["prediction"]["n"] == 12
    assert entry["prediction"]["measured_steps"] == 12 - 2  # the warm-up left out
    assert entry["prediction"]["provenance"] == run.provenance.value
    assert any(f.startswith("predicted whole run (ignite): 12 training steps") for f in run.faults)


def test_validation_inside_an_epoch_splits_the_train_window(tmp_path) -> None:
    handler = EnergyHandler(log_dir=tmp_path, warmup_steps=0, predict_total=1000)
    trainer, evaluator = Engine(_sleepy), Engine(_sleepy)
    handler.attach(trainer)
    handler.attach(evaluator)
    trainer.add_event_handler(Events.ITERATION_COMPLETED(every=2), lambda _: evaluator.run([0]))
    trainer.run(range(4), max_epochs=1)
    names = [w["name"] for w in read_windows(handler.record_path)]
    assert names == ["train", "validate", "train", "validate"]
    run = read_run(handler.record_path)
    assert run.windows["train"]["steps"] == 4
    assert run.context["integration"]["prediction"]["n"] == 1000  # predict_total wins


def test_a_failing_engine_ends_the_run_as_failed_and_still_raises(tmp_path) -> None:
    def broken(engine, batch):
        if engine.state.iteration == 3:
            raise RuntimeError("boom")

    handler = EnergyHandler(log_dir=tmp_path)
    engine = Engine(broken)
    handler.attach(engine)
    with pytest.raises(RuntimeError, match="boom"):
        engine.run(range(5), max_epochs=2)
    run = read_run(handler.record_path)
    assert run.status == "failed"
    assert run.steps == 2


def test_another_exception_handler_keeps_its_say(tmp_path) -> None:
    seen = []
    engine = Engine(lambda e, b: 1 / 0)
    EnergyHandler(log_dir=tmp_path).attach(engine)
    engine.add_event_handler(Events.EXCEPTION_RAISED, lambda e, exc: seen.append(exc))
    engine.run([0])  # the user's handler swallows it, as it would without lpm
    assert isinstance(seen[0], ZeroDivisionError)
    assert read_run(tmp_path).status == "failed"


def test_bad_settings_fail_when_the_handler_is_made() -> None:
    with pytest.raises(LpmError, match="run name"):
        EnergyHandler(run_name="../x")
    with pytest.raises(LpmError, match="predict_total"):
        EnergyHandler(predict_total=0)


def test_monai_bundle_config_trainer_with_validation(tmp_path) -> None:
    from monai.bundle import ConfigParser

    config = {
        "device": "$torch.device('cpu')",
        "network": {"_target_": "torch.nn.Linear", "in_features": 8, "out_features": 1},
        "data": "$[{'image': torch.randn(8), 'label': torch.randn(1)} for _ in range(6)]",
        "loader": {"_target_": "DataLoader", "dataset": "@data", "batch_size": 2},
        "energy": {
            "_target_": "lpm.integrations.ignite.EnergyHandler",
            "log_dir": str(tmp_path),
            "run_name": "bundle",
            "warmup_steps": 1,
        },
        "evaluator": {
            "_target_": "SupervisedEvaluator",
            "device": "@device",
            "val_data_loader": "@loader",
            "network": "@network",
            "val_handlers": ["@energy"],
        },
        "trainer": {
            "_target_": "SupervisedTrainer",
            "device": "@device",
            "max_epochs": 2,
            "train_data_loader": "@loader",
            "network": "@network",
            "optimizer": {
                "_target_": "torch.optim.SGD",
                "params": "$@network.parameters()",
                "lr": 0.01,
            },
            "loss_function": {"_target_": "torch.nn.MSELoss"},
            "train_handlers": [
                "@energy",
                {"_target_": "ValidationHandler", "validator": "@evaluator", "interval": 1},
            ],
        },
    }
    parser = ConfigParser(config)
    trainer = parser.get_parsed_content("trainer")
    evaluator = parser.get_parsed_content("evaluator")
    handler = parser.get_parsed_content("energy")
    assert isinstance(handler, EnergyHandler)
    assert handler._main is trainer  # the parser attached the evaluator first
    trainer.run()

    assert trainer.state.metrics["energy_kwh"] > 0
    assert "predicted_kwh" in trainer.state.metrics
    run = read_run(handler.record_path)
    assert run.status == "finished"
    assert run.windows["train"] == {**run.windows["train"], "count": 2, "steps": 6}
    assert run.windows["validate"] == {**run.windows["validate"], "count": 2, "steps": 6}
    assert run.context["integration"]["prediction"]["n"] == 2 * 3
    assert evaluator.state.metrics["energy_kwh"] > 0


def test_a_monai_evaluator_on_its_own_measures_its_run(tmp_path) -> None:
    from monai.engines import SupervisedEvaluator

    data = [{"image": torch.randn(8), "label": torch.randn(1)} for _ in range(3)]
    handler = EnergyHandler(log_dir=tmp_path)
    evaluator = SupervisedEvaluator(
        torch.device("cpu"), data, torch.nn.Linear(8, 1), val_handlers=[handler]
    )
    evaluator.run()
    run = read_run(tmp_path)
    assert run.status == "finished"
    assert run.windows["validate"]["count"] == 1 and run.steps == 3
    assert "train" not in run.windows


def test_monai_stats_handler_prints_the_energy_metrics(tmp_path, capsys) -> None:
    from monai.engines import SupervisedTrainer
    from monai.handlers import StatsHandler

    data = [{"image": torch.randn(8), "label": torch.randn(1)} for _ in range(4)]
    net = torch.nn.Linear(8, 1)
    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=1,
        train_data_loader=torch.utils.data.DataLoader(data, batch_size=2),
        network=net,
        optimizer=torch.optim.SGD(net.parameters(), lr=0.01),
        loss_function=torch.nn.MSELoss(),
        train_handlers=[
            EnergyHandler(log_dir=tmp_path, warmup_steps=0),
            StatsHandler(name="lpm-stats", iteration_log=False, tag_name="loss"),
        ],
    )
    trainer.run()
    out, err = capsys.readouterr()
    (line,) = [x for x in (out + err).splitlines() if "Epoch[1] Metrics" in x]
    for key in ("energy_kwh", "power_w", "co2e_kg", "predicted_kwh"):
        assert f"{key}: " in line, key


def test_with_your_own_tracker_the_handler_adds_windows_and_leaves_it_running(tmp_path) -> None:
    from lpm.energy import Tracker

    with Tracker(log_dir=tmp_path, run_name="mine") as t:
        handler = EnergyHandler(tracker=t, warmup_steps=0)
        engine = Engine(_sleepy)
        handler.attach(engine)
        engine.run(range(3), max_epochs=2)
        assert handler.summary is not None and handler.summary.status == "running"
        t.note("still mine")
    run = read_run(t.record_path)
    assert run.status == "finished" and run.windows["train"]["count"] == 2
    assert run.context["integration"]["prediction"]["n"] == 6
    assert "still mine" in run.faults
