"""MONAI / PyTorch Ignite: ``EnergyHandler``, attachable to any Ignite ``Engine``.

``handler.attach(trainer)`` measures the run: a step per iteration, a "train" window per
epoch, the prediction of the whole run (``max_epochs × epoch_length`` iterations, or
``max_iters``) once the warm-up is past, and ``energy_kwh``, ``power_w``, ``co2e_kg`` and
``predicted_kwh`` in ``engine.state.metrics`` after each epoch (MONAI's ``StatsHandler``
prints them). Attaching the same handler to an evaluator as well (MONAI's
``SupervisedEvaluator`` run by a ``ValidationHandler``, or any engine attached after the
first) gives a "validate" window per evaluation (an evaluator on its own measures its own
run); a training window that the evaluation interrupts is closed before it and opened
again by the next training iteration, so validation energy never counts as training.

It is a plain object with ``attach``, so a MONAI bundle lists it among the trainer's
handlers: ``{"_target_": "lpm.integrations.ignite.EnergyHandler", "log_dir": "runs/energy"}``
(and ``"@energy"`` in the evaluator's handlers to reuse the same one).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION
from lpm.energy import RunSummary, Tracker
from lpm.errors import LpmError
from lpm.integrations.frameworks import require
from lpm.integrations.session import (
    DEFAULT_WARMUP_STEPS,
    EVAL_WINDOW,
    TRAIN_WINDOW,
    EnergySession,
)

__all__ = ["EnergyHandler"]


def _events() -> Any:
    return require("ignite", "ignite.engine", what="EnergyHandler").Events


def _is_evaluator(engine: Any) -> bool:
    engines = sys.modules.get("monai.engines")
    evaluator = getattr(engines, "Evaluator", None) if engines is not None else None
    return evaluator is not None and isinstance(engine, evaluator)


def _total_iterations(engine: Any) -> int | None:
    state = engine.state
    if getattr(state, "max_iters", None):
        return int(state.max_iters)
    if state.max_epochs and state.epoch_length:
        return int(state.max_epochs) * int(state.epoch_length)
    return None


class EnergyHandler:
    """Energy of an Ignite/MONAI workflow (see the module docstring).

    ``tracker``: a running Tracker of yours (you end it); None: the handler makes one when
    the engine starts and ends it when the engine completes, terminates or fails (status
    ``failed``/``interrupted`` then), with ``log_dir``, ``run_name``, ``warmup_steps`` (left
    out of the prediction), ``pue``, ``region`` and ``interval_s``. ``predict_total``:
    iterations of the whole run (None: the engine's). ``loggers``: SummaryWriter, MLflow or
    W&B runs to log to (None: the active MLflow/W&B run, if any). ``window``: the name of
    the first engine's windows (None: "train", or "validate" for a MONAI evaluator).
    """

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
        window: str | None = None,
    ) -> None:
        self.session = EnergySession(
            "ignite",
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
        self.window = window
        self._main: Any = None
        self._main_window = TRAIN_WINDOW
        self._paused = False
        self._evaluators: list[Any] = []
        self._eval_owns = False  # an evaluation run on its own: it starts and ends the run

    @property
    def summary(self) -> RunSummary | None:
        """The run's summary once the engine ended (None before)."""
        return self.session.summary

    @property
    def record_path(self) -> Path | None:
        t = self.session.tracker
        return t.record_path if t is not None else None

    def attach(self, engine: Any) -> None:
        """Attach to an engine: a MONAI evaluator, or any engine after the first, evaluates.

        Attach the trainer first (MONAI engines in any order: a bundle's config parser
        often builds the evaluator first).
        """
        events = _events()
        if engine is self._main or engine in self._evaluators:
            raise LpmError("this EnergyHandler is already attached to that engine")
        if self._main is None and not _is_evaluator(engine):
            self._main = engine
            self._main_window = self.window or TRAIN_WINDOW
            engine.add_event_handler(events.STARTED, self._started)
            engine.add_event_handler(events.EPOCH_STARTED, self._epoch_started)
            engine.add_event_handler(events.ITERATION_STARTED, self._iteration_started)
            engine.add_event_handler(events.ITERATION_COMPLETED, self._iteration_completed)
            engine.add_event_handler(events.EPOCH_COMPLETED, self._epoch_completed)
            engine.add_event_handler(events.COMPLETED, self._completed)
            engine.add_event_handler(events.TERMINATE, self._completed)
            engine.add_event_handler(events.EXCEPTION_RAISED, self._failed)
        else:
            self._evaluators.append(engine)
            engine.add_event_handler(events.STARTED, self._eval_started)
            engine.add_event_handler(events.ITERATION_COMPLETED, self._iteration_completed)
            engine.add_event_handler(events.COMPLETED, self._eval_completed)
            engine.add_event_handler(events.EXCEPTION_RAISED, self._eval_failed)

    # ------------------------------------------------------------------ the run's engine
    def _started(self, engine: Any) -> None:
        self._paused = False
        self.session.start(_total_iterations(engine))

    def _epoch_started(self, engine: Any) -> None:
        self._paused = False
        self.session.set_total(_total_iterations(engine))  # epoch_length known by now
        self.session.begin(self._main_window)

    def _iteration_started(self, engine: Any) -> None:
        if self._paused:  # an evaluation ran inside the epoch: training goes on
            self._paused = False
            self.session.begin(self._main_window)

    def _iteration_completed(self, engine: Any) -> None:
        self.session.step()

    def _epoch_completed(self, engine: Any) -> None:
        self._paused = False
        engine.state.metrics.update(self.session.end(self._main_window))

    def _completed(self, engine: Any) -> None:
        if self.session.running:
            self.session.stop()
            engine.state.metrics.update(self.session.metrics())

    def _failed(self, engine: Any, exc: BaseException) -> None:
        self.session.stop(exc)
        _reraise_if_alone(engine, self._failed, exc)

    # ------------------------------------------------------------------ evaluators
    def _eval_started(self, engine: Any) -> None:
        self._eval_owns = not self.session.running
        if self._eval_owns:
            self.session.start()
        elif self.session.is_open(self._main_window):
            self.session.end(self._main_window)
            self._paused = True
        self.session.begin(EVAL_WINDOW)

    def _eval_completed(self, engine: Any) -> None:
        engine.state.metrics.update(self.session.end(EVAL_WINDOW))
        if self._eval_owns:
            self._eval_owns = False
            self.session.stop()

    def _eval_failed(self, engine: Any, exc: BaseException) -> None:
        self.session.end(EVAL_WINDOW)
        if self._eval_owns:
            self._eval_owns = False
            self.session.stop(exc)
        _reraise_if_alone(engine, self._eval_failed, exc)


def _reraise_if_alone(engine: Any, handler: Any, exc: BaseException) -> None:
    """Keep the engine's behaviour: Ignite raises only when no EXCEPTION_RAISED handler exists.

    So with ours the only one, raise; with others, leave it to them (as without us).
    """
    events = _events()
    handlers = getattr(engine, "_event_handlers", {}).get(events.EXCEPTION_RAISED, [])
    others = [h for h in handlers if h and h[0] != handler]
    if not others:
        raise exc
