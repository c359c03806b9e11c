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
run record's lines and fault notes), :mod:`~lpm.energy.summary` (run summaries) and
:mod:`~lpm.energy.distributed` (the merge of ranks). This module
holds the lifecycle, the two locks and the sampler thread. :meth:`Tracker.step` and
:meth:`Tracker.live` never wait on a meter.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, footprint
from lpm.energy import distributed, lines
from lpm.energy import summary as summaries
from lpm.energy.accounting import ALL_STEPS, EARLY_KEEP, Accounts
from lpm.energy.context import collect_context
from lpm.energy.detect import run_meters
from lpm.energy.polling import Poller
from lpm.energy.reading import Meter
from lpm.energy.results import (
    RUN_STATUSES,
    ComponentEnergy,
    LiveSnapshot,
    RunSummary,
    StepStats,
    WindowStats,
)
from lpm.errors import LpmError
from lpm.provenance import Provenance

__all__ = ["ALL_STEPS", "EARLY_KEEP", "READ_TIMEOUT_S", "Tracker"]

log = logging.getLogger("lpm.energy")

READ_TIMEOUT_S = 5.0  # a meter read that takes longer is a stuck meter (estimated meanwhile)
STALE_INTERVALS = 3.0  # live(): stale when the last reading is older than this many intervals


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _maybe_cuda_sync() -> None:
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
    except Exception:  # a sync problem must not reach the measured job
        pass


MAX_INTERVAL_S = 86_400.0
"""Longest sampling or checkpoint interval (a day); longer ones overflow the thread's wait."""
MAX_RUN_NAME = 100
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_run_name(name: str | None) -> None:
    """LpmError unless `name` is a plain file-name part: letters, digits, '.', '_', '-'.

    The run id (name-time-hex) names the record file inside ``log_dir``; a name with '/',
    '..' or control characters would write elsewhere or make folders `runs show` cannot find.
    """
    if name is None:
        return
    if len(name) > MAX_RUN_NAME or not _RUN_NAME.match(name) or ".." in name:
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise LpmError(
            f"run name {shown!r} must be 1 to {MAX_RUN_NAME} letters, digits, '.', '_' or '-' "
            "(no '/', '..' or spaces); choose another --run-name."
        )


def exit_status(exc: object) -> str:
    """The status of a run whose ``with`` block ended with ``exc`` (None: no exception).

    KeyboardInterrupt is ``interrupted``; ``SystemExit`` with code 0 (or None) ``finished``;
    any other exception ``failed``.
    """
    if exc is None:
        return "finished"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return "finished"
    return "failed"


class Tracker:
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
        for label, value in (("interval_s", interval_s), ("checkpoint_s", checkpoint_s)):
            if not 0 < value <= MAX_INTERVAL_S:
                raise LpmError(
                    f"{label} must be a number of seconds above 0 and at most "
                    f"{MAX_INTERVAL_S:g}, not {value}"
                )
        check_run_name(run_name)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise LpmError(f"warmup_steps must be a whole number >= 0, not {warmup_steps!r}")
        if not read_timeout_s > 0:
            raise LpmError(
                f"read_timeout_s must be a positive number of seconds, not {read_timeout_s}"
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
        meters, notices = run_meters(self._given_meters, self.cpu_scope, self._dist)
        self._poll.setup(meters, self._dist.rank if self._dist is not None else None)
        for n in notices:  # e.g. RAPL not readable: logged once and kept in the run
            self._fault(n)
        self.context = collect_context(meters)
        if self._dist is not None:
            self.context["distributed"] = distributed.context(self._dist)
        self._started_at = _utc_now()
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
        if status not in RUN_STATUSES[:3]:
            raise LpmError(f"status must be one of {', '.join(RUN_STATUSES[:3])}, not {status!r}")
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

    # ------------------------------------------------------------------ windows and steps
    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[Tracker]:
        """A named phase (``with t.window("train"):``); names may repeat."""
        self.start_window(name)
        try:
            yield self
        finally:
            self.end_window(name)

    def start_window(self, name: str) -> None:
        """Open a window (prefer ``with t.window(name)``)."""
        if not isinstance(name, str) or not name or name == ALL_STEPS:
            raise LpmError(f"a window needs a non-empty name other than {ALL_STEPS!r}")
        if not self._running:
            raise LpmError("start the Tracker before opening a window (`with Tracker() as t:`)")
        if self.cuda_sync:
            _maybe_cuda_sync()

        def open_window() -> None:  # runs right after the edge reading, under the lock
            self._acc.open_window(name, self._t_last, _utc_now())

        self._sample(then=open_window)

    def end_window(self, name: str) -> None:
        """Close the most recent open window of this name and record it."""
        if self.cuda_sync:
            _maybe_cuda_sync()
        with self._lock:
            if not self._acc.is_open(name):
                raise LpmError(f"no open window named {name!r}; open it with t.window({name!r})")

        def close_window() -> dict | None:  # runs right after the edge reading, under the lock
            closed = self._acc.close_window(name, self._t_last, self._poll.provenance())
            if closed is None:  # closed meanwhile by another thread
                return None
            w, duration, prov = closed
            return lines.window_line(w, self._t0, duration, prov, self._totals())

        line = self._sample(then=close_window)
        if line is not None:
            self._log.write(line)

    def epoch_start(self) -> None:
        """Carbontracker-style: open a window named "epoch"."""
        self.start_window("epoch")

    def epoch_end(self) -> None:
        """Carbontracker-style: close the window named "epoch"."""
        self.end_window("epoch")

    def step(self) -> None:
        """Mark one iteration / sample / denoising step as done."""
        now = self._clock()
        with self._lock:
            self._acc.step(now)

    # ------------------------------------------------------------------ results
    def step_stats(self, window: str | None = None, warmup_steps: int | None = None) -> StepStats:
        """Per-step duration and power, mean ± std, for one window name (None: all steps).

        ``warmup_steps`` None uses the Tracker's. Under torch.distributed, after the run,
        power is that of the whole job (summed over ranks) for any ``warmup_steps``: each
        rank's statistics are gathered at the end in a form that any warm-up can be taken
        out of afterwards.
        """
        warm = self.warmup_steps if warmup_steps is None else warmup_steps
        if isinstance(warm, bool) or not isinstance(warm, int) or warm < 0:
            raise LpmError(f"warmup_steps must be a whole number >= 0, not {warmup_steps!r}")
        if self._ranks is not None:
            merged = self._ranks.step_stats(window, warm, self._poll.provenance())
            if merged is not None:
                return merged
        with self._lock:
            return self._acc.step_stats(window, warm, self._poll.provenance())

    def window_stats(self, name: str, *, skip: int = 0) -> WindowStats:
        """Mean ± std of duration, energy and steps over the closed occurrences of a window.

        One observation per occurrence (``with t.window(name)`` once per batch gives
        per-batch statistics); the first ``skip`` occurrences (a warm-up) are left out.
        LpmError when the window never closed or nothing is left after ``skip``. Under
        torch.distributed, after the run, energy is that of the whole job (summed over
        ranks) and durations are the mean over ranks.
        """
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            raise LpmError(f"skip must be a whole number >= 0, not {skip!r}")
        if self._ranks is not None:
            merged = self._ranks.window_stats(name, skip)
            if merged is not None:
                return merged
        with self._lock:
            return self._acc.window_stats(name, skip)

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

    def _build_summary(self, *, status: str) -> RunSummary:
        end = self._t_end if self._t_end is not None else self._t_last
        duration = max(end - self._t0, 0.0)
        devices = self._poll.devices
        fallback = self._poll.provenance()
        return self._make_summary(
            summaries.components(devices, duration),
            duration,
            self._acc.windows_summary({d.key: d.kind for d in devices}, fallback),
            self._acc.steps,
            self._acc.step_stats_dicts(self.warmup_steps, fallback),
            status,
        )

    def _make_summary(
        self,
        components: list[ComponentEnergy],
        duration: float,
        windows: dict,
        steps: int,
        step_stats: dict,
        status: str,
    ) -> RunSummary:
        return summaries.run_summary(
            run_id=self.run_id,
            components=components,
            duration_s=duration,
            windows=windows,
            steps=steps,
            step_stats=step_stats,
            complete=status == "finished",
            status=status,
            pue=self.pue,
            intensity=self._intensity,
            context=self.context,
            started_at=self._started_at,
            path=str(self.record_path) if self.record_path else None,
            faults=self._log.faults(),
        )

    def _gather(self, local: RunSummary) -> RunSummary:
        """Merge every rank's devices (once per device id) and windows (a collective)."""
        assert self._dist is not None
        try:
            everyone = distributed.gather(distributed.rank_payload(self._dist, local, self._acc))
        except Exception as exc:
            self._fault(f"gathering ranks failed ({exc}); this record holds rank-local totals")
            return local
        if not everyone:
            return local
        merged = self._ranks = distributed.merge_ranks(everyone, self._dist.rank)
        step_stats = {}
        for name in dict.fromkeys(n for g in merged.groups for n in g):
            with contextlib.suppress(LpmError):
                step_stats[name] = self.step_stats(None if name == ALL_STEPS else name).to_dict()
        self.context["distributed"]["ranks"] = merged.ranks
        self._log.extend(merged.faults)
        return self._make_summary(
            merged.components,
            merged.duration_s,
            merged.windows,
            local.steps,
            step_stats,
            local.status,
        )
