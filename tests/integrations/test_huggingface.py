"""EnergyCallback in a real transformers.Trainer run: a tiny GPT-2 built from a config, offline."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("accelerate")


from lpm.energy import read_run, read_windows
from tests.integrations.tiny_models import tiny_gpt2


def _train(tmp_path, callback, report_to: list[str]) -> None:
    from transformers import Trainer, TrainingArguments

    model, data = tiny_gpt2(8)
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=6,
        per_device_train_batch_size=2,
        per_device_eval_batch_size=4,
        eval_strategy="steps",
        eval_steps=3,
        save_strategy="no",
        report_to=report_to,
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model, args=args, train_dataset=data, eval_dataset=data[:4], callbacks=[callback]
    )
    trainer.train()


def test_trainer_run_records_steps_windows_and_prediction(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing is downloaded: the model is built here
    from transformers import TrainerCallback

    from lpm.integrations.huggingface import EnergyCallback

    callback = EnergyCallback(log_dir=tmp_path / "energy", run_name="hf", warmup_steps=1)
    assert isinstance(callback, TrainerCallback)
    _train(tmp_path, callback, report_to=[])

    run = read_run(callback.record_path)
    assert run.status == "finished"
    # 6 optimizer steps in 1.5 epochs of 4, an evaluation (one batch) after steps 3 and 6
    assert run.windows["train"]["steps"] == 6
    assert run.windows["validate"] == {**run.windows["validate"], "count": 2, "steps": 2}
    names = [w["name"] for w in read_windows(callback.record_path)]
    assert names == ["train", "validate", "train", "train", "validate"]
    prediction = run.context["integration"]["prediction"]
    assert prediction["n"] == 6 and prediction["measured_steps"] == 5
    assert run.context["integration"]["framework"] == "huggingface"
    assert callback.session.metrics()["predicted_kwh"] > 0


def test_the_mlflow_run_that_report_to_starts_gets_the_numbers(tmp_path, monkeypatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    from lpm.integrations.huggingface import EnergyCallback

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{tmp_path / 'mlruns'}")
    try:
        _train(tmp_path, EnergyCallback(warmup_steps=1), report_to=["mlflow"])
        client = mlflow.tracking.MlflowClient()
        runs = client.search_runs(experiment_ids=["0"])
        (run,) = runs
        assert run.info.artifact_uri.startswith(f"file://{tmp_path}")
        energy = client.get_metric_history(run.info.run_id, "lpm/energy_kwh")
        assert energy and energy[-1].value > 0
        assert client.get_metric_history(run.info.run_id, "lpm/predicted_kwh")
        assert run.data.tags["lpm.provenance"] in ("measured", "estimated", "simulated", "mixed")
    finally:
        mlflow.set_tracking_uri(None)  # back to the environment's (it sets the variable)
