"""Hugging Face: ``EnergyCallback``, a ``transformers.TrainerCallback``.

``Trainer(..., callbacks=[EnergyCallback(log_dir="runs/energy")])``: a step per optimizer
step (``state.global_step``), a "train" window per epoch, a "validate" window per
evaluation, and the prediction of the whole run (``state.max_steps``) once the warm-up is
past. The numbers go to the ``loggers`` you pass and to the MLflow / W&B run that
``report_to`` started (found when training begins). Under ``accelerate``/torchrun every
process measures and only the main one writes a record.

A run that raises inside ``trainer.train()`` gets no end event from transformers: its
record ends without a summary and reads back as ``interrupted`` (``lpm runs show``), with
every window closed before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
from lpm.energy import Tracker
from lpm.integrations.frameworks import require
from lpm.integrations.session import (
    DEFAULT_WARMUP_STEPS,
    EVAL_WINDOW,
    TRAIN_WINDOW,
    EnergySession,
)

__all__ = ["callback_class"]  # and EnergyCallback, made on first use

_CLASS: list[type] = []
_DOC = "Energy of a transformers.Trainer run (see lpm.integrations.huggingface)."


class _EnergyCallbackMixin:
    """The events; combined with ``transformers.TrainerCallback`` by :func:`callback_class`."""

    def __init__(
        self,
        tracker: Tracker | None = None,
        log_dir: str | Path | None = None,
        run_name: str | None = None,
        predict_total: int | None = None,
        *,
        warmup_steps: int = DEFAULT_WARMUP_STEPS,
        pue: float = DEFAULT_PUE,
        region: str = DEFAULT_REGION,
        interval_s: float = 1.0,
        loggers: Any = None,
    ) -> None:
        self.session = EnergySession(
            "huggingface",
            tracker,
            log_dir=log_dir,
            run_name=run_name,
            predict_total=predict_total,
            warmup_steps=warmup_steps,
            pue=pue,
            region=region,
            interval_s=interval_s,
            loggers=loggers,
        )
        self._paused = False

    @property
    def summary(self) -> Any:
        """The run's summary after ``trainer.train()`` (None before)."""
        return self.session.summary

    @property
    def record_path(self) -> Path | None:
        t = self.session.tracker
        return t.record_path if t is not None else None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._paused = False
        self.session.start(state.max_steps, rank=int(getattr(args, "process_index", 0) or 0))

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._paused = False
        self.session.begin(TRAIN_WINDOW)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._paused:  # an evaluation ran inside the epoch: training goes on
            self._paused = False
            self.session.begin(TRAIN_WINDOW)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.session.step()

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._paused = False
        self.session.end(TRAIN_WINDOW)

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self.session.running:
            return  # trainer.evaluate() outside training is not measured here
        if not self.session.is_open(EVAL_WINDOW):
            if self.session.is_open(TRAIN_WINDOW):
                self.session.end(TRAIN_WINDOW)
                self._paused = True
            self.session.begin(EVAL_WINDOW)
        self.session.step()

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.session.end(EVAL_WINDOW)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.session.stop()


def callback_class() -> type:
    """``EnergyCallback`` on ``transformers.TrainerCallback``; LpmError without transformers."""
    if not _CLASS:
        require("huggingface", what="lpm.integrations.huggingface.EnergyCallback")
        from transformers import TrainerCallback

        _CLASS.append(
            type(
                "EnergyCallback",
                (_EnergyCallbackMixin, TrainerCallback),
                {"__module__": __name__, "__doc__": _DOC},
            )
        )
    return _CLASS[0]


def __getattr__(name: str) -> Any:
    if name == "EnergyCallback":
        return callback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
