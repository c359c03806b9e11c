"""Energy, power, CO2e and the predicted total as scalars in TensorBoard, MLflow and W&B.

A :class:`Sink` takes the session's metrics (plain floats) and the provenance of the
numbers, and writes them as ``lpm/<name>`` scalars: ``lpm/energy_kwh``, ``lpm/power_w``,
``lpm/co2e_kg``, ``lpm/predicted_kwh`` (and ``_std``), ``lpm/predicted_co2e_kg`` and
``lpm/estimated`` (1 when the numbers are estimated or mixed, 0 when measured); the
provenance word itself goes where each tool keeps text (a TensorBoard text summary, an MLflow
tag, the W&B run summary). Nothing here imports a logging library: a sink is made from an
object the user passes (a ``SummaryWriter``, an MLflow run, a W&B run), or from the run
already active in an imported ``mlflow`` or ``wandb`` (:func:`resolve_sinks`).
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

from lpm.errors import LpmError

__all__ = ["PREFIX", "MlflowSink", "Sink", "TensorBoardSink", "WandbSink", "resolve_sinks"]

PREFIX = "lpm/"
_ESTIMATED = {"estimated", "mixed"}


class Sink(Protocol):
    """Where the session's numbers go; ``final`` marks the run's last call."""

    def log(self, metrics: dict[str, float], provenance: str, step: int, final: bool) -> None:
        """Write ``metrics`` (and ``provenance``) at ``step``."""

    def close(self) -> None:
        """Flush; never closes the user's own writer or run."""


def scalars(metrics: dict[str, float], provenance: str) -> dict[str, float]:
    """The ``lpm/``-prefixed scalars of one call, ``lpm/estimated`` included."""
    out = {PREFIX + k: float(v) for k, v in metrics.items()}
    out[PREFIX + "estimated"] = 1.0 if provenance in _ESTIMATED else 0.0
    return out


class TensorBoardSink:
    """Scalars to a ``torch.utils.tensorboard.SummaryWriter`` (or tensorboardX's)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self._provenance: str | None = None

    def log(self, metrics: dict[str, float], provenance: str, step: int, final: bool) -> None:
        for key, value in scalars(metrics, provenance).items():
            self.writer.add_scalar(key, value, step)
        if provenance != self._provenance:
            self._provenance = provenance
            self.writer.add_text(PREFIX + "provenance", provenance, step)

    def close(self) -> None:
        self.writer.flush()


class MlflowSink:
    """Metrics and a ``lpm.provenance`` tag on one MLflow run (an ``ActiveRun`` or ``Run``)."""

    def __init__(self, run: Any) -> None:
        from mlflow.tracking import MlflowClient  # the caller has mlflow: it passed a run

        self.run_id = run.info.run_id
        self.client = MlflowClient()

    def log(self, metrics: dict[str, float], provenance: str, step: int, final: bool) -> None:
        from mlflow.entities import Metric

        stamp = _millis()
        batch = [Metric(k, v, stamp, step) for k, v in scalars(metrics, provenance).items()]
        self.client.log_batch(self.run_id, metrics=batch)
        self.client.set_tag(self.run_id, "lpm.provenance", provenance)

    def close(self) -> None:
        return None


class WandbSink:
    """Scalars on a W&B run against its own x-axis ``lpm/step`` (the user's steps untouched)."""

    def __init__(self, run: Any) -> None:
        self.run = run
        run.define_metric(PREFIX + "step")
        run.define_metric(PREFIX + "*", step_metric=PREFIX + "step")

    def log(self, metrics: dict[str, float], provenance: str, step: int, final: bool) -> None:
        self.run.log({**scalars(metrics, provenance), PREFIX + "step": step})
        self.run.summary[PREFIX + "provenance"] = provenance

    def close(self) -> None:
        return None


def _millis() -> int:
    import time

    return int(time.time() * 1000)


def _active_mlflow() -> Any | None:
    mlflow = sys.modules.get("mlflow")
    return mlflow.active_run() if mlflow is not None else None


def _active_wandb() -> Any | None:
    wandb = sys.modules.get("wandb")
    return getattr(wandb, "run", None) if wandb is not None else None


def _sink(obj: Any) -> Sink:
    if isinstance(obj, str):
        name = obj.lower()
        run = {"mlflow": _active_mlflow, "wandb": _active_wandb}.get(name, lambda: None)()
        if name == "tensorboard":
            raise LpmError(
                "pass the SummaryWriter itself for TensorBoard (loggers=[writer]), "
                "not 'tensorboard'"
            )
        if name not in ("mlflow", "wandb"):
            raise LpmError(f"unknown logger {obj!r}; pass a SummaryWriter, an MLflow or W&B run")
        if run is None:
            raise LpmError(f"no active {name} run; start one first or pass the run itself")
        return _sink(run)
    if callable(getattr(obj, "add_scalar", None)) and callable(getattr(obj, "add_text", None)):
        return TensorBoardSink(obj)
    if callable(getattr(obj, "define_metric", None)) and callable(getattr(obj, "log", None)):
        return WandbSink(obj)
    if getattr(getattr(obj, "info", None), "run_id", None) is not None:
        return MlflowSink(obj)
    raise LpmError(
        f"cannot log energy to a {type(obj).__name__}; pass a SummaryWriter, an MLflow run "
        "(mlflow.start_run()), a W&B run (wandb.init()), or 'mlflow' / 'wandb' for the active one"
    )


def resolve_sinks(loggers: Any) -> list[Sink]:
    """Sinks for ``loggers``: None finds the active MLflow and W&B runs; False or [] none."""
    if loggers is False:
        return []
    if loggers is None:
        found = [r for r in (_active_mlflow(), _active_wandb()) if r is not None]
        return [_sink(r) for r in found]
    items = loggers if isinstance(loggers, list | tuple) else [loggers]
    return [_sink(obj) for obj in items]
