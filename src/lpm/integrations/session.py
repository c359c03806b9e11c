"""One measured training run driven by a framework's events: Tracker, windows, prediction.

Every integration (Ignite/MONAI, Lightning, Hugging Face) turns its framework's events into
calls on an :class:`EnergySession`: ``start`` and ``stop`` the run, ``begin``/``end`` a
window ("train" per epoch, "validate" per evaluation), ``step`` per iteration. The session
owns the Tracker unless the user passed one, keeps the prediction of the whole run (the
training steps' statistics after the warm-up, times the run's total steps), and publishes
energy, power, CO2e and the prediction as plain numbers for the framework's metrics and
the loggers (:mod:`lpm.integrations.loggers`). The prediction and its provenance go into
the run record too: a note when it is made (``lpm runs show`` prints it) and the summary's
``context["integration"]``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, footprint
from lpm.energy import Prediction, RunSummary, StepStats, Tracker, distributed, predict
from lpm.errors import LpmError
from lpm.integrations.loggers import Sink, resolve_sinks
from lpm.units import J_PER_KWH

log = logging.getLogger("lpm.integrations")

__all__ = ["DEFAULT_WARMUP_STEPS", "EVAL_WINDOW", "TRAIN_WINDOW", "EnergySession", "global_rank"]

TRAIN_WINDOW = "train"  # the name lpm's own training loops use, so `lpm plan --run` etc. agree
EVAL_WINDOW = "validate"
DEFAULT_WARMUP_STEPS = 5


def global_rank() -> int:
    """This process's rank under torch.distributed (0 when not distributed or not imported)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return 0
    try:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            return int(dist.get_rank())
    except Exception:
        return 0
    return 0


def _check_total(total: int | None) -> int | None:
    if total is None:
        return None
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise LpmError(f"predict_total must be a whole number of steps >= 1, not {total!r}")
    return total


def _with_window_power(t: Tracker, stats: StepStats) -> StepStats | None:
    """Steps too short for a power sample: the training windows' mean power instead."""
    try:
        w = t.window_stats(TRAIN_WINDOW)
    except LpmError:
        return None
    if w.duration_s_mean <= 0 or w.energy_j_mean <= 0:
        return None
    return StepStats.from_parts(
        count=stats.count,
        duration_s_mean=stats.duration_s_mean,
        duration_s_std=stats.duration_s_std,
        power_w_mean=w.energy_j_mean / w.duration_s_mean,
        power_w_std=0.0,
        provenance=w.provenance,
        window=TRAIN_WINDOW,
        warmup_steps=stats.warmup_steps,
    )


def _job_stats(mine: StepStats | None) -> StepStats | None:
    """The job's training-step statistics from every rank's (a collective)."""
    everyone = distributed.gather(mine.to_dict() if mine is not None else None)
    per_rank = [StepStats.from_dict(d) for d in everyone or [] if d is not None]
    return distributed.merge_stats(per_rank) if per_rank else mine


class EnergySession:
    """The measured run behind one integration object (see the module docstring).

    ``tracker`` given: it must be running (``with Tracker(...) as t:``) and the user ends
    it; the session only adds windows, steps and the prediction. ``tracker`` None: the
    session creates one at :meth:`start` with ``log_dir``, ``run_name``, ``warmup_steps``,
    ``pue``, ``region``, ``interval_s`` and ``tracker_kwargs`` and stops it at :meth:`stop`.
    Under torch.distributed every rank measures (the Tracker merges ranks) and only rank 0
    writes a record. ``predict_total`` is the number of training steps of the whole run
    (None: the framework's own, set with :meth:`set_total`).
    """

    def __init__(
        self,
        framework: str,
        tracker: Tracker | None = None,
        *,
        log_dir: str | Path | None = None,
        run_name: str | None = None,
        predict_total: int | None = None,
        warmup_steps: int = DEFAULT_WARMUP_STEPS,
        pue: float = DEFAULT_PUE,
        region: str = DEFAULT_REGION,
        interval_s: float = 1.0,
        loggers: Any = None,
        tracker_kwargs: dict | None = None,
    ) -> None:
        self.framework = framework
        self.predict_total = _check_total(predict_total)
        self._given = tracker
        self._settings = {
            "log_dir": log_dir,
            "run_name": run_name,
            "warmup_steps": warmup_steps,
            "pue": pue,
            "region": region,
            "interval_s": interval_s,
            **(tracker_kwargs or {}),
        }
        if tracker is None:  # bad settings fail when the integration is made, not mid-run
            Tracker(**{**self._settings, "log_dir": None})
        self._loggers = loggers
        self.sinks: list[Sink] = []
        self.tracker: Tracker | None = None
        self.prediction: Prediction | None = None
        self.summary: RunSummary | None = None
        self._total: int | None = None
        self._edges: dict[str, tuple[float, float]] = {}  # window -> (duration, energy) at open
        self._last_power: float | None = None
        self._noted_steps: int | None = None
        self._rank = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self.tracker is not None and self.summary is None

    def start(self, total_steps: int | None = None, rank: int | None = None) -> Tracker:
        """Start (or join the user's) Tracker; ``total_steps`` is the run's own step count."""
        if self.running:
            assert self.tracker is not None
            return self.tracker
        self.summary = None
        self.prediction = None
        self._total = None
        self._last_power = None
        self._noted_steps = None
        self._edges.clear()
        rank = self._rank = global_rank() if rank is None else rank
        if self._given is not None:
            self.tracker = self._given
            self.tracker.live()  # LpmError if the user's Tracker was never started
        else:
            settings = dict(self._settings)
            if rank != 0:
                settings["log_dir"] = None  # one record per job: rank 0's
            self.tracker = Tracker(**settings)
            self.tracker.start()
        self.set_total(total_steps)
        self.sinks = resolve_sinks(self._loggers) if rank == 0 else []
        self.tracker.context.setdefault("integration", {})["framework"] = self.framework
        return self.tracker

    def set_total(self, total_steps: int | None) -> None:
        """The whole run's training steps as the framework counts them (for the prediction)."""
        if total_steps is not None and total_steps > 0:
            self._total = int(total_steps)

    @property
    def total(self) -> int | None:
        """Steps the prediction is for: ``predict_total``, else the framework's count."""
        return self.predict_total or self._total

    def stop(self, exc: BaseException | None = None) -> RunSummary | None:
        """Close open windows, store the prediction, end an owned Tracker; idempotent."""
        if not self.running:
            return self.summary
        t = self.tracker
        assert t is not None
        for name in list(self._edges):
            with contextlib.suppress(LpmError):
                self.end(name)
        self.update_prediction(job=exc is None)  # a failing rank joins no collective of ours
        self._note_prediction()  # the final one, unless the same as the first
        self._store_prediction()
        if self._given is None:
            exc_type = type(exc) if exc is not None else None
            t.__exit__(exc_type, exc, None)  # the Tracker picks the run's status from exc
            self.summary = t.summary()
        else:
            self.summary = t.summary()  # the user's run goes on; this is a snapshot
        self._log(final=True)
        for sink in self.sinks:
            with contextlib.suppress(Exception):  # a logger must not mask the run's end
                sink.close()
        return self.summary

    # ------------------------------------------------------------------ windows and steps
    def is_open(self, name: str) -> bool:
        return name in self._edges

    def begin(self, name: str) -> None:
        """Open window ``name`` unless it is open already."""
        if not self.running or name in self._edges:
            return
        assert self.tracker is not None
        self.tracker.start_window(name)
        snap = self.tracker.live()  # the edge reading just taken
        self._edges[name] = (snap.duration_s, snap.it_energy_j)

    def end(self, name: str) -> dict[str, float]:
        """Close window ``name`` (when open); the metrics after it (see :meth:`metrics`)."""
        if not self.running or name not in self._edges:
            return self.metrics()
        assert self.tracker is not None
        d0, e0 = self._edges.pop(name)
        self.tracker.end_window(name)
        snap = self.tracker.live()
        if snap.duration_s > d0:
            self._last_power = (snap.it_energy_j - e0) / (snap.duration_s - d0)
        if name == TRAIN_WINDOW:
            self.update_prediction()
            if self._noted_steps is None and self._world_size() == 1:
                self._note_prediction()  # the first one: in the record even if the run dies
        self._log()
        return self.metrics()

    def step(self) -> None:
        """One training (or evaluation) iteration done."""
        if self.running:
            assert self.tracker is not None
            self.tracker.step()

    # ------------------------------------------------------------------ results
    def update_prediction(self, job: bool = False) -> Prediction | None:
        """Predict the whole run from the training steps after the warm-up (None: too few).

        ``job`` under torch.distributed: from the whole job's statistics (power summed over
        ranks), a collective that every rank must call (:meth:`stop` does); otherwise this
        rank's.
        """
        t, n = self.tracker, self.total
        if t is None or n is None:
            return self.prediction
        try:
            stats = t.step_stats(TRAIN_WINDOW)
        except LpmError:  # no training steps yet
            stats = None
        if stats is not None and (stats.power_samples == 0 or stats.power_w_mean <= 0):
            stats = _with_window_power(t, stats)
        if job and self._world_size() > 1:
            stats = _job_stats(stats)
        if stats is None or stats.count < 1 or stats.power_w_mean <= 0:
            return self.prediction
        self.prediction = predict(stats, n, pue=t.pue, region=t.region)
        return self.prediction

    def _world_size(self) -> int:
        t = self.tracker
        dist = t.context.get("distributed") if t is not None else None
        return int(dist.get("world_size", 1)) if isinstance(dist, dict) else 1

    def _note_prediction(self) -> None:
        p, t = self.prediction, self.tracker
        if p is None or t is None or p.measured_steps == self._noted_steps:
            return
        if self._rank != 0 and self._world_size() > 1:
            return  # the job's prediction, the same on every rank: noted once, by rank 0
        self._noted_steps = p.measured_steps
        t.note(self.describe_prediction())

    def describe_prediction(self) -> str:
        """One line: the predicted whole run, from how many steps, and its provenance."""
        p = self.prediction
        if p is None:
            return "no prediction of the whole run (too few training steps after the warm-up)"
        return (
            f"predicted whole run ({self.framework}): {p.n} training steps, "
            f"{p.energy_kwh_mean:.4g} ± {p.energy_kwh_std:.2g} kWh IT energy, "
            f"{p.footprint.co2e_kg:.4g} kg CO2e, from {p.measured_steps} measured steps "
            f"({p.provenance.value})"
        )

    def _store_prediction(self) -> None:
        if self.tracker is None:
            return
        entry = self.tracker.context.setdefault("integration", {})
        entry["framework"] = self.framework
        entry["predicted_steps"] = self.total
        entry["prediction"] = self.prediction.to_dict() if self.prediction else None

    def metrics(self) -> dict[str, float]:
        """energy_kwh, power_w, co2e_kg (and predicted_kwh, predicted_kwh_std when known).

        From the last completed meter reading (never reads a meter). ``power_w`` is the
        mean IT power of the last closed window (the run's mean before any closed). Under
        torch.distributed, during the run, the numbers are this rank's meters' (the host's
        CPU counts on one rank per host); after it, the job's on every rank (power: the
        job's mean over the run).
        """
        if self.tracker is None:
            return {}
        if self.summary is not None:
            kwh, co2 = self.summary.it_energy_kwh, self.summary.co2e_kg
            power = self.summary.it_energy_kwh * J_PER_KWH / max(self.summary.duration_s, 1e-9)
        else:
            snap = self.tracker.live()
            kwh = snap.it_energy_j / J_PER_KWH
            fp = footprint(kwh, pue=self.tracker.pue, region=self.tracker.region)
            co2, power = fp.co2e_kg, snap.it_power_w
        last = self._last_power
        if self.summary is not None and self._world_size() > 1:
            last = None  # the job's, not this rank's last window
        out = {
            "energy_kwh": kwh,
            "power_w": last if last is not None else power,
            "co2e_kg": co2,
        }
        if self.prediction is not None:
            out["predicted_kwh"] = self.prediction.energy_kwh_mean
            out["predicted_kwh_std"] = self.prediction.energy_kwh_std
            out["predicted_co2e_kg"] = self.prediction.footprint.co2e_kg
        return out

    def provenance(self) -> str:
        """Provenance of the prediction (else of the run so far): measured, estimated, ..."""
        if self.prediction is not None:
            return self.prediction.provenance.value
        if self.tracker is None:
            return "estimated"
        return self.tracker.live().provenance.value

    def _log(self, final: bool = False) -> None:
        if not self.sinks:
            return
        step = self.tracker.live().steps if self.tracker is not None else 0
        metrics = self.metrics()
        prov = self.provenance()
        for sink in list(self.sinks):
            try:
                sink.log(metrics, prov, step, final=final)
            except Exception as exc:  # a logger never takes the training down
                self.sinks.remove(sink)
                message = (
                    f"stopped logging energy to {type(sink).__name__} after an error "
                    f"({type(exc).__name__}: {exc}); the run record is unaffected"
                )
                log.warning(message)
                if self.tracker is not None and self.running:
                    self.tracker.note(message)
