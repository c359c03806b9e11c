"""The Tracker: a facade over one run's polling, accounting and run record.

It holds one thing, the :class:`Tracker` class (its public API and docstrings are most of
this module); the work is done by its parts.

Energy comes from counter deltas summed over devices. Each reading of the meters closes a
segment; a segment's energy goes to every open window and its power (energy / time) to the
per-step power statistics. Windows take a reading at both edges, so their energy does not
depend on the sampling interval. State is bounded: running sums per window name and per
device, never lists that grow with the run.

The parts: :mod:`~lpm.energy.polling` (reader threads, stuck meters, device counters),
:mod:`~lpm.energy.accounting` (windows, steps, statistics), :mod:`~lpm.energy.lines` (the
run record's lines and fault notes), :mod:`~lpm.energy.summary` (run summaries),
:mod:`~lpm.energy.distributed` (the ranks) and :mod:`~lpm.energy.tracker_checks` (settings
and arguments). Two base classes hold the rest of the Tracker's API:
:mod:`~lpm.energy.tracker_windows` (windows and steps) and
:mod:`~lpm.energy.tracker_results` (statistics, the run summary, the merge of ranks). This
module holds the lifecycle, the two locks and the sampler thread. :meth:`Tracker.step` and
:meth:`Tracker.live` never wait on a meter.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, footprint
from lpm.energy import distributed, lines
from lpm.energy.accounting import ALL_STEPS, EARLY_KEEP, Accounts
from lpm.energy.context import collect_context
from lpm.energy.detect import run_meters
from lpm.energy.polling import Poller
from lpm.energy.reading import Meter
from lpm.energy.results import LiveSnapshot, RunSummary
from lpm.energy.slurm import SlurmJob

# MAX_*, check_run_name, exit_status are re-exported: lpm.energy.tracker.<name> keeps working
from lpm.energy.tracker_checks import (
    MAX_INTERVAL_S,
    MAX_RUN_NAME,
    check_end_status,
    check_run_name,
    check_settings,
    exit_status,
)
from lpm.energy.tracker_results import TrackerResults
from lpm.energy.tracker_windows import TrackerWindows, utc_now
from lpm.errors import LpmError
from lpm.provenance import Provenance

__all__ = [
    "ALL_STEPS",
    "EARLY_KEEP",
    "MAX_INTERVAL_S",
    "MAX_RUN_NAME",
    "READ_TIMEOUT_S",
    "Tracker",
    "check_run_name",
    "exit_status",
]

log = logging.getLogger("lpm.energy")

READ_TIMEOUT_S = 5.0  # a meter read that takes longer is a stuck meter (estimated meanwhile)
STALE_INTERVALS = 3.0  # live(): stale when the last reading is older than this many intervals


class Tracker(TrackerWindows, TrackerResults):
    """Measure energy of a block of code: ``with Tracker(...) as t:``.

    ``meters`` None detects them (:func:`lpm.energy.detect_meters`); ``interval_s`` is the
    sampling period; ``log_dir`` gets a JSON Lines run record; ``warmup_steps`` steps of
    each window name are left out of :meth:`step_stats`; ``cuda_sync`` synchronises CUDA at
    window edges; a meter read that takes longer than ``read_timeout_s`` counts as stuck
    (its devices are estimated until it returns). ``clock`` (monotonic seconds) can be
    replaced in tests.
    """

    def __init__(
        self,
        meters: Sequence[Meter] | None = None,
        interval_s: float = 1.0,
        log_dir: str | Path | None = None,
        run_name: str | None = None,
        pue: float = DEFAULT_PUE,
        region: str = DEFAULT_REGION,
        cuda_sync: bool = False,
        warmup_steps: int = 0,
        *,
        cpu_scope: str = "process",
        checkpoint_s: float = 10.0,
        distributed_mode: bool | None = None,
        read_timeout_s: float = READ_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_settings(
            interval_s=interval_s,
            checkpoint_s=checkpoint_s,
            run_name=run_name,
            warmup_steps=warmup_steps,
            read_timeout_s=read_timeout_s,
        )
        # bad PUE or region: fail now, not at the end; the run keeps this intensity
        self._intensity = footprint(0.0, pue=pue, region=region).intensity
        self.read_timeout_s = float(read_timeout_s)
        self.interval_s = float(interval_s)
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.run_name = run_name
        self.pue = float(pue)
        self.region = region
        self.cuda_sync = cuda_sync
        self.warmup_steps = warmup_steps
        self.cpu_scope = cpu_scope
        self.checkpoint_s = checkpoint_s
        self._distributed_mode = distributed_mode
        self._clock = clock
        self._given_meters = list(meters) if meters is not None else None

        self._lock = threading.RLock()  # the state; step() takes only this one
        self._read_lock = threading.RLock()  # meter reads; always taken before _lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._log = lines.RunLog()
        self._poll = Poller(clock, self.read_timeout_s, self._fault)
        self._acc = Accounts()
        self._t0 = 0.0
        self._t_last = 0.0
        self._t_end: float | None = None
        self._last_checkpoint = 0.0
        self._started_at = ""
        self._running = False
        self._final: RunSummary | None = None
        self._ranks: distributed.MergedRanks | None = None  # every rank's, after a job
        self._live: tuple[float, float, float, int, Provenance] | None = None
        self._dist: distributed.DistInfo | None = None
        self.context: dict = {}
        self.run_id = ""
        self.record_path: Path | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Tracker:
        self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop(status=exit_status(exc))

    def start(self) -> None:
        """Start measuring (``with`` does this)."""
        if self._running or self._final is not None:
            raise LpmError("this Tracker was already started; create a new Tracker per run")
        if self.log_dir is not None:
            try:
                self.log_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._unwritable(exc) from None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = f"{self.run_name or 'run'}-{stamp}-{uuid.uuid4().hex[:6]}"
        self._dist = distributed.join(self.run_id, self._distributed_mode)
        if self._dist is not None:
            self.run_id = self._dist.run_id
        job = SlurmJob.from_env()  # read once per Tracker, never per reading
        meters, notices = run_meters(self._given_meters, self.cpu_scope, self._dist, slurm=job)
        self._poll.setup(meters, self._dist.rank if self._dist is not None else None)
        for n in notices:  # e.g. RAPL not readable: logged once and kept in the run
            self._fault(n)
        self.context = collect_context(meters, slurm=job)
        if self._dist is not None:
            self.context["distributed"] = distributed.context(self._dist)
        self._started_at = utc_now()
        now = self._clock()
        with self._lock:
            now = self._poll.baseline(now)
            self._t0 = self._t_last = self._acc.last_mark = self._last_checkpoint = now
            self._update_live(now)
        if self.log_dir is not None:
            suffix = ""
            if self._dist is not None and self._dist.world_size > 1:
                suffix = f"-rank{self._dist.rank}"
            self.record_path = self.log_dir / f"{self.run_id}{suffix}.jsonl"
            header = lines.header_line(
                run_id=self.run_id,
                run_name=self.run_name,
                started_at=self._started_at,
                interval_s=self.interval_s,
                pue=self.pue,
                region=self.region,
                intensity=self._intensity,
                warmup_steps=self.warmup_steps,
                devices=self._poll.devices,
                context=self.context,
            )
            try:
                self._log.open(self.record_path, header)
            except OSError as exc:
                self._poll.close(close_meters=False)
                raise self._unwritable(exc) from None
        self._running = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lpm-energy-sampler", daemon=True)
        self._thread.start()

    def stop(self, status: str = "finished") -> RunSummary:
        """Stop measuring, write the summary, and return it (``with`` does this).

        ``status`` is the run's end: ``"finished"``, ``"interrupted"`` (Ctrl-C, a signal)
        or ``"failed"`` (an error); ``with`` picks it from the exception that left the block.
        """
        check_end_status(status)
        if self._final is not None:
            return self._final
        if not self._running:
            raise LpmError("this Tracker was never started; use `with Tracker() as t:`")
        try:
            while self._acc.open:
                self.end_window(self._acc.open[-1].name)
            self._stop.set()
            if self._thread is not None:
                # the sampler waits for a meter at most read_timeout_s per reading
                self._thread.join(timeout=self.read_timeout_s + 5.0)

            def finish() -> RunSummary:
                self._t_end = self._t_last
                return self._build_summary(status=status)

            summary = self._sample(then=finish)
            if self._dist is not None and self._dist.world_size > 1:
                summary = self._gather(summary)
            self._final = summary
            self._running = False
            self._log.write(lines.summary_line(summary.to_dict()))
        finally:
            self._running = False
            self._log.close()
            # close only the meters this Tracker made
            self._poll.close(close_meters=self._given_meters is None)
        return summary

    @classmethod
    def track(cls, func: Callable | None = None, **kwargs: Any) -> Callable:
        """Decorator: ``@Tracker.track(interval_s=1.0, ...)`` measures every call.

        The summary of the latest call is at ``func.last_summary``.
        """

        def decorate(fn: Callable) -> Callable:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kw: Any) -> Any:
                tracker = cls(**kwargs)
                with tracker:
                    result = fn(*args, **kw)
                wrapper.last_summary = tracker.summary()  # type: ignore[attr-defined]
                return result

            wrapper.last_summary = None  # type: ignore[attr-defined]
            return wrapper

        return decorate(func) if func is not None else decorate

    # ------------------------------------------------------------------ results
    # window(), start_window(), end_window(), epoch_*(), step(): see TrackerWindows;
    # step_stats(), window_stats(): see TrackerResults
    def live(self) -> LiveSnapshot:
        """The run as of the last completed meter reading: never reads a meter, never waits.

        For progress bars: cheap, and it keeps its pace when a meter is slow or stuck
        (then ``stale`` is True, or the stuck meter's devices turn ESTIMATED).
        """
        state = self._live  # one reference, replaced whole after each reading: no lock
        if state is None:
            raise LpmError("this Tracker was never started; use `with Tracker() as t:`")
        t_read, duration, energy, steps, prov = state
        age = max(self._clock() - t_read, 0.0) if self._running else 0.0
        return LiveSnapshot(
            duration_s=duration,
            it_energy_j=energy,
            steps=steps,
            provenance=prov,
            age_s=age,
            stale=self._running and age > STALE_INTERVALS * self.interval_s + self.read_timeout_s,
        )

    def note(self, message: str) -> None:
        """Record a fact about the measurement in the run (``faults``) without logging it."""
        self._fault(message, log_it=False)

    def sample(self) -> None:
        """Read all meters now (the sampler thread does this every ``interval_s``)."""
        self._sample()

    def summary(self) -> RunSummary:
        """The run so far (while running) or the final summary (after exit)."""
        if self._final is not None:
            return self._final
        if not self._running:
            raise LpmError("this Tracker was never started; use `with Tracker() as t:`")
        return self._sample(then=lambda: self._build_summary(status="running"))

    # ------------------------------------------------------------------ internals
    def _unwritable(self, exc: OSError) -> LpmError:
        return LpmError(
            f"cannot write a run record in {self.log_dir} ({exc.strerror or exc}); "
            "choose a writable folder for log_dir"
        )

    def _sample(self, then: Callable[[], Any] | None = None) -> Any:
        """Read every meter, add the deltas, attribute the segment; then run ``then``.

        Meter reads hold only the read lock, so a slow or stuck meter never blocks
        :meth:`step`; the state is updated under the state lock (callers must not hold it).
        """
        wait_s = self.read_timeout_s + 1.0
        if not self._read_lock.acquire(timeout=wait_s):
            # another reading is waiting for a meter: go on without a fresh reading
            self._fault(f"meter readings blocked for over {wait_s:g} s; edge not read")
            with self._lock:
                return then() if then is not None else None
        try:
            now, readings = self._poll.read_all()
            with self._lock:
                deltas, seg_prov = self._poll.deltas(readings)
                dt = now - self._t_last
                self._t_last = max(now, self._t_last)
                self._acc.add_segment(deltas, seg_prov, dt)
                for msg in self._poll.drain_notices():
                    self._fault(msg)
                self._update_live(now)
                result = then() if then is not None else None
                checkpoint = None
                if (
                    self._log.writer is not None
                    and now - self._last_checkpoint >= self.checkpoint_s
                ):
                    self._last_checkpoint = now
                    checkpoint = lines.checkpoint_line(self._totals())
            if checkpoint is not None:
                self._log.write(checkpoint)
        finally:
            self._read_lock.release()
        return result

    def _update_live(self, now: float) -> None:
        """Publish the state after this reading for :meth:`live` (caller holds the lock)."""
        self._live = (
            now,
            max(self._t_last - self._t0, 0.0),
            self._poll.total_j,
            self._acc.steps,
            self._poll.provenance(),
        )

    def _totals(self) -> dict:
        return lines.totals_line(self._poll.devices, self._t_last - self._t0, self._acc.steps)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._sample()
            except Exception as exc:  # the sampler never takes the job down
                self._fault(f"sampler error ({type(exc).__name__}: {exc})")

    def _fault(
        self, message: str, once: bool = True, key: str | None = None, log_it: bool = True
    ) -> None:
        """Record a meter problem in the run and log it once (per ``key``)."""
        self._log.fault(message, self._t_last - self._t0, once, key, log_it)
