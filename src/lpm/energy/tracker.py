"""The Tracker: one sampler thread, named windows, step marks, crash-safe run records.

Energy comes from counter deltas summed over devices. Each reading of the meters closes a
segment; a segment's energy goes to every open window and its power (energy / time) to the
per-step power statistics. Windows take a reading at both edges, so their energy does not
depend on the sampling interval. State is bounded: running sums per window name and per
device, never lists that grow with the run.

Every meter is read in its own daemon thread with a time limit: a read that does not
return in ``read_timeout_s`` is a stuck meter, whose devices are then estimated from their
mean power so far (flagged ESTIMATED, with a fault note) until a read returns again.
:meth:`Tracker.step` and :meth:`Tracker.live` never wait on a meter.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import queue
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, footprint
from lpm.energy import distributed
from lpm.energy._stats import RunningStats
from lpm.energy.context import collect_context
from lpm.energy.reading import Meter, MeterBase, Reading, as_meter
from lpm.energy.record import SCHEMA, RecordWriter
from lpm.energy.results import (
    J_PER_KWH,
    ComponentEnergy,
    LiveSnapshot,
    RunSummary,
    StepStats,
    WindowStats,
)
from lpm.errors import LpmError
from lpm.provenance import Provenance

log = logging.getLogger("lpm.energy")

ALL_STEPS = "*"  # step statistics over every step of the run
EARLY_KEEP = 1024  # per window name: first step durations kept so warm-up can change later
MAX_FAULTS = 100
MIN_SEGMENT_S = 1e-3
READ_TIMEOUT_S = 5.0  # a meter read that takes longer is a stuck meter (estimated meanwhile)
STALE_INTERVALS = 3.0  # live(): stale when the last reading is older than this many intervals


def _segment_provenance(base: Provenance, seen: Provenance) -> Provenance:
    """A device's provenance for one segment: its meter's, ESTIMATED where a reading says so.

    A measured device whose reading is not measured (a gap bridged after a fault, a stuck
    meter) is ESTIMATED; an estimated or simulated device stays what its meter is.
    """
    if base is Provenance.MEASURED and seen is not Provenance.MEASURED:
        return Provenance.ESTIMATED
    return base


@dataclass
class _Device:
    key: str
    name: str
    kind: str
    meter: int
    index: int
    base: Provenance = Provenance.ESTIMATED
    last_j: float = 0.0
    total_j: float = 0.0
    degraded: bool = False  # some of its energy was estimated (a fault, a stuck meter)

    @property
    def provenance(self) -> Provenance:
        return Provenance.ESTIMATED if self.degraded else self.base


class _Job:
    """One read of a meter, done in the meter's reader thread."""

    __slots__ = ("done", "error", "reading", "t_done", "t_start")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reading: Reading | None = None
        self.error: BaseException | None = None
        self.t_start = 0.0
        self.t_done = 0.0


class _Reader:
    """Reads one meter in a daemon thread, so that a read that blocks blocks only itself."""

    def __init__(self, meter: MeterBase, clock: Callable[[], float]) -> None:
        self.meter = meter
        self._clock = clock
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.pending: _Job | None = None
        self._thread = threading.Thread(target=self._run, name="lpm-energy-meter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job.t_start = self._clock()
                job.reading = self.meter.read()
            except Exception as exc:  # reported by the Tracker, never raised
                job.error = exc
            with contextlib.suppress(Exception):
                job.t_done = self._clock()
            job.done.set()

    @property
    def stuck(self) -> bool:
        """A read is still in progress (it did not return in time)."""
        return self.pending is not None and not self.pending.done.is_set()

    def start(self) -> _Job | None:
        """Start a read; None while the previous read has not returned yet."""
        if self.stuck:
            return None
        job = self.pending = _Job()
        self._jobs.put(job)
        return job

    def read(self, timeout_s: float) -> tuple[Reading, float]:
        """A read that waits at most ``timeout_s``, and its time (mid-way through it).

        TimeoutError when it did not return in time.
        """
        job = self.start()
        if job is None or not job.done.wait(timeout_s):
            raise TimeoutError(f"no reading within {timeout_s:g} s (stuck meter)")
        if job.error is not None:
            raise job.error
        assert job.reading is not None
        return job.reading, 0.5 * (job.t_start + job.t_done)

    def close(self) -> None:
        """End the thread once its current read (if any) returns."""
        self._jobs.put(None)


@dataclass
class _MeterState:
    meter: MeterBase
    reader: _Reader
    failing: bool = False
    dropped: bool = False
    last_t: float = 0.0


@dataclass
class _Group:
    """Step and power statistics of one window name (or of all steps)."""

    steps: int = 0
    steps_at_last_sample: int = 0
    durations: RunningStats = field(default_factory=RunningStats)
    early_durations: list[float] = field(default_factory=list)
    power: RunningStats = field(default_factory=RunningStats)
    # power of the segments that started after step s (s < EARLY_KEEP), summed per s
    early_power: dict[int, RunningStats] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)  # per device

    def add_step(self, duration_s: float) -> None:
        self.steps += 1
        self.durations.add(duration_s)
        if len(self.early_durations) < EARLY_KEEP:
            self.early_durations.append(duration_s)

    def add_segment(self, power_w: float, dt: float, provenance: dict[str, Provenance]) -> None:
        start_steps = self.steps_at_last_sample
        self.power.add(power_w, dt)
        if start_steps < EARLY_KEEP:
            early = self.early_power.get(start_steps)
            if early is None:
                early = self.early_power[start_steps] = self.power.like()
            early.add(power_w, dt)
        for k, prov in provenance.items():
            _note_provenance(self.provenance, k, prov)

    def to_payload(self) -> dict:
        """Everything :meth:`stats` needs, as plain types (sent between ranks)."""
        return {
            "steps": self.steps,
            "durations": _rs_dict(self.durations),
            "early_durations": list(self.early_durations),
            "power": _rs_dict(self.power),
            "early_power": [[k, _rs_dict(v)] for k, v in self.early_power.items()],
            "provenance": {k: v.value for k, v in self.provenance.items()},
        }

    @classmethod
    def from_payload(cls, d: dict) -> _Group:
        """Inverse of :meth:`to_payload`."""
        return cls(
            steps=int(d["steps"]),
            durations=RunningStats(**d["durations"]),
            early_durations=[float(x) for x in d["early_durations"]],
            power=RunningStats(**d["power"]),
            early_power={int(k): RunningStats(**v) for k, v in d["early_power"]},
            provenance={k: Provenance.parse(v) for k, v in d["provenance"].items()},
        )

    def stats(
        self, warmup: int, window: str | None, fallback: Provenance = Provenance.ESTIMATED
    ) -> StepStats:
        if warmup > EARLY_KEEP and self.steps > EARLY_KEEP:
            raise LpmError(f"warm-up can be changed afterwards only up to {EARLY_KEEP} steps")
        durations = self.durations.copy()
        for d in self.early_durations[:warmup]:
            durations.remove(d)
        power = self.power.copy()
        for start, early in self.early_power.items():
            if start < warmup:
                power.subtract(early)
        if power.count == 0:
            power = self.power  # windows too short to have a segment after the warm-up
        return StepStats.from_parts(
            count=durations.count,
            duration_s_mean=durations.mean,
            duration_s_std=durations.std,
            power_w_mean=power.mean,
            power_w_std=power.std,
            provenance=Provenance.combine(self.provenance.values())
            if self.provenance
            else fallback,
            window=window,
            warmup_steps=warmup,
            power_samples=power.count,
        )


@dataclass
class _Window:
    name: str
    index: int
    t_start: float
    started_at: str
    last_mark: float
    steps: int = 0
    energy: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)


def _rs_dict(rs: RunningStats) -> dict:
    return {
        "count": rs.count,
        "weight": rs.weight,
        "_shift": rs._shift,
        "_sum": rs._sum,
        "_sum_sq": rs._sum_sq,
    }


def _note_provenance(into: dict[str, Provenance], key: str, prov: Provenance) -> None:
    """Per device: ESTIMATED once any of its energy in this span was estimated."""
    old = into.get(key)
    if old is None or old is prov:
        into[key] = prov
    else:
        into[key] = Provenance.ESTIMATED if Provenance.ESTIMATED in (old, prov) else old


@dataclass
class _WindowAgg:
    count: int = 0
    duration_s: float = 0.0
    steps: int = 0
    energy: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    # one observation per closed occurrence, for window_stats()
    occ_duration: RunningStats = field(default_factory=RunningStats)
    occ_energy: RunningStats = field(default_factory=RunningStats)
    occ_steps: RunningStats = field(default_factory=RunningStats)
    early: list[tuple[float, float, int, str]] = field(default_factory=list)
    late_provenance: set[Provenance] = field(default_factory=set)

    def add_occurrence(
        self, duration_s: float, energy_j: float, steps: int, provenance: Provenance
    ) -> None:
        self.occ_duration.add(duration_s)
        self.occ_energy.add(energy_j)
        self.occ_steps.add(float(steps))
        if len(self.early) < EARLY_KEEP:
            self.early.append((duration_s, energy_j, steps, provenance.value))
        else:
            self.late_provenance.add(provenance)

    def to_payload(self) -> dict:
        """Everything :meth:`stats` needs, as plain types (sent between ranks)."""
        return {
            "count": self.count,
            "occ_duration": _rs_dict(self.occ_duration),
            "occ_energy": _rs_dict(self.occ_energy),
            "occ_steps": _rs_dict(self.occ_steps),
            "early": [list(e) for e in self.early],
            "late_provenance": [p.value for p in self.late_provenance],
        }

    @classmethod
    def from_payload(cls, d: dict) -> _WindowAgg:
        """Inverse of :meth:`to_payload` (the parts :meth:`stats` reads)."""
        return cls(
            count=int(d["count"]),
            occ_duration=RunningStats(**d["occ_duration"]),
            occ_energy=RunningStats(**d["occ_energy"]),
            occ_steps=RunningStats(**d["occ_steps"]),
            early=[(float(a), float(b), int(c), str(p)) for a, b, c, p in d["early"]],
            late_provenance={Provenance.parse(p) for p in d["late_provenance"]},
        )

    def stats(self, name: str, skip: int) -> WindowStats:
        if skip > EARLY_KEEP and self.count > EARLY_KEEP:
            raise LpmError(f"window_stats can skip at most {EARLY_KEEP} occurrences")
        if skip >= self.count:
            raise LpmError(
                f"window {name!r} closed {self.count} time(s): nothing is left after skipping "
                f"{skip}; measure more occurrences or skip fewer"
            )
        duration, energy, steps = (
            self.occ_duration.copy(),
            self.occ_energy.copy(),
            self.occ_steps.copy(),
        )
        for d, e, n, _ in self.early[:skip]:
            duration.remove(d)
            energy.remove(e)
            steps.remove(float(n))
        provs = {Provenance.parse(p) for *_, p in self.early[skip:]} | self.late_provenance
        return WindowStats(
            name=name,
            count=duration.count,
            duration_s_mean=duration.mean,
            duration_s_std=duration.std,
            energy_j_mean=energy.mean,
            energy_j_std=energy.std,
            steps_mean=steps.mean,
            provenance=Provenance.combine(provs),
            skip=skip,
        )


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
        if not interval_s > 0:
            raise LpmError(f"interval_s must be a positive number of seconds, not {interval_s}")
        if not checkpoint_s > 0:
            raise LpmError(f"checkpoint_s must be a positive number of seconds, not {checkpoint_s}")
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
        self._writer: RecordWriter | None = None
        self._meters: list[_MeterState] = []
        self._devices: list[_Device] = []
        self._groups: dict[str, _Group] = {}
        self._windows: dict[str, _WindowAgg] = {}
        self._open: list[_Window] = []
        self._all = _Group()
        self._groups[ALL_STEPS] = self._all
        self._active: list[_Group] = [self._all]  # groups of the open windows, and of all
        self._faults: list[str] = []
        self._fault_count = 0
        self._reported: set[str] = set()
        self._steps = 0
        self._t0 = 0.0
        self._t_last = 0.0
        self._t_end: float | None = None
        self._last_mark = 0.0
        self._last_checkpoint = 0.0
        self._started_at = ""
        self._running = False
        self._final: RunSummary | None = None
        self._rank_groups: list[dict[str, _Group]] | None = None  # every rank's, after a job
        self._rank_windows: list[dict[str, _WindowAgg]] | None = None
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
        self.stop()

    def start(self) -> None:
        """Start measuring (``with`` does this)."""
        if self._running or self._final is not None:
            raise LpmError("this Tracker was already started; create a new Tracker per run")
        if self.log_dir is not None:
            try:
                self.log_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LpmError(
                    f"cannot write a run record in {self.log_dir} ({exc.strerror or exc}); "
                    "choose a writable folder for log_dir"
                ) from None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = f"{self.run_name or 'run'}-{stamp}-{uuid.uuid4().hex[:6]}"
        use_dist = self._distributed_mode
        if use_dist is None:
            use_dist = distributed.active()
        if use_dist:
            self._dist = distributed.setup(self.run_id)
            if self._dist is not None:
                self.run_id = self._dist.run_id
        meters = self._given_meters
        notices: list[str] = []
        if meters is None:
            from lpm.energy.detect import detect

            select = None
            if self._dist is not None:
                idx = distributed.local_gpu_index()
                select = None if idx is None else [idx]
            detection = detect(cpu_scope=self.cpu_scope, gpu_select=select)
            meters, notices = detection.meters, detection.notices
        meters = [as_meter(m) for m in meters]  # the one place third-party meters are adapted
        if self._dist is not None and self._dist.world_size > 1:
            meters = self._host_once(meters)
        self._setup_devices(meters)
        for n in notices:  # e.g. RAPL not readable: logged once and kept in the run
            self._fault(n)
        self.context = collect_context(meters)
        if self._dist is not None:
            self.context["distributed"] = {
                "rank": self._dist.rank,
                "world_size": self._dist.world_size,
                "backend": self._dist.backend,
                "host_leader": self._dist.host_leader,
            }
        self._started_at = _utc_now()
        now = self._clock()
        with self._lock:
            self._baseline(now)
        if self.log_dir is not None:
            suffix = ""
            if self._dist is not None and self._dist.world_size > 1:
                suffix = f"-rank{self._dist.rank}"
            self.record_path = self.log_dir / f"{self.run_id}{suffix}.jsonl"
            try:
                self._writer = RecordWriter(self.record_path)
            except OSError as exc:
                for st in self._meters:
                    st.reader.close()
                raise LpmError(
                    f"cannot write a run record in {self.log_dir} ({exc.strerror or exc}); "
                    "choose a writable folder for log_dir"
                ) from None
            self._write(self._header())
        self._running = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lpm-energy-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> RunSummary:
        """Stop measuring, write the summary, and return it (``with`` does this)."""
        if self._final is not None:
            return self._final
        if not self._running:
            raise LpmError("this Tracker was never started; use `with Tracker() as t:`")
        try:
            while self._open:
                self.end_window(self._open[-1].name)
            self._stop.set()
            if self._thread is not None:
                # the sampler waits for a meter at most read_timeout_s per reading
                self._thread.join(timeout=self.read_timeout_s + 5.0)

            def finish() -> RunSummary:
                self._t_end = self._t_last
                return self._build_summary(complete=True)

            summary = self._sample(then=finish)
            if self._dist is not None and self._dist.world_size > 1:
                summary = self._gather(summary)
            self._final = summary
            self._running = False
            self._write({"type": "summary", "summary": summary.to_dict()})
        finally:
            self._running = False
            if self._writer is not None:
                self._writer.close()
            for st in self._meters:
                st.reader.close()
            if self._given_meters is None:  # close only the meters this Tracker made
                for st in self._meters:
                    if not st.reader.stuck:  # never wait on a stuck meter
                        with contextlib.suppress(Exception):
                            st.meter.close()
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
            agg = self._windows.setdefault(name, _WindowAgg())
            index = agg.count + sum(1 for w in self._open if w.name == name)
            t = self._t_last
            self._open.append(_Window(name, index, t, _utc_now(), t))
            self._refresh_active()
            group = self._groups.setdefault(name, _Group())
            group.steps_at_last_sample = group.steps

        self._sample(then=open_window)

    def end_window(self, name: str) -> None:
        """Close the most recent open window of this name and record it."""
        if self.cuda_sync:
            _maybe_cuda_sync()
        with self._lock:
            if not any(w.name == name for w in self._open):
                raise LpmError(f"no open window named {name!r}; open it with t.window({name!r})")

        def close_window() -> dict | None:  # runs right after the edge reading, under the lock
            idx = next(
                (i for i in range(len(self._open) - 1, -1, -1) if self._open[i].name == name), None
            )
            if idx is None:  # closed meanwhile by another thread
                return None
            w = self._open.pop(idx)
            self._refresh_active()
            duration = self._t_last - w.t_start
            agg = self._windows.setdefault(name, _WindowAgg())
            agg.count += 1
            agg.duration_s += duration
            agg.steps += w.steps
            for k, e in w.energy.items():
                agg.energy[k] = agg.energy.get(k, 0.0) + e
            for k, prov in w.provenance.items():
                _note_provenance(agg.provenance, k, prov)
            w_prov = self._provenance_of(w.provenance)
            agg.add_occurrence(duration, sum(w.energy.values()), w.steps, w_prov)
            line = {
                "type": "window",
                "name": name,
                "index": w.index,
                "started_at": w.started_at,
                "t_start_s": w.t_start - self._t0,
                "duration_s": duration,
                "steps": w.steps,
                "energy_j": dict(w.energy),
                "provenance": w_prov.value,
                "provenance_by_device": {k: v.value for k, v in w.provenance.items()},
                **self._totals_line(),
            }
            return line

        line = self._sample(then=close_window)
        if line is not None:
            self._write(line)

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
            inner = self._open[-1] if self._open else None
            ref = inner.last_mark if inner is not None else self._last_mark
            d = now - ref if now > ref else 0.0
            for g in self._active:
                g.add_step(d)
            for w in self._open:
                w.steps += 1
            if inner is not None:
                inner.last_mark = now
            self._last_mark = now
            self._steps += 1

    # ------------------------------------------------------------------ results
    def step_stats(self, window: str | None = None, warmup_steps: int | None = None) -> StepStats:
        """Per-step duration and power, mean ± std, for one window name (None: all steps).

        ``warmup_steps`` None uses the Tracker's. Under torch.distributed, after the run,
        power is that of the whole job (summed over ranks) for any ``warmup_steps``: each
        rank's statistics are gathered at the end in a form that any warm-up can be taken
        out of afterwards.
        """
        name = ALL_STEPS if window is None else window
        warm = self.warmup_steps if warmup_steps is None else warmup_steps
        if isinstance(warm, bool) or not isinstance(warm, int) or warm < 0:
            raise LpmError(f"warmup_steps must be a whole number >= 0, not {warmup_steps!r}")
        ranks = self._rank_groups
        if ranks is not None:
            per_rank = [g[name] for g in ranks if name in g and g[name].steps]
            if per_rank:
                return distributed.merge_stats(
                    [g.stats(warm, window, self._run_provenance()) for g in per_rank]
                )
        with self._lock:
            group = self._groups.get(name)
            if group is None or group.steps == 0:
                known = sorted(n for n, g in self._groups.items() if g.steps and n != ALL_STEPS)
                raise LpmError(
                    f"no steps were marked in window {window!r}; call t.step() inside "
                    f"`with t.window({window!r})` (windows with steps: {known or 'none'})"
                )
            return group.stats(warm, window, self._run_provenance())

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
        ranks = self._rank_windows
        if ranks is not None:
            per_rank = [w[name] for w in ranks if name in w and w[name].count]
            if per_rank:
                return distributed.merge_window_stats([a.stats(name, skip) for a in per_rank])
        with self._lock:
            agg = self._windows.get(name)
            if agg is None or agg.count == 0:
                closed = sorted(n for n, a in self._windows.items() if a.count)
                raise LpmError(
                    f"window {name!r} never closed; wrap the code in `with t.window({name!r}):` "
                    f"(closed windows: {', '.join(closed) or 'none'})"
                )
            return agg.stats(name, skip)

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
        return self._sample(then=lambda: self._build_summary(complete=False))

    # ------------------------------------------------------------------ internals
    def _refresh_active(self) -> None:
        names = dict.fromkeys(w.name for w in self._open)
        self._active = [self._groups.setdefault(n, _Group()) for n in names] + [self._all]

    def _host_once(self, meters: Sequence[MeterBase]) -> list[MeterBase]:
        """Keep CPU/DRAM meters on one rank per host, covering all that host's ranks."""
        assert self._dist is not None
        if not self._dist.host_leader:
            return [m for m in meters if m.kind == "gpu"]
        others = [p for p in self._dist.local_pids if p != os.getpid()]
        for m in meters:
            if m.kind in ("cpu", "dram") and others:
                m.track_pids(others)
        return list(meters)

    def _setup_devices(self, meters: Sequence[MeterBase]) -> None:
        host = socket.gethostname()
        used_keys: set[str] = set()
        used_names: set[str] = set()
        for mi, m in enumerate(meters):
            st = _MeterState(m, _Reader(m, self._clock))
            self._meters.append(st)
            ids = tuple(m.device_ids)
            base = m.provenance
            try:
                first, _ = st.reader.read(self.read_timeout_s)
                labels = first.devices
            except Exception as exc:
                self._fault(f"{m.name}: first reading failed ({exc}); meter left out")
                st.dropped = True
                continue
            for di, label in enumerate(labels):
                if di < len(ids):
                    key = ids[di]
                elif m.kind in ("cpu", "dram") or self._dist is None:
                    key = f"{host}:{label}"
                else:
                    key = f"{host}:rank{self._dist.rank}:{label}"
                base_key, n = key, 2
                while key in used_keys:
                    key, n = f"{base_key}#{n}", n + 1
                name, n = label, 2
                while name in used_names:
                    name, n = f"{label} #{n}", n + 1
                used_keys.add(key)
                used_names.add(name)
                self._devices.append(_Device(key, name, m.kind, mi, di, base=base))

    def _baseline(self, now: float) -> None:
        """Every meter's first counted reading; the run starts at their mean time."""
        times = []
        readings: list[Reading | None] = []
        for st in self._meters:
            r = None
            if not st.dropped:
                try:
                    r, t_read = st.reader.read(self.read_timeout_s)
                    times.append(t_read)
                except Exception as exc:
                    self._fault(f"{st.meter.name}: reading failed at start ({exc}); meter left out")
                    st.dropped = True
            readings.append(r)
        if times:
            now = sum(times) / len(times)
        self._t0 = self._t_last = self._last_mark = self._last_checkpoint = now
        for mi, st in enumerate(self._meters):
            st.last_t = now
            r = readings[mi]
            if r is None:
                continue
            for dev in self._devices:
                if dev.meter == mi and dev.index < len(r.energy_j):
                    dev.last_j = r.energy_j[dev.index]
                    seen = _segment_provenance(dev.base, r.provenance[dev.index])
                    dev.degraded = dev.degraded or seen is not dev.base
        self._update_live(now)

    def _read_meter(self, mi: int, now: float, job: _Job | None) -> Reading | None:
        """One meter's reading; when it failed or is stuck, an estimate from its mean power."""
        st = self._meters[mi]
        if st.dropped:
            return None
        try:
            if job is None or not job.done.is_set():
                raise TimeoutError(
                    f"no reading within {self.read_timeout_s:g} s (stuck meter); the job goes on"
                )
            if job.error is not None:
                raise job.error
            r = job.reading
            if not isinstance(r, Reading):
                raise TypeError(f"read() returned {type(r).__name__}, not a Reading")
            if st.failing:
                # it works again: re-base on its own counter, the gap was estimated
                st.failing = False
                for dev in self._devices:
                    if dev.meter == mi and dev.index < len(r.energy_j):
                        dev.last_j = r.energy_j[dev.index]
                self._fault(f"{st.meter.name}: readings are back", once=False)
            st.last_t = now
            return r
        except Exception as exc:
            devs = [d for d in self._devices if d.meter == mi]
            elapsed = st.last_t - self._t0  # up to the last reading (good or estimated)
            if not st.failing:
                self._fault(
                    f"{st.meter.name}: reading failed ({type(exc).__name__}: {exc}); "
                    "estimating from its mean power so far"
                )
            st.failing = True
            if elapsed <= 0 or all(d.total_j <= 0 for d in devs):
                st.dropped = True
                self._fault(f"{st.meter.name}: no reading to estimate from; meter left out")
                return None
            dt = max(now - st.last_t, 0.0)
            st.last_t = now
            energies = []
            for d in sorted(devs, key=lambda d: d.index):
                energies.append(d.last_j + d.total_j / elapsed * dt)
            return Reading(
                energy_j=tuple(energies),
                devices=tuple(d.name for d in sorted(devs, key=lambda d: d.index)),
                provenance=(Provenance.ESTIMATED,) * len(energies),
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
            before = self._clock()
            jobs = [None if st.dropped else st.reader.start() for st in self._meters]
            deadline = time.monotonic() + self.read_timeout_s
            for job in jobs:
                if job is not None:
                    job.done.wait(max(deadline - time.monotonic(), 0.0))
            done = [j for j in jobs if j is not None and j.done.is_set() and j.error is None]
            readings = [self._read_meter(mi, before, jobs[mi]) for mi in range(len(self._meters))]
            # the readings' time: mid-way through them
            if done:
                now = 0.5 * (min(j.t_start for j in done) + max(j.t_done for j in done))
            else:
                now = before
            with self._lock:
                self._apply(now, readings)
                result = then() if then is not None else None
                checkpoint = None
                if self._writer is not None and now - self._last_checkpoint >= self.checkpoint_s:
                    self._last_checkpoint = now
                    checkpoint = {"type": "checkpoint", **self._totals_line()}
            if checkpoint is not None:
                self._write(checkpoint)
        finally:
            self._read_lock.release()
        return result

    def _apply(self, now: float, readings: list[Reading | None]) -> None:
        """Add one reading of every meter to the state. Caller holds both locks."""
        deltas: dict[str, float] = {}
        seg_prov: dict[str, Provenance] = {}
        for dev in self._devices:
            r = readings[dev.meter]
            if r is None or dev.index >= len(r.energy_j):
                continue
            e = r.energy_j[dev.index]
            if not math.isfinite(e):
                self._fault(
                    f"{dev.name}: reading is not a number ({e}); ignored", key=f"{dev.key}:nan"
                )
                continue
            delta = e - dev.last_j
            if delta < 0:
                self._fault(
                    f"{dev.name}: energy went backwards by {-delta:.3g} J; ignored",
                    key=f"{dev.key}:backwards",
                )
                delta = 0.0
            dev.last_j = e
            dev.total_j += delta
            seen = _segment_provenance(dev.base, r.provenance[dev.index])
            dev.degraded = dev.degraded or seen is not dev.base
            seg_prov[dev.key] = seen
            deltas[dev.key] = delta
        dt = now - self._t_last
        self._t_last = max(now, self._t_last)
        for w in self._open:
            for k, d in deltas.items():
                w.energy[k] = w.energy.get(k, 0.0) + d
                _note_provenance(w.provenance, k, seg_prov[k])
        if dt >= MIN_SEGMENT_S and deltas:
            power = sum(deltas.values()) / dt
            for g in self._active:
                g.add_segment(power, dt, seg_prov)
        for g in self._active:
            g.steps_at_last_sample = g.steps
        for st in self._meters:
            notices = st.meter.notices
            if notices:
                for msg in list(notices):
                    self._fault(msg)
                notices.clear()
        self._update_live(now)

    def _update_live(self, now: float) -> None:
        """Publish the state after this reading for :meth:`live` (caller holds the lock)."""
        self._live = (
            now,
            max(self._t_last - self._t0, 0.0),
            sum(d.total_j for d in self._devices),
            self._steps,
            self._run_provenance(),
        )

    def _run_provenance(self) -> Provenance:
        return Provenance.combine(d.provenance for d in self._devices)

    def _provenance_of(self, by_key: dict[str, Provenance]) -> Provenance:
        """A span's provenance from its devices'; with none yet, the run's devices'."""
        return Provenance.combine(by_key.values()) if by_key else self._run_provenance()

    def _totals_line(self) -> dict:
        return {
            "elapsed_s": self._t_last - self._t0,
            "steps_total": self._steps,
            "totals_j": {d.key: d.total_j for d in self._devices},
            "provenance_by_device": {d.key: d.provenance.value for d in self._devices},
            "estimated_keys": [d.key for d in self._devices if d.provenance.is_estimated],
        }

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
        key = key or message
        with self._lock:
            if once and key in self._reported:
                return
            self._reported.add(key)
            self._fault_count += 1
            if len(self._faults) < MAX_FAULTS:
                self._faults.append(message)
        if log_it:
            log.warning("lpm.energy: %s", message)
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._write(
                    {"type": "fault", "elapsed_s": self._t_last - self._t0, "message": message}
                )

    def _write(self, obj: dict) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write(obj)
        except Exception as exc:  # a full disk must not stop training
            if "record" not in self._reported:
                self._reported.add("record")
                log.warning("lpm.energy: cannot write run record %s (%s)", self.record_path, exc)

    def _header(self) -> dict:
        return {
            "type": "header",
            "schema": SCHEMA,
            "run_id": self.run_id,
            "run_name": self.run_name,
            "started_at": self._started_at,
            "interval_s": self.interval_s,
            "pue": self.pue,
            "region": self.region,
            "intensity": self._intensity.to_dict(),
            "warmup_steps": self.warmup_steps,
            "devices": [
                {
                    "key": d.key,
                    "name": d.name,
                    "kind": d.kind,
                    "provenance": d.provenance.value,
                    "estimated": d.provenance.is_estimated,
                }
                for d in self._devices
            ],
            "context": self.context,
        }

    def _duration(self) -> float:
        end = self._t_end if self._t_end is not None else self._t_last
        return max(end - self._t0, 0.0)

    def _windows_dict(self, kinds: dict[str, str]) -> dict[str, dict]:
        out = {}
        for name, agg in self._windows.items():
            if agg.count == 0:
                continue
            by_kind: dict[str, float] = {}
            for k, e in agg.energy.items():
                by_kind[kinds.get(k, "other")] = by_kind.get(kinds.get(k, "other"), 0.0) + e
            total = sum(agg.energy.values())
            out[name] = {
                "count": agg.count,
                "duration_s": agg.duration_s,
                "steps": agg.steps,
                "energy_j": total,
                "energy_kwh": total / J_PER_KWH,
                "mean_power_w": total / agg.duration_s if agg.duration_s > 0 else 0.0,
                "by_kind_j": by_kind,
                "energy_by_device_j": dict(agg.energy),
                **_window_provenance(agg.provenance, kinds, self._run_provenance()),
            }
        return out

    def _build_summary(self, *, complete: bool) -> RunSummary:
        duration = self._duration()
        components = [
            ComponentEnergy(
                name=d.name,
                kind=d.kind,
                energy_j=d.total_j,
                energy_kwh=d.total_j / J_PER_KWH,
                mean_power_w=d.total_j / duration if duration > 0 else 0.0,
                provenance=d.provenance,
                device_id=d.key,
            )
            for d in self._devices
        ]
        kinds = {d.key: d.kind for d in self._devices}
        step_stats = {}
        fallback = self._run_provenance()
        for name, g in self._groups.items():
            if g.steps:
                with contextlib.suppress(LpmError):
                    window = None if name == ALL_STEPS else name
                    step_stats[name] = g.stats(self.warmup_steps, window, fallback).to_dict()
        return self._make_summary(
            components,
            duration,
            self._windows_dict(kinds),
            self._steps,
            step_stats,
            complete,
        )

    def _make_summary(
        self,
        components: list[ComponentEnergy],
        duration: float,
        windows: dict,
        steps: int,
        step_stats: dict,
        complete: bool,
    ) -> RunSummary:
        it_kwh = sum(c.energy_kwh for c in components)
        # the intensity chosen at the start, so that a run's CO2e never changes mid-run
        fp = footprint(it_kwh, pue=self.pue, intensity=self._intensity)
        faults = list(self._faults)
        if self._fault_count > len(faults):
            faults.append(f"... and {self._fault_count - len(faults)} more")
        return RunSummary(
            run_id=self.run_id,
            duration_s=duration,
            it_energy_kwh=it_kwh,
            facility_energy_kwh=fp.facility_energy_kwh,
            co2e_kg=fp.co2e_kg,
            components=components,
            windows=windows,
            steps=steps,
            context=self.context,
            footprint=fp,
            complete=complete,
            started_at=self._started_at,
            path=str(self.record_path) if self.record_path else None,
            faults=faults,
            step_stats=step_stats,
        )

    def _gather(self, local: RunSummary) -> RunSummary:
        """Merge every rank's devices (once per device id) and windows (a collective)."""
        assert self._dist is not None
        payload = {
            "rank": self._dist.rank,
            "host": self._dist.host,
            "duration_s": local.duration_s,
            "steps": local.steps,
            "components": [c.to_dict() for c in local.components],
            "windows": local.windows,
            "step_stats": local.step_stats,
            "groups": {name: g.to_payload() for name, g in self._groups.items() if g.steps},
            "window_aggs": {n: a.to_payload() for n, a in self._windows.items() if a.count},
            "faults": local.faults,
        }
        try:
            everyone = distributed.gather(payload)
        except Exception as exc:
            self._fault(f"gathering ranks failed ({exc}); this record holds rank-local totals")
            return local
        if not everyone:
            return local
        comps: dict[str, ComponentEnergy] = {}
        names: set[str] = set()
        duration = max(p["duration_s"] for p in everyone)
        for p in everyone:
            for c in p["components"]:
                ce = ComponentEnergy.from_dict(c)
                if ce.device_id in comps:
                    continue  # the same device seen by several ranks: counted once
                if ce.name in names:
                    ce = ComponentEnergy(
                        f"{ce.name} [rank {p['rank']}]",
                        ce.kind,
                        ce.energy_j,
                        ce.energy_kwh,
                        ce.energy_j / duration if duration > 0 else 0.0,
                        ce.provenance,
                        ce.device_id,
                    )
                names.add(ce.name)
                comps[ce.device_id] = ce
        kinds = {c.device_id: c.kind for c in comps.values()}
        windows: dict[str, dict] = {}
        for p in everyone:
            for name, w in p["windows"].items():
                m = windows.setdefault(
                    name,
                    {
                        "count": w["count"],
                        "duration_s": w["duration_s"],
                        "steps": w["steps"],
                        "energy_by_device_j": {},
                        "provenance_by_device": {},
                    },
                )
                for k, e in w.get("energy_by_device_j", {}).items():
                    m["energy_by_device_j"].setdefault(k, e)
                for k, prov in w.get("provenance_by_device", {}).items():
                    m["provenance_by_device"].setdefault(k, prov)
        run_prov = Provenance.combine(c.provenance for c in comps.values())
        for m in windows.values():
            total = sum(m["energy_by_device_j"].values())
            by_kind: dict[str, float] = {}
            for k, e in m["energy_by_device_j"].items():
                by_kind[kinds.get(k, "other")] = by_kind.get(kinds.get(k, "other"), 0.0) + e
            by_device = {k: Provenance.parse(v) for k, v in m.pop("provenance_by_device").items()}
            m.update(
                energy_j=total,
                energy_kwh=total / J_PER_KWH,
                mean_power_w=total / m["duration_s"] if m["duration_s"] > 0 else 0.0,
                by_kind_j=by_kind,
                **_window_provenance(by_device, kinds, run_prov),
            )
        self._rank_groups = [
            {n: _Group.from_payload(g) for n, g in p.get("groups", {}).items()} for p in everyone
        ]
        self._rank_windows = [
            {n: _WindowAgg.from_payload(a) for n, a in p.get("window_aggs", {}).items()}
            for p in everyone
        ]
        merged_stats = {}
        for name in dict.fromkeys(n for g in self._rank_groups for n in g):
            window = None if name == ALL_STEPS else name
            with contextlib.suppress(LpmError):
                merged_stats[name] = self.step_stats(window)
        self.context["distributed"]["ranks"] = [
            {"rank": p["rank"], "host": p["host"], "duration_s": p["duration_s"]} for p in everyone
        ]
        for p in everyone:
            for f in p["faults"]:
                if p["rank"] != self._dist.rank:
                    self._faults.append(f"rank {p['rank']}: {f}")
        return self._make_summary(
            list(comps.values()),
            duration,
            windows,
            local.steps,
            {k: v.to_dict() for k, v in merged_stats.items()},
            True,
        )


def _window_provenance(
    by_device: dict[str, Provenance], kinds: dict[str, str], fallback: Provenance
) -> dict:
    """The provenance keys of a window in a summary: overall, per kind, per device."""
    per_kind: dict[str, list[Provenance]] = {}
    for k, prov in by_device.items():
        per_kind.setdefault(kinds.get(k, "other"), []).append(prov)
    total = Provenance.combine(by_device.values()) if by_device else fallback
    return {
        "provenance": total.value,
        "provenance_by_kind": {k: Provenance.combine(v).value for k, v in per_kind.items()},
        "provenance_by_device": {k: v.value for k, v in by_device.items()},
        "estimated": total.is_estimated,
    }
