"""PyTorch Lightning: ``EnergyCallback`` for ``Trainer(callbacks=[...])``.

``lightning.pytorch`` or ``pytorch_lightning``, whichever is installed (the first when
both: ``callback_class("pytorch_lightning")`` gives the other's; a Trainer takes only
callbacks of its own package). A step per training batch, a "train" window per epoch, a
"validate" window per validation run (the sanity check is left unwindowed), and the
prediction of the whole run (``max_epochs × batches per epoch``, or ``max_steps``
optimizer steps × gradient accumulation) once the warm-up is past. The numbers go to the
Trainer's own loggers (TensorBoard, MLflow, W&B, CSV: ``lpm/energy_kwh``, ...) after each
epoch and at the end, and to the ``loggers`` you pass (an active MLflow or W&B run is
not looked for: a Lightning logger of that run would log the same numbers twice).

Under Lightning's DDP every rank measures and the Tracker merges them (each device and
each host's CPU counted once); only rank 0 writes a record and logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
from lpm.energy import Tracker
from lpm.integrations.frameworks import require
from lpm.integrations.loggers import scalars
from lpm.integrations.session import (
    DEFAULT_WARMUP_STEPS,
    EVAL_WINDOW,
    TRAIN_WINDOW,
    EnergySession,
)

__all__ = ["callback_class", "total_batches"]  # and EnergyCallback, made on first use

_CLASSES: dict[str, type] = {}


def total_batches(trainer: Any) -> int | None:
    """Training batches of the whole fit, as far as the Trainer knows them."""
    per_epoch = trainer.num_training_batches
    by_epochs = None
    finite = isinstance(per_epoch, int | float) and per_epoch not in (0, float("inf"))
    if finite and trainer.max_epochs is not None and trainer.max_epochs > 0:
        by_epochs = int(trainer.max_epochs * per_epoch)
    by_steps = None
    if trainer.max_steps is not None and trainer.max_steps > 0:
        by_steps = int(trainer.max_steps * max(int(trainer.accumulate_grad_batches), 1))
    found = [n for n in (by_epochs, by_steps) if n]
    return min(found) if found else None


class _EnergyCallbackMixin:
    """The hooks; combined with the installed package's ``Callback`` by :func:`callback_class`."""

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
        super().__init__()
        self.session = EnergySession(
            "lightning",
            tracker,
            log_dir=log_dir,
            run_name=run_name,
            predict_total=predict_total,
            warmup_steps=warmup_steps,
            pue=pue,
            region=region,
            interval_s=interval_s,
            loggers=False if loggers is None else loggers,  # the Trainer's loggers already
        )
        self._paused = False

    @property
    def summary(self) -> Any:
        """The run's summary after ``fit`` (None before)."""
        return self.session.summary

    @property
    def record_path(self) -> Path | None:
        t = self.session.tracker
        return t.record_path if t is not None else None

    def _to_loggers(self, trainer: Any) -> None:
        if trainer.global_rank != 0 or not trainer.loggers:
            return
        values = scalars(self.session.metrics(), self.session.provenance())
        for logger in trainer.loggers:
            logger.log_metrics(values, step=trainer.global_step)

    # ------------------------------------------------------------------ fit
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._paused = False
        self.session.start(rank=trainer.global_rank)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self.session.set_total(total_batches(trainer))  # the dataloaders are known now

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._paused = False
        self.session.begin(TRAIN_WINDOW)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, idx: int) -> None:
        if self._paused:  # a validation ran inside the epoch: training goes on
            self._paused = False
            self.session.begin(TRAIN_WINDOW)

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, idx: int
    ) -> None:
        self.session.step()

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._paused = False
        self.session.end(TRAIN_WINDOW)
        self._to_loggers(trainer)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self.session.stop()
        self._to_loggers(trainer)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.session.stop(exception)

    # ------------------------------------------------------------------ validation
    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        if self.session.is_open(TRAIN_WINDOW):
            self.session.end(TRAIN_WINDOW)
            self._paused = True
        self.session.begin(EVAL_WINDOW)

    def on_validation_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, idx: int, dl: int = 0
    ) -> None:
        if not trainer.sanity_checking:
            self.session.step()

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.session.end(EVAL_WINDOW)


def callback_class(module: str | None = None) -> type:
    """``EnergyCallback`` built on ``module``'s ``Callback`` (None: the installed package).

    ``module`` is ``"lightning.pytorch"`` or ``"pytorch_lightning"``; LpmError with the pip
    command when it is not installed.
    """
    pl = require("lightning", module, what="lpm.integrations.lightning.EnergyCallback")
    name = pl.__name__
    cls = _CLASSES.get(name)
    if cls is None:
        cls = type(
            "EnergyCallback",
            (_EnergyCallbackMixin, pl.Callback),
            {
                "__module__": __name__,
                "__doc__": f"Energy of a {name} fit (see lpm.integrations.lightning).",
            },
        )
        _CLASSES[name] = cls
    return cls


def __getattr__(name: str) -> Any:
    if name == "EnergyCallback":
        return callback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
