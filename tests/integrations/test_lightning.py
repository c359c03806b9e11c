"""EnergyCallback in real Lightning fits: both packages, the Trainer's loggers, 2 DDP ranks."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

pytest.importorskip("lightning")

import torch
from torch.utils.data import DataLoader, TensorDataset

from lpm.energy import read_run, read_windows
from lpm.integrations.lightning import callback_class
from tests.integrations.ddp_launch import (
    launch,
    one_job_record,
    one_prediction_note,
    same_numbers_on_every_rank,
)
from tests.integrations.tiny_models import lightning_module_class

WORKER = Path(__file__).with_name("ddp_worker_lightning.py")


def _fit(pl, callback, tmp_path, **trainer_kw):
    data = TensorDataset(torch.randn(16, 8), torch.randn(16, 1))
    trainer_kw.setdefault("max_epochs", 2)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        callbacks=[callback],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        **trainer_kw,
    )
    trainer.fit(
        lightning_module_class(pl)(), DataLoader(data, batch_size=4), DataLoader(data, batch_size=8)
    )
    return trainer


@pytest.mark.parametrize("module", ["lightning.pytorch", "pytorch_lightning"])
def test_fit_records_steps_windows_and_prediction(tmp_path, module) -> None:
    pl = pytest.importorskip(module)
    callback = callback_class(module)(log_dir=tmp_path / "energy", run_name="pl", warmup_steps=1)
    assert isinstance(callback, pl.Callback)
    _fit(pl, callback, tmp_path, logger=False)

    run = read_run(callback.record_path)
    assert run.status == "finished"
    assert run.steps == 2 * 4 + 2 * 2  # training and validation batches (no sanity check)
    assert run.windows["train"]["count"] == 2 and run.windows["train"]["steps"] == 8
    assert run.windows["validate"]["count"] == 2 and run.windows["validate"]["steps"] == 4
    assert [w["name"] for w in read_windows(callback.record_path)] == ["train", "validate"] * 2
    prediction = run.context["integration"]["prediction"]
    assert prediction["n"] == 8 and prediction["measured_steps"] == 7
    assert run.context["integration"]["framework"] == "lightning"


def test_a_failing_fit_ends_the_record_as_failed(tmp_path) -> None:
    import lightning.pytorch as pl

    class Broken(lightning_module_class(pl)):
        def training_step(self, batch, idx):
            if idx == 2:
                raise RuntimeError("boom")
            return super().training_step(batch, idx)

    callback = callback_class("lightning.pytorch")(log_dir=tmp_path)
    data = TensorDataset(torch.randn(16, 8), torch.randn(16, 1))
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=1,
        callbacks=[callback],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(Broken(), DataLoader(data, batch_size=4))
    run = read_run(tmp_path)
    assert run.status == "failed" and run.steps == 2


def test_the_trainers_loggers_get_the_numbers(tmp_path) -> None:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger

    callback = callback_class("lightning.pytorch")(warmup_steps=1, predict_total=100)
    logger = CSVLogger(tmp_path, name="csv")
    _fit(pl, callback, tmp_path, logger=logger, max_epochs=1)
    with open(Path(logger.log_dir) / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    last = [r for r in rows if r.get("lpm/predicted_kwh")][-1]
    assert float(last["lpm/energy_kwh"]) > 0
    assert float(last["lpm/predicted_kwh"]) > 0
    assert last["lpm/estimated"] in ("0.0", "1.0")
    assert callback.record_path is None  # no log_dir: measured, not recorded


@pytest.mark.slow
def test_ddp_two_gloo_ranks_one_record_host_counted_once(tmp_path) -> None:
    r0, r1 = launch(WORKER, tmp_path / "energy", tmp_path / "result")

    run = one_job_record(tmp_path / "energy", r0, r1)  # the host once, for both ranks
    # 32 samples over 2 ranks, batches of 4: 4 per rank per epoch, 2 epochs
    assert run.windows["train"]["count"] == 2 and run.steps == 8
    assert run.context["integration"]["prediction"]["n"] == 8
    one_prediction_note(run)
    same_numbers_on_every_rank(r0, r1, metrics=False)
